#!/usr/bin/env bash
# Request-log benchmark (not a test): generates Goose-format CSV request logs of
# the given sizes in MB (default: 100 and 1000) under target/bench-reqlog/ (and
# with JSONL=1 the same rows as Goose's JSON-lines log), then runs perfreport,
# DuckDB, polars and `cat` on each file in turn, RUNS times (default 5), and
# prints the median wall time and peak RSS of each whole process, and the
# ratios. Design goal: 1 GB at >= 3x the faster engine, peak RSS <= 32 MB.
#
#   bash benches/reqlog.sh [SIZE_MB ...]
#   JSONL=1 RUNS=5 bash benches/reqlog.sh 1000
#   BASELINE=old/perfreport bash benches/reqlog.sh 1000
#
# BASELINE names another perfreport binary (an older build, say) that is
# timed in the same interleaved runs, `BASELINE gate --stats FILE`, so that a
# change is measured against it under the same conditions; the line after
# each file's figures gives its median and the ratio.
#
# perfreport is timed as `perfreport gate --stats FILE` (or, on a CLI without
# `gate`, `examples/reqlog_stats FILE`). DuckDB runs
#   select name, count(*), quantile_cont(response_time_us, 0.5/0.95/0.99),
#          max(response_time_us) from read_csv('FILE') group by name
# and polars the same as a lazy scan + group_by + quantile(..., "linear");
# both from Python, whole process (start-up and import included, as for
# perfreport). Files are synced and read once before timing so that every
# tool reads from the page cache. The runs are interleaved (perfreport,
# DuckDB, polars, cat, perfreport, ...) so that a machine whose speed drifts
# affects all alike. Generated files are deleted at the end.
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
    # gate exits 0 (targets met) or 1 (not met); anything else is a failure,
    # and so is any non-zero exit of another command
    if [ "$rc" -gt 1 ] || { [ "$rc" -ne 0 ] && [ "$1" != "${ours[0]}" ]; }; then
        echo "failed ($rc): $*" >&2
        cat "$log" >&2
        exit 1
    fi
    read -r wall rss < <(tail -1 "$out/time.txt")
}

cat >"$out/duck.py" <<'PY'
import sys, time
t0 = time.perf_counter()
import duckdb
# Goose's JSON-lines log has no response_time_us: ms plus the µs fraction
if sys.argv[1].endswith(".jsonl"):
    reader, us = "read_json_auto", "(response_time * 1000 + response_time_fraction_us)"
else:
    reader, us = "read_csv", "response_time_us"
q = f"""select name, count(*), quantile_cont({us}, 0.5),
        quantile_cont({us}, 0.95), quantile_cont({us}, 0.99),
        max({us}) from {reader}('{sys.argv[1]}') group by name order by name"""
t1 = time.perf_counter()
rows = duckdb.connect().execute(q).fetchall()
t2 = time.perf_counter()
for r in rows:
    print(*r)
print(f"query_s {t2 - t1:.3f}")
PY

# polars: lazy scan, group by name, three quantiles (linear, like DuckDB's
# quantile_cont) and the max; the whole process is timed
cat >"$out/polars_query.py" <<'PY'
import sys
import polars as pl
if sys.argv[1].endswith(".jsonl"):
    scan = pl.scan_ndjson(sys.argv[1])
    c = pl.col("response_time") * 1000 + pl.col("response_time_fraction_us")
else:
    scan = pl.scan_csv(sys.argv[1])
    c = pl.col("response_time_us")
df = (scan.group_by("name")
      .agg(pl.len().alias("n"), c.quantile(0.5, "linear").alias("p50"),
           c.quantile(0.95, "linear").alias("p95"), c.quantile(0.99, "linear").alias("p99"),
           c.max().alias("max"))
      .sort("name").collect())
print(df)
PY
if ! python3 -c 'import polars' 2>/dev/null; then
    echo "polars is missing: installing it with pip install polars"
    pip install -q polars
fi

# median of a list of numbers
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

runs=${RUNS:-5}
echo "$runs paired runs per file (perfreport, DuckDB, polars, cat, wc -l in turn), whole processes, medians"
printf '\n%-14s %-9s %9s %9s %9s %9s %9s %9s %9s %9s\n' file rows ours_s ours_MiB duck_s duck_MiB polars_s polars_MiB vs_duck vs_polars
for mb in "${sizes[@]}"; do
    f="$out/requests_${mb}mb.csv"
    target/release/examples/gen_reqlog "$mb" "$f" 2>"$out/gen.txt"
    rows=$(awk '{print $2}' "$out/gen.txt")
    files=("$f")
    if [ "${JSONL:-0}" = 1 ]; then
        # the same rows as Goose's JSON-lines request log
        python3 - "$f" "${f%.csv}.jsonl" <<'PY'
# Goose 0.19's JSON shape, as fixtures/goose/converted/README.md describes
import csv, json, re, sys
ints = {"elapsed", "scenario_index", "transaction_index", "response_time", "status_code", "user",
        "coordinated_omission_elapsed", "user_cadence"}
bools = {"redirected", "success", "update"}
raw_re = re.compile(r'method: (\w+), url: "(.*?)", headers: \[\], body: "(.*)", custom_method: "(.*)" }')
with open(sys.argv[1], newline="") as src, open(sys.argv[2], "w") as dst:
    for r in csv.DictReader(src):
        us = int(r.pop("response_time_us"))
        o = {k: (int(v) if k in ints else v == "true" if k in bools else v) for k, v in r.items()}
        m = raw_re.search(r["raw"])
        o["raw"] = {"method": m[1], "url": m[2], "headers": [], "body": m[3], "custom_method": m[4]}
        o["transaction_name"] = {"TransactionOnly": r["transaction_name"]}
        o["response_time_fraction_us"] = us - o["response_time"] * 1000
        dst.write(json.dumps(o, separators=(",", ":")) + "\n")
PY
        files+=("${f%.csv}.jsonl")
    fi
    for file in "${files[@]}"; do
        sync
        cat "$file" >/dev/null
        ow=() orss=() dw=() drss=() pw=() prss=() cw=() lw=() bw=() brss=()
        for _ in $(seq "$runs"); do
            measure "$out/ours.txt" "${ours[@]}" "$file"; ow+=("$wall"); orss+=("$rss")
            if [ -n "${BASELINE:-}" ]; then
                ours_was=("${ours[@]}")
                ours=("$BASELINE" gate --stats)
                measure "$out/baseline.txt" "${ours[@]}" "$file"; bw+=("$wall"); brss+=("$rss")
                ours=("${ours_was[@]}")
            fi
            measure "$out/duck.txt" python3 "$out/duck.py" "$file"; dw+=("$wall"); drss+=("$rss")
            measure "$out/polars.txt" python3 "$out/polars_query.py" "$file"; pw+=("$wall"); prss+=("$rss")
            # the ceilings: reading the file (into /dev/null, not onto the
            # disk) and finding its newlines
            measure /dev/null cat "$file"; cw+=("$wall")
            measure /dev/null wc -l "$file"; lw+=("$wall")
        done
        o=$(median "${ow[@]}") d=$(median "${dw[@]}") p=$(median "${pw[@]}") c=$(median "${cw[@]}") l=$(median "${lw[@]}")
        printf '%-14s %-9s %9s %9.1f %9s %9.1f %9s %9.1f %8.2fx %8.2fx\n' "$(basename "$file")" "$rows" \
            "$o" "$(echo "$(median "${orss[@]}") / 1024" | bc -l)" \
            "$d" "$(echo "$(median "${drss[@]}") / 1024" | bc -l)" \
            "$p" "$(echo "$(median "${prss[@]}") / 1024" | bc -l)" \
            "$(echo "$d / $o" | bc -l)" "$(echo "$p / $o" | bc -l)"
        echo "  cat: ${c} s, wc -l: ${l} s (perfreport takes $(echo "$o / ($c + 0.001)" | bc -l | cut -c1-5)x cat's time, $(echo "$o / ($l + 0.001)" | bc -l | cut -c1-5)x wc -l's)"
        if [ -n "${BASELINE:-}" ]; then
            b=$(median "${bw[@]}")
            printf '  baseline %s: %s s, %.1f MiB (it takes %.2fx perfreport'"'"'s time)\n' "$BASELINE" "$b" \
                "$(echo "$(median "${brss[@]}") / 1024" | bc -l)" "$(echo "$b / $o" | bc -l)"
        fi
    done
done
