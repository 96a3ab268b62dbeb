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
