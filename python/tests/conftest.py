"""A real redis-server with the ECL module for each test that asks: a free
port, a directory of its own, stopped by pid even when the test fails."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.environ.get("ECL_MODULE", os.path.join(ROOT, "target", "debug", "libecl.so"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, config_text=None):
        self.dir = tempfile.mkdtemp(prefix="ecl-py-")
        self.port = free_port()
        self.config_text = config_text
        self.proc = None
        self.start()

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--logfile", os.path.join(self.dir, "redis.log"), "--loadmodule", MODULE]
        if self.config_text is not None:
            path = os.path.join(self.dir, "ecl.yml")
            with open(path, "w") as f:
                f.write(self.config_text)
            args.append(path)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.exceptions.RedisError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(open(os.path.join(self.dir, "redis.log")).read())
            time.sleep(0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def conn(self):
        return redis.Redis(port=self.port)

    def totals(self, group):
        try:
            reply = self.conn().execute_command("ECL.TOTALS", group)
        except redis.exceptions.ResponseError as e:
            if "unknown group" in str(e):
                return {}
            raise
        if isinstance(reply, dict):
            return {k.decode(): int(v) for k, v in reply.items()}
        return {reply[i].decode(): int(reply[i + 1]) for i in range(0, len(reply), 2)}

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def server():
    s = RedisServer()
    try:
        yield s
    finally:
        s.cleanup()


def groups_config():
    return {
        "cached": {"events": ["a", "b"], "intervals": ["1h", "1d"], "sync_interval": 0.05},
        "direct": {"events": ["x", "y"], "intervals": ["1h"]},
        "dyn": {"auto_declare_events": True, "intervals": ["1h"], "sync_interval": 0.05},
    }
