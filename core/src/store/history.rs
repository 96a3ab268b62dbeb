//! Reading the kept closed windows (SPEC §4.5): `ECL.RANGE` (every window
//! in a span, zero-filled, oldest first; a `FROM` cursor; `SUM`) and
//! `ECL.TOP` (the highest counts of a window). Reads change nothing.

use super::GroupStore;
use crate::command::{RangeArgs, TopWindow};
use crate::error::EclError;
use crate::store::WindowKind;

/// A closed window as [`GroupStore::range`] gives it: its start (Unix ms)
/// and its counts.
pub type ClosedWindow<'a> = (u64, Vec<(&'a [u8], u64)>);

/// What `ECL.RANGE` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeReply<'a> {
    Windows(Vec<ClosedWindow<'a>>),
    /// `SUM`: the windows folded into one.
    Sum(Vec<(&'a [u8], u64)>),
}

impl GroupStore {
    /// The closed windows of an interval whose start is in
    /// `[from_ms, to_ms]` and that are kept at `at_ms`, oldest first, at
    /// most `count`: `(start_ms, counts)`, every window present (one with
    /// nothing counted has the declared events at 0), the counts as
    /// [`window_counts`](Self::window_counts) gives them (SPEC §4.5).
    pub fn range(
        &self,
        interval: usize,
        from_ms: u64,
        to_ms: u64,
        count: usize,
        at_ms: u64,
    ) -> Vec<ClosedWindow<'_>> {
        let state = &self.intervals[interval];
        let len = state.len_ms;
        let (first, end) = state.kept_range(at_ms);
        let from = first.max(from_ms.div_ceil(len));
        let to = end.min((to_ms / len).saturating_add(1));
        // The events in ID order once, for every window.
        let order = self.slots_by_id();
        (from..to)
            .take(count)
            .map(|k| {
                let window = state.closed_view(k, at_ms);
                let counts = order
                    .iter()
                    .filter_map(|&(slot, id)| {
                        let n = window.map_or(0, |w| if slot < w.len() { w.get(slot) } else { 0 });
                        (slot < self.declared_count || n > 0).then_some((id, n))
                    })
                    .collect();
                (k * len, counts)
            })
            .collect()
    }

    /// Every event's slot and ID, sorted by ID.
    fn slots_by_id(&self) -> Vec<(usize, &[u8])> {
        let mut order: Vec<(usize, &[u8])> = (0..self.events.slot_count())
            .filter_map(|s| Some((s, self.events.id(s as u32)?)))
            .collect();
        order.sort_unstable_by(|a, b| a.1.cmp(b.1));
        order
    }

    /// The `k` highest counts of a window (ties by event ID), highest first.
    pub fn top(counts: Vec<(&[u8], u64)>, k: usize) -> Vec<(&[u8], u64)> {
        let mut counts = counts;
        let order = |a: &(&[u8], u64), b: &(&[u8], u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if k < counts.len() {
            counts.select_nth_unstable_by(k, order);
            counts.truncate(k);
        }
        counts.sort_unstable_by(order);
        counts
    }

    /// The counts of closed window `k` of an interval as a read at `at_ms`
    /// sees it (kept or not: zeros when not).
    pub fn closed_window_counts(&self, interval: usize, k: u64, at_ms: u64) -> Vec<(&[u8], u64)> {
        self.counts_of(self.intervals[interval].closed_view(k, at_ms))
    }

    /// `ECL.RANGE` of an interval at `at_ms`: the events named must be the
    /// group's (declared, or auto-declared and known).
    pub fn range_reply(
        &self,
        interval: usize,
        args: &RangeArgs<'_>,
        at_ms: u64,
    ) -> Result<RangeReply<'_>, EclError> {
        if let Some(events) = &args.events {
            for event in events {
                if self.events.find(event).is_none() {
                    return Err(EclError::NotInGroup {
                        group: self.name.clone(),
                        event: event.to_vec(),
                    });
                }
            }
        }
        let mut windows: Vec<ClosedWindow<'_>> = self.range(
            interval,
            args.from_ms,
            args.to_ms,
            args.count.unwrap_or(usize::MAX),
            at_ms,
        );
        if let Some(events) = &args.events {
            for (_, counts) in &mut windows {
                counts.retain(|(id, _)| events.contains(id));
            }
        }
        if !args.sum {
            return Ok(RangeReply::Windows(windows));
        }
        let mut sums: std::collections::BTreeMap<&[u8], u64> = std::collections::BTreeMap::new();
        for (_, counts) in windows {
            for (id, n) in counts {
                let sum = sums.entry(id).or_insert(0);
                *sum = sum.saturating_add(n);
            }
        }
        Ok(RangeReply::Sum(sums.into_iter().collect()))
    }

    /// `ECL.TOP` of an interval at `at_ms`: the `k` highest counts of the
    /// window asked (a kept one), ties by event ID, highest first.
    pub fn top_reply(
        &self,
        interval: usize,
        window: TopWindow,
        k: usize,
        at_ms: u64,
    ) -> Result<Vec<(&[u8], u64)>, EclError> {
        let state = &self.intervals[interval];
        // Ranked below, so gathered in slot order (no sort of every event).
        let counts = match window {
            TopWindow::Last => self.counts_unsorted(state.view(WindowKind::Last, at_ms)),
            TopWindow::Current => self.counts_unsorted(state.view(WindowKind::Current, at_ms)),
            TopWindow::At(t) => {
                let (first, now_k) = state.kept_range(at_ms);
                let window_k = t / state.len_ms;
                if window_k >= now_k {
                    self.counts_unsorted(state.view(WindowKind::Current, at_ms))
                } else if window_k >= first {
                    self.counts_unsorted(state.closed_view(window_k, at_ms))
                } else {
                    return Err(EclError::Syntax(format!(
                        "AT {t} is before the oldest window kept ({})",
                        first * state.len_ms
                    )));
                }
            }
        };
        Ok(Self::top(counts, k))
    }
}
