"""The original EventCountLogger's API, on ECL.

Applications written for CESNET's EventCountLogger switch by installing
ECL: the same classes, signatures, defaults, return types and warnings.
Counts go to the ECL module in Redis (windows rotate there; no master
process is needed). Better than the original where it lost data: counts
are flushed at exit, a fork()ed child never re-sends its parent's counts,
and log() never waits on the network in a cached group.
"""
import logging
import re
import time
from typing import Dict, Iterable, Union

import ecl
from ecl import _config_text

DEFAULT_REDIS_CONFIG = {
    'host': 'localhost',
    'port': 6379,
    'db': 0,
}


class EventCountLogger:
    """One per process; get groups with get_group() or ecl[name]."""

    def __init__(self, cfg_groups: dict, cfg_redis: dict = None, log_level: Union[str, int] = 'WARNING'):
        self.log = logging.getLogger(self.__class__.__name__)
        self.log.setLevel(log_level)
        self.log_level = log_level
        self.warning_printed = set()
        self.redis_config = DEFAULT_REDIS_CONFIG.copy()
        if cfg_redis:
            self.redis_config.update(cfg_redis)
        self._all_groups = dict(cfg_groups or {})
        try:
            self._client = ecl.Client(config_text=_config_text(None, self._all_groups, self.redis_config),
                                      source="EventCountLogger")
        except ecl.ConnectionError as e:
            self.log.error(f"Can't connect to redis: {e}")
            raise
        self._instantiated_groups = {}

    def dump_config(self) -> str:
        """Return string specifying loaded configuration (for debugging)."""
        return f"EventCountLogger configuration:\nredis: {self.redis_config}\ngroups: {self._all_groups}\n"

    def get_group(self, name: str, dummy: bool = False, warn: bool = True) -> 'Union[EventGroup,DummyEventGroup,None]':
        group = self._instantiated_groups.get(name, None)
        if group:
            return group
        if name not in self._all_groups:
            if warn and name not in self.warning_printed:
                self.log.warning(f"No configuration for event group '{name}' found, events of this group will not be logged.")
                self.warning_printed.add(name)
            if dummy:
                return DUMMY_EVENT_GROUP
            return None
        spec = self._all_groups[name]
        group = EventGroup(self, name, spec.get('events', []) or [], spec['intervals'],
                           bool(spec.get('auto_declare_events')), spec.get('sync_interval', None),
                           spec.get('sync_limit'), log_level=self.log_level)
        self._instantiated_groups[name] = group
        return group

    def __getitem__(self, item):
        """As get_group, but return DummyEventGroup when no group is configured."""
        return self.get_group(item, dummy=True, warn=True)

    def _declare(self, group: str, event_ids) -> None:
        """Adds events to a group: to the config this logger declares (so new
        connections declare them too) and to the server at once."""
        spec = self._all_groups[group]
        events = list(spec.get('events', []) or [])
        new = [e for e in event_ids if e not in events]
        if not new:
            return
        spec = dict(spec, events=events + new)
        self._all_groups[group] = spec
        old = self._client
        self._client = ecl.Client(config_text=_config_text(None, self._all_groups, self.redis_config),
                                  source="EventCountLogger")
        self._client.declare()
        old.flush()


class EventGroup:
    """An event group: log() counts, get_*() read."""

    def __init__(self, logger: EventCountLogger, name: str, event_ids: Iterable[str], intervals: Iterable[str],
                 auto_declare: bool = False, sync_interval: Union[int, float, None] = None, sync_limit: int = None,
                 log_level: Union[str, int] = 'WARNING'):
        self.logger = logging.getLogger(f"EventGroup({name})")
        self.logger.setLevel(log_level)
        self._ecl = logger
        self.group_name = name
        self.event_ids = set(event_ids)
        self.intervals = list(intervals)
        self.auto_declare = auto_declare
        self.sync_interval = float(sync_interval) if sync_interval else None
        self.sync_limit = sync_limit
        self.use_local_counters = (self.sync_interval is not None or self.sync_limit is not None)
        self._client = None
        self._group = None
        self._undeclared = {}

    def _native(self) -> 'ecl.Group':
        # Many threads share one group: `_group` is set before `_client`, so
        # a thread that finds `_client` current finds its `_group` too (a
        # thread switch between the two must not hand out a stale group).
        client = self._ecl._client
        if self._client is not client:
            group = client.group(self.group_name)
            self._group = group
            self._client = client
            return group
        return self._group

    def log(self, event_id: str, count: int = 1):
        """Increment counter event_id in the group (an undeclared event in a
        group without auto_declare_events is dropped with a warning, as the
        original did)."""
        if event_id not in self.event_ids:
            if self.auto_declare:
                self.event_ids.add(event_id)
            else:
                self._warn_undeclared(event_id)
                return
        # As `_native`, inline: this is the hot path.
        client = self._ecl._client
        if self._client is not client:
            group = client.group(self.group_name)
            self._group = group
            self._client = client
            group.log(event_id, count)
            return
        self._group.log(event_id, count)

    #: An undeclared event's warning is repeated at most this often (s).
    WARNING_INTERVAL = 60.0

    def _warn_undeclared(self, event_id: str) -> None:
        # The original warned on every call (hundreds of lines a minute in a
        # busy server's log): once per event and minute, with how many were
        # dropped since.
        now = time.monotonic()
        last, dropped = self._undeclared.get(event_id, (None, 0))
        if last is not None and now - last < self.WARNING_INTERVAL:
            self._undeclared[event_id] = (last, dropped + 1)
            return
        self._undeclared[event_id] = (now, 0)
        more = f" ({dropped} more dropped since the last warning)" if dropped else ""
        self.logger.warning(f"Event '{event_id}' is not declared!{more}")

    def sync(self):
        """Send local counts to Redis now."""
        self._ecl._client.flush()

    def declare_event_id(self, event_id: str):
        """Create counter for event_id if it doesn't exist yet (as if listed
        in the configuration)."""
        self.declare_event_ids([event_id])

    def declare_event_ids(self, event_ids: Iterable[str]):
        new = [e for e in event_ids if e not in self.event_ids]
        if not new:
            return
        self.event_ids.update(new)
        if not self.auto_declare:
            self._ecl._declare(self.group_name, new)

    def get_current_counts(self, event_id: str) -> Union[Dict[str, int], None]:
        """Current count of event_id in every interval (Redis's, plus local
        counts not sent yet: they are sent first)."""
        if event_id not in self.event_ids:
            self.logger.warning(f"Event '{event_id}' is not declared!")
            return None
        if self.use_local_counters:
            self.sync()
        group = self._native()
        return {interval: group.current_counts(interval).get(event_id, 0) for interval in self.intervals}

    def get_last_count(self, event_id: str, interval: str) -> Union[int, None]:
        return self._native().last_counts(interval).get(event_id, 0)

    def get_current_count(self, event_id: str, interval: str) -> Union[int, None]:
        return self._native().current_counts(interval).get(event_id, 0)

    def get_counts(self, interval: str, current: bool = False) -> Dict[str, Union[int, None]]:
        if interval not in self.intervals:
            self.logger.error(f"Interval '{interval}' is not defined for this group!")
            return {}
        group = self._native()
        counts = group.current_counts(interval) if current else group.last_counts(interval)
        for event_id in self.event_ids:
            counts.setdefault(event_id, 0)
        return counts


class DummyEventGroup:
    """log() that does nothing, for `ecl.get_group(x) or DummyEventGroup()`."""

    def log(self, event_id: str, count: int = 1):
        return


DUMMY_EVENT_GROUP = DummyEventGroup()

_interval_re = re.compile(r'^([-+]?\d*\.\d+|\d+)([hHmMsS])$')


def int2sec(interval_str: str) -> Union[int, float]:
    """Parse interval string (number + 's'/'m'/'h') to seconds."""
    res = _interval_re.match(interval_str)
    if res:
        number = float(res.group(1))
        char = str(res.group(2))
        if char in ["h", "H"]:
            return number * 3600
        if char in ["m", "M"]:
            return number * 60
        return number
    raise ValueError(f"Interval string '{interval_str}' does not match pattern '^[-+]?\\d*\\.\\d+|\\d+[hHmMsS]$'")
