//! How many auto-declared events are alive at a time, without scanning
//! them: the events grouped by the time their last count stops being
//! visible. There are only a few distinct such times (window ends), so the
//! map stays tiny whatever the number of events.

use std::collections::BTreeMap;

/// Auto-declared events in use (alive or dead but not yet freed), counted
/// by expiry time. `@overflow` and declared events are not in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExpiryIndex {
    by_expiry: BTreeMap<u64, u64>,
}

impl ExpiryIndex {
    pub fn insert(&mut self, expires_ms: u64) {
        *self.by_expiry.entry(expires_ms).or_insert(0) += 1;
    }

    pub fn remove(&mut self, expires_ms: u64) {
        if let Some(n) = self.by_expiry.get_mut(&expires_ms) {
            *n -= 1;
            if *n == 0 {
                self.by_expiry.remove(&expires_ms);
            }
        }
    }

    pub fn change(&mut self, from_ms: u64, to_ms: u64) {
        if from_ms != to_ms {
            self.remove(from_ms);
            self.insert(to_ms);
        }
    }

    /// Events still alive at `at_ms`.
    pub fn alive_at(&self, at_ms: u64) -> u64 {
        self.by_expiry
            .range(at_ms.saturating_add(1)..)
            .map(|(_, n)| n)
            .sum()
    }

    /// Whether some event in use is dead at `at_ms` (it can be freed).
    pub fn any_dead_at(&self, at_ms: u64) -> bool {
        self.by_expiry
            .first_key_value()
            .is_some_and(|(&expires, _)| expires <= at_ms)
    }

    /// The earliest time an event in use dies, if any.
    pub fn earliest(&self) -> Option<u64> {
        self.by_expiry.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_living_by_expiry() {
        let mut index = ExpiryIndex::default();
        index.insert(0);
        index.change(0, 3000);
        index.insert(2000);
        assert_eq!(index.alive_at(1999), 2);
        assert_eq!(index.alive_at(2000), 1);
        assert!(index.any_dead_at(2000));
        index.remove(2000);
        assert!(!index.any_dead_at(2999));
        assert_eq!(index.earliest(), Some(3000));
    }
}
