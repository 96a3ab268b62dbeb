//! Deciding whether a batch is accepted, before anything moves (SPEC §4.3:
//! "nothing moves before a write is accepted"). `admit` only reads the
//! store; it returns a plan that `GroupStore::apply` carries out, or the
//! error that refuses the batch with nothing changed.

use super::producers::MAX_PRODUCER_ID_LEN;
use super::windows::{place, Place};
use super::{Batch, GroupStore};
use crate::error::EclError;
use crate::event_id::{check_loggable, OVERFLOW_EVENT};
use crate::time::ActTimes;
use hashbrown::HashMap;

/// Where the counts for one event of a batch go.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Target {
    /// A declared event or a live auto-declared one.
    Slot(u32),
    /// The n-th event of the batch that needs room: new, or auto-declared
    /// and dead (it starts a new life).
    New(usize),
}

/// An event of the batch that needs room under `max_events`.
pub(super) struct NewEvent<'a> {
    pub id: &'a [u8],
    /// The dead slot it had, if any (reused rather than duplicated).
    pub dead_slot: Option<u32>,
    pub sum: u64,
    /// Gets a slot of its own; otherwise its counts go to `@overflow`, or
    /// are tallied late when no kept window holds them.
    pub admitted: bool,
}

/// A batch that was accepted, ready to apply.
pub(super) struct Plan<'a> {
    pub targets: Vec<(Target, u64)>,
    pub new_events: Vec<NewEvent<'a>>,
    /// The batch's time lies in a window kept by at least one interval.
    pub at_is_kept: bool,
}

pub(super) enum Admission<'a> {
    Apply(Plan<'a>),
    /// The producer's batch was applied before.
    Duplicate,
}

impl GroupStore {
    /// Checks every event, count and the producer ID of a batch against the
    /// store as it will be at `times`, without changing it.
    pub(super) fn admit<'a>(
        &self,
        batch: &Batch<'a>,
        times: &ActTimes,
    ) -> Result<Admission<'a>, EclError> {
        let now = times.now;
        let mut targets: Vec<(Target, u64)> = Vec::with_capacity(batch.events.len());
        let mut new_events: Vec<NewEvent<'a>> = Vec::new();
        let mut new_index: HashMap<&[u8], usize> = HashMap::new();
        for &(id, count) in batch.events {
            let slot = self.events.find(id);
            let known = slot.filter(|&s| self.is_declared(s) || self.is_live(s, now));
            check_loggable(&self.name, id, known.is_some(), self.auto_declare)?;
            let target = match known {
                Some(slot) => Target::Slot(slot),
                None => Target::New(*new_index.entry(id).or_insert_with(|| {
                    new_events.push(NewEvent {
                        id,
                        dead_slot: slot,
                        sum: 0,
                        admitted: false,
                    });
                    new_events.len() - 1
                })),
            };
            targets.push((target, count));
        }
        if let Some((producer, seq)) = batch.producer {
            if producer.is_empty() || producer.len() > MAX_PRODUCER_ID_LEN {
                return Err(EclError::Syntax(format!(
                    "producer ID must be 1 to {MAX_PRODUCER_ID_LEN} bytes"
                )));
            }
            if self.producers.is_duplicate(producer, seq) {
                return Ok(Admission::Duplicate);
            }
        }
        for &(target, count) in &targets {
            if let Target::New(n) = target {
                let event = &mut new_events[n];
                event.sum = event
                    .sum
                    .checked_add(count)
                    .ok_or_else(|| EclError::CountOverflow(event.id.to_vec()))?;
            }
        }
        // New events with a zero sum are not created, nor are those whose
        // counts fit no kept window (dead on arrival; tallied late). The
        // others get slots while the group has room, in batch order.
        let at_is_kept = self
            .intervals
            .iter()
            .any(|i| place(i.start_after(times), i.len_ms, i.kept(), times.at) != Place::TooOld);
        let mut room = self.max_events.saturating_sub(self.expiries.alive_at(now));
        let mut overflow_sum = 0u64;
        for event in &mut new_events {
            if !at_is_kept || event.sum == 0 {
                continue;
            }
            if room > 0 {
                room -= 1;
                event.admitted = true;
            } else {
                overflow_sum = overflow_sum
                    .checked_add(event.sum)
                    .ok_or_else(|| EclError::CountOverflow(OVERFLOW_EVENT.to_vec()))?;
            }
        }
        self.check_slot_totals(&targets, now)?;
        if overflow_sum > 0 {
            let total = self.overflow_slot.map_or(0, |s| self.live_total(s, now));
            if total.checked_add(overflow_sum).is_none() {
                return Err(EclError::CountOverflow(OVERFLOW_EVENT.to_vec()));
            }
        }
        Ok(Admission::Apply(Plan {
            targets,
            new_events,
            at_is_kept,
        }))
    }

    /// Checks that no existing event's total would overflow. Counts are
    /// normally small: if every total can take the whole batch's sum, no
    /// per-event aggregation is needed; otherwise sum per event exactly.
    fn check_slot_totals(&self, targets: &[(Target, u64)], now: u64) -> Result<(), EclError> {
        let batch_sum = targets.iter().try_fold(0u64, |a, t| a.checked_add(t.1));
        let slots = targets.iter().filter_map(|&(t, c)| match t {
            Target::Slot(slot) => Some((slot, c)),
            Target::New(_) => None,
        });
        if let Some(batch_sum) = batch_sum {
            if self.fits_every_total(batch_sum) {
                return Ok(()); // no total can overflow: the common case
            }
            if slots
                .clone()
                .all(|(slot, _)| self.live_total(slot, now) <= u64::MAX - batch_sum)
            {
                return Ok(());
            }
        }
        let mut sums: HashMap<u32, u64> = HashMap::new();
        for (slot, count) in slots {
            let sum = sums.entry(slot).or_insert(0);
            *sum = sum
                .checked_add(count)
                .filter(|s| self.live_total(slot, now).checked_add(*s).is_some())
                .ok_or_else(|| {
                    EclError::CountOverflow(self.events.id(slot).unwrap_or_default().to_vec())
                })?;
        }
        Ok(())
    }
}
