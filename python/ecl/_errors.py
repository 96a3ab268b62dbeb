"""Exceptions of ECL: a hierarchy under EclError, with the server's message.

ConnectionError is also redis-py's ConnectionError, so code written for the
original EventCountLogger (``except redis.exceptions.ConnectionError``)
keeps working.
"""
import builtins

try:
    from redis.exceptions import ConnectionError as _RedisConnectionError
except ImportError:  # pragma: no cover - redis-py is a dependency
    _RedisConnectionError = builtins.ConnectionError


class EclError(Exception):
    """Anything ECL could not do."""


class ConnectionError(EclError, _RedisConnectionError):
    """Redis could not be reached or did not answer in time."""


class RefusedError(EclError, ValueError):
    """The server or the client refused the input (unknown group or event,
    a bad event ID, a count that would overflow)."""


class ConfigError(EclError, ValueError):
    """The configuration cannot be used."""
