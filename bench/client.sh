#!/usr/bin/env bash
# End to end: 4 processes log through ecl-client (cached mode) into one
# server for a few seconds; the server's totals must equal what they logged.
# Usage: bench/client.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
make -s release >/dev/null
cargo build -q --release -p ecl-client --example load
module="$PWD/target/release/libecl.so"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/ecl.yml" <<YML
redis:
  host: 127.0.0.1
  port: $port
groups:
  load:
    events: [e0, e1, e2, e3, e4, e5, e6, e7]
    intervals: [1s, 1m, 1h]
    sync_interval: 0.5
    sync_limit: 1000000
YML
taskset -c 0 redis-server --port "$port" --dir "$dir" --save "" --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --loadmodule "$module" "$dir/ecl.yml"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done
pids=()
for i in 1 2 3 4; do
  taskset -c 1 target/release/examples/load "$dir/ecl.yml" load "$seconds" > "$dir/out.$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
logged=$(cat "$dir"/out.* | awk '{s+=$1} END {print s}')
stored=$(redis-cli -p "$port" ECL.TOTALS load | awk 'NR%2==0 {s+=$1} END {print s}')
echo "4 processes, ${seconds}s: logged $logged, server totals $stored, $(( logged / seconds )) events/s"
[ "$logged" = "$stored" ] || { echo "MISMATCH: counts lost or doubled" >&2; exit 1; }
