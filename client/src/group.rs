//! Groups and event handles: where applications count.

use crate::cached::{CachedGroup, EventCounter, OwnedCell};
use crate::connection::command;
use crate::error::ClientError;
use crate::inner::{ClientInner, GroupKind};
use ecl_core::command::resolve_interval;
use ecl_core::event_id::{check_loggable, escape_id};
use ecl_core::protocol::{
    get_command, info_command, range_command, top_command, totals_command, ReadCommand,
};
use ecl_core::{EclError, GroupConfig, WindowKind};
use std::marker::PhantomData;
use std::sync::Arc;

/// An event group. Cheap to clone.
#[derive(Clone)]
pub struct Group {
    pub(crate) client: Arc<ClientInner>,
    pub(crate) kind: GroupKind,
}

/// A pre-resolved event of a group: the fastest way to count. Cheap to clone.
///
/// In a cached group `inc()` adds to the calling thread's own counter cell
/// (a plain load and store, no atomic read-modify-write, no cache line
/// shared with other threads), so it stays cheap when many threads count
/// the same event.
#[derive(Clone)]
pub struct EventHandle {
    client: Arc<ClientInner>,
    target: HandleTarget,
}

#[derive(Clone)]
enum HandleTarget {
    Noop,
    Direct {
        group: Arc<GroupConfig>,
        event: Arc<[u8]>,
    },
    Cached {
        group: Arc<CachedGroup>,
        counter: Arc<EventCounter>,
    },
}

/// A pre-resolved event for one thread: in a cached group `inc()` is a plain
/// load and store on a counter only this handle writes. [`EventHandle::inc`]
/// does the same on the calling thread's cell, after finding it; this
/// handle skips the finding, for the very hottest loops.
///
/// `Send` but not `Sync` and not `Clone`: move it into the thread that
/// counts, and make one per thread ([`Group::local_event`]). Counts are
/// flushed like any other; dropping the handle loses nothing.
///
/// ```compile_fail
/// fn shared_between_threads<T: Sync>() {}
/// shared_between_threads::<ecl_client::LocalEventHandle>();
/// ```
pub struct LocalEventHandle {
    target: LocalTarget,
    /// Not `Sync`: two threads adding through one handle would lose counts.
    _one_thread: PhantomData<std::cell::Cell<()>>,
}

enum LocalTarget {
    Cached {
        group: Arc<CachedGroup>,
        cell: Arc<OwnedCell>,
        /// Keeps the event's counter (and so the cell's registration) alive.
        _counter: Arc<EventCounter>,
    },
    /// Noop and direct groups: as the shared handle does.
    Shared(EventHandle),
}

impl LocalEventHandle {
    /// Counts one occurrence.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Counts `n` occurrences (in a direct group: one `ECL.LOG`, whose
    /// failure is logged).
    #[inline]
    pub fn add(&self, n: u64) {
        match &self.target {
            LocalTarget::Cached { group, cell, .. } => group.add_local(cell, n),
            LocalTarget::Shared(handle) => handle.add(n),
        }
    }
}

/// One event's counts in one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalCounts {
    /// The interval as configured (`5m`).
    pub interval: String,
    /// In the last complete window.
    pub last: u64,
    /// In the window in progress (as far as Redis knows: cached counts not
    /// flushed yet are not included).
    pub current: u64,
}

use ecl_core::protocol::ReplyValue;
pub use ecl_core::protocol::{GroupInfo, IntervalInfo};

/// `ECL.INFO`'s reply as [`ReplyValue`] fields (a RESP3 map or a RESP2 flat
/// array of name, value, ...); `None` where it has another shape.
fn reply_fields(reply: &redis::Value) -> Option<Vec<(String, ReplyValue)>> {
    use redis::Value;
    let pairs: Vec<(&Value, &Value)> = match reply {
        Value::Map(map) => map.iter().map(|(k, v)| (k, v)).collect(),
        Value::Array(flat) if flat.len() % 2 == 0 => {
            flat.chunks_exact(2).map(|kv| (&kv[0], &kv[1])).collect()
        }
        _ => return None,
    };
    pairs
        .into_iter()
        .map(|(k, v)| {
            let ReplyValue::Text(name) = reply_value(k)? else {
                return None;
            };
            Some((name, reply_value(v)?))
        })
        .collect()
}

fn reply_value(v: &redis::Value) -> Option<ReplyValue> {
    use redis::Value;
    Some(match v {
        Value::Int(n) => ReplyValue::Int(u64::try_from(*n).ok()?),
        Value::BulkString(b) => ReplyValue::Text(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => ReplyValue::Text(s.clone()),
        Value::BigNumber(n) => ReplyValue::Text(n.to_string()),
        Value::Array(items) => {
            ReplyValue::Maps(items.iter().map(reply_fields).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

/// What [`Group::snapshot`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSnapshot {
    /// Every live event's total.
    pub totals: Counts,
    /// `(interval, counts of its last window)`, in schema order.
    pub last: Vec<(String, Counts)>,
    /// `ECL.INFO`.
    pub info: GroupInfo,
}

/// `(event, count)` pairs sorted by event ID.
pub type Counts = Vec<(String, u64)>;

/// A window as `ECL.RANGE` replies it: start, and raw `(event, count)`s.
type RawWindow = (u64, Vec<(Vec<u8>, u64)>);

/// A closed window of an interval (`ECL.RANGE`): its start and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Start of the window, Unix ms.
    pub start_ms: u64,
    /// Every declared event (zeros included) and every event counted in it.
    pub counts: Counts,
}

/// Which window [`Group::top`] ranks.
pub use ecl_core::command::TopWindow;

impl Group {
    /// The group's name.
    pub fn name(&self) -> &str {
        match &self.kind {
            GroupKind::Noop(name) => name,
            GroupKind::Direct(c) | GroupKind::Cached(c, _) => &c.name,
        }
    }

    /// The group's intervals as the config (or the server) names them.
    pub fn intervals(&self) -> Vec<ecl_core::IntervalSpec> {
        match &self.kind {
            GroupKind::Noop(_) => Vec::new(),
            GroupKind::Direct(c) | GroupKind::Cached(c, _) => c.intervals.clone(),
        }
    }

    /// Whether logs only touch process memory (a cached group): they never
    /// wait on the network.
    pub fn is_cached(&self) -> bool {
        matches!(self.kind, GroupKind::Cached(..))
    }

    /// Whether the group is in the config (an unknown group counts nothing).
    pub fn is_configured(&self) -> bool {
        !matches!(self.kind, GroupKind::Noop(_))
    }

    /// Counts one occurrence of `event`.
    pub fn log(&self, event: impl AsRef<[u8]>) -> Result<(), ClientError> {
        self.log_n(event, 1)
    }

    /// Counts `n` occurrences of `event`. In a cached group this touches
    /// only process memory; in a direct group it is one `ECL.LOG`.
    pub fn log_n(&self, event: impl AsRef<[u8]>, n: u64) -> Result<(), ClientError> {
        let event = event.as_ref();
        match &self.kind {
            GroupKind::Noop(_) => Ok(()),
            GroupKind::Direct(config) => {
                self.check(config, event)?;
                self.client.log_direct(config, event, n)
            }
            GroupKind::Cached(config, group) => {
                if !group.add_by_name(event, n) {
                    let counter = self.counter(config, group, event)?;
                    group.add(&counter, n);
                }
                Ok(())
            }
        }
    }

    /// A handle for `event`, resolved once; errors as `log` would.
    pub fn event(&self, event: impl AsRef<[u8]>) -> Result<EventHandle, ClientError> {
        let event = event.as_ref();
        let target = match &self.kind {
            GroupKind::Noop(_) => HandleTarget::Noop,
            GroupKind::Direct(config) => {
                self.check(config, event)?;
                HandleTarget::Direct {
                    group: config.clone(),
                    event: event.into(),
                }
            }
            GroupKind::Cached(config, group) => HandleTarget::Cached {
                group: group.clone(),
                counter: self.counter(config, group, event)?,
            },
        };
        Ok(EventHandle {
            client: self.client.clone(),
            target,
        })
    }

    /// A handle for the calling thread's hot path (see [`LocalEventHandle`]).
    pub fn local_event(&self, event: impl AsRef<[u8]>) -> Result<LocalEventHandle, ClientError> {
        let event = event.as_ref();
        let target = match &self.kind {
            GroupKind::Cached(config, group) => {
                let counter = self.counter(config, group, event)?;
                LocalTarget::Cached {
                    group: group.clone(),
                    cell: counter.new_local(),
                    _counter: counter,
                }
            }
            _ => LocalTarget::Shared(self.event(event)?),
        };
        Ok(LocalEventHandle {
            target,
            _one_thread: PhantomData,
        })
    }

    fn counter(
        &self,
        config: &GroupConfig,
        group: &CachedGroup,
        event: &[u8],
    ) -> Result<Arc<EventCounter>, ClientError> {
        if let Some(counter) = group.find(event) {
            return Ok(counter);
        }
        self.check(config, event)?;
        group.find_or_insert(event).ok_or_else(|| {
            let undeclared = EclError::UndeclaredEvent {
                group: config.name.clone(),
                event: event.to_vec(),
            };
            self.refused(config, event, undeclared)
        })
    }

    /// Checks an event locally, so a bad one costs no round trip.
    /// Checks an event locally by core's rule, so a bad one costs no round
    /// trip; reports each refused event once.
    fn check(&self, config: &GroupConfig, event: &[u8]) -> Result<(), ClientError> {
        let declared = config.events.iter().any(|d| d.as_bytes() == event);
        check_loggable(&config.name, event, declared, config.auto_declare_events)
            .map_err(|e| self.refused(config, event, e))
    }

    fn refused(&self, config: &GroupConfig, event: &[u8], e: EclError) -> ClientError {
        let e = ClientError::Refused(e);
        self.client.report_once(&config.name, event, &e.to_string());
        e
    }

    fn config(&self) -> Result<&GroupConfig, ClientError> {
        match &self.kind {
            GroupKind::Noop(name) => Err(EclError::UnknownGroup(name.clone()).into()),
            GroupKind::Direct(c) | GroupKind::Cached(c, _) => Ok(c),
        }
    }

    fn read_pairs(&self, (name, args): ReadCommand) -> Result<Counts, ClientError> {
        let cmd = command(name, args);
        let pairs: Vec<(Vec<u8>, u64)> = match self.client.pool.with(|c| cmd.query(c)) {
            Ok(pairs) => pairs,
            // A configured group nobody wrote yet: readers never declare it
            // (they write nothing), so it reads as its declared events at 0.
            Err(e) if unknown_group(&e) && !matches!(self.kind, GroupKind::Noop(_)) => {
                let config = self.config()?;
                let mut zeros: Counts = config.events.iter().map(|e| (e.clone(), 0)).collect();
                zeros.sort();
                return Ok(zeros);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(pairs.into_iter().map(|(e, n)| (escape_id(&e), n)).collect())
    }

    fn interval_name(&self, interval: Option<&str>) -> Result<String, ClientError> {
        let config = self.config()?;
        match interval {
            // The server resolves a named interval: it knows the group's
            // intervals as they are now, which a config may not.
            Some(i) => Ok(i.to_string()),
            None => {
                resolve_interval(&config.name, &config.intervals, None)?;
                Ok(config.intervals[0].name.clone())
            }
        }
    }

    /// Counts of the last complete window of `interval` (`None` when the
    /// group has one interval). The original library's `get_counts`.
    pub fn last_counts(&self, interval: Option<&str>) -> Result<Counts, ClientError> {
        let interval = self.interval_name(interval)?;
        self.read_pairs(get_command(
            self.name().as_bytes(),
            interval.as_bytes(),
            WindowKind::Last,
        ))
    }

    /// Counts of the window in progress. The original `get_current_counts`.
    pub fn current_counts(&self, interval: Option<&str>) -> Result<Counts, ClientError> {
        let interval = self.interval_name(interval)?;
        self.read_pairs(get_command(
            self.name().as_bytes(),
            interval.as_bytes(),
            WindowKind::Current,
        ))
    }

    /// One event's count in the last window. The original `get_last_count`.
    pub fn last_count(&self, event: &str, interval: Option<&str>) -> Result<u64, ClientError> {
        Ok(self
            .last_counts(interval)?
            .into_iter()
            .find(|(e, _)| e == event)
            .map_or(0, |p| p.1))
    }

    /// One event's count in the current window. The original `get_current_count`.
    pub fn current_count(&self, event: &str, interval: Option<&str>) -> Result<u64, ClientError> {
        Ok(self
            .current_counts(interval)?
            .into_iter()
            .find(|(e, _)| e == event)
            .map_or(0, |p| p.1))
    }

    /// One event's last and current counts in every interval.
    pub fn event_counts(&self, event: &str) -> Result<Vec<IntervalCounts>, ClientError> {
        let config = self.config()?;
        let find = |counts: Counts| {
            counts
                .into_iter()
                .find(|(e, _)| e == event)
                .map_or(0, |p| p.1)
        };
        config
            .intervals
            .iter()
            .map(|i| {
                Ok(IntervalCounts {
                    interval: i.name.clone(),
                    last: find(self.last_counts(Some(&i.name))?),
                    current: find(self.current_counts(Some(&i.name))?),
                })
            })
            .collect()
    }

    /// The schema, window times, event numbers and tallies (`ECL.INFO`).
    /// A reply missing a field is an error, never a silent zero.
    pub fn info(&self) -> Result<GroupInfo, ClientError> {
        self.config()?;
        let reply: redis::Value = self.client.pool.with(|c| {
            let (name, args) = info_command(self.name().as_bytes());
            command(name, args).query(c)
        })?;
        let fields = reply_fields(&reply)
            .ok_or_else(|| ClientError::Protocol(format!("unexpected ECL.INFO reply {reply:?}")))?;
        GroupInfo::from_reply(&fields).map_err(ClientError::Protocol)
    }

    /// Totals, the last window of every interval and the info, read in one
    /// round trip (a pipeline): what an exporter scrapes.
    pub fn snapshot(&self) -> Result<GroupSnapshot, ClientError> {
        let config = self.config()?;
        let mut pipe = redis::pipe();
        let name = self.name().as_bytes();
        let reads = std::iter::once(totals_command(name))
            .chain(
                config
                    .intervals
                    .iter()
                    .map(|interval| get_command(name, interval.name.as_bytes(), WindowKind::Last)),
            )
            .chain(std::iter::once(info_command(name)));
        for (command_name, args) in reads {
            pipe.add_command(command(command_name, args));
        }
        // The cluster connection routes each command on its own (a pipeline
        // there is not one round trip anyway).
        let replies: Vec<redis::Value> = if self.client.pool.is_cluster() {
            let commands: Vec<&redis::Cmd> = pipe.cmd_iter().collect();
            self.client.pool.with(|c| {
                commands
                    .iter()
                    .map(|cmd| cmd.query::<redis::Value>(c))
                    .collect::<redis::RedisResult<Vec<_>>>()
            })?
        } else {
            self.client.pool.with_pipeline(|c| pipe.query(c))?
        };
        let pairs = |v: &redis::Value| -> Result<Counts, ClientError> {
            let pairs: Vec<(Vec<u8>, u64)> = redis::from_redis_value(v)?;
            Ok(pairs.into_iter().map(|(e, n)| (escape_id(&e), n)).collect())
        };
        let (Some((first, rest)), Some(info)) = (replies.split_first(), replies.last()) else {
            return Err(ClientError::Protocol("empty pipeline reply".into()));
        };
        let fields = reply_fields(info)
            .ok_or_else(|| ClientError::Protocol(format!("unexpected ECL.INFO reply {info:?}")))?;
        Ok(GroupSnapshot {
            totals: pairs(first)?,
            last: config
                .intervals
                .iter()
                .zip(&rest[..rest.len().saturating_sub(1)])
                .map(|(i, v)| Ok((i.name.clone(), pairs(v)?)))
                .collect::<Result<_, ClientError>>()?,
            info: GroupInfo::from_reply(&fields).map_err(ClientError::Protocol)?,
        })
    }

    /// The kept closed windows of `interval` whose start is in
    /// `[from_ms, to_ms]`, oldest first, at most `count` (`ECL.RANGE`):
    /// every window present, one with nothing counted at zeros.
    pub fn range(
        &self,
        interval: Option<&str>,
        from_ms: u64,
        to_ms: u64,
        count: Option<usize>,
    ) -> Result<Vec<Window>, ClientError> {
        let interval = self.interval_name(interval)?;
        let (name, args) = range_command(
            self.name().as_bytes(),
            interval.as_bytes(),
            from_ms,
            to_ms,
            count,
            false,
        );
        let reply: Vec<RawWindow> = match self.client.pool.with(|c| command(name, args).query(c)) {
            Ok(reply) => reply,
            // A configured group nobody wrote yet has no window.
            Err(e) if unknown_group(&e) && !matches!(self.kind, GroupKind::Noop(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(reply
            .into_iter()
            .map(|(start_ms, counts)| Window {
                start_ms,
                counts: counts
                    .into_iter()
                    .map(|(e, n)| (escape_id(&e), n))
                    .collect(),
            })
            .collect())
    }

    /// The windows closed since `cursor` (the start of the last window seen;
    /// `None`: every kept one), and the cursor to pass next time: a reader
    /// that polls with it sees each window once, late or not.
    pub fn windows_since(
        &self,
        interval: Option<&str>,
        cursor: Option<u64>,
    ) -> Result<(Vec<Window>, Option<u64>), ClientError> {
        let from = cursor.map_or(0, |c| c.saturating_add(1));
        let windows = self.range(interval, from, u64::MAX, None)?;
        let next = windows.last().map(|w| w.start_ms).or(cursor);
        Ok((windows, next))
    }

    /// The counts of the kept windows whose start is in `[from_ms, to_ms]`,
    /// summed (`ECL.RANGE ... SUM`).
    pub fn sum(
        &self,
        interval: Option<&str>,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Counts, ClientError> {
        let interval = self.interval_name(interval)?;
        self.read_pairs(range_command(
            self.name().as_bytes(),
            interval.as_bytes(),
            from_ms,
            to_ms,
            None,
            true,
        ))
    }

    /// The `k` highest counts of a window, highest first (`ECL.TOP`).
    pub fn top(
        &self,
        interval: Option<&str>,
        k: usize,
        window: TopWindow,
    ) -> Result<Counts, ClientError> {
        let interval = self.interval_name(interval)?;
        self.read_pairs(top_command(
            self.name().as_bytes(),
            interval.as_bytes(),
            k,
            window,
        ))
    }

    /// Every event's cumulative total (`ECL.TOTALS`).
    pub fn totals(&self) -> Result<Counts, ClientError> {
        self.config()?;
        self.read_pairs(totals_command(self.name().as_bytes()))
    }
}

/// The server's "unknown group" refusal.
fn unknown_group(e: &redis::RedisError) -> bool {
    e.code() == Some("ERR") && e.detail().is_some_and(|d| d.starts_with("unknown group"))
}

impl EventHandle {
    /// Counts one occurrence.
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Counts `n` occurrences. In a cached group: an add to the calling
    /// thread's own cell, touching only process memory. In a
    /// direct group: one `ECL.LOG`, whose failure is logged (use
    /// [`try_add`](Self::try_add) to handle it).
    ///
    /// The cached add is always inlined (a few loads and an add, smaller
    /// than a call); anything else is out of line.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        if let HandleTarget::Cached { group, counter } = &self.target {
            group.add(counter, n);
        } else {
            self.add_uncached(n);
        }
    }

    /// [`add`](Self::add) in a direct or no-op group.
    #[inline(never)]
    fn add_uncached(&self, n: u64) {
        if let Err(e) = self.try_add(n) {
            log::error!("ECL: {e}");
        }
    }

    /// Like [`add`](Self::add), returning the error of a direct group's round trip.
    pub fn try_add(&self, n: u64) -> Result<(), ClientError> {
        match &self.target {
            HandleTarget::Noop => Ok(()),
            HandleTarget::Cached { group, counter } => {
                group.add(counter, n);
                Ok(())
            }
            HandleTarget::Direct { group, event } => self.client.log_direct(group, event, n),
        }
    }
}
