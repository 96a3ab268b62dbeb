#!/usr/bin/env bash
# Wall time of `ecl_reader` (median of 21 runs): a 10-event group, and an
# auto-declare group with 1,000 live events, in a database that also holds
# 100,000 unrelated keys. Usage: bench/reader.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s release >/dev/null
cargo build -q --release -p ecl-cli
module="$PWD/target/release/libecl.so"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
events=$(python3 -c 'print(", ".join(f"e{i}" for i in range(10)))')
cat > "$dir/ecl.yml" <<YML
redis:
  host: 127.0.0.1
  port: $port
groups:
  ten:
    events: [$events]
    intervals: [5m]
  auto:
    auto_declare_events: true
    intervals: [1h]
YML
redis-server --port "$port" --dir "$dir" --save "" --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --loadmodule "$module" "$dir/ecl.yml"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done
python3 -c "
import sys
for i in range(100000): sys.stdout.write(f'SET unrelated:{i} x\r\n')" | redis-cli -p "$port" --pipe >/dev/null
args=$(python3 -c 'print(" ".join(f"ev{i} 1" for i in range(1000)))')
redis-cli -p "$port" ECL.MLOG auto $args >/dev/null
redis-cli -p "$port" ECL.MLOG ten e1 1 e2 2 >/dev/null
python3 - "$dir/ecl.yml" <<'PY'
import subprocess, sys, time, statistics
config = sys.argv[1]
for label, args in [("10-event group", ["-g", "ten", "--current"]),
                    ("auto group, 1,000 live events", ["-g", "auto", "--current"])]:
    times = []
    for _ in range(21):
        t = time.perf_counter()
        out = subprocess.run(["target/release/ecl_reader", config, *args], capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
    lines = out.stdout.decode().count("\n")
    print(f"ecl_reader, {label} ({lines} lines), 100,000 unrelated keys: median {statistics.median(times):.1f} ms")
PY
echo "keys in db: $(redis-cli -p "$port" DBSIZE)"
