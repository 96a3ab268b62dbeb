"""The console scripts pip installs: the Rust CLI through the extension,
and ecl_master for supervisord programs written for the original."""
import os
import signal
import subprocess
import sys
import time

BIN = os.path.dirname(sys.executable)


def config_for(server, tmp_path):
    path = tmp_path / "ecl.yml"
    path.write_text(f"redis:\n  port: {server.port}\ngroups:\n  g:\n    events: [e1]\n    intervals: [1h]\n")
    return str(path)


def test_ecl_reader_and_ecl_log_event_run_the_rust_cli(server, tmp_path):
    config = config_for(server, tmp_path)
    subprocess.run([os.path.join(BIN, "ecl_log_event"), config, "g", "e1", "4"], check=True, timeout=30)
    out = subprocess.run([os.path.join(BIN, "ecl_reader"), config, "-g", "g", "--current"],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    assert out == "e1:4\n"
    bad = subprocess.run([os.path.join(BIN, "ecl_reader"), config, "-g", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "nope" in bad.stderr
    groups = subprocess.run([os.path.join(BIN, "ecl"), "groups", "--url", f"redis://127.0.0.1:{server.port}/0"],
                            check=True, capture_output=True, text=True, timeout=30).stdout
    assert groups == "g\n"


def test_ecl_master_declares_idles_and_stops_on_sigterm(server, tmp_path):
    config = config_for(server, tmp_path)
    master = subprocess.Popen([os.path.join(BIN, "ecl_master"), config])
    deadline = time.time() + 20
    while b"g" not in server.conn().execute_command("ECL.GROUPS"):
        assert time.time() < deadline and master.poll() is None
        time.sleep(0.05)
    master.send_signal(signal.SIGTERM)
    assert master.wait(timeout=10) == 0


def test_ecl_master_says_clearly_when_redis_is_not_there(tmp_path):
    import conftest
    path = tmp_path / "ecl.yml"
    path.write_text(f"redis:\n  port: {conftest.free_port()}\ngroups:\n  g:\n    intervals: [1h]\n")
    run = subprocess.run([os.path.join(BIN, "ecl_master"), str(path)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "ecl_master:" in run.stderr
