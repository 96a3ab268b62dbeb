"""The native API: ecl.Client, groups, handles, readers, errors."""
import subprocess
import sys

import pytest
import redis

import ecl
from conftest import groups_config


def test_cached_and_direct_groups_count_exactly(server):
    with ecl.Client(url=f"redis://127.0.0.1:{server.port}/0", groups=groups_config()) as client:
        cached, direct = client.group("cached"), client.group("direct")
        for _ in range(1000):
            cached.log("a")
        handle = cached.event("b")
        handle.inc(5)
        direct.log("x", n=3)
        client.flush(timeout=5)
        assert cached.totals() == {"a": 1000, "b": 5}
        assert direct.totals() == {"x": 3, "y": 0}
        assert cached.current_counts("1h") == {"a": 1000, "b": 5}
        info = cached.info()
        assert info["group"] == "cached" and [i["name"] for i in info["intervals"]] == ["1h", "1d"]
        assert info["intervals"][0]["length_ms"] == 3_600_000
        assert info["declared_events"] == 2 and isinstance(info["memory_bytes"], int)


def test_errors_are_python_exceptions_with_the_server_s_message(server):
    client = ecl.Client(url=f"redis://127.0.0.1:{server.port}/0", groups=groups_config())
    with pytest.raises(ecl.RefusedError) as e:
        client.group("direct").log("nope")
    assert "not declared" in str(e.value)
    with pytest.raises(ecl.EclError):
        client.group("direct").log("@reserved")
    with pytest.raises(TypeError):
        client.group("direct").log(42)


def test_construction_raises_redis_py_s_connection_error_when_redis_is_down():
    port = __import__("conftest").free_port()
    with pytest.raises(redis.exceptions.ConnectionError):
        ecl.Client(url=f"redis://127.0.0.1:{port}/0", groups=groups_config())


def test_every_kind_of_str_id_counts_as_its_utf8(server):
    """An ID given as str counts as the same ID given as its UTF-8 bytes,
    whatever its characters and length (the str's own UTF-8 is borrowed);
    a str with a lone surrogate, which has no UTF-8, raises as Python's own
    encoder does and counts nothing."""
    ids = ["e", "requests", "\u00e9t\u00e9", "\u20acuro", "\U0001d11e clef", "x" * 64, "y" * 65,
           "\u00e9" * 64, "\U0001d11e" * 65]
    with ecl.Client(url=f"redis://127.0.0.1:{server.port}/0", groups=groups_config()) as client:
        group = client.group("dyn")
        for i, event in enumerate(ids):
            group.log(event, n=i + 1)
            group.log(event.encode(), n=100)
        with pytest.raises(UnicodeEncodeError):
            group.log("a\ud800")
        client.flush(timeout=5)
        totals = group.totals()
    assert totals == {event: i + 101 for i, event in enumerate(ids)}


def test_a_group_made_on_the_server_needs_no_config(server):
    server.conn().execute_command("ECL.CREATE", "ops", "INTERVALS", "1h", "EVENTS", "deploy")
    client = ecl.Client(url=f"redis://127.0.0.1:{server.port}/0")
    client.group("ops").log("deploy", 2)
    assert client.group("ops").totals() == {"deploy": 2}


def test_counts_are_flushed_at_interpreter_exit(server):
    code = f"""
import ecl
c = ecl.Client(url="redis://127.0.0.1:{server.port}/0",
               groups={{"g": {{"events": ["e"], "intervals": ["1h"], "sync_interval": 60}}}})
g = c.group("g")
for _ in range(12345):
    g.log("e")
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert server.totals("g") == {"e": 12345}


def test_importing_in_a_sub_interpreter_says_what_to_do():
    interpreters = pytest.importorskip("_xxsubinterpreters")
    code = (
        "try:\n"
        "    import ecl\n"
        "except ImportError as e:\n"
        "    assert 'WSGIApplicationGroup %{GLOBAL}' in str(e), str(e)\n"
        "else:\n"
        "    raise AssertionError('imported')\n"
    )
    interp = interpreters.create()
    try:
        interpreters.run_string(interp, code)
    finally:
        interpreters.destroy(interp)


def test_the_package_under_test_is_the_wheel_installed_without_rust():
    import os
    import shutil

    if not os.environ.get("ECL_WHEEL_TEST"):
        pytest.skip("not the wheel run (make test runs the wheel, in a venv without Rust)")
    assert shutil.which("cargo") is None and shutil.which("rustc") is None
    from importlib import metadata

    dist = metadata.distribution("ecl-redis")
    assert dist.metadata["License-Expression"] == "BSD-3-Clause" or "BSD" in (dist.metadata["License"] or "")
    files = [str(f) for f in dist.files]
    assert any(f.startswith("ecl/_ecl") for f in files), files
    assert "ecl/py.typed" in files and "ecl/__init__.pyi" in files


def test_history_ranges_top_and_a_window_cursor(server):
    import time

    conn = server.conn()
    conn.execute_command("ECL.CREATE", "h", "AUTO_DECLARE", "HISTORY", "10m", "INTERVALS", "1m",
                         "EVENTS", "a")
    now_ms = int(conn.time()[0]) * 1000
    if 60_000 - now_ms % 60_000 < 5_000:  # keep clear of the minute's end
        time.sleep(6)
        now_ms = int(conn.time()[0]) * 1000
    this = now_ms // 60_000 * 60_000
    for k in (1, 2, 3):
        conn.execute_command("ECL.MLOG", "h", "AT", this - k * 60_000, "a", k, "x", 10 * k)
    client = ecl.Client(url=f"redis://127.0.0.1:{server.port}/0")
    h = client.group("h")
    windows = h.range("1m")
    assert [start for start, _ in windows] == [this - k * 60_000 for k in range(10, 0, -1)]
    assert windows[-1][1] == {"a": 1, "x": 10}
    assert windows[0][1] == {"a": 0}
    seen, cursor = h.windows_since(None, "1m")
    assert len(seen) == 10
    again, cursor2 = h.windows_since(cursor, "1m")
    assert again == [] and cursor2 == cursor
    assert h.sum("1m", this - 3 * 60_000, this - 1) == {"a": 6, "x": 60}
    assert h.top(1, "1m", at=this - 2 * 60_000) == [("x", 20)]
    assert h.top(2, "1m") == [("x", 10), ("a", 1)]
    assert h.info()["history_ms"] == 600_000
