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

/// Which of a group's two banks: the group alone knows which bank is
/// active (`CachedGroup::flip` is the only switch), so the schedule names
/// banks by role, never by number, and cannot fall out of step with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bank {
    /// The bank `log` adds to now.
    Active,
    /// The other one: closing, idle, or empty.
    Other,
}

/// Take what `bank` holds and send it as counts of the span starting at `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drain {
    pub bank: Bank,
    pub span: u64,
}

/// What the bank that is not active holds.
#[derive(Debug, Clone, Copy)]
enum OtherBank {
    /// Never used yet.
    Empty,
    /// Closed at the last boundary for `span`: drain it once `due`.
    Closing { span: u64, due: Instant },
    /// Drained; a straggler may still add to it, for `span`.
    Idle { span: u64 },
}

/// One group's banks, from the flusher's side (it alone flips them).
#[derive(Debug)]
pub(crate) struct BankSchedule {
    /// Start of the span the active bank counts for.
    span: u64,
    other: OtherBank,
    sync_every: Option<Duration>,
    next_sync: Option<Instant>,
}

impl BankSchedule {
    /// A group whose active bank counts for the span at `span`.
    pub fn new(span: u64, sync_every: Option<Duration>, now: Instant) -> BankSchedule {
        BankSchedule {
            span,
            other: OtherBank::Empty,
            sync_every,
            next_sync: sync_every.map(|every| now + every),
        }
    }

    /// The span that contains now starts at `span`. At a boundary, returns
    /// what to drain before the caller flips the group's banks (it must:
    /// from here on the schedule takes the flip as done).
    pub fn at_span(&mut self, span: u64, now: Instant) -> Option<Vec<Drain>> {
        if span <= self.span {
            return None;
        }
        // The other bank is about to become active again: first take what
        // it holds, as counts of the span it was closed for (a bank closed a
        // whole span ago and still not drained, or an idle bank's stragglers).
        let drains = match self.other {
            OtherBank::Closing { span, .. } | OtherBank::Idle { span } => vec![Drain {
                bank: Bank::Other,
                span,
            }],
            OtherBank::Empty => Vec::new(),
        };
        self.other = OtherBank::Closing {
            span: self.span,
            due: now + GRACE,
        };
        self.span = span;
        Some(drains)
    }

    /// What to drain now: a closed bank past its grace, and the active bank
    /// when `sync_interval` is due or `sync_limit` was hit. With `all` (a
    /// flush), every bank that may hold counts, at once.
    pub fn due(&mut self, now: Instant, all: bool, limit_hit: bool) -> Vec<Drain> {
        let mut drains = Vec::new();
        match self.other {
            OtherBank::Closing { span, due } if all || due <= now => {
                self.other = OtherBank::Idle { span };
                drains.push(Drain {
                    bank: Bank::Other,
                    span,
                });
            }
            OtherBank::Idle { span } if all => drains.push(Drain {
                bank: Bank::Other,
                span,
            }),
            _ => {}
        }
        let sync_due = self.next_sync.is_some_and(|t| t <= now);
        if all || limit_hit || sync_due {
            drains.push(Drain {
                bank: Bank::Active,
                span: self.span,
            });
            self.next_sync = self.sync_every.map(|every| now + every);
        }
        drains
    }

    /// The next moment `due` has work without being asked, if any.
    pub fn wake_at(&self) -> Option<Instant> {
        let closing = match self.other {
            OtherBank::Closing { due, .. } => Some(due),
            _ => None,
        };
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

    fn active(span: u64) -> Drain {
        Drain {
            bank: Bank::Active,
            span,
        }
    }

    fn other(span: u64) -> Drain {
        Drain {
            bank: Bank::Other,
            span,
        }
    }

    #[test]
    fn a_closed_bank_is_drained_after_the_grace_for_its_span() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        assert_eq!(s.at_span(0, t0), None, "no boundary yet");
        let boundary = s.at_span(SPAN, t0).unwrap();
        assert_eq!(boundary, vec![]);
        assert_eq!(s.due(t0, false, false), vec![], "within the grace");
        assert_eq!(s.wake_at(), Some(t0 + GRACE));
        assert_eq!(s.due(t0 + GRACE, false, false), vec![other(0)]);
        assert_eq!(s.wake_at(), None);
    }

    #[test]
    fn stragglers_of_an_idle_bank_are_taken_for_its_span_before_it_is_active_again() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        s.at_span(SPAN, t0).unwrap();
        assert_eq!(s.due(t0 + GRACE, false, false), vec![other(0)]);
        // The other bank is idle now; the next boundary reactivates it, so
        // it is drained first, still as span 0, and the active one closes
        // for span 1.
        let boundary = s.at_span(2 * SPAN, t0 + GRACE).unwrap();
        assert_eq!(boundary, vec![other(0)]);
        assert_eq!(s.due(t0 + 2 * GRACE, false, false), vec![other(SPAN)]);
    }

    #[test]
    fn a_flush_drains_every_bank_that_may_hold_counts() {
        let t0 = Instant::now();
        let mut s = BankSchedule::new(0, None, t0);
        // Only the active bank before any boundary.
        assert_eq!(s.due(t0, true, false), vec![active(0)]);
        // Closing (within its grace) and active.
        s.at_span(SPAN, t0).unwrap();
        assert_eq!(s.due(t0, true, false), vec![other(0), active(SPAN)]);
        // Idle (stragglers) and active, again at every flush.
        assert_eq!(s.due(t0, true, false), vec![other(0), active(SPAN)]);
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
        // No `due` call in between: the next boundary drains the bank
        // closed for span 0 before it becomes active again.
        let boundary = s.at_span(2 * SPAN, t0).unwrap();
        assert_eq!(boundary, vec![other(0)]);
    }

    #[test]
    fn sync_interval_and_sync_limit_drain_the_active_bank() {
        let t0 = Instant::now();
        let every = Duration::from_millis(500);
        let mut s = BankSchedule::new(0, Some(every), t0);
        assert_eq!(s.wake_at(), Some(t0 + every));
        assert_eq!(s.due(t0, false, false), vec![]);
        assert_eq!(s.due(t0, false, true), vec![active(0)], "sync_limit hit");
        let later = t0 + every + every;
        assert_eq!(s.due(later, false, false), vec![active(0)], "sync_interval");
        assert_eq!(s.wake_at(), Some(later + every));
    }
}
