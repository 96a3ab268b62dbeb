//! The background flusher of cached groups: closes a batch at every span
//! boundary, drains local counts every `sync_interval` or when `sync_limit`
//! is reached, and sends `ECL.MLOG group AT span ID producer seq ...` in
//! sequence order on its own connection. A batch whose reply was lost is
//! resent with the same `seq`, which the server applies once. Which bank to
//! drain when, and for which span, is `bank_schedule`'s part.

use crate::bank_schedule::{BankSchedule, Drain, GRACE};
use crate::cached::CachedGroup;
use crate::parked::{Parked, ParkedLog};
use crate::sink::{BatchSink, SendError};
use crate::wake::Wake;
use ecl_core::protocol::MlogArgs;
use ecl_core::time::unix_now_ms;
use ecl_core::window::{next_boundary, span_start};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Events per `ECL.MLOG` at most.
const MAX_BATCH_EVENTS: usize = 1000;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long shutdown keeps trying to deliver before giving up (and saying so).
pub(crate) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Outcome of flush requests, for `flush()` callers to wait on.
#[derive(Default)]
pub(crate) struct FlushDone {
    state: Mutex<(u64, Option<String>)>,
    cond: Condvar,
}

impl FlushDone {
    fn complete(&self, generation: u64, error: Option<String>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if generation > s.0 {
            *s = (generation, error);
            self.cond.notify_all();
        }
    }
}

/// Delivery counters, readable through `EclClient::stats`.
#[derive(Default, Debug)]
pub struct Stats {
    pub(crate) sent_batches: AtomicU64,
    pub(crate) sent_counts: AtomicU64,
    pub(crate) rejected_batches: AtomicU64,
    pub(crate) rejected_counts: AtomicU64,
    pub(crate) failed_attempts: AtomicU64,
    pub(crate) pending_counts: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushStats {
    /// Batches the server acknowledged.
    pub sent_batches: u64,
    /// Counts in those batches.
    pub sent_counts: u64,
    /// Batches the server refused (logged as errors; their counts are lost).
    pub rejected_batches: u64,
    /// Counts in refused batches.
    pub rejected_counts: u64,
    /// Send attempts that failed for want of a connection (and were retried).
    pub failed_attempts: u64,
    /// Counts drained from local memory and not yet acknowledged.
    pub pending_counts: u64,
}

impl Stats {
    pub fn snapshot(&self) -> FlushStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FlushStats {
            sent_batches: get(&self.sent_batches),
            sent_counts: get(&self.sent_counts),
            rejected_batches: get(&self.rejected_batches),
            rejected_counts: get(&self.rejected_counts),
            failed_attempts: get(&self.failed_attempts),
            pending_counts: get(&self.pending_counts),
        }
    }
}

/// What callers keep of the flusher.
pub(crate) struct FlusherHandle {
    pub wake: Arc<Wake>,
    pub done: Arc<FlushDone>,
    pub stats: Arc<Stats>,
    pub thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FlusherHandle {
    pub fn start(
        sink: Box<dyn BatchSink>,
        producer: String,
        groups: Vec<Arc<CachedGroup>>,
        parked: Arc<Parked>,
        wake: Arc<Wake>,
    ) -> FlusherHandle {
        let done = Arc::new(FlushDone::default());
        let stats = Arc::new(Stats::default());
        let flusher = Flusher::new(
            sink,
            producer,
            groups,
            parked,
            wake.clone(),
            done.clone(),
            stats.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("ecl-flusher".into())
            .spawn(move || flusher.run())
            .expect("spawn the ECL flusher thread");
        FlusherHandle {
            wake,
            done,
            stats,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Sends everything counted so far; waits at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        let generation = self.wake.request_flush();
        let deadline = Instant::now() + timeout;
        let mut s = self.done.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.0 < generation {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("timed out after {timeout:?}"));
            }
            s = self
                .done
                .cond
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        match &s.1 {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// Stops the flusher after it delivered everything (or gave up).
    pub fn shutdown(&self) {
        self.wake.shutdown();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

/// Whose counts a batch holds.
#[derive(Clone, PartialEq, Eq)]
enum BatchGroup {
    /// A cached group, by index.
    Cached(usize),
    /// A direct group's parked logs, by name.
    Direct(Arc<str>),
}

/// Counts waiting to be acknowledged.
struct PendingBatch {
    group: BatchGroup,
    at_ms: u64,
    /// The `ID` the batch goes out with: the flusher's producer and a `seq`
    /// given at the first send attempt (from then on the batch is resent as
    /// is), or the one a parked direct log was sent with already.
    id: Option<(Option<String>, u64)>,
    counts: HashMap<Box<[u8]>, u64>,
}

impl PendingBatch {
    fn total(&self) -> u64 {
        self.counts.values().fold(0u64, |a, &n| a.saturating_add(n))
    }
}

struct Flusher {
    sink: Box<dyn BatchSink>,
    parked: Arc<Parked>,
    groups: Vec<Arc<CachedGroup>>,
    /// Per group: which bank to drain when.
    schedules: Vec<BankSchedule>,
    pending: VecDeque<PendingBatch>,
    producer: String,
    next_seq: u64,
    retry_at: Option<Instant>,
    backoff: Duration,
    wake: Arc<Wake>,
    done: Arc<FlushDone>,
    stats: Arc<Stats>,
}

impl Flusher {
    fn new(
        sink: Box<dyn BatchSink>,
        producer: String,
        groups: Vec<Arc<CachedGroup>>,
        parked: Arc<Parked>,
        wake: Arc<Wake>,
        done: Arc<FlushDone>,
        stats: Arc<Stats>,
    ) -> Flusher {
        let (now_ms, now) = (unix_now_ms(), Instant::now());
        let schedules = groups
            .iter()
            .map(|g| BankSchedule::new(span_start(&g.intervals_ms, now_ms), g.sync_interval, now))
            .collect();
        Flusher {
            producer,
            sink,
            parked,
            groups,
            schedules,
            pending: VecDeque::new(),
            next_seq: 1,
            retry_at: None,
            backoff: FIRST_BACKOFF,
            wake,
            done,
            stats,
        }
    }

    fn run(mut self) {
        let mut served_flush = 0u64;
        let mut shutdown_deadline: Option<Instant> = None;
        let (mut flush_gen, mut shutdown) = (0, false);
        loop {
            let flushing = flush_gen > served_flush || shutdown;
            self.close_spans(flushing);
            self.drain_due(flushing);
            self.take_parked();
            if flushing {
                self.retry_at = None; // a flush tries now
            }
            let delivered = self.send_pending();
            if flush_gen > served_flush {
                let error = (!delivered).then(|| {
                    format!(
                        "{} counts not delivered yet (Redis unreachable?)",
                        self.pending_total()
                    )
                });
                self.done.complete(flush_gen, error);
                served_flush = flush_gen;
            }
            if shutdown {
                if delivered {
                    return;
                }
                let deadline =
                    *shutdown_deadline.get_or_insert_with(|| Instant::now() + SHUTDOWN_TIMEOUT);
                if Instant::now() >= deadline {
                    log::error!(
                        "ECL: shutting down with {} counts undelivered: Redis unreachable for {:?}",
                        self.pending_total(),
                        SHUTDOWN_TIMEOUT
                    );
                    return;
                }
            }
            (flush_gen, shutdown) = self.wake.wait(self.sleep_time());
        }
    }

    /// At a span boundary: drain what must be drained first, then flip the
    /// group's bank (the old one is drained after `GRACE`). With `now`
    /// (flush), wait out the grace here.
    fn close_spans(&mut self, now: bool) {
        let (now_ms, instant) = (unix_now_ms(), Instant::now());
        for g in 0..self.groups.len() {
            let span = span_start(&self.groups[g].intervals_ms, now_ms);
            if let Some(drains) = self.schedules[g].at_span(span, instant) {
                self.drain_all(g, &drains);
                self.groups[g].flip();
                self.groups[g].prune_idle();
            }
        }
        if now {
            std::thread::sleep(GRACE.min(Duration::from_millis(1)));
        }
    }

    fn drain_due(&mut self, all: bool) {
        let now = Instant::now();
        for g in 0..self.groups.len() {
            let limit_hit = self.groups[g].limit_hit.swap(false, Ordering::AcqRel);
            let drains = self.schedules[g].due(now, all, limit_hit);
            self.drain_all(g, &drains);
        }
    }

    fn drain_all(&mut self, g: usize, drains: &[Drain]) {
        for drain in drains {
            let bank = self.groups[g].bank(drain.bank);
            self.drain_bank(g, bank, drain.span);
        }
    }

    /// Moves a bank's counts into the pending batch of `(group, span)`,
    /// merging with one not yet sent.
    fn drain_bank(&mut self, g: usize, bank: usize, span: u64) {
        let counts = self.groups[g].drain(bank);
        if counts.is_empty() {
            return;
        }
        let added: u64 = counts.iter().fold(0u64, |a, c| a.saturating_add(c.1));
        self.stats
            .pending_counts
            .fetch_add(added, Ordering::Relaxed);
        for (id, n) in counts {
            self.add_pending(BatchGroup::Cached(g), span, id, n);
        }
    }

    /// Adds a count to the unsent batch of `(group, at_ms)`, or a new one.
    fn add_pending(&mut self, group: BatchGroup, at_ms: u64, id: Box<[u8]>, n: u64) {
        let batch = match self.pending.iter_mut().rev().find(|b| {
            b.group == group
                && b.at_ms == at_ms
                && b.id.is_none()
                && (b.counts.len() < MAX_BATCH_EVENTS || b.counts.contains_key(&id))
        }) {
            Some(batch) => batch,
            None => {
                self.pending.push_back(PendingBatch {
                    group,
                    at_ms,
                    id: None,
                    counts: HashMap::new(),
                });
                self.pending.back_mut().expect("just pushed")
            }
        };
        let slot = batch.counts.entry(id).or_insert(0);
        *slot = slot.saturating_add(n);
    }

    /// Takes the direct logs parked since the last round into batches: one
    /// of its own for a log that was sent already (its `ID` decides whether
    /// the server applied it), merged ones for the others.
    fn take_parked(&mut self) {
        let logs = self.parked.take_all();
        if logs.is_empty() {
            return;
        }
        let added: u64 = logs.iter().fold(0u64, |a, l| a.saturating_add(l.n));
        self.stats
            .pending_counts
            .fetch_add(added, Ordering::Relaxed);
        for ParkedLog {
            group,
            at_ms,
            sent_as,
            event,
            n,
        } in logs
        {
            match sent_as {
                Some((producer, seq)) => self.pending.push_back(PendingBatch {
                    group: BatchGroup::Direct(group),
                    at_ms,
                    id: Some((Some(producer), seq)),
                    counts: HashMap::from([(event, n)]),
                }),
                None => self.add_pending(BatchGroup::Direct(group), at_ms, event, n),
            }
        }
    }

    fn pending_total(&self) -> u64 {
        self.pending
            .iter()
            .fold(0u64, |a, b| a.saturating_add(b.total()))
    }

    /// Sends pending batches in order. Returns whether none is left.
    fn send_pending(&mut self) -> bool {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return self.pending.is_empty();
        }
        while let Some(batch) = self.pending.front_mut() {
            let (own_producer, seq) = batch
                .id
                .get_or_insert_with(|| {
                    let s = self.next_seq;
                    self.next_seq += 1;
                    (None, s)
                })
                .clone();
            let producer = own_producer.as_deref().unwrap_or(&self.producer);
            let name: &str = match &batch.group {
                BatchGroup::Cached(g) => &self.groups[*g].name,
                BatchGroup::Direct(name) => name,
            };
            let mut events: Vec<(&[u8], u64)> =
                batch.counts.iter().map(|(id, n)| (&**id, *n)).collect();
            events.sort_unstable();
            let total = batch.total();
            let result = self.sink.send(&MlogArgs {
                group: name.as_bytes(),
                at_ms: Some(batch.at_ms),
                now_ms: None,
                producer: Some((producer.as_bytes(), seq)),
                events: &events,
            });
            if !matches!(result, Err(SendError::Unavailable(_))) {
                self.parked.reachable_again();
            }
            let name = name.to_string();
            match result {
                Ok(()) => {
                    self.stats.sent_batches.fetch_add(1, Ordering::Relaxed);
                    self.stats.sent_counts.fetch_add(total, Ordering::Relaxed);
                    self.stats.pending_counts.fetch_sub(
                        total.min(self.stats.pending_counts.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                    self.pending.pop_front();
                    self.backoff = FIRST_BACKOFF;
                }
                Err(SendError::Refused(e)) => {
                    // The server will refuse it again: report, never silently.
                    log::error!("ECL: group '{name}' refused a batch of {total} counts: {e}");
                    self.stats.rejected_batches.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .rejected_counts
                        .fetch_add(total, Ordering::Relaxed);
                    self.stats.pending_counts.fetch_sub(
                        total.min(self.stats.pending_counts.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                    self.pending.pop_front();
                }
                Err(SendError::Unavailable(e)) => {
                    // Unknown whether it was applied: resend as is (same seq).
                    log::warn!(
                        "ECL: cannot reach Redis ({e}); {} counts kept, retrying in {:?}",
                        self.pending_total(),
                        self.backoff
                    );
                    self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    return false;
                }
            }
        }
        true
    }

    fn sleep_time(&self) -> Duration {
        let now = Instant::now();
        let now_ms = unix_now_ms();
        let mut until = Duration::from_secs(1);
        for (g, group) in self.groups.iter().enumerate() {
            if let Some(b) = next_boundary(&group.intervals_ms, now_ms) {
                until = until.min(Duration::from_millis(b - now_ms));
            }
            if let Some(t) = self.schedules[g].wake_at() {
                until = until.min(t.saturating_duration_since(now));
            }
        }
        if let Some(t) = self.retry_at {
            until = until.min(t.saturating_duration_since(now));
        }
        until
    }
}

#[cfg(test)]
mod tests {
    //! The flusher against an in-memory sink: batching, retries and
    //! exactly-once delivery without a server.

    use super::*;
    use crate::sink::memory::{MemorySink, MemoryState};

    struct Setup {
        group: Arc<CachedGroup>,
        flusher: FlusherHandle,
        sink: Arc<Mutex<MemoryState>>,
        parked: Arc<Parked>,
    }

    fn setup() -> Setup {
        let text =
            "groups:\n  g:\n    events: [a, b]\n    intervals: [1s, 1h]\n    sync_interval: 0.05\n";
        let config = ecl_core::Config::parse(text, "test.yml").unwrap();
        let wake = Arc::new(Wake::default());
        let group = Arc::new(CachedGroup::new(&config.groups[0], wake.clone()));
        let sink = MemorySink::default();
        let state = sink.0.clone();
        let parked = Arc::new(Parked::default());
        let flusher = FlusherHandle::start(
            Box::new(sink),
            "p".into(),
            vec![group.clone()],
            parked.clone(),
            wake,
        );
        Setup {
            group,
            flusher,
            sink: state,
            parked,
        }
    }

    fn parked(event: &str, sent_as: Option<(&str, u64)>) -> ParkedLog {
        ParkedLog {
            group: "d".into(),
            at_ms: 1_000,
            sent_as: sent_as.map(|(p, s)| (p.to_string(), s)),
            event: event.as_bytes().into(),
            n: 1,
        }
    }

    #[test]
    fn parked_direct_logs_arrive_once_with_the_id_they_were_sent_with() {
        let s = setup();
        // A log the server applied although its reply was lost, one it
        // never got, and two never sent (Redis known down).
        s.sink.lock().unwrap().pre_apply(b"conn/0", 5, "d", "x", 1);
        for log in [
            parked("x", Some(("conn/0", 5))),
            parked("y", Some(("conn/1", 9))),
            parked("z", None),
            parked("z", None),
        ] {
            s.parked.park(log);
        }
        assert!(s.parked.is_down());
        s.flusher.flush(FLUSH).unwrap();
        let sink = s.sink.lock().unwrap();
        assert_eq!(
            (
                sink.total("d", "x"),
                sink.total("d", "y"),
                sink.total("d", "z")
            ),
            (1, 1, 2)
        );
        assert_eq!(sink.duplicates_ignored, 1);
        drop(sink);
        assert!(!s.parked.is_down(), "delivered: Redis is known up again");
        s.flusher.shutdown();
    }

    const FLUSH: Duration = Duration::from_secs(5);

    #[test]
    fn counts_of_many_threads_arrive_exactly() {
        let s = setup();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for i in 0..25_000 {
                        s.group.add_by_name(if i % 3 == 0 { b"a" } else { b"b" }, 1);
                    }
                });
            }
        });
        s.flusher.flush(FLUSH).unwrap();
        let sink = s.sink.lock().unwrap();
        assert_eq!(sink.total("g", "a") + sink.total("g", "b"), 100_000);
        assert_eq!(sink.total("g", "a"), 4 * 8_334);
        assert_eq!(sink.duplicates_ignored, 0);
        drop(sink);
        s.flusher.shutdown();
    }

    #[test]
    fn counts_wait_out_an_outage_and_arrive_once() {
        let s = setup();
        s.sink.lock().unwrap().unavailable_next = 3;
        s.group.add_by_name(b"a", 7);
        let first = s.flusher.flush(FLUSH);
        assert!(first.is_err(), "undelivered counts are reported: {first:?}");
        assert_eq!(s.sink.lock().unwrap().total("g", "a"), 0);
        // Flushes retry at once; the outage ends after three failures.
        let deadline = Instant::now() + FLUSH;
        while s.flusher.flush(FLUSH).is_err() {
            assert!(Instant::now() < deadline, "never delivered");
        }
        assert_eq!(s.sink.lock().unwrap().total("g", "a"), 7);
        s.flusher.shutdown();
    }

    #[test]
    fn a_batch_whose_reply_was_lost_is_resent_and_counted_once() {
        let s = setup();
        s.sink.lock().unwrap().lose_reply_next = 1;
        s.group.add_by_name(b"b", 5);
        assert!(s.flusher.flush(FLUSH).is_err());
        s.group.add_by_name(b"b", 1);
        s.flusher.flush(FLUSH).unwrap();
        let sink = s.sink.lock().unwrap();
        assert_eq!(sink.total("g", "b"), 6);
        assert_eq!(
            sink.duplicates_ignored, 1,
            "the resend carried the same seq"
        );
        drop(sink);
        s.flusher.shutdown();
    }

    #[test]
    fn a_refused_batch_is_reported_not_resent() {
        let s = setup();
        s.sink.lock().unwrap().refuse_group = Some("g".into());
        s.group.add_by_name(b"a", 3);
        s.flusher.flush(FLUSH).unwrap();
        let stats = s.flusher.stats.snapshot();
        assert_eq!((stats.rejected_batches, stats.rejected_counts), (1, 3));
        assert_eq!(s.sink.lock().unwrap().batches_applied, 0);
        s.flusher.shutdown();
    }

    #[test]
    fn shutdown_delivers_what_is_left() {
        let s = setup();
        s.group.add_by_name(b"a", 2);
        s.flusher.shutdown();
        assert_eq!(s.sink.lock().unwrap().total("g", "a"), 2);
    }
}
