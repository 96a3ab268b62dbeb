#!/usr/bin/env bash
# Module benchmarks: ECL.LOG vs INCR throughput on the same server, MEMORY
# USAGE of a 10,000-event group, and the timer's rotation stall for a
# 1,000,000-event group. Usage: bench/module.sh [repetitions]
#
# The server is pinned to CPU 0 and redis-benchmark to CPU 1 in every case.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
make -s release >/dev/null
module="$PWD/target/release/libecl.so"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/bench.yml" <<'YML'
groups:
  requests:
    events: [req1, req2, req3, error]
    intervals: [5s, 5m, 1h]
  tenk:
    auto_declare_events: true
    intervals: [1m, 5m, 1h]
    max_events: 10000
  huge:
    auto_declare_events: true
    intervals: [1s]
    max_events: 1000000
YML
taskset -c 0 redis-server --port "$port" --dir "$dir" --save "" --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --loadmodule "$module" "$dir/bench.yml"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
r() { redis-cli -p "$port" "$@"; }
until r PING >/dev/null 2>&1; do sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rps() { taskset -c 1 redis-benchmark -p "$port" -n "$1" -c 50 -P "$2" -q "${@:3}" | tr '\r' '\n' | awk '/requests per second/ {v=$(NF-5)} END {print v}'; }

echo "| case | median ops/s | ratio to INCR |"
echo "|---|---|---|"
for pipeline in 16 1; do
  n=$(( pipeline == 16 ? 2000000 : 300000 ))
  incr=(); log=()
  for _ in $(seq "$reps"); do
    incr+=("$(rps "$n" "$pipeline" INCR counter)")
    log+=("$(rps "$n" "$pipeline" ECL.LOG requests req1)")
  done
  mi=$(printf '%s\n' "${incr[@]}" | median)
  ml=$(printf '%s\n' "${log[@]}" | median)
  echo "| INCR, -P $pipeline -c 50 | $mi | 1.00 |"
  echo "| ECL.LOG (3 intervals), -P $pipeline -c 50 | $ml | $(awk -v a="$ml" -v b="$mi" 'BEGIN{printf "%.2f", a/b}') |"
done

# 10,000 auto-declared events in a group of 3 intervals.
python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
s = socket.create_connection(("127.0.0.1", port))
def send_batches(group, n, batch):
    buf = b""
    for start in range(0, n, batch):
        args = ["ECL.MLOG", group]
        for i in range(start, min(n, start + batch)):
            args += ["event-%07d" % i, 1]
        buf += resp(*args)
    s.sendall(buf)
    replies = n // batch + (n % batch > 0)
    got = b""
    while got.count(b"\r\n") < replies:
        got += s.recv(1 << 20)
    assert b"-" not in got, got[:200]
send_batches("tenk", 10000, 1000)
PY
mem=$(r MEMORY USAGE 'ecl:{tenk}')
echo
echo "MEMORY USAGE of a group with 10,000 events x 3 intervals: $mem bytes ($(( mem / 10000 )) bytes/event)"

# Rotation stall: fill 1,000,000 events into a 1 s group, then read the
# longest timer tick over the next rotations (swap+memset, then freeing).
python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
buf = []
for start in range(0, 1_000_000, 10_000):
    args = ["ECL.MLOG", "huge"]
    for i in range(start, start + 10_000):
        args += ["e%07d" % i, 1]
    buf.append(resp(args))
s.sendall(b"".join(buf))
got = b""
while got.count(b"\r\n") < 100:
    got += s.recv(1 << 20)
assert b"-" not in got, got[:200]
PY
live=$(r ECL.INFO huge | awk 'p {print; exit} /^auto_declared_events$/ {p=1}')
before=$(r MEMORY USAGE 'ecl:{huge}')
sleep 3
max_tick=$(r ECL.INFO huge | awk 'p {print; exit} /^timer_max_tick_us$/ {p=1}')
after=$(r MEMORY USAGE 'ecl:{huge}')
echo "Rotation of a group of $live live events: longest timer tick ${max_tick} us; memory $before -> $after bytes after the events expired"
