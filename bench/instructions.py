"""Instructions per command, counted by callgrind over the whole server.

Instruction counts do not drift with the machine's noise, so they show what
a command costs where throughput figures only hint at it. Each figure is
the difference between two runs of a fresh server under callgrind, one
with `small` commands and one with `large` (sent by redis-benchmark, one
client, pipelined by 16 unless said), divided by `large - small`: start-up, shutdown and
the benchmark's own set-up cancel out.

    python3 bench/instructions.py      # the usual commands, and ECL.LOG's ratio to the floor
"""
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def available():
    """None when callgrind can be used, else why not."""
    if not shutil.which("valgrind"):
        return "valgrind is not installed (apt-get install valgrind)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _total_instructions(out_file):
    for line in Path(out_file).read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def _run(server_args, setup, command, n, pipeline):
    """Total instructions of a server that ran `setup` then `n` x `command`."""
    work = tempfile.mkdtemp(prefix="ecl-callgrind-")
    port = _free_port()
    out = Path(work) / "callgrind.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         # hz 1: the server's cron (and ECL's timer on it) runs once a
         # second, so the slower of the two runs does not count more of it.
         "redis-server", "--port", str(port), "--dir", work, "--save", "", "--appendonly", "no", "--hz", "1",
         "--logfile", "redis.log", *server_args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli = ["redis-cli", "-p", str(port)]
    try:
        deadline = time.time() + 120
        while subprocess.run([*cli, "PING"], capture_output=True, text=True).stdout.strip() != "PONG":
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server under callgrind did not start")
            time.sleep(0.2)
        for args in setup:
            subprocess.run([*cli, *args], check=True, capture_output=True)
        if n:
            subprocess.run(["redis-benchmark", "-p", str(port), "-c", "1", "-P", str(pipeline), "-n", str(n), "-q", *command],
                           check=True, capture_output=True)
        subprocess.run([*cli, "SHUTDOWN", "NOSAVE"], capture_output=True)
        proc.wait(timeout=120)
        return _total_instructions(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def per_command(server_args, command, small=2_000, large=22_000, setup=(), pipeline=16):
    """Instructions per `command` in a server started with `server_args`.
    Long commands want `pipeline=1`: pipelined, how much of the next one a
    read happens to bring in varies, and Redis parses a partial command
    again on the next read."""
    a = _run(server_args, setup, command, small, pipeline)
    b = _run(server_args, setup, command, large, pipeline)
    return (b - a) / (large - small)


def main():
    reason = available()
    if reason:
        print(f"skipped: {reason}")
        return
    config = Path(tempfile.mkdtemp(prefix="ecl-callgrind-config-")) / "ecl.yml"
    config.write_text("groups:\n  g3:\n    events: [e1]\n    intervals: [5s, 5m, 1h]\n"
                      "  g1:\n    events: [e1]\n    intervals: [5m]\n")
    modules = ["--loadmodule", str(ROOT / "target" / "release" / "libecl.so"), str(config),
               "--loadmodule", str(ROOT / "target" / "release" / "libeclfloor.so")]
    counts = {}
    for command in (["INCR", "k"], ["FLOOR.INCR", "f"], ["FLOOR.INCR", "f", "e1"],
                    ["ECL.LOG", "g1", "e1"], ["ECL.LOG", "g3", "e1"]):
        counts[" ".join(command)] = per_command(modules, command)
        print(f"{' '.join(command)}: {counts[' '.join(command)]:,.0f} instructions")
    # ECL.LOG against the floor given the same two names (what Redis spends
    # on the second name is no part of ECL's cost).
    floor2 = counts["FLOOR.INCR f e1"]
    for group in ("g1", "g3"):
        print(f"FLOOR.INCR f e1 / ECL.LOG {group} e1: {floor2 / counts[f'ECL.LOG {group} e1']:.3f}x")


if __name__ == "__main__":
    main()
