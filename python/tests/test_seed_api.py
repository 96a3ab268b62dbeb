"""The original EventCountLogger's API, as its users call it."""
import logging
import os
import threading
import time

import pytest
import redis

import event_count_logger
from event_count_logger import DummyEventGroup, EventCountLogger, int2sec
from conftest import groups_config


def logger_for(server, groups=None):
    return EventCountLogger(groups or groups_config(), {"host": "127.0.0.1", "port": server.port})


def test_the_patterns_of_the_original_s_users(server, caplog):
    ecl = logger_for(server)
    assert "EventCountLogger configuration:" in ecl.dump_config()
    cached = ecl.get_group("cached", True)
    assert ecl.get_group("cached") is cached
    missing = ecl.get_group("missing") or DummyEventGroup()
    missing.log("whatever")
    assert isinstance(ecl["missing"], DummyEventGroup)
    assert ecl.get_group("missing", dummy=False, warn=False) is None
    assert not isinstance(cached, DummyEventGroup)
    cached.log("a", count=1_500_000_000)  # a nanosecond duration
    ecl["direct"].log("x")
    with caplog.at_level(logging.WARNING):
        cached.log("undeclared")  # dropped with a warning, as the original did
    assert "Event 'undeclared' is not declared!" in caplog.text
    cached.sync()
    assert server.totals("cached") == {"a": 1_500_000_000, "b": 0}
    assert cached.get_counts("1h", current=True) == {"a": 1_500_000_000, "b": 0}
    assert cached.get_counts("1h") == {"a": 0, "b": 0}
    with caplog.at_level(logging.ERROR):
        assert cached.get_counts("7m") == {}
    assert "Interval '7m' is not defined" in caplog.text
    assert cached.get_current_counts("a") == {"1h": 1_500_000_000, "1d": 1_500_000_000}
    assert cached.get_current_count("a", "1h") == 1_500_000_000
    assert cached.get_last_count("a", "1h") == 0
    assert int2sec("5m") == 300 and int2sec("1.5h") == 5400 and int2sec("10s") == 10


def test_declare_event_id_makes_an_event_countable(server):
    ecl = logger_for(server)
    g = ecl.get_group("cached")
    g.declare_event_id("late")
    g.log("late", 2)
    g.sync()
    assert server.totals("cached")["late"] == 2


def test_construction_raises_what_the_original_s_users_catch():
    port = __import__("conftest").free_port()
    try:
        EventCountLogger(groups_config(), {"host": "127.0.0.1", "port": port})
    except redis.exceptions.ConnectionError:
        pass
    else:
        pytest.fail("no ConnectionError")


def run_threads(count, work):
    """Runs `work` in `count` threads at once and waits for them all."""
    workers = [threading.Thread(target=work) for _ in range(count)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_threads_that_start_logging_at_once_on_a_new_logger_all_count(server, monkeypatch):
    # Users share one logger across 16 threads: the first logs race to bind
    # the group. A thread switch at every few bytecodes makes a race between
    # two statements likely in each round.
    import sys
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    failures = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    rounds, threads = 30, 16
    try:
        for _ in range(rounds):
            group = logger_for(server)["cached"]
            barrier = threading.Barrier(threads)

            def work():
                barrier.wait()
                group.log("b")

            run_threads(threads, work)
            group.sync()
    finally:
        sys.setswitchinterval(old_interval)
    assert failures == []
    assert server.totals("cached")["b"] == rounds * threads


def test_sixteen_threads_in_four_processes_count_exactly(server):
    per_thread, threads, processes = 2000, 4, 4
    pids = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            status = 1  # a child that fails says so, rather than lose counts quietly
            try:
                died = []
                threading.excepthook = lambda args: died.append(args.exc_value)
                ecl = logger_for(server)
                group = ecl["cached"]

                def work():
                    for _ in range(per_thread):
                        group.log("a")

                run_threads(threads, work)
                group.sync()
                status = 1 if died else 0
            finally:
                os._exit(status)
        pids.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in pids]
    assert statuses == [0] * processes
    assert server.totals("cached")["a"] == per_thread * threads * processes


def test_a_fork_never_resends_the_parent_s_counts_nor_hangs(server):
    ecl = logger_for(server)
    group = ecl["cached"]
    stop = threading.Event()
    logged = [0] * 4

    def work(i):
        while not stop.is_set():
            group.log("a")
            logged[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    children = 0
    try:
        for _ in range(200):
            pid = os.fork()
            if pid == 0:
                try:
                    ecl["cached"].log("b")  # the child's own count works
                    ecl["cached"].sync()
                finally:
                    os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert status == 0
            children += 1
    finally:
        stop.set()
        for w in workers:
            w.join()
    group.sync()
    totals = server.totals("cached")
    assert totals["a"] == sum(logged), "no parent count lost or sent twice"
    assert totals["b"] == children


def test_counts_logged_while_redis_is_down_arrive_after(server):
    ecl = logger_for(server)
    group = ecl["cached"]
    group.log("a", 1)
    group.sync()
    server.stop()
    started = time.perf_counter()
    group.log("a", 41)  # never waits on the network
    assert time.perf_counter() - started < 0.1
    server.start()  # a new, empty server (nothing persisted): the 41 arrive
    deadline = time.time() + 20
    while server.totals("cached").get("a") != 41:
        assert time.time() < deadline, server.totals("cached")
        time.sleep(0.1)
