#!/usr/bin/env bash
# Peak-memory benchmark (not a test): generates Goose CSV request logs of
# several sizes, run lengths and name counts, and a Locust 24-hour
# --csv-full-history history, runs `perfreport gate --stats FILE` on each under
# GNU time (/usr/bin/time -v) and prints a table of peak RSS and wall time.
# Goal (issue 15): peak RSS <= 32 MiB, the same whatever the size, the length
# of the run and the number of names.
#
#   bash benches/rss.sh            # 100 MB and 1 GB cases
#   BIG=1 bash benches/rss.sh      # also the 10 GB logs (need ~10 GB of disk
#                                  # each; generated, measured, deleted in turn)
#   BINS="old/perfreport target/release/perfreport" bash benches/rss.sh
#                                  # measure several builds on the same files
#                                  # (one row each, labelled by position)
#   LOCUST=1 bash benches/rss.sh   # also the Locust 24 h x 50 endpoints history
#
# Rows per second of `elapsed` set the run's length: 100 MB is ~0.38 M rows,
# so 1000 rows/s is a ~6-minute run, 633 rows/s a 10-minute one and 4.4
# rows/s a 24-hour one (1 GB: x10, 10 GB: x100).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-rss
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
if [ ! -x /usr/bin/time ]; then
    echo "GNU time is missing (needed for peak RSS): installing it with apt-get install time"
    apt-get install -y -qq time >/dev/null
fi
cargo build -q --release --bins --examples
gen=target/release/examples/gen_reqlog
read -r -a bins <<<"${BINS:-target/release/perfreport}"
bin=${bins[0]}

# case NAME SIZE_MB ROWS_PER_S NAMES
cases=(
    "100MB_6min_12names 100 1000 12"
    "100MB_10min_12names 100 633 12"
    "100MB_24h_12names 100 4.4 12"
    "100MB_6min_10000names 100 1000 10000"
    "1GB_10min_12names 1000 6330 12"
    "1GB_63min_12names 1000 1000 12"
    "1GB_24h_12names 1000 44 12"
    "1GB_24h_10000names 1000 44 10000"
)
if [ "${BIG:-0}" = 1 ]; then
    cases+=("10GB_10min_12names 10000 63300 12" "10GB_24h_12names 10000 440 12")
fi

printf '%-26s %10s %10s %14s\n' case rows wall_s peak_rss_MiB
measure() {
    local name=$1 rows=$2
    shift 2
    local rc=0
    /usr/bin/time -v -o "$out/time.txt" "$@" >"$out/log.txt" 2>&1 || rc=$?
    if [ "$rc" -gt 1 ]; then
        printf '%-26s %10s failed (exit %s): %s\n' "$name" "$rows" "$rc" "$(tail -1 "$out/log.txt" | cut -c1-100)"
        return
    fi
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time.txt")
    printf '%-26s %10s %10s %14.1f\n' "$name" "$rows" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
for c in "${cases[@]}"; do
    read -r name size rate names <<<"$c"
    f="$out/$name.csv"
    "$gen" "$size" "$f" "$rate" "$names" 2>"$out/gen.txt"
    rows=$(awk '{print $2}' "$out/gen.txt")
    sync "$f"
    cat "$f" >/dev/null
    for i in "${!bins[@]}"; do
        label=$name
        [ "${#bins[@]}" -gt 1 ] && label="$name#$((i + 1))"
        measure "$label" "$rows" "${bins[$i]}" gate --stats "$f"
    done
    rm -f "$f"
done

if [ "${LOCUST:-0}" = 1 ]; then
    # 86,400 s x 50 endpoints of Locust's --csv-full-history, plus its stats CSV
    python3 - "$out/day" <<'PY'
import sys
prefix = sys.argv[1]
names = [f"/api/v1/e{i}" for i in range(50)]
head = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
        "99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
        "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
        "Total Average Content Size\n")
t0 = 1795792370
with open(prefix + "_stats_history.csv", "w") as f:
    f.write(head)
    for s in range(86400):
        t = t0 + s
        for i, n in enumerate(names + ["Aggregated"]):
            k = 50 if n == "Aggregated" else 1
            typ = "" if n == "Aggregated" else "GET"
            f.write(f"{t},50,{typ},{n},{10*k},0.0,20,22,24,25,30,40,50,60,90,100,120,"
                    f"{10*k*(s+1)},0,20,21.5,3,120,100\n")
with open(prefix + "_stats.csv", "w") as f:
    f.write("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
            "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
            "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n")
    for n in names:
        f.write(f"GET,{n},{10*86400},0,20,21.5,3,120,100,10,0,20,22,24,25,30,40,50,60,90,100,120\n")
    f.write(f",Aggregated,{500*86400},0,20,21.5,3,120,100,500,0,20,22,24,25,30,40,50,60,90,100,120\n")
PY
    measure locust_24h_50names "$(wc -l <"$out/day_stats_history.csv")" \
        "$bin" --max-input-size 2G gate --stats "$out/day_stats.csv"
fi
