//! The `ECL.MLOG ... ID producer seq` table: the highest batch sequence
//! applied per producer, so a batch retried after a lost reply counts once.

use std::collections::HashMap;

/// Producers remembered per group. Beyond this the least recently seen one
/// is forgotten (a producer silent that long has no batch in flight).
pub use crate::limits::PRODUCERS_PER_GROUP as MAX_PRODUCERS;
/// Longest producer ID, in bytes.
pub use crate::limits::PRODUCER_ID_BYTES as MAX_PRODUCER_ID_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerState {
    pub seq: u64,
    /// Server time of the last applied batch, for eviction.
    pub seen_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerTable {
    entries: HashMap<Box<[u8]>, ProducerState>,
}

impl ProducerTable {
    /// Whether a batch with this sequence number was applied already.
    pub fn is_duplicate(&self, producer: &[u8], seq: u64) -> bool {
        self.entries.get(producer).is_some_and(|s| seq <= s.seq)
    }

    /// Records an applied batch.
    pub fn record(&mut self, producer: &[u8], seq: u64, now_ms: u64) {
        if let Some(state) = self.entries.get_mut(producer) {
            *state = ProducerState {
                seq,
                seen_ms: now_ms,
            };
            return;
        }
        if self.entries.len() >= MAX_PRODUCERS {
            let oldest = self
                .entries
                .iter()
                .min_by(|a, b| a.1.seen_ms.cmp(&b.1.seen_ms).then_with(|| a.0.cmp(b.0)))
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(
            producer.into(),
            ProducerState {
                seq,
                seen_ms: now_ms,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries sorted by producer ID (a canonical order for encoding).
    pub fn sorted(&self) -> Vec<(&[u8], ProducerState)> {
        let mut all: Vec<_> = self.entries.iter().map(|(k, v)| (&**k, *v)).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    }

    pub fn heap_bytes(&self) -> usize {
        self.entries.keys().map(|k| k.len()).sum::<usize>()
            + self.entries.capacity() * (std::mem::size_of::<(Box<[u8]>, ProducerState)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_highest_seq() {
        let mut t = ProducerTable::default();
        assert!(!t.is_duplicate(b"p", 0));
        t.record(b"p", 5, 1);
        assert!(t.is_duplicate(b"p", 5));
        assert!(t.is_duplicate(b"p", 4));
        assert!(!t.is_duplicate(b"p", 6));
        assert!(!t.is_duplicate(b"q", 1));
    }

    #[test]
    fn bounded_and_forgets_the_least_recent() {
        let mut t = ProducerTable::default();
        for i in 0..MAX_PRODUCERS as u64 {
            t.record(format!("p{i}").as_bytes(), 1, 100 + i);
        }
        t.record(b"p0", 2, 10_000); // p0 is now the most recent
        t.record(b"new", 1, 10_001);
        assert_eq!(t.len(), MAX_PRODUCERS);
        assert!(t.is_duplicate(b"p0", 2));
        assert!(!t.is_duplicate(b"p1", 1), "p1 was the least recently seen");
        assert!(t.is_duplicate(b"new", 1));
    }
}
