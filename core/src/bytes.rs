//! Byte strings on the hot path: equality for the short names it compares
//! (group names, event IDs), a few word compares inline where `==` on
//! slices calls `memcmp` through the dynamic linker (≈ 20 instructions a
//! call, three calls an `ECL.LOG`); a seeded hash of short IDs in a
//! handful of instructions; and the numbers commands give as decimals.

/// Whether `a` and `b` hold the same bytes.
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        // Two overlapping words cover every byte once or twice.
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        1..=3 => up_to_3(a) == up_to_3(b),
        0 => true,
        _ => a == b,
    }
}

/// A string of at most [`SHORT`] bytes as the two little-endian words of
/// its bytes padded with zeros to 16: two strings of one length are equal
/// exactly when their words are. Computed once for an ID looked up, it
/// serves both its hash and its compares, and a stored ID kept zero-padded
/// in place compares with two word loads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ShortWords {
    pub lo: u64,
    pub hi: u64,
}

/// Longest string [`short_words`] takes.
pub const SHORT: usize = 16;

/// The words of `s`, `None` when it is longer than [`SHORT`]. Reads only
/// `s`'s bytes: overlapping loads, shifted so the bytes land where the
/// padded string has them.
#[inline(always)]
pub fn short_words(s: &[u8]) -> Option<ShortWords> {
    let n = s.len();
    let (lo, hi) = match n {
        // Bytes 8..n come from the word ending at n, its first 16 - n
        // bytes (already in `lo`) shifted out.
        9..=16 => (word::<8>(s, 0), word::<8>(s, n - 8) >> (8 * (16 - n))),
        // The two words overlap on equal bytes at equal places (none at
        // 8): `|` keeps them.
        4..=8 => (word::<4>(s, 0) | word::<4>(s, n - 4) << (8 * (n - 4)), 0),
        1..=3 => (up_to_3(s), 0),
        0 => (0, 0),
        _ => return None,
    };
    Some(ShortWords { lo, hi })
}

/// The words of a string kept in place in a zero-padded buffer of at
/// least 16 bytes (the padding read as it is: the caller keeps it zero).
#[inline(always)]
pub fn padded_words(buffer: &[u8]) -> ShortWords {
    ShortWords {
        lo: word::<8>(buffer, 0),
        hi: word::<8>(buffer, 8),
    }
}

/// A non-negative decimal integer that fits u64 (no sign, no spaces): a
/// count, or any number a command takes.
#[inline]
pub fn parse_u64(arg: &[u8]) -> Option<u64> {
    // One digit, the commonest count: no loop.
    if let [b] = *arg {
        let digit = b.wrapping_sub(b'0');
        return (digit <= 9).then_some(u64::from(digit));
    }
    if arg.is_empty() || arg.len() > 20 {
        return None;
    }
    arg.iter().try_fold(0u64, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit <= 9).then_some(())?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A fast seeded hash, for tables only the config's IDs go into (it is
/// not meant to resist chosen IDs: a table clients add to uses SipHash).
/// Short IDs, the usual case, cost one multiplication.
#[inline(always)]
pub fn seeded_hash(seed: u64, s: &[u8]) -> u64 {
    seeded_hash_of(seed, s, short_words(s))
}

/// [`seeded_hash`] of `s` whose [`short_words`] are `words`.
#[inline(always)]
pub fn seeded_hash_of(seed: u64, s: &[u8], words: Option<ShortWords>) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let n = s.len();
    let (mut lo, mut hi) = match words {
        Some(w) => (w.lo, w.hi),
        None => {
            let mut acc = seed;
            let mut at = 0;
            while at + 16 < n {
                acc = fold(acc ^ word::<8>(s, at), word::<8>(s, at + 8) ^ K);
                at += 16;
            }
            (acc ^ word::<8>(s, n - 16), word::<8>(s, n - 8))
        }
    };
    // The length goes into the top byte, above the short cases' bytes.
    // One folded multiplication mixes every input bit into the middle of
    // the product, whose halves' xor gives the index its low bits and the
    // tag its top ones. The seed goes into both factors, so an ID cannot
    // be chosen to make either 0 (which would give every such ID one hash).
    lo ^= seed;
    hi ^= seed.rotate_left(32) ^ K ^ (n as u64) << 56;
    fold(lo, hi)
}

/// The bytes of a string of 1 to 3 bytes as a number (0 for others).
#[inline(always)]
fn up_to_3(s: &[u8]) -> u64 {
    match *s {
        [a] => u64::from(a),
        [a, b] => u64::from(a) | u64::from(b) << 8,
        [a, b, c] => u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16,
        _ => 0,
    }
}

/// The high and low halves of a full multiplication, xored.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ (product >> 64) as u64
}

/// `N` bytes of `s` from `at` (the caller keeps `at + N <= s.len()`), as a
/// little-endian number.
#[inline]
fn word<const N: usize>(s: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..N].copy_from_slice(&s[at..at + N]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_slice_equality_at_every_length_and_difference() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(same(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!same(&a, &b), "{n} differing at {at}");
            }
            let seeds = [0, 1, u64::MAX];
            let hashes: std::collections::HashSet<u64> =
                seeds.iter().map(|&k| seeded_hash(k, &a)).collect();
            assert_eq!(hashes.len(), seeds.len(), "the seed changes the hash ({n})");
            if n <= SHORT {
                let mut padded = a.clone();
                padded.resize(SHORT, 0);
                assert_eq!(short_words(&a), Some(padded_words(&padded)), "{n}");
            } else {
                assert_eq!(short_words(&a), None, "{n}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same(&a, &longer) && !same(&longer, &a), "{n}");
        }
    }
}

/// No ID can be chosen to zero a factor of the hash's multiplication
/// (which would give every ID sharing those bytes one hash): 16-byte IDs
/// whose last 8 bytes cancel the unseeded constants still spread.
#[test]
fn seeded_hash_has_no_factor_an_id_can_zero() {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let tail = (K ^ 16 << 56).to_le_bytes();
    let hashes: std::collections::HashSet<u64> = (0..100u64)
        .map(|i| {
            let mut id = i.to_le_bytes().to_vec();
            id.extend_from_slice(&tail);
            seeded_hash(0x1234_5678_9abc_def0, &id)
        })
        .collect();
    assert_eq!(hashes.len(), 100);
}

#[test]
fn seeded_hash_tells_near_ids_apart() {
    let ids: Vec<Vec<u8>> = (0..20_000u32)
        .flat_map(|i| {
            [
                format!("e{i}").into_bytes(),
                format!("event-with-a-longer-name-{i}").into_bytes(),
            ]
        })
        .collect();
    let hashes: std::collections::HashSet<u64> = ids.iter().map(|id| seeded_hash(7, id)).collect();
    assert_eq!(hashes.len(), ids.len(), "no two IDs share a hash");
    // The top byte (an index's tag) and the low bits (its home) both spread.
    let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 56).collect();
    let homes: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
    assert!(
        tags.len() == 256 && homes.len() > 4000,
        "{} tags, {} homes",
        tags.len(),
        homes.len()
    );
}
