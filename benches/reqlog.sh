#!/usr/bin/env bash
# Request-log benchmark (not a test): generates Goose-format CSV request logs of
# the given sizes in MB (default: 100 and 1000) under target/bench-reqlog/,
# then times perfreport and DuckDB on each file, printing wall time, peak RSS
# and the ratio. Design goal: 1 GB at >= 3x DuckDB's speed, peak RSS <= 32 MB.
#
#   bash benches/reqlog.sh [SIZE_MB ...]
#
# perfreport is timed as `perfreport gate --stats FILE` when the CLI has that
# subcommand, else as `examples/reqlog_stats FILE` (the library's load_run plus
# per-endpoint count/p50/p95/p99/max). DuckDB runs
#   select name, count(*), quantile_cont(response_time_us, 0.5/0.95/0.99),
#          max(response_time_us) from read_csv('FILE') group by name
# from Python; its time is given both for the whole process and for the query
# alone (without Python start-up and `import duckdb`); the ratio uses the
# query alone, the stricter of the two. Files are synced and read once before
# timing so both tools read from the page cache (without the sync, the
# write-back of a just-generated 1 GB file slows whichever tool runs first);
# each tool runs twice and the faster run counts. Generated files are deleted
# at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100 1000)
out=target/bench-reqlog
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "GNU time is missing (needed for peak RSS): installing it with apt-get install time"
    apt-get install -y -qq time >/dev/null
fi
if ! python3 -c 'import duckdb' 2>/dev/null; then
    echo "DuckDB for Python is missing: installing it with pip install duckdb"
    pip install -q duckdb
fi

cargo build -q --release --bins --examples
# the CLI counts as ready when `gate --stats` reads a real log and says something
fixture=fixtures/goose/monitoring-30u-reqlog-csv/requests.csv
gate_rc=0
gate_out=$(target/release/perfreport gate --stats "$fixture" 2>&1) || gate_rc=$?
if [ "$gate_rc" -le 1 ] && [ -n "$gate_out" ]; then
    ours=(target/release/perfreport gate --stats)
    echo "perfreport: target/release/perfreport gate --stats FILE"
else
    ours=(target/release/examples/reqlog_stats)
    echo "perfreport: examples/reqlog_stats FILE (the CLI has no 'gate' subcommand yet)"
fi
echo "DuckDB $(python3 -c 'import duckdb; print(duckdb.__version__)'), $(nproc) cores"

# measure OUTFILE CMD...: run CMD under GNU time; sets wall (s) and rss (KiB).
measure() {
    local log=$1
    shift
    local rc=0
    /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" >"$log" 2>&1 || rc=$?
    # gate exits 0 (targets met) or 1 (not met); anything else is a failure
    if [ "$rc" -gt 1 ]; then
        echo "failed ($rc): $*" >&2
        cat "$log" >&2
        exit 1
    fi
    read -r wall rss <"$out/time.txt"
}

cat >"$out/duck.py" <<'PY'
import sys, time
t0 = time.perf_counter()
import duckdb
q = f"""select name, count(*), quantile_cont(response_time_us, 0.5),
        quantile_cont(response_time_us, 0.95), quantile_cont(response_time_us, 0.99),
        max(response_time_us) from read_csv('{sys.argv[1]}') group by name order by name"""
t1 = time.perf_counter()
rows = duckdb.connect().execute(q).fetchall()
t2 = time.perf_counter()
for r in rows:
    print(*r)
print(f"query_s {t2 - t1:.3f}")
PY

printf '\n%-8s %-10s %12s %12s %14s %12s %12s %10s\n' size rows ours_wall_s ours_rss_MiB duck_query_s duck_wall_s duck_rss_MiB speedup
for mb in "${sizes[@]}"; do
    f="$out/requests_${mb}mb.csv"
    target/release/examples/gen_reqlog "$mb" "$f" 2>"$out/gen.txt"
    rows=$(awk '{print $2}' "$out/gen.txt")
    sync
    cat "$f" >/dev/null
    ow=999999 dw=999999 dq=999999
    for _ in 1 2; do
        measure "$out/ours.txt" "${ours[@]}" "$f"
        if (($(echo "$wall < $ow" | bc))); then ow=$wall orss=$rss; fi
        measure "$out/duck.txt" python3 "$out/duck.py" "$f"
        q=$(awk '/^query_s/ {print $2}' "$out/duck.txt")
        if (($(echo "$q < $dq" | bc))); then dq=$q dw=$wall drss=$rss; fi
    done
    printf '%-8s %-10s %12s %12.1f %14s %12s %12.1f %9.1fx\n' "${mb}MB" "$rows" "$ow" \
        "$(echo "$orss / 1024" | bc -l)" "$dq" "$dw" "$(echo "$drss / 1024" | bc -l)" \
        "$(echo "$dq / $ow" | bc -l)"
done
