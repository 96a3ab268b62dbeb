"""ECL: counting events per time interval in Redis, from Python.

The native API::

    import ecl
    client = ecl.Client.from_config("/etc/ecl.yml")      # or ecl.Client(url=..., groups={...})
    web = client.group("web")
    web.log("hit")                    # cached groups: process memory only
    miss = web.event("miss"); miss.inc()
    web.last_counts("5m"); web.totals(); web.info()
    client.flush(timeout=5)

Everything that counts — batching, AT, ID, retries, exactly-once — is the
Rust client (``ecl._ecl``). This module adds what Python processes need:
counts are flushed at interpreter exit, and after ``fork()`` the child
counts with a client of its own (never re-sending its parent's counts).
"""
import atexit
import json
import os
import weakref
from typing import Dict, List, Optional, Tuple

try:
    from . import _ecl
except ImportError as e:  # pragma: no cover - exercised in a sub-interpreter test
    if "interpreter" in str(e):
        raise ImportError(
            "ECL cannot be imported in a Python sub-interpreter (its native part is a PyO3 "
            "extension). Under Apache mod_wsgi, run the application in the main interpreter: "
            "WSGIApplicationGroup %{GLOBAL}"
        ) from e
    raise
from ._errors import ConfigError, ConnectionError, EclError, RefusedError

__all__ = [
    "Client", "Group", "EventHandle", "EclError", "ConnectionError", "RefusedError", "ConfigError",
    "install_shutdown_handlers",
]

#: How long the flush at interpreter exit may take, in seconds.
EXIT_FLUSH_TIMEOUT = 5.0

_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()
# Clients a forked child set aside: their threads and locks belong to the
# parent, so they are never used, flushed or freed in the child.
_set_aside = []


def _config_text(url, groups, redis) -> str:
    redis_section = dict(redis or {})
    if url is not None:
        redis_section["url"] = url
    doc = {"groups": groups or {}}
    if redis_section:
        doc["redis"] = redis_section
    return json.dumps(doc)  # JSON is YAML: the Rust config parser reads it


class Client:
    """One process's connection to ECL. Share it between threads."""

    def __init__(self, url: Optional[str] = None, groups: Optional[Dict[str, dict]] = None,
                 redis: Optional[dict] = None, *, config_text: Optional[str] = None,
                 source: str = "<python>"):
        self._text = config_text if config_text is not None else _config_text(url, groups, redis)
        self._source = source
        self._inner = _ecl.Client(self._text, self._source)
        # Groups and handles made from this client, re-pointed after a fork.
        self._views = weakref.WeakSet()
        _clients.add(self)

    @classmethod
    def from_config(cls, path) -> "Client":
        """A client from the YAML config file (the module's format)."""
        with open(path, "r", encoding="utf-8") as f:
            return cls(config_text=f.read(), source=str(path))

    def _native(self):
        return self._inner

    def group(self, name: str) -> "Group":
        """The group called ``name`` (one the server has works too; an
        unknown one counts nothing, with one warning)."""
        return Group(self, name)

    def _current(self):
        # The native client of this process: after any fork (uWSGI's
        # workers are forked in C, with no Python hook) a new one is made
        # before it is used.
        _ecl.notice_fork()
        return self._inner

    def flush(self, timeout: Optional[float] = None) -> None:
        """Sends every cached count and waits for Redis (at most ``timeout`` s)."""
        self._current().flush(timeout)

    def server_groups(self):
        return self._current().server_groups()

    def declare(self) -> None:
        """Declares the configured groups on the server now (``ECL.DECLARE``);
        the client does it by itself before its first write. Reading never
        declares: readers write nothing."""
        self._current().declare()

    def close(self) -> None:
        """Flushes; the client stays usable."""
        self.flush()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _after_fork_in_child(self) -> None:
        # The parent's unsent counts stay in the parent's client (set aside,
        # never sent from here); the child counts afresh, through the same
        # groups and handles.
        _set_aside.append(self._inner)
        # No connection check: the child counts (cached in memory) even
        # while Redis is unreachable, as the parent did.
        self._inner = _ecl.Client(self._text, self._source, False)
        for view in list(self._views):
            view._bind()


class Group:
    """An event group of a Client. ``log(event, n=1)`` counts ``n`` of
    ``event`` (str or bytes): process memory only in a cached group."""

    # `log` is the native method itself (bound again after a fork): a log
    # costs one call into Rust and nothing else.
    __slots__ = ("_client", "name", "_native", "log", "__weakref__")

    def __init__(self, client: Client, name: str):
        self._client = client
        self.name = name
        self._bind()
        client._views.add(self)

    def _bind(self) -> None:
        # The native group calls back into this object (weakly) when it
        # finds itself used in a forked child.
        self._native = self._client._current().group(self.name, weakref.ref(self))
        self.log = self._native.log

    def _fresh(self):
        _ecl.notice_fork()  # rebinds every view after a fork
        return self._native

    @property
    def configured(self) -> bool:
        return self._fresh().configured

    def event(self, event) -> "EventHandle":
        """A handle for one event, resolved once (the fastest way to count)."""
        return EventHandle(self, event)

    def last_counts(self, interval: Optional[str] = None) -> Dict[str, int]:
        return self._fresh().last_counts(interval)

    def current_counts(self, interval: Optional[str] = None) -> Dict[str, int]:
        return self._fresh().current_counts(interval)

    def totals(self) -> Dict[str, int]:
        return self._fresh().totals()

    def range(self, interval: Optional[str] = None, from_ms: int = 0, to_ms: Optional[int] = None,
              count: Optional[int] = None) -> List[Tuple[int, Dict[str, int]]]:
        """The kept closed windows whose start is in ``[from_ms, to_ms]``,
        oldest first: ``[(start_ms, {event: count}), ...]``, every window
        present (a quiet one with its declared events at 0)."""
        to = (1 << 64) - 1 if to_ms is None else to_ms
        return self._fresh().range(interval, from_ms, to, count)

    def windows_since(self, cursor: Optional[int] = None, interval: Optional[str] = None
                      ) -> Tuple[List[Tuple[int, Dict[str, int]]], Optional[int]]:
        """The windows closed since ``cursor`` (the start of the last window
        seen; ``None``: every kept one) and the cursor to pass next time:
        polling with it sees each window once, however late."""
        windows = self.range(interval, 0 if cursor is None else cursor + 1)
        return windows, (windows[-1][0] if windows else cursor)

    def sum(self, interval: Optional[str] = None, from_ms: int = 0, to_ms: Optional[int] = None
            ) -> Dict[str, int]:
        """The counts of the kept windows whose start is in ``[from_ms, to_ms]``, summed."""
        to = (1 << 64) - 1 if to_ms is None else to_ms
        return self._fresh().sum(interval, from_ms, to)

    def top(self, k: int, interval: Optional[str] = None, at: Optional[int] = None,
            current: bool = False) -> List[Tuple[str, int]]:
        """The ``k`` highest counts of the last window (or the current one,
        or the kept one containing ``at``), highest first."""
        return self._fresh().top(k, interval, at, current)

    def info(self) -> dict:
        """``ECL.INFO``: the schema, window times, event numbers and tallies."""
        return self._fresh().info()

    def intervals(self):
        return self._fresh().intervals()


class EventHandle:
    """One event of a group, resolved once: ``inc(n=1)``."""

    __slots__ = ("_group", "_event", "inc", "__weakref__")

    def __init__(self, group: Group, event):
        self._group = group
        self._event = event
        self._bind()
        group._client._views.add(self)

    def _bind(self) -> None:
        native = self._group._client._current().group(self._group.name)
        self.inc = native.event(self._event, weakref.ref(self)).inc


def _flush_all_at_exit(timeout: float = None) -> None:
    for client in list(_clients):
        try:
            client.flush(EXIT_FLUSH_TIMEOUT if timeout is None else timeout)
        except EclError as e:  # never hide it, never hang the exit
            import logging
            logging.getLogger("ecl").error("ECL: counts not delivered at exit: %s", e)


def install_shutdown_handlers(signals=None, timeout: float = EXIT_FLUSH_TIMEOUT) -> None:
    """Flushes every client when the process gets ``SIGTERM`` or ``SIGINT``
    (or ``signals``), then lets it end as it would have: the handler that
    was there runs (``KeyboardInterrupt`` for ``SIGINT``, a framework's
    own), and where there was none the process dies of the signal as
    before. supervisord, systemd, Docker and Kubernetes stop processes with
    ``SIGTERM``, whose default action skips ``atexit``; without this, the
    counts cached since the last sync are lost. Call it from the main
    thread, after the framework installed its own handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("ecl.install_shutdown_handlers() must be called from the main thread")
    for sig in signals or (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if getattr(previous, "_ecl_flushes", False):
            continue  # installed already

        def flush_then_go_on(signum, frame, previous=previous):
            _flush_all_at_exit(timeout)
            if callable(previous):
                return previous(signum, frame)
            if previous == signal.SIG_IGN:
                return None
            # The default action (or a handler set outside Python): as if
            # this handler had never been there.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return None

        flush_then_go_on._ecl_flushes = True
        signal.signal(sig, flush_then_go_on)


def _after_fork_in_child() -> None:
    _ecl.after_fork_in_child()
    for client in list(_clients):
        try:
            client._after_fork_in_child()
        except EclError as e:
            import logging
            logging.getLogger("ecl").error("ECL: no client in the forked child: %s", e)


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

