//! Per-slot counts (a window's, or the totals): 4 bytes a slot while every
//! value fits in 32 bits, 8 bytes once one does not.
//!
//! These vectors are most of a group's memory (two windows per interval,
//! and the totals, per event), and a window's counts, or an ephemeral
//! event's total, rarely reach 2^32. A vector that needs more widens on the
//! spot; a window narrows again when it is cleared at rotation.

use super::push_compact;

#[derive(Debug, Clone)]
pub(crate) enum SlotCounts {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl SlotCounts {
    pub fn zeros(len: usize) -> Self {
        SlotCounts::Narrow(vec![0; len])
    }

    pub fn len(&self) -> usize {
        match self {
            SlotCounts::Narrow(v) => v.len(),
            SlotCounts::Wide(v) => v.len(),
        }
    }

    #[inline]
    pub fn get(&self, slot: usize) -> u64 {
        match self {
            SlotCounts::Narrow(v) => u64::from(v[slot]),
            SlotCounts::Wide(v) => v[slot],
        }
    }

    /// Adds `n`, saturating at `u64::MAX` (a batch that would overflow a
    /// total is refused before anything is added).
    #[inline]
    pub fn add(&mut self, slot: usize, n: u64) {
        let sum = self.get(slot).saturating_add(n);
        self.set(slot, sum);
    }

    #[inline]
    pub fn set(&mut self, slot: usize, value: u64) {
        match self {
            SlotCounts::Narrow(v) => match u32::try_from(value) {
                Ok(narrow) => v[slot] = narrow,
                Err(_) => self.widen()[slot] = value,
            },
            SlotCounts::Wide(v) => v[slot] = value,
        }
    }

    fn widen(&mut self) -> &mut Vec<u64> {
        if let SlotCounts::Narrow(v) = self {
            *self = SlotCounts::Wide(v.iter().map(|&c| u64::from(c)).collect());
        }
        match self {
            SlotCounts::Wide(v) => v,
            SlotCounts::Narrow(_) => unreachable!("widened above"),
        }
    }

    /// Zeroes every count: a vector memset, and a wide window becomes
    /// narrow again (its width was for a window that is gone).
    pub fn clear(&mut self) {
        match self {
            SlotCounts::Narrow(v) => v.fill(0),
            SlotCounts::Wide(v) => *self = SlotCounts::zeros(v.len()),
        }
    }

    /// Appends a zero count for a new slot (growing by an eighth).
    pub fn push_zero(&mut self) {
        match self {
            SlotCounts::Narrow(v) => push_compact(v, 0),
            SlotCounts::Wide(v) => push_compact(v, 0),
        }
    }

    pub fn truncate(&mut self, len: usize) {
        match self {
            SlotCounts::Narrow(v) => v.truncate(len),
            SlotCounts::Wide(v) => v.truncate(len),
        }
    }

    /// Gives back capacity when less than half of it is used.
    pub fn shrink_if_loose(&mut self) {
        fn shrink<T>(v: &mut Vec<T>) {
            if v.capacity() > 2 * v.len() + 16 {
                v.shrink_to_fit();
            }
        }
        match self {
            SlotCounts::Narrow(v) => shrink(v),
            SlotCounts::Wide(v) => shrink(v),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            SlotCounts::Narrow(v) => v.capacity() * 4,
            SlotCounts::Wide(v) => v.capacity() * 8,
        }
    }

    #[cfg(test)]
    pub fn is_wide(&self) -> bool {
        matches!(self, SlotCounts::Wide(_))
    }
}

/// Equal when the counts are, whatever the width.
impl PartialEq for SlotCounts {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|s| self.get(s) == other.get(s))
    }
}

impl Eq for SlotCounts {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_until_a_count_needs_more_then_narrow_again_when_cleared() {
        let mut w = SlotCounts::zeros(3);
        w.add(1, u64::from(u32::MAX));
        assert!(!w.is_wide());
        w.add(1, 1);
        assert!(w.is_wide(), "2^32 does not fit in 32 bits");
        assert_eq!((w.get(0), w.get(1), w.get(2)), (0, 1 << 32, 0));
        w.add(1, u64::MAX);
        assert_eq!(w.get(1), u64::MAX, "saturates");
        w.push_zero();
        assert_eq!(w.len(), 4);
        w.clear();
        assert!(!w.is_wide());
        assert_eq!(w, SlotCounts::zeros(4));
    }

    #[test]
    fn equality_ignores_width() {
        let mut narrow = SlotCounts::zeros(2);
        narrow.set(0, 7);
        let mut wide = SlotCounts::zeros(2);
        wide.set(1, u64::MAX);
        wide.set(1, 0);
        wide.set(0, 7);
        assert!(wide.is_wide());
        assert_eq!(narrow, wide);
    }
}
