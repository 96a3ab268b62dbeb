"""Python as it is deployed: forks that bypass Python's hooks (uWSGI's
workers, C extensions), stops by signal, and Redis outages."""
import ctypes
import os
import subprocess
import sys
import textwrap

import pytest

import ecl


def _c_fork() -> int:
    # fork() straight from the C library, as uWSGI forks its workers: no
    # os.register_at_fork hook runs in the child.
    return ctypes.CDLL(None, use_errno=True).fork()


def test_a_c_level_fork_counts_in_the_child_and_never_resends_the_parent_s_counts(server):
    url = f"redis://127.0.0.1:{server.port}/0"
    client = ecl.Client(url=url, groups={
        "cached": {"events": ["a"], "intervals": ["1h"], "sync_interval": 600},
        "direct": {"events": ["d"], "intervals": ["1h"]},
    })
    cached, direct = client.group("cached"), client.group("direct")
    handle = cached.event("a")
    cached.log("a", 5)  # unsent in the parent
    direct.log("d")
    pid = _c_fork()
    if pid == 0:
        code = 1
        try:
            cached.log("a", 2)
            handle.inc(3)
            for _ in range(50):
                direct.log("d")  # on a connection of the child's own
            client.flush(timeout=5)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the child counted and flushed"
    assert server.totals("cached") == {"a": 5}, "the child's counts, not the parent's"
    assert server.totals("direct") == {"d": 51}
    client.flush(timeout=5)
    assert server.totals("cached") == {"a": 10}


def test_a_c_level_fork_before_the_first_log_counts_at_child_exit(server):
    # A uWSGI-like master: the app (and its client) is made before the
    # workers are forked; each worker counts and exits normally.
    code = textwrap.dedent(f"""
        import ctypes, os, sys
        import ecl
        client = ecl.Client(url="redis://127.0.0.1:{server.port}/0",
                            groups={{"g": {{"events": ["e"], "intervals": ["1h"], "sync_interval": 600}}}})
        g = client.group("g")
        children = []
        for _ in range(3):
            pid = ctypes.CDLL(None).fork()
            if pid == 0:
                for _ in range(1000):
                    g.log("e")
                sys.exit(0)  # atexit flushes the worker's own client
            children.append(pid)
        for pid in children:
            assert os.waitpid(pid, 0)[1] == 0
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert server.totals("g") == {"e": 3000}


APP = """
import pytest

import ecl
client = ecl.Client(url="redis://127.0.0.1:{port}/0", groups={{
    "rq": {{"events": ["hit"], "intervals": ["1h"], "sync_interval": 600}},
    "dq": {{"events": ["hit"], "intervals": ["1h"]}},
}})
rq, dq = client.group("rq"), client.group("dq")

def application(environ, start_response):
    rq.log("hit")
    dq.log("hit")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def _tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        pytest.skip(f"{name} is not installed here (make python-venv installs it from the package index)")
    return path


def _serve_and_count(server, tmp_path, argv, stop_signal, requests=2000):
    """Starts a WSGI server with the app, sends `requests` requests from 8
    threads, stops it with `stop_signal`; returns the statuses seen."""
    import concurrent.futures
    import signal
    import time
    import urllib.request

    (tmp_path / "app.py").write_text(APP.format(port=server.port))
    port = __import__("conftest").free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([a.format(port=port) for a in argv], cwd=tmp_path, stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)

        def get(_):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(get, range(requests - 1)))
        proc.send_signal(stop_signal)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    return statuses + [200]


def test_uwsgi_default_mode_counts_exactly(server, tmp_path):
    import signal
    uwsgi = _tool("uwsgi")
    statuses = _serve_and_count(server, tmp_path, [
        uwsgi, "--http-socket", "127.0.0.1:{port}", "--wsgi-file", "app.py", "--callable", "application",
        "--processes", "4", "--master",
    ], signal.SIGINT)
    assert set(statuses) == {200}
    assert server.totals("rq") == {"hit": 2000}, (tmp_path / "server.log").read_text()[-2000:]
    assert server.totals("dq") == {"hit": 2000}


def test_gunicorn_with_preload_counts_exactly(server, tmp_path):
    import signal
    gunicorn = _tool("gunicorn")
    statuses = _serve_and_count(server, tmp_path, [
        gunicorn, "--preload", "-w", "4", "-b", "127.0.0.1:{port}", "app:application",
    ], signal.SIGTERM)
    assert set(statuses) == {200}
    assert server.totals("rq") == {"hit": 2000}, (tmp_path / "server.log").read_text()[-2000:]
    assert server.totals("dq") == {"hit": 2000}


WORKER = """
import mmap, os, sys, threading, time
import ecl
client = ecl.Client(url="redis://127.0.0.1:{port}/0",
                    groups={{"w": {{"events": ["e"], "intervals": ["1h"], "sync_interval": 1}}}})
{install}
g = client.group("w")
# Per thread: how many logs it began (counted before each log, so a log
# cut short by the end of the process is counted here and may be missing
# in Redis, never the other way round).
shared = mmap.mmap(-1, 8 * 16)
counts = memoryview(shared).cast("Q")
def work(i):
    while True:
        counts[i] += 1
        g.log("e")
for i in range(16):
    threading.Thread(target=work, args=(i,), daemon=True).start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    time.sleep(0.05)
    os.pwrite({fd}, bytes(shared), 0)
"""


def _stop_a_16_thread_worker(server, tmp_path, install):
    import signal
    import time

    out = open(tmp_path / "counts", "w+b")
    code = WORKER.format(port=server.port, install=install, fd=out.fileno())
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, pass_fds=(out.fileno(),))
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(1.5)  # through at least one sync
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return proc.returncode


def test_sigterm_with_the_shutdown_handlers_loses_nothing(server, tmp_path):
    import signal
    import struct

    code = _stop_a_16_thread_worker(server, tmp_path, "ecl.install_shutdown_handlers()")
    assert code == -signal.SIGTERM, "the process still ends by SIGTERM, as it would have"
    began = sum(struct.unpack("16Q", (tmp_path / "counts").read_bytes()[:128]))
    arrived = server.totals("w").get("e", 0)
    # The counts file is written every 50 ms: what began after its last
    # write is not in `began`; nothing that began before may be missing.
    assert arrived >= began - 16, f"{began - arrived} of {began} counts lost"


def test_undeclared_events_warn_once_a_minute(server, caplog):
    import logging
    from event_count_logger import EventCountLogger

    logger = EventCountLogger({"g": {"events": ["a"], "intervals": ["1h"]}},
                              {"host": "127.0.0.1", "port": server.port})
    g = logger.get_group("g")
    with caplog.at_level(logging.WARNING):
        for _ in range(500):
            g.log("nope")
    warnings = [r for r in caplog.records if "nope" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_direct_logs_never_fail_or_stall_the_application_while_redis_hangs(server, caplog):
    import logging
    import signal
    import threading
    import time

    client = ecl.Client(url=f"redis://127.0.0.1:{server.port}/0",
                        groups={"d": {"events": ["e"], "intervals": ["1h"]}},
                        redis={"socket_timeout": 1})
    group = client.group("d")
    group.log("e")
    os.kill(server.proc.pid, signal.SIGSTOP)
    durations, errors = [], []

    def work():
        for _ in range(25):
            t = time.monotonic()
            try:
                group.log("e")
            except Exception as e:  # noqa: BLE001 - any exception fails the test
                errors.append(e)
            durations.append(time.monotonic() - t)

    try:
        with caplog.at_level(logging.WARNING, logger="ecl"):
            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert errors == []
    # Each thread's log in flight when Redis stopped waits out the timeout
    # once; every later one is kept at once.
    slow = [d for d in durations if d > 0.2]
    assert len(slow) <= 4 and max(durations) < 2.5, sorted(durations)[-6:]
    client.flush(timeout=15)
    assert server.totals("d") == {"e": 101}, "every count once: none lost, none doubled"
    assert any("did not confirm" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_a_refused_batch_is_a_logging_record(server, caplog):
    import logging

    client = ecl.Client(url=f"redis://127.0.0.1:{server.port}/0",
                        groups={"g": {"events": ["a"], "intervals": ["1h"], "sync_interval": 600}})
    group = client.group("g")
    group.log("a")
    client.flush(timeout=5)
    # Someone takes event `a` out of the group on the server.
    server.conn().execute_command("ECL.ALTER", "g", "EVENTS", "b")
    group.log("a", 3)
    with caplog.at_level(logging.WARNING, logger="ecl"):
        client.flush(timeout=5)
        import time
        deadline = time.time() + 5
        while not any("refused" in r.getMessage() for r in caplog.records) and time.time() < deadline:
            time.sleep(0.05)
    assert any("refused a batch of 3 counts" in r.getMessage() for r in caplog.records), \
        [r.getMessage() for r in caplog.records]
