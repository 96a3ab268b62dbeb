//! How event IDs are hashed, for the module's event tables and the
//! client's counter tables alike: SipHash with a random key where whoever
//! logs may add IDs (a table that grows must resist hash flooding), a fast
//! seeded hash ([`bytes::seeded_hash`]) where only the config's IDs go in
//! (a client's unknown ID is looked up and missed, never inserted), several
//! times cheaper on short IDs.

use crate::bytes;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hasher};

/// A table's way of hashing IDs, chosen when it is made.
#[derive(Clone)]
pub enum IdHasher {
    /// SipHash with a random key: IDs chosen by clients go in.
    Keyed(RandomState),
    /// [`bytes::seeded_hash`] with a random seed: only declared IDs go in.
    Fast(Seed),
}

/// The seed of [`IdHasher::Fast`].
#[derive(Clone, Copy)]
pub struct Seed(u64);

impl IdHasher {
    /// The hasher for a table that IDs chosen by clients go into
    /// (`clients_add_ids`: auto-declared events), or only declared ones.
    pub fn new(clients_add_ids: bool) -> Self {
        if clients_add_ids {
            IdHasher::Keyed(RandomState::new())
        } else {
            IdHasher::Fast(Seed(RandomState::new().hash_one(0u8)))
        }
    }

    #[inline(always)]
    pub fn hash_one(&self, id: &[u8]) -> u64 {
        self.hash_with_words(id, bytes::short_words(id))
    }

    /// The hash of `id`, whose [`bytes::short_words`] are `words`.
    #[inline(always)]
    pub fn hash_with_words(&self, id: &[u8], words: Option<bytes::ShortWords>) -> u64 {
        match self {
            IdHasher::Keyed(state) => state.hash_with_words(id, words),
            IdHasher::Fast(seed) => seed.hash_with_words(id, words),
        }
    }
}

/// One of the ways [`IdHasher`] hashes an ID, for code that picks the way
/// once for many IDs (generic over it).
pub trait HashId {
    /// The hash of `id`, whose [`bytes::short_words`] are `words`.
    fn hash_with_words(&self, id: &[u8], words: Option<bytes::ShortWords>) -> u64;
}

impl HashId for RandomState {
    #[inline(always)]
    fn hash_with_words(&self, id: &[u8], _: Option<bytes::ShortWords>) -> u64 {
        self.hash_one(id)
    }
}

/// A table's SipHash keys, borrowed for a batch of lookups.
impl HashId for &RandomState {
    #[inline(always)]
    fn hash_with_words(&self, id: &[u8], words: Option<bytes::ShortWords>) -> u64 {
        <RandomState as HashId>::hash_with_words(self, id, words)
    }
}

impl HashId for Seed {
    #[inline(always)]
    fn hash_with_words(&self, id: &[u8], words: Option<bytes::ShortWords>) -> u64 {
        bytes::seeded_hash_of(self.0, id, words)
    }
}

/// For `std` maps keyed by IDs (`Box<[u8]>`, `Vec<u8>`, `&[u8]`): the same
/// hash of an ID as [`IdHasher::hash_one`] gives.
impl BuildHasher for IdHasher {
    type Hasher = IdHashState;

    fn build_hasher(&self) -> IdHashState {
        match self {
            IdHasher::Keyed(state) => IdHashState::Keyed(state.build_hasher()),
            IdHasher::Fast(seed) => IdHashState::Fast {
                seed: *seed,
                hash: None,
            },
        }
    }
}

/// [`IdHasher`]'s `std` hasher. An ID is hashed as one `write` of its
/// bytes after its length, which the fast hash takes from the bytes.
pub enum IdHashState {
    Keyed(DefaultHasher),
    Fast { seed: Seed, hash: Option<u64> },
}

impl Hasher for IdHashState {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        match self {
            IdHashState::Keyed(state) => state.write(bytes),
            IdHashState::Fast { seed, hash } => {
                // A second write (not an ID's way) is folded in, not lost.
                let seed = Seed(hash.map_or(seed.0, |h| h ^ seed.0.rotate_left(17)));
                *hash = Some(seed.hash_with_words(bytes, bytes::short_words(bytes)));
            }
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        match self {
            IdHashState::Keyed(state) => state.write_usize(n),
            // The length prefix of a slice: the fast hash has it.
            IdHashState::Fast { .. } => {}
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        match self {
            IdHashState::Keyed(state) => state.finish(),
            IdHashState::Fast { seed, hash } => hash.unwrap_or(seed.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A map with either hasher finds every ID put in and no other, and a
    /// map's hash of an ID is the table's.
    #[test]
    fn maps_find_their_ids_with_either_hasher() {
        for clients_add_ids in [false, true] {
            let hasher = IdHasher::new(clients_add_ids);
            let ids: Vec<Vec<u8>> = (0..300u32)
                .map(|i| format!("event-{i}").into_bytes())
                .chain([vec![], vec![0], vec![0, 0], b"x".repeat(40)])
                .collect();
            let mut map: HashMap<Box<[u8]>, usize, IdHasher> = HashMap::with_hasher(hasher.clone());
            for (i, id) in ids.iter().enumerate() {
                map.insert(id.as_slice().into(), i);
            }
            for (i, id) in ids.iter().enumerate() {
                assert_eq!(map.get(id.as_slice()), Some(&i));
            }
            assert_eq!(map.get(&b"event-300"[..]), None);
            assert_eq!(map.get(&b"x".repeat(41)[..]), None);
            if !clients_add_ids {
                let id: &[u8] = b"event-7";
                assert_eq!(hasher.hash_one(id), map.hasher().hash_one(id));
            }
        }
    }
}
