"""The Python package's costs, for bench/run.py: per-call time of a cached
log and of a handle, the original's API on ECL, and direct-mode events/s.
Run with the venv that has the package (make python-test makes it):
    target/py-venv/bin/python bench/python_client.py PORT"""
import sys, time, timeit
port = int(sys.argv[1])
import ecl
from event_count_logger import EventCountLogger
groups = {"c": {"events": ["e"], "intervals": ["5s", "5m"], "sync_interval": 2, "sync_limit": 10**9},
          "d": {"events": ["e"], "intervals": ["5s", "5m"]}}
client = ecl.Client(url=f"redis://127.0.0.1:{port}/0", groups=groups)
g = client.group("c"); h = g.event("e")
n = 2_000_000
def per_call(stmt, glb):
    best = min(timeit.repeat(stmt, globals=glb, number=n, repeat=5))
    return best / n * 1e9
a = per_call("g.log('e')", {'g': g}); print(f"ecl cached group.log('e'): {a:.0f} ns")
b = per_call("h.inc()", {'h': h}); print(f"ecl handle.inc(): {b:.0f} ns")
seed = EventCountLogger(groups, {"host": "127.0.0.1", "port": port})
sg = seed["c"]
c = per_call("sg.log('e')", {'sg': sg}); print(f"event_count_logger cached log('e'): {c:.0f} ns")
d = client.group("d")
t = time.perf_counter(); k = 0
while time.perf_counter() - t < 2:
    d.log("e"); k += 1
print(f"ecl direct: {k / (time.perf_counter() - t):.0f} events/s")
client.flush()
