#!/usr/bin/env bash
# Resource-reader benchmark (not a test): a day of 1 Hz sampler rows (86,400)
# is generated under target/bench-resources/ and read by examples/read_resources
# (release build), three times; the best time is printed. Goal (issue 10): well
# under 1 s. Reading used to be quadratic (72 s) because each row's line number
# was found by re-reading the file from byte 0.
#
#   bash benches/resources_day.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-86400}
out=target/bench-resources
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
python3 - "$rows" "$out/day.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("timestamp,cpu_percent,rss_bytes,vms_bytes,num_threads,num_fds,read_bytes,write_bytes,cpu_count\n")
    t0 = 1795792370.0
    for i in range(rows):
        f.write("%.3f,%.1f,%d,%d,1,7,385024,0,2\n" % (t0 + i, i % 17, 48226304 + (i % 1000) * 4096, 55382016))
PY
cargo build --release --quiet --example read_resources
for _ in 1 2 3; do target/release/examples/read_resources "$out/day.csv"; done
