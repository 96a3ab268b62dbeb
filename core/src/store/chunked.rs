//! Per-slot vectors kept in chunks of [`CHUNK_SLOTS`] slots.
//!
//! A group of a million events holds about ten per-slot vectors of up to
//! 24 MB each. As one `Vec` each, every growth past its capacity copies the
//! whole vector (Redis's allocator, jemalloc, cannot remap large blocks), a
//! stall of milliseconds inside one command. In chunks, a growth copies at
//! most one chunk, and trimming or shrinking frees whole chunks: every step
//! is bounded, whatever the group's size. Within a chunk a vector grows by
//! about an eighth at a time ([`push_compact_capped`]), so a small group holds
//! little more than it uses.

use super::push_compact_capped;

/// Slots per chunk: a copy of one chunk of the widest vector (24-byte IDs)
/// is 1.5 MB, well under a millisecond.
pub(crate) const CHUNK_SLOTS: usize = 1 << 16;

/// Where slot `slot` lives: (chunk, offset in the chunk).
#[inline]
pub(crate) fn locate(slot: usize) -> (usize, usize) {
    (slot / CHUNK_SLOTS, slot % CHUNK_SLOTS)
}

/// How many chunks hold `len` slots.
pub(crate) fn chunks_for(len: usize) -> usize {
    len.div_ceil(CHUNK_SLOTS)
}

/// A vector indexed by slot, in chunks (see the module doc).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChunkedVec<T> {
    /// Every chunk but the last holds exactly `CHUNK_SLOTS` values; the
    /// last holds at least one (no empty chunk is kept).
    chunks: Vec<Vec<T>>,
}

impl<T> ChunkedVec<T> {
    pub fn new() -> Self {
        ChunkedVec { chunks: Vec::new() }
    }

    pub fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK_SLOTS + last.len(),
            None => 0,
        }
    }

    #[inline]
    pub fn get(&self, slot: usize) -> Option<&T> {
        let (chunk, offset) = locate(slot);
        self.chunks.get(chunk)?.get(offset)
    }

    /// Appends a value, growing only the last chunk (by about an eighth).
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK_SLOTS => push_compact_capped(last, value, CHUNK_SLOTS),
            _ => {
                let mut chunk = Vec::new();
                push_compact_capped(&mut chunk, value, CHUNK_SLOTS);
                push_chunk(&mut self.chunks, chunk);
            }
        }
    }

    pub fn last(&self) -> Option<&T> {
        self.chunks.last()?.last()
    }

    pub fn pop(&mut self) -> Option<T> {
        let last = self.chunks.last_mut()?;
        let value = last.pop();
        if last.is_empty() {
            self.chunks.pop();
        }
        value
    }

    /// Keeps the first `len` values; whole chunks beyond are freed.
    pub fn truncate(&mut self, len: usize) {
        self.chunks.truncate(chunks_for(len));
        let kept = len - self.chunks.len().saturating_sub(1) * CHUNK_SLOTS;
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(kept);
        }
    }

    /// Gives back the last chunk's capacity when less than half is used (a
    /// copy of at most one chunk).
    pub fn shrink_if_loose(&mut self) {
        if let Some(last) = self.chunks.last_mut() {
            shrink_if_loose(last);
        }
        if self.chunks.capacity() > 2 * self.chunks.len() + 4 {
            self.chunks.shrink_to_fit();
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Heap bytes held by the values (not counting what they own).
    pub fn heap_bytes(&self) -> usize {
        let values: usize = self.chunks.iter().map(Vec::capacity).sum();
        values * std::mem::size_of::<T>() + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

impl<T> std::ops::Index<usize> for ChunkedVec<T> {
    type Output = T;

    #[inline]
    fn index(&self, slot: usize) -> &T {
        let (chunk, offset) = locate(slot);
        &self.chunks[chunk][offset]
    }
}

impl<T> std::ops::IndexMut<usize> for ChunkedVec<T> {
    #[inline]
    fn index_mut(&mut self, slot: usize) -> &mut T {
        let (chunk, offset) = locate(slot);
        &mut self.chunks[chunk][offset]
    }
}

impl<T: PartialEq> PartialEq for ChunkedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.chunks == other.chunks
    }
}

impl<T: Eq> Eq for ChunkedVec<T> {}

impl<T> FromIterator<T> for ChunkedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Self {
        let mut v = ChunkedVec::new();
        for value in values {
            v.push(value);
        }
        v
    }
}

/// Appends a chunk to a list of chunks, which holds exactly one until a
/// group passes `CHUNK_SLOTS` events (a list grown the usual way would hold
/// four, and a group has ten such lists).
pub(crate) fn push_chunk<C>(chunks: &mut Vec<C>, chunk: C) {
    if chunks.capacity() == 0 {
        chunks.reserve_exact(1);
    }
    chunks.push(chunk);
}

/// Gives back a vector's capacity when less than half of it is used.
pub(crate) fn shrink_if_loose<T>(v: &mut Vec<T>) {
    if v.capacity() > 2 * v.len() + 16 {
        v.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_pushes_and_truncates_across_chunks() {
        let n = 2 * CHUNK_SLOTS + 5;
        let mut v: ChunkedVec<u32> = (0..n as u32).collect();
        assert_eq!(v.len(), n);
        assert_eq!(v[CHUNK_SLOTS], CHUNK_SLOTS as u32);
        assert_eq!(v.get(n), None);
        assert_eq!(v.last(), Some(&(n as u32 - 1)));
        v[CHUNK_SLOTS + 1] = 7;
        assert_eq!(v.iter().nth(CHUNK_SLOTS + 1), Some(&7));
        v.truncate(2 * CHUNK_SLOTS);
        assert_eq!(
            (v.len(), v.chunks.len()),
            (2 * CHUNK_SLOTS, 2),
            "no empty chunk"
        );
        assert_eq!(v.pop(), Some(2 * CHUNK_SLOTS as u32 - 1));
        v.truncate(3);
        assert_eq!((v.len(), v.chunks.len()), (3, 1));
        v.truncate(0);
        assert_eq!((v.len(), v.chunks.len(), v.last()), (0, 0, None));
    }

    #[test]
    fn no_chunk_grows_past_its_slots_and_a_small_vector_stays_small() {
        let mut v = ChunkedVec::new();
        for i in 0..10u64 {
            v.push(i);
        }
        assert!(v.heap_bytes() < 256, "{}", v.heap_bytes());
        for i in 10..(CHUNK_SLOTS as u64 + 1) {
            v.push(i);
        }
        assert!(v.chunks.iter().all(|c| c.capacity() <= CHUNK_SLOTS));
        assert_eq!(v.chunks[1].len(), 1);
    }
}
