//! What every clone of a client, and every group and handle made from it,
//! shares: the connection pool, the groups, the flusher, the parked direct
//! logs. `client` (the public handle) and `group` (groups and handles) both
//! build on it; it imports neither.

use crate::cached::CachedGroup;
use crate::connection::Pool;
use crate::error::ClientError;
use crate::flusher::FlusherHandle;
use crate::parked::{Parked, ParkedLog};
use crate::sink::RedisSink;
use crate::wake::Wake;
use ecl_core::GroupConfig;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

#[derive(Clone)]
pub(crate) enum GroupKind {
    /// Not in the config: counts nothing.
    Noop(String),
    /// No `sync_interval`/`sync_limit`: one `ECL.LOG` per call.
    Direct(Arc<GroupConfig>),
    /// Local counts, sent by the flusher.
    Cached(Arc<GroupConfig>, Arc<CachedGroup>),
}

pub(crate) struct ClientInner {
    pub(crate) pool: Arc<Pool>,
    pub(crate) groups: HashMap<String, GroupKind>,
    /// Groups not in the config that the server has, with its schema.
    pub(crate) server_groups: Mutex<HashMap<String, GroupKind>>,
    /// Started with the client when a group is cached, else at the first
    /// parked direct log.
    pub(crate) flusher: OnceLock<FlusherHandle>,
    /// The cached groups, and what wakes the flusher.
    pub(crate) cached: Vec<Arc<CachedGroup>>,
    pub(crate) wake: Arc<Wake>,
    /// Direct logs waiting for Redis (see `parked`).
    pub(crate) parked: Arc<Parked>,
    /// A one-shot run's client (the command line): a direct log Redis
    /// cannot confirm is an error rather than parked, and errors are the
    /// caller's to report (no warning of its own besides).
    pub(crate) one_shot: AtomicBool,
    /// The process that made the client (a forked child does not own it).
    pub(crate) process: u32,
    /// The fork generation it was made at (`crate::fork`).
    pub(crate) generation: u64,
    /// `(group, event)` pairs already reported as errors, to report each once.
    pub(crate) reported: Mutex<HashSet<(String, Vec<u8>)>>,
    pub(crate) flush_timeout: Duration,
    /// A one-shot run's whole time (see [`EclClient::for_one_shot_run`]).
    pub(crate) run_time: Duration,
}

impl ClientInner {
    /// The flusher, started now if it was not.
    pub fn flusher(&self) -> &FlusherHandle {
        self.flusher.get_or_init(|| {
            let sink = Box::new(RedisSink::new(self.pool.clone()));
            FlusherHandle::start(
                sink,
                self.pool.producer().to_string(),
                self.cached.clone(),
                self.parked.clone(),
                self.wake.clone(),
            )
        })
    }

    /// A direct log of `n` × `event` in `group`: one round trip; when Redis
    /// cannot confirm it in time (or is known to be down), parked for the
    /// flusher with the `ID` it was sent with, and `Ok` (see `parked`).
    pub fn log_direct(&self, group: &GroupConfig, event: &[u8], n: u64) -> Result<(), ClientError> {
        let park = !self.one_shot.load(Ordering::Relaxed);
        let at_ms = ecl_core::time::unix_now_ms();
        if park && self.parked.is_down() {
            self.park(group, event, n, at_ms, None);
            return Ok(());
        }
        let mut sent_as = None;
        let result = self.pool.with(|c| {
            self.pool.declare_before_writing(c)?;
            let id = c.next_id();
            let result = c.log(&group.name, event, n, &id);
            sent_as = Some(id);
            result
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) if park && crate::error::unreachable(&e) => {
                log::warn!(
                    "ECL: Redis did not confirm a count of group '{}' ({e}); kept, and sent when Redis answers",
                    group.name
                );
                self.park(group, event, n, at_ms, sent_as);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn park(
        &self,
        group: &GroupConfig,
        event: &[u8],
        n: u64,
        at_ms: u64,
        sent_as: Option<(String, u64)>,
    ) {
        let intervals: Vec<u64> = group.intervals.iter().map(|i| i.ms).collect();
        // Logs of one span (no window boundary of any interval inside) go
        // into one batch; a log already sent keeps its own time.
        let at_ms = if sent_as.is_none() && !intervals.is_empty() {
            ecl_core::window::span_start(&intervals, at_ms)
        } else {
            at_ms
        };
        self.parked.park(ParkedLog {
            group: group.name.as_str().into(),
            at_ms,
            sent_as,
            event: event.into(),
            n,
        });
        self.flusher().wake.notify();
    }

    /// Logs a problem the first time it happens for this group and event.
    pub fn report_once(&self, group: &str, event: &[u8], message: &str) {
        if self.one_shot.load(Ordering::Relaxed) {
            return;
        }
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        if reported.insert((group.to_string(), event.to_vec())) {
            log::warn!("ECL: {message}");
        }
    }
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if std::process::id() != self.process {
            // A forked child dropping its parent's client: the flusher
            // thread is the parent's (not running here) and so are the
            // unsent counts. Joining would wait forever, sending would
            // count them twice: leave both alone.
            std::mem::forget(self.flusher.take());
            return;
        }
        if let Some(flusher) = self.flusher.get() {
            flusher.shutdown();
        }
    }
}
