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

/// One chunk of a per-slot vector: what [`Chunks`] needs of it.
pub(crate) trait Chunk {
    fn len(&self) -> usize;
    fn truncate(&mut self, len: usize);
    /// Gives back capacity when less than half of it is used.
    fn shrink_if_loose(&mut self);
    fn heap_bytes(&self) -> usize;
}

impl<T> Chunk for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }

    fn shrink_if_loose(&mut self) {
        shrink_if_loose(self)
    }

    fn heap_bytes(&self) -> usize {
        self.capacity() * std::mem::size_of::<T>()
    }
}

/// The chunks of one per-slot vector: every chunk but the last holds
/// exactly `CHUNK_SLOTS` slots, the last at least one (no empty chunk is
/// kept). The one home of that layout; what a slot holds is the chunk's
/// business.
///
/// The first chunk is kept in place, the others in a list: nearly every
/// group has fewer than `CHUNK_SLOTS` events, and their slots are then
/// reached without going through the list (each count a write adds to,
/// and the event lookup, save a bounds check and a load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunks<C> {
    /// Chunk 0; empty when there are no slots (then there is no chunk).
    first: C,
    /// Chunks 1 and on.
    rest: RestChunks<C>,
}

/// The chunks after the first: none in nearly every vector, so they are
/// kept behind one thin pointer, 8 bytes in place where a boxed slice takes
/// 16 and a `Vec` 24 (a group with history keeps a vector per closed
/// window: 8 bytes of a 100-event window's 450). Reached through one more
/// load, only for slots past the first chunk. Never an empty list (then
/// `None`), so equal chunks compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
// The extra allocation is the point: a thin pointer in place.
#[allow(clippy::box_collection)]
struct RestChunks<C>(Option<Box<Vec<C>>>);

impl<C> Default for RestChunks<C> {
    fn default() -> Self {
        RestChunks(None)
    }
}

impl<C> std::ops::Deref for RestChunks<C> {
    type Target = [C];

    #[inline]
    fn deref(&self) -> &[C] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<C> std::ops::DerefMut for RestChunks<C> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [C] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }
}

impl<C> FromIterator<C> for RestChunks<C> {
    fn from_iter<I: IntoIterator<Item = C>>(chunks: I) -> Self {
        let mut rest = RestChunks(None);
        rest.edit(|list| list.extend(chunks));
        rest
    }
}

impl<C> RestChunks<C> {
    /// Changes the list (rare: a chunk added or dropped), kept to its
    /// length.
    fn edit(&mut self, edit: impl FnOnce(&mut Vec<C>)) {
        let mut list = self.0.take().map(|list| *list).unwrap_or_default();
        edit(&mut list);
        list.shrink_to_fit();
        self.0 = (!list.is_empty()).then(|| Box::new(list));
    }

    /// Bytes held on the heap for the list itself.
    fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |list| {
            std::mem::size_of::<Vec<C>>() + list.capacity() * std::mem::size_of::<C>()
        })
    }
}

impl<C: Default> Default for Chunks<C> {
    fn default() -> Self {
        Chunks {
            first: C::default(),
            rest: RestChunks::default(),
        }
    }
}

impl<C: Chunk + Default> Chunks<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Chunks already made, in order.
    pub fn from_chunks(chunks: Vec<C>) -> Self {
        debug_assert!(chunks.iter().rev().skip(1).all(|c| c.len() == CHUNK_SLOTS));
        let mut chunks = chunks.into_iter();
        Chunks {
            first: chunks.next().unwrap_or_default(),
            rest: chunks.collect(),
        }
    }

    /// How many chunks there are.
    fn count(&self) -> usize {
        if self.first.len() == 0 {
            0
        } else {
            1 + self.rest.len()
        }
    }

    pub fn len(&self) -> usize {
        match self.rest.last() {
            Some(last) => self.rest.len() * CHUNK_SLOTS + last.len(),
            None => self.first.len(),
        }
    }

    /// Chunk `index` (of a slot below `len()`, as every slot a store
    /// uses is).
    #[inline]
    pub fn chunk(&self, index: usize) -> &C {
        match index {
            0 => &self.first,
            _ => &self.rest[index - 1],
        }
    }

    #[inline]
    pub fn chunk_mut(&mut self, index: usize) -> &mut C {
        match index {
            0 => &mut self.first,
            _ => &mut self.rest[index - 1],
        }
    }

    fn last_chunk_mut(&mut self) -> &mut C {
        match self.rest.last_mut() {
            Some(last) => last,
            None => &mut self.first,
        }
    }

    #[cfg(test)]
    pub fn iter_chunks(&self) -> impl Iterator<Item = &C> {
        std::iter::once(&self.first)
            .filter(|c| c.len() > 0)
            .chain(self.rest.iter())
    }

    /// Every chunk, and the first even when empty.
    pub fn iter_chunks_mut(&mut self) -> impl Iterator<Item = &mut C> {
        std::iter::once(&mut self.first).chain(self.rest.iter_mut())
    }

    /// The chunk the next slot goes into: the last one while it has room,
    /// else a new one from `new_chunk`.
    pub fn chunk_with_room(&mut self, new_chunk: impl FnOnce() -> C) -> &mut C {
        if self.last_chunk_mut().len() < CHUNK_SLOTS {
            return self.last_chunk_mut();
        }
        self.edit_rest(|rest| rest.push(new_chunk()));
        self.last_chunk_mut()
    }

    /// Drops the last chunk if it holds nothing.
    pub fn drop_empty_last(&mut self) {
        match self.rest.last() {
            Some(last) if last.len() == 0 => self.edit_rest(|rest| {
                rest.pop();
            }),
            Some(_) => {}
            // No chunk left: the first gives its memory back too.
            None if self.first.len() == 0 => self.first = C::default(),
            None => {}
        }
    }

    /// Keeps the first `len` slots; whole chunks beyond are freed.
    pub fn truncate(&mut self, len: usize) {
        let keep = chunks_for(len).min(self.count());
        if self.rest.len() > keep.saturating_sub(1) {
            self.edit_rest(|rest| rest.truncate(keep.saturating_sub(1)));
        }
        if keep == 0 {
            self.first = C::default();
            return;
        }
        let kept = len - (keep - 1) * CHUNK_SLOTS;
        self.last_chunk_mut().truncate(kept);
    }

    /// Gives back the last chunk's capacity when less than half is used (a
    /// copy of at most one chunk).
    pub fn shrink_if_loose(&mut self) {
        self.last_chunk_mut().shrink_if_loose();
    }

    /// Changes the list of chunks after the first (rare: a chunk added or
    /// dropped).
    fn edit_rest(&mut self, edit: impl FnOnce(&mut Vec<C>)) {
        self.rest.edit(edit);
    }

    pub fn heap_bytes(&self) -> usize {
        self.first.heap_bytes()
            + self.rest.iter().map(Chunk::heap_bytes).sum::<usize>()
            + self.rest.heap_bytes()
    }
}

/// A vector indexed by slot, in chunks (see the module doc).
pub(crate) type ChunkedVec<T> = Chunks<Vec<T>>;

impl<T> Chunks<Vec<T>> {
    /// The first chunk's values (slots `0..CHUNK_SLOTS` at most): all of
    /// nearly every group's.
    #[inline(always)]
    pub fn first_chunk(&self) -> &[T] {
        &self.first
    }

    #[inline]
    pub fn get(&self, slot: usize) -> Option<&T> {
        match locate(slot) {
            (0, offset) => self.first.get(offset),
            (chunk, offset) => self.rest.get(chunk - 1)?.get(offset),
        }
    }

    /// Appends a value, growing only the last chunk (by about an eighth).
    pub fn push(&mut self, value: T) {
        push_compact_capped(self.chunk_with_room(Vec::new), value, CHUNK_SLOTS);
    }

    pub fn last(&self) -> Option<&T> {
        self.rest.last().unwrap_or(&self.first).last()
    }

    pub fn pop(&mut self) -> Option<T> {
        let value = self.last_chunk_mut().pop();
        self.drop_empty_last();
        value
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.first)
            .chain(self.rest.iter())
            .flatten()
    }
}

impl<T> std::ops::Index<usize> for Chunks<Vec<T>> {
    type Output = T;

    #[inline]
    fn index(&self, slot: usize) -> &T {
        let (chunk, offset) = locate(slot);
        &self.chunk(chunk)[offset]
    }
}

impl<T> std::ops::IndexMut<usize> for Chunks<Vec<T>> {
    #[inline]
    fn index_mut(&mut self, slot: usize) -> &mut T {
        let (chunk, offset) = locate(slot);
        &mut self.chunk_mut(chunk)[offset]
    }
}

impl<T> FromIterator<T> for Chunks<Vec<T>> {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Self {
        let mut v = Chunks::new();
        for value in values {
            v.push(value);
        }
        v
    }
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
        assert_eq!((v.len(), v.count()), (2 * CHUNK_SLOTS, 2), "no empty chunk");
        assert_eq!(v.pop(), Some(2 * CHUNK_SLOTS as u32 - 1));
        v.truncate(3);
        assert_eq!((v.len(), v.count()), (3, 1));
        v.truncate(0);
        assert_eq!((v.len(), v.count(), v.last()), (0, 0, None));
        v.push(9);
        assert_eq!((v.len(), v.count(), v.pop(), v.count()), (1, 1, Some(9), 0));
    }

    #[test]
    fn no_chunk_grows_past_its_slots_and_a_small_vector_stays_small() {
        let mut v: ChunkedVec<u64> = Chunks::new();
        for i in 0..10u64 {
            v.push(i);
        }
        assert!(v.heap_bytes() < 256, "{}", v.heap_bytes());
        for i in 10..(CHUNK_SLOTS as u64 + 1) {
            v.push(i);
        }
        assert!(v.iter_chunks().all(|c| c.capacity() <= CHUNK_SLOTS));
        assert_eq!(v.chunk(1).len(), 1);
    }

    /// A vector of one chunk keeps no list of the others, and a list is
    /// gone again, its memory with it, once the chunks in it are: equal
    /// slots compare equal, and the bytes reported are the bytes held.
    #[test]
    fn the_chunks_after_the_first_are_held_only_while_there_are_some() {
        assert_eq!(
            std::mem::size_of::<ChunkedVec<u32>>(),
            std::mem::size_of::<Vec<u32>>() + std::mem::size_of::<usize>(),
            "the list in place is one pointer"
        );
        let small: ChunkedVec<u32> = (0..10).collect();
        let mut grown: ChunkedVec<u32> = (0..CHUNK_SLOTS as u32 + 1).collect();
        let one_chunk_bytes = grown.heap_bytes();
        grown.truncate(10);
        assert!(grown.rest.0.is_none());
        assert_eq!(grown, small);
        grown.shrink_if_loose();
        assert!(grown.heap_bytes() < one_chunk_bytes / 2);
        grown.push(10);
        let two: ChunkedVec<u32> = (0..2 * CHUNK_SLOTS as u32).collect();
        let list = &two.rest;
        assert_eq!(list.len(), 1);
        assert_eq!(
            two.heap_bytes(),
            2 * CHUNK_SLOTS * 4 + list.heap_bytes(),
            "both chunks and the list"
        );
        assert!(
            list.heap_bytes()
                >= std::mem::size_of::<Vec<Vec<u32>>>() + std::mem::size_of::<Vec<u32>>()
        );
    }
}
