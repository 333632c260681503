#!/usr/bin/env bash
# A real load test, end to end, as the README's quick start does it: installs
# Locust of the day with pip (in a venv), starts the test server
# (ci/loadgen/app.py) on a free loopback port, samples it with
# `perfreport sample --pid`, runs a 20-second Locust test, then gates and
# renders the run. A format change in a new Locust release fails here first.
#
# What passes: the gate MEASURED the run (exit 0 = every target met, or 1 = a
# target missed: the stand-in server's latencies are not ours to promise, and
# its default targets such as rps>=100 are not met by 20 users); the gate's
# JUnit and JSON verdict files exist and agree with its exit code; render
# writes report.html with no TBD. Exit 2 (unreadable input) or 3 (nothing
# measured) fails, as does any step that times out.
#
# Every process it starts is stopped by its PID on exit; everything listens on
# 127.0.0.1 only. Outputs go to $E2E_OUT (default target/e2e-locust/).
# Environment: PERFREPORT (a perfreport binary; default: `cargo build` and
# target/debug/perfreport), E2E_VENV (default target/e2e-venv, reused),
# PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
target_dir="${CARGO_TARGET_DIR:-target}"
out="${E2E_OUT:-$target_dir/e2e-locust}"
venv="${E2E_VENV:-$target_dir/e2e-venv}"
python="${PYTHON:-python3}"

say() { printf 'e2e-locust: %s\n' "$*"; }
fail() {
    say "FAILED: $*" >&2
    exit 1
}

pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${PERFREPORT:-}" ]; then
    perfreport="$PERFREPORT"
else
    cargo build --quiet
    perfreport="$target_dir/debug/perfreport"
fi
[ -x "$perfreport" ] || fail "no perfreport binary at $perfreport"

rm -rf "$out"
mkdir -p "$out"

if [ ! -x "$venv/bin/locust" ]; then
    say "installing Locust and the server's dependencies into $venv"
    "$python" -m venv "$venv"
    timeout 900 "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r ci/loadgen/requirements.txt || fail "pip install -r ci/loadgen/requirements.txt"
    say "pip install took $((SECONDS - started)) s"
fi
say "$("$venv/bin/locust" --version 2>&1 | head -n 1)"

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
host="http://127.0.0.1:$port"

"$venv/bin/python" -m uvicorn app:app --app-dir ci/loadgen --host 127.0.0.1 --port "$port" \
    --log-level warning >"$out/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")

# ready when /health answers, within 30 s
"$venv/bin/python" - "$host/health" <<'EOF' || fail "the test server did not answer on $host within 30 s (see $out/server.log)"
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.2)
EOF
say "server pid $server_pid on $host"

# --duration bounds the sampler even if this script is killed before its trap
"$perfreport" sample --pid "$server_pid" --out "$out/resources.csv" --duration 600 \
    2>"$out/sample.log" &
sampler_pid=$!
pids=("$sampler_pid" "${pids[@]}")

# a few idle seconds on each side of the load, for the idle memory and CPU rows
sleep 3
load_started=$SECONDS
# RealtimeUser and DbUser add WebSocket (type WS) and SQLite (type DB) requests,
# so every default target has something to measure
# in the background and waited for, so that a signal to this script stops it at
# once (bash runs traps only between foreground commands)
timeout -k 10 120 "$venv/bin/locust" -f ci/loadgen/locustfile.py --headless -u 20 -r 5 -t 20s \
    --host "$host" --csv "$out/run" --csv-full-history --json-file "$out/run" \
    --exit-code-on-error 0 --only-summary MixedUser RealtimeUser DbUser \
    >"$out/locust.log" 2>&1 &
locust_pid=$!
pids=("$sampler_pid" "$locust_pid" "$server_pid")
wait "$locust_pid" || fail "locust exited $? (see $out/locust.log)"
say "locust ran $((SECONDS - load_started)) s"
sleep 3

stop_all
pids=()
[ -s "$out/resources.csv" ] || fail "perfreport sample wrote no $out/resources.csv (see $out/sample.log)"
for f in run_stats.csv run_stats_history.csv run_failures.csv run.json; do
    [ -s "$out/$f" ] || fail "locust wrote no $out/$f (see $out/locust.log)"
done

set +e
timeout 120 "$perfreport" gate --stats "$out/run_stats.csv" --stats "$out/run.json" \
    --resources "$out/resources.csv" --junit "$out/junit.xml" --json "$out/verdict.json" \
    >"$out/gate.txt" 2>"$out/gate.stderr"
gate=$?
set -e
cat "$out/gate.txt" "$out/gate.stderr"
case $gate in
    0 | 1) say "gate exit $gate: the run was measured ($([ $gate = 0 ] && echo 'every target met' || echo 'a target missed'))" ;;
    *) fail "gate exit $gate (2 = unreadable input, 3 = nothing measured)" ;;
esac
[ -s "$out/junit.xml" ] || fail "gate wrote no $out/junit.xml"
"$venv/bin/python" - "$out/verdict.json" "$gate" <<'EOF' || fail "$out/verdict.json does not say exit $gate"
import json, sys
verdict = json.load(open(sys.argv[1]))
sys.exit(0 if verdict.get("exit_code") == int(sys.argv[2]) else 1)
EOF

timeout 120 "$perfreport" render --stats "$out/run_stats.csv" --stats "$out/run.json" \
    --resources "$out/resources.csv" --out "$out/report.html" || fail "render exited $?"
[ -s "$out/report.html" ] || fail "render wrote no $out/report.html"
if grep -q 'TBD' "$out/report.html"; then
    fail "$out/report.html still has TBD"
fi
say "report written: $out/report.html ($(wc -c <"$out/report.html") bytes)"
say "passed in $((SECONDS - started)) s"
