//! When to drain which of a cached group's two banks, and for which span:
//! the flusher's bookkeeping, kept apart from its I/O so that every case is
//! unit-tested.
//!
//! `log` adds to the active bank. At a span boundary (a window boundary of
//! any of the group's intervals) the active bank is closed and the other one
//! becomes active; the closed bank is drained after [`GRACE`], so that a
//! `log` that read the active bank just before the flip has finished its
//! add. It is then idle. A `log` that was descheduled for longer than the
//! grace still adds to it after its drain: those stragglers belong to the
//! span the bank was closed for, and they are taken before the bank becomes
//! active again and at every flush, so none is lost or moved to another
//! window.

use std::time::{Duration, Instant};

/// Pause between closing a bank and draining it.
pub(crate) const GRACE: Duration = Duration::from_millis(2);

/// Take what `bank` holds and send it as counts of the span starting at `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drain {
    pub bank: usize,
    pub span: u64,
}

/// The bank closed at the last boundary, to drain once `due`.
#[derive(Debug, Clone, Copy)]
struct Closing {
    drain: Drain,
    due: Instant,
}

/// One group's banks, from the flusher's side (it alone flips them).
#[derive(Debug)]
pub(crate) struct BankSchedule {
    /// The bank `log` adds to, as the flusher last set it.
    active: usize,
    /// Start of the span the active bank counts for.
    span: u64,
    closing: Option<Closing>,
    /// The bank that is neither active nor closing, with its last span.
    idle: Option<Drain>,
    sync_every: Option<Duration>,
    next_sync: Option<Instant>,
}

/// What to do at a span boundary, in order: the drains, then flip the
/// group's active bank (it must return `closed`, the bank that was active).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Boundary {
    pub drains: Vec<Drain>,
    pub closed: usize,
}

impl BankSchedule {
    /// A group whose bank 0 is active and counts for the span at `span`.
    pub fn new(span: u64, sync_every: Option<Duration>, now: Instant) -> BankSchedule {
        BankSchedule {
            active: 0,
            span,
            closing: None,
            idle: None,
            sync_every,
            next_sync: sync_every.map(|every| now + every),
        }
    }

    /// The span that contains now starts at `span`. At a boundary, returns
    /// what to drain before flipping the banks.
    pub fn at_span(&mut self, span: u64, now: Instant) -> Option<Boundary> {
        if span <= self.span {
            return None;
        }
        // The bank about to become active again: a bank closed a whole span
        // ago and still not drained (overdue), or the idle bank's stragglers.
        // (At most one of the two exists: a drained closing bank turns idle.)
        let drains: Vec<Drain> = self
            .closing
            .take()
            .map(|closing| closing.drain)
            .or(self.idle.take())
            .into_iter()
            .collect();
        let closed = self.active;
        self.closing = Some(Closing {
            drain: Drain {
                bank: closed,
                span: self.span,
            },
            due: now + GRACE,
        });
        self.active ^= 1;
        self.span = span;
        Some(Boundary { drains, closed })
    }

    /// What to drain now: a closed bank past its grace, and the active bank
    /// when `sync_interval` is due or `sync_limit` was hit. With `all` (a
    /// flush), every bank that may hold counts, at once.
    pub fn due(&mut self, now: Instant, all: bool, limit_hit: bool) -> Vec<Drain> {
        let mut drains = Vec::new();
        match self.closing {
            Some(closing) if all || closing.due <= now => {
                self.closing = None;
                self.idle = Some(closing.drain);
                drains.push(closing.drain);
            }
            Some(_) => {}
            None if all => drains.extend(self.idle),
            None => {}
        }
        let sync_due = self.next_sync.is_some_and(|t| t <= now);
        if all || limit_hit || sync_due {
            drains.push(Drain {
                bank: self.active,
                span: self.span,
            });
            self.next_sync = self.sync_every.map(|every| now + every);
        }
        drains
    }

    /// The next moment `due` has work without being asked, if any.
    pub fn wake_at(&self) -> Option<Instant> {
        let closing = self.closing.map(|c| c.due);
        match (closing, self.next_sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: u64 = 1_000;

    fn drain(bank: usize, span: u64) -> Drain {
        Drain { bank, span }
    }

    #[test]
    fn a_closed_bank_is_drained_after_the_grace_for_its_span() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        assert_eq!(s.at_span(0, t0), None, "no boundary yet");
        let boundary = s.at_span(SPAN, t0).unwrap();
        assert_eq!(
            boundary,
            Boundary {
                drains: vec![],
                closed: 0
            }
        );
        assert_eq!(s.due(t0, false, false), vec![], "within the grace");
        assert_eq!(s.wake_at(), Some(t0 + GRACE));
        assert_eq!(s.due(t0 + GRACE, false, false), vec![drain(0, 0)]);
        assert_eq!(s.wake_at(), None);
    }

    #[test]
    fn stragglers_of_an_idle_bank_are_taken_for_its_span_before_it_is_active_again() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        s.at_span(SPAN, t0).unwrap();
        assert_eq!(s.due(t0 + GRACE, false, false), vec![drain(0, 0)]);
        // Bank 0 is idle now; the next boundary reactivates it, so it is
        // drained first, still as span 0, and bank 1 closes for span 1.
        let boundary = s.at_span(2 * SPAN, t0 + GRACE).unwrap();
        assert_eq!(
            boundary,
            Boundary {
                drains: vec![drain(0, 0)],
                closed: 1
            }
        );
        assert_eq!(s.due(t0 + 2 * GRACE, false, false), vec![drain(1, SPAN)]);
    }

    #[test]
    fn a_flush_drains_every_bank_that_may_hold_counts() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        // Only the active bank before any boundary.
        assert_eq!(s.due(t0, true, false), vec![drain(0, 0)]);
        // Closing (within its grace) and active.
        s.at_span(SPAN, t0).unwrap();
        assert_eq!(s.due(t0, true, false), vec![drain(0, 0), drain(1, SPAN)]);
        // Idle (stragglers) and active, again at every flush.
        assert_eq!(s.due(t0, true, false), vec![drain(0, 0), drain(1, SPAN)]);
        assert_eq!(
            s.due(t0, false, false),
            vec![],
            "nothing due without a flush"
        );
    }

    #[test]
    fn an_overdue_closed_bank_is_drained_at_the_next_boundary_first() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        s.at_span(SPAN, t0).unwrap();
        // No `due` call in between: the next boundary drains bank 0 (closed
        // for span 0) before bank 0 becomes active again.
        let boundary = s.at_span(2 * SPAN, t0).unwrap();
        assert_eq!(
            boundary,
            Boundary {
                drains: vec![drain(0, 0)],
                closed: 1
            }
        );
    }

    #[test]
    fn sync_interval_and_sync_limit_drain_the_active_bank() {
        let t0 = Instant::now();
        let every = Duration::from_millis(500);
        let mut s = BankSchedule::new(0, Some(every), t0);
        assert_eq!(s.wake_at(), Some(t0 + every));
        assert_eq!(s.due(t0, false, false), vec![]);
        assert_eq!(s.due(t0, false, true), vec![drain(0, 0)], "sync_limit hit");
        let later = t0 + every + every;
        assert_eq!(
            s.due(later, false, false),
            vec![drain(0, 0)],
            "sync_interval"
        );
        assert_eq!(s.wake_at(), Some(later + every));
    }
}
