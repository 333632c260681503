#!/usr/bin/env bash
# Locust's side at scale (issue 15), a benchmark, not a test: generates
# `--csv-full-history` stats histories of 1 hour and 24 hours x 50 endpoints
# (86,400 s x 51 rows, ~435 MB, for the day), runs `perfreport gate --stats
# PREFIX_stats.csv` (which reads the history beside it) with windowed
# targets on each, under GNU time, and prints the median wall time and
# peak RSS of RUNS runs (default 3). Goal: a few seconds, peak RSS <= 32 MiB,
# the same for 1 h and 24 h.
#
#   bash benches/locust_history.sh
#   BEFORE=path/to/old/perfreport bash benches/locust_history.sh   # also an older build
#
# The generated history: users ramp from 0 to 50 over the first 60 s, hold,
# and the last 30 s run with 0 users; each endpoint does 10 requests/s with
# percentiles that vary smoothly over the day, the Aggregated row sums them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-locust-history
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
if [ ! -x /usr/bin/time ]; then
    echo "GNU time is missing (needed for peak RSS): install it with apt-get install time" >&2
    exit 2
fi
cargo build -q --release --bins
bin=target/release/perfreport
runs=${RUNS:-3}

gen() { # PREFIX SECONDS
    python3 - "$1" "$2" <<'PY'
import sys
prefix, seconds = sys.argv[1], int(sys.argv[2])
names = [f"/api/v1/e{i}" for i in range(50)]
pct_cols = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
head = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s," + pct_cols +
        ",Total Request Count,Total Failure Count,Total Median Response Time,"
        "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
        "Total Average Content Size\r\n")
t0 = 1795792370
def pcts(s):
    base = 20 + (s // 600) % 7 * 3  # steps of 3 ms every 10 minutes
    return [base, base + 2, base + 4, base + 5, base + 10, base + 20, base + 30,
            base + 40, base + 70, base + 80, base + 100]
with open(prefix + "_stats_history.csv", "w", newline="") as f:
    f.write(head)
    total = 0
    for s in range(seconds):
        t = t0 + s
        users = 0 if s >= seconds - 30 else min(50, s * 50 // 60)
        rate = 10 if 0 < users else 0
        if s < seconds - 30:
            total += 10
        p = pcts(s) if rate else None
        cells = ",".join(str(v) for v in p) if p else ",".join(["N/A"] * 11)
        rows = []
        for n in names:
            rows.append(f"{t},{users},GET,{n},{rate},0.0,{cells},{total},0,20,21.5,3,120,100\r\n")
        rows.append(f"{t},{users},,Aggregated,{rate * 50},0.0,{cells},{total * 50},0,20,21.5,3,120,100\r\n")
        f.write("".join(rows))
dur = seconds - 30
with open(prefix + "_stats.csv", "w", newline="") as f:
    f.write("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
            "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
            + pct_cols + "\r\n")
    per = 10 * dur
    for n in names:
        f.write(f"GET,{n},{per},0,20,21.5,3,120,100,{per / dur},0.0,20,22,24,25,30,40,50,60,90,100,120\r\n")
    f.write(f",Aggregated,{per * 50},0,20,21.5,3,120,100,{per * 50 / dur},0.0,20,22,24,25,30,40,50,60,90,100,120\r\n")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # LABEL BIN PREFIX
    local label=$1 b=$2 prefix=$3 walls=() rsss=() rc
    for _ in $(seq "$runs"); do
        rc=0
        /usr/bin/time -f '%e %M' -o "$out/time.txt" "$b" gate --stats "${prefix}_stats.csv" \
            --target 'p95<200ms over 60s' --target 'rps>=100 over 300s' \
            --target 'p99<200ms' >"$out/log.txt" 2>&1 || rc=$?
        if [ "$rc" -gt 1 ]; then
            printf '%-28s failed (exit %s): %s\n' "$label" "$rc" "$(tail -1 "$out/log.txt" | cut -c1-120)"
            return
        fi
        read -r w m <"$out/time.txt"
        walls+=("$w")
        rsss+=("$m")
    done
    local w m
    w=$(printf '%s\n' "${walls[@]}" | median)
    m=$(printf '%s\n' "${rsss[@]}" | median)
    printf '%-28s %10s %10s %14.1f   exit %s\n' "$label" "$(wc -l <"${prefix}_stats_history.csv")" "$w" "$(echo "$m / 1024" | bc -l)" "$rc"
}

printf '%-28s %10s %10s %14s\n' case rows wall_s peak_rss_MiB
for c in "1h 3600" "24h 86400"; do
    read -r name seconds <<<"$c"
    prefix="$out/locust_${name}_50names"
    gen "$prefix" "$seconds"
    cat "${prefix}_stats_history.csv" >/dev/null
    measure "locust_${name}_50names" "$bin" "$prefix"
    if [ -n "${BEFORE:-}" ]; then
        # the build before streaming read the history whole, within --max-input-size
        PERFREPORT_MAX_INPUT_SIZE=2G measure "before: locust_${name}_50names" "$BEFORE" "$prefix"
    fi
    rm -f "$prefix"_*
done
