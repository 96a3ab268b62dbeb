use super::*;
use crate::encoding::{decode, encode, ENCODING_VERSION};
use proptest::prelude::*;

const T0: u64 = 1_700_000_000_000; // a multiple of every interval used here

fn shape(intervals: &[u64], declared: &[&str], auto: bool, max_events: u64) -> GroupShape {
    GroupShape {
        name: "g".into(),
        intervals: intervals.to_vec(),
        declared: declared.iter().map(|d| d.as_bytes().to_vec()).collect(),
        auto_declare: auto,
        max_events,
        history_ms: 0,
    }
}

fn log(
    store: &mut GroupStore,
    events: &[(&str, u64)],
    at: u64,
    now: u64,
) -> Result<LogOutcome, EclError> {
    log_at(store, events, Some(at), now)
}

/// [`log`] with `AT` optional (`None`: the command gave none).
fn log_at(
    store: &mut GroupStore,
    events: &[(&str, u64)],
    at: Option<u64>,
    now: u64,
) -> Result<LogOutcome, EclError> {
    let events: Vec<(&[u8], u64)> = events.iter().map(|(e, c)| (e.as_bytes(), *c)).collect();
    store
        .log(Batch {
            events: &events,
            at_ms: at,
            now_ms: now,
            producer: None,
        })
        .map(|report| report.outcome)
}

fn counts(store: &GroupStore, interval: usize, kind: WindowKind, at: u64) -> Vec<(String, u64)> {
    store
        .window_counts(interval, kind, at)
        .into_iter()
        .map(|(id, c)| (String::from_utf8_lossy(id).into_owned(), c))
        .collect()
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(e, c)| (e.to_string(), *c)).collect()
}

#[test]
fn window_counts_beyond_32_bits_are_exact_and_survive_encoding() {
    let big = 5_000_000_000; // more than u32::MAX
    let mut s = GroupStore::new(&shape(&[1000, 60_000], &["a", "b"], true, 10), T0);
    log(&mut s, &[("a", big), ("x", 3)], T0, T0).unwrap();
    log(&mut s, &[("a", big)], T0 + 10, T0 + 10).unwrap();
    let expected = pairs(&[("a", 2 * big), ("b", 0), ("x", 3)]);
    assert_eq!(counts(&s, 1, WindowKind::Current, T0 + 20), expected);
    let decoded = decode(&encode(&s)).unwrap();
    assert_eq!(counts(&decoded, 1, WindowKind::Current, T0 + 20), expected);
    assert_eq!(counts(&decoded, 0, WindowKind::Current, T0 + 20), expected);
    // Rotation moves the wide window to last, then clears it.
    assert_eq!(counts(&s, 0, WindowKind::Last, T0 + 1000), expected);
    s.advance(T0 + 2000);
    assert_eq!(
        counts(&s, 0, WindowKind::Last, T0 + 2000),
        pairs(&[("a", 0), ("b", 0)])
    );
    assert_eq!(
        counts(&s, 1, WindowKind::Current, T0 + 2000),
        expected,
        "the minute window keeps them"
    );
    log(&mut s, &[("b", 1)], T0 + 2000, T0 + 2000).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 2000),
        pairs(&[("a", 0), ("b", 1)])
    );
}

#[test]
fn counts_move_from_current_to_last_and_then_vanish() {
    let mut s = GroupStore::new(&shape(&[1000, 5000], &["a", "b"], false, 10), T0);
    log(&mut s, &[("a", 3)], T0 + 10, T0 + 10).unwrap();
    log(&mut s, &[("b", 1)], T0 + 20, T0 + 20).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 30),
        pairs(&[("a", 3), ("b", 1)])
    );
    assert_eq!(
        counts(&s, 0, WindowKind::Last, T0 + 30),
        pairs(&[("a", 0), ("b", 0)])
    );
    // One boundary later (read without any write in between).
    assert_eq!(
        counts(&s, 0, WindowKind::Last, T0 + 1000),
        pairs(&[("a", 3), ("b", 1)])
    );
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 1000),
        pairs(&[("a", 0), ("b", 0)])
    );
    // Two boundaries later: gone from the 1 s interval, still in the 5 s one.
    assert_eq!(
        counts(&s, 0, WindowKind::Last, T0 + 2000),
        pairs(&[("a", 0), ("b", 0)])
    );
    assert_eq!(
        counts(&s, 1, WindowKind::Current, T0 + 2000),
        pairs(&[("a", 3), ("b", 1)])
    );
    // A write far later rotates both windows away.
    log(&mut s, &[("a", 1)], T0 + 12_000, T0 + 12_000).unwrap();
    assert_eq!(
        counts(&s, 1, WindowKind::Last, T0 + 12_000),
        pairs(&[("a", 0), ("b", 0)])
    );
    assert_eq!(
        counts(&s, 1, WindowKind::Current, T0 + 12_000),
        pairs(&[("a", 1), ("b", 0)])
    );
    assert_eq!(s.totals(T0 + 12_000), [(&b"a"[..], 4), (&b"b"[..], 1)]);
}

#[test]
fn at_goes_to_the_last_window_or_is_tallied_late() {
    let mut s = GroupStore::new(&shape(&[1000], &["a"], false, 10), T0);
    let now = T0 + 5_500;
    log(&mut s, &[("a", 2)], now - 1000, now).unwrap(); // last window
    log(&mut s, &[("a", 5)], now - 3000, now).unwrap(); // too old
    log(&mut s, &[("a", 7)], now + 60_000, now).unwrap(); // future: counts as now
    assert_eq!(counts(&s, 0, WindowKind::Last, now), pairs(&[("a", 2)]));
    assert_eq!(counts(&s, 0, WindowKind::Current, now), pairs(&[("a", 7)]));
    assert_eq!(s.totals(now), [(&b"a"[..], 14)]);
    assert_eq!(
        s.tallies(),
        Tallies {
            overflowed: 0,
            late_dropped: 5,
            ..Tallies::default()
        }
    );
}

#[test]
fn bad_batches_change_nothing() {
    let mut s = GroupStore::new(&shape(&[1000], &["a", "b"], false, 10), T0);
    log(&mut s, &[("a", 1)], T0, T0).unwrap();
    let before = encode(&s);
    let undeclared = log(&mut s, &[("a", 1), ("zzz", 1)], T0, T0);
    assert!(matches!(undeclared, Err(EclError::UndeclaredEvent { .. })));
    let reserved = log(&mut s, &[("b", 1), ("@overflow", 1)], T0, T0);
    assert!(matches!(reserved, Err(EclError::BadEventId { .. })));
    let overflow = log(&mut s, &[("b", 1), ("a", u64::MAX)], T0, T0);
    assert_eq!(overflow, Err(EclError::CountOverflow(b"a".to_vec())));
    let overflow_in_batch = log(&mut s, &[("b", u64::MAX), ("b", 1)], T0, T0);
    assert_eq!(
        overflow_in_batch,
        Err(EclError::CountOverflow(b"b".to_vec()))
    );
    assert_eq!(encode(&s), before);
    // Up to the limit is fine.
    log(&mut s, &[("a", u64::MAX - 1)], T0, T0).unwrap();
    assert_eq!(s.totals(T0)[0], (&b"a"[..], u64::MAX));
}

#[test]
fn auto_declared_events_appear_then_are_freed() {
    let mut s = GroupStore::new(&shape(&[1000], &["fixed"], true, 100), T0);
    log(&mut s, &[("x", 1), ("y", 0)], T0, T0).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0),
        pairs(&[("fixed", 0), ("x", 1)])
    );
    assert_eq!(s.live_auto_events(T0), 1, "a zero count creates nothing");
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 1000),
        pairs(&[("fixed", 0)])
    );
    assert_eq!(
        counts(&s, 0, WindowKind::Last, T0 + 1000),
        pairs(&[("fixed", 0), ("x", 1)])
    );
    assert_eq!(s.live_auto_events(T0 + 1999), 1);
    assert_eq!(s.live_auto_events(T0 + 2000), 0);
    assert!(s.totals(T0 + 2000).iter().all(|(id, _)| *id != b"x"));
    assert!(!s.has_timer_work(T0 + 1999));
    assert!(s.has_timer_work(T0 + 2000));
    s.advance(T0 + 2000);
    while s.sweep(T0 + 2000, usize::MAX) {}
    assert_eq!(s.events.slot_count(), 1, "the slot of x is freed");
    // Counted again, it starts a new life with a fresh total.
    log(&mut s, &[("x", 4)], T0 + 2500, T0 + 2500).unwrap();
    assert_eq!(s.totals(T0 + 2500), [(&b"fixed"[..], 0), (&b"x"[..], 4)]);
}

#[test]
fn memory_of_ephemeral_events_is_given_back() {
    let mut s = GroupStore::new(&shape(&[1000], &[], true, 100_000), T0);
    let empty = s.memory_bytes();
    let names: Vec<String> = (0..10_000).map(|i| format!("event-{i}")).collect();
    let batch: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), 1)).collect();
    log(&mut s, &batch, T0, T0).unwrap();
    let full = s.memory_bytes();
    s.advance(T0 + 2000);
    while s.sweep(T0 + 2000, 1000) {}
    assert_eq!(s.live_auto_events(T0 + 2000), 0);
    let after = s.memory_bytes();
    assert!(
        after < empty + (full - empty) / 10,
        "empty {empty}, full {full}, after sweep {after}"
    );
}

#[test]
fn a_group_spanning_several_chunks_counts_encodes_and_frees_like_a_small_one() {
    use super::chunked::CHUNK_SLOTS;
    let n = 2 * CHUNK_SLOTS + 7;
    let mut s = GroupStore::new(&shape(&[1000, 60_000], &["fixed"], true, n as u64), T0);
    let names: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
    let batch: Vec<(&str, u64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u64 % 3 + 1))
        .collect();
    log(&mut s, &batch, T0, T0).unwrap();
    // A count beyond 32 bits in the middle chunk, and one near the end.
    log(
        &mut s,
        &[("e70000", u64::from(u32::MAX)), (names[n - 1].as_str(), 5)],
        T0,
        T0,
    )
    .unwrap();
    let current = counts(&s, 0, WindowKind::Current, T0);
    assert_eq!(current.len(), n + 1);
    let of = |name: &str| current.iter().find(|(e, _)| e == name).unwrap().1;
    assert_eq!(of("e70000"), u64::from(u32::MAX) + 70_000 % 3 + 1);
    assert_eq!(of(&names[n - 1]), (n as u64 - 1) % 3 + 1 + 5);
    assert_eq!(of("e65536"), 65_536 % 3 + 1);
    let copy = decode(&encode(&s)).unwrap();
    assert_eq!(all_reads(&copy, T0), all_reads(&s, T0));
    // Every auto-declared event dies: the slots and chunks go.
    let later = T0 + 120_000;
    s.advance(later);
    while s.sweep(later, 10_000) {}
    assert_eq!(s.events.slot_count(), 1, "only the declared event is left");
    assert_eq!(
        counts(&s, 1, WindowKind::Last, later),
        pairs(&[("fixed", 0)])
    );
    log(&mut s, &[("again", 2)], later, later).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, later),
        pairs(&[("again", 2), ("fixed", 0)])
    );
}

#[test]
fn a_new_event_too_late_for_every_window_is_only_tallied() {
    let mut s = GroupStore::new(&shape(&[1000], &[], true, 1), T0);
    log(&mut s, &[("old", 3)], T0, T0 + 5000).unwrap();
    assert_eq!(
        s.tallies(),
        Tallies {
            overflowed: 0,
            late_dropped: 3,
            ..Tallies::default()
        }
    );
    assert_eq!(s.events.slot_count(), 0);
    log(&mut s, &[("new", 1)], T0 + 5000, T0 + 5000).unwrap();
    assert_eq!(
        s.live_auto_events(T0 + 5000),
        1,
        "the cap was not used up by the late event"
    );
}

#[test]
fn a_clock_behind_by_less_than_a_window_counts_as_the_store_position() {
    let mut s = GroupStore::new(&shape(&[1000, 60_000], &["a"], false, 10), T0 + 5500);
    assert_eq!(s.position_ms(), T0 + 5000);
    let times = s.resolve_times(Some(T0 + 9000), T0 + 4100);
    assert_eq!((times.at, times.now), (T0 + 5000, T0 + 5000));
    assert!(!times.clock_step);
    s.log(Batch {
        events: &[(b"a", 1)],
        at_ms: None,
        now_ms: T0 + 4100,
        producer: None,
    })
    .unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 5500),
        pairs(&[("a", 1)])
    );
    assert_eq!(s.tallies().late_dropped, 0);
}

#[test]
fn a_dead_but_unswept_event_restarts_its_total() {
    let mut s = GroupStore::new(&shape(&[1000], &[], true, 100), T0);
    log(&mut s, &[("x", 3)], T0, T0).unwrap();
    log(&mut s, &[("x", 1)], T0 + 5000, T0 + 5000).unwrap();
    assert_eq!(s.totals(T0 + 5000), [(&b"x"[..], 1)]);
}

#[test]
fn events_beyond_max_events_go_to_overflow() {
    let mut s = GroupStore::new(&shape(&[1000], &["d"], true, 2), T0);
    log(&mut s, &[("a", 1), ("b", 2), ("c", 3), ("e", 4)], T0, T0).unwrap();
    log(&mut s, &[("a", 1), ("f", 5)], T0 + 1, T0 + 1).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 1),
        pairs(&[("@overflow", 12), ("a", 2), ("b", 2), ("d", 0)])
    );
    assert_eq!(s.tallies().overflowed, 12);
    assert_eq!(s.live_auto_events(T0 + 1), 2);
    // Once a and b are gone, new events get slots again.
    log(&mut s, &[("g", 1)], T0 + 2000, T0 + 2000).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 2000),
        pairs(&[("d", 0), ("g", 1)])
    );
}

#[test]
fn producer_retries_count_once() {
    let mut s = GroupStore::new(&shape(&[1000], &["a"], false, 10), T0);
    let batch = |seq| Batch {
        events: &[(b"a", 2)],
        at_ms: None,
        now_ms: T0,
        producer: Some((b"p", seq)),
    };
    let mut outcome = |b| s.log(b).map(|r| r.outcome);
    assert_eq!(outcome(batch(1)), Ok(LogOutcome::Applied));
    assert_eq!(outcome(batch(1)), Ok(LogOutcome::AlreadyApplied));
    assert_eq!(outcome(batch(0)), Ok(LogOutcome::AlreadyApplied));
    assert_eq!(outcome(batch(2)), Ok(LogOutcome::Applied));
    assert_eq!(s.totals(T0), [(&b"a"[..], 4)]);
    // A refused batch does not advance the producer's sequence.
    let bad = Batch {
        events: &[(b"nope", 1)],
        at_ms: None,
        now_ms: T0,
        producer: Some((b"p", 3)),
    };
    assert!(s.log(bad).is_err());
    assert_eq!(s.log(batch(3)).map(|r| r.outcome), Ok(LogOutcome::Applied));
}

#[test]
fn encoding_round_trips_and_refuses_garbage() {
    let s = golden_store();
    let bytes = encode(&s);
    let d = decode(&bytes).unwrap();
    assert_eq!(encode(&d), bytes);
    for t in [T0 + 1200, T0 + 2100, T0 + 61_000] {
        for i in 0..2 {
            for kind in [WindowKind::Last, WindowKind::Current] {
                assert_eq!(counts(&d, i, kind, t), counts(&s, i, kind, t));
            }
        }
        assert_eq!(d.totals(t), s.totals(t));
        assert_eq!(d.live_auto_events(t), s.live_auto_events(t));
    }
    assert_eq!(d.tallies(), s.tallies());
    assert!(d.producers().is_duplicate(b"p", 7));
    for cut in 0..bytes.len() {
        assert!(
            decode(&bytes[..cut]).is_err(),
            "a payload cut at {cut} must be refused"
        );
    }
    let mut newer = bytes.clone();
    newer[3] = ENCODING_VERSION + 1;
    assert!(decode(&newer).unwrap_err().contains("newer"));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(decode(&trailing).is_err());
}

#[test]
fn reshape_keeps_pairs_that_still_exist() {
    let mut s = GroupStore::new(&shape(&[1000, 5000], &["a", "b"], false, 10), T0);
    log(&mut s, &[("a", 1), ("b", 2)], T0, T0).unwrap();
    let new_shape = shape(&[5000, 60_000], &["b", "c"], false, 10);
    let (r, report) = s.reshape(&new_shape, T0 + 10).unwrap();
    assert!(r.has_shape(&new_shape));
    assert_eq!(
        report,
        ReshapeReport {
            dropped_intervals: vec![1000],
            dropped_events: 1
        }
    );
    assert_eq!(
        counts(&r, 0, WindowKind::Current, T0 + 10),
        pairs(&[("b", 2), ("c", 0)])
    );
    assert_eq!(
        counts(&r, 1, WindowKind::Current, T0 + 10),
        pairs(&[("b", 0), ("c", 0)])
    );
    assert_eq!(r.totals(T0 + 10), [(&b"b"[..], 2), (&b"c"[..], 0)]);
    // Turning auto-declare on keeps a no longer declared event while it has counts.
    let auto = shape(&[5000], &[], true, 10);
    let (r, report) = s.reshape(&auto, T0 + 10).unwrap();
    assert_eq!(report.dropped_events, 0);
    assert_eq!(
        counts(&r, 0, WindowKind::Current, T0 + 10),
        pairs(&[("a", 1), ("b", 2)])
    );
}

/// One step of a random history.
#[derive(Debug, Clone)]
struct Step {
    dt: u64,
    event: usize,
    count: u64,
    at_back: Option<u64>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u64..2600,
        0usize..7,
        // Now and then a count that takes a window past 32 bits.
        prop_oneof![9 => 0u64..4, 1 => Just(3_000_000_000u64)],
        proptest::option::of(0u64..4000),
    )
        .prop_map(|(dt, event, count, at_back)| Step {
            dt,
            event,
            count,
            at_back,
        })
}

const EVENTS: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];

/// Window counts, totals, live auto-declared events and tallies.
type Reads = (Vec<Vec<(String, u64)>>, Vec<(Vec<u8>, u64)>, u64, Tallies);

/// Every read a client can make, at time t.
fn all_reads(s: &GroupStore, t: u64) -> Reads {
    let mut windows = Vec::new();
    for i in 0..s.intervals().len() {
        windows.push(counts(s, i, WindowKind::Last, t));
        windows.push(counts(s, i, WindowKind::Current, t));
    }
    let totals = s
        .totals(t)
        .into_iter()
        .map(|(id, c)| (id.to_vec(), c))
        .collect();
    (windows, totals, s.live_auto_events(t), s.tallies())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A store brought forward only by writes (lazy) and one rotated at every
    /// boundary of every interval and swept in tiny steps (eager, as the
    /// server's timer does) answer every read alike, and so does a store
    /// decoded from either's encoding.
    #[test]
    fn lazy_and_eager_rotation_agree(steps in proptest::collection::vec(step(), 1..40)) {
        let intervals = [1000, 1500, 3000];
        let shape = shape(&intervals, &["a", "b"], true, 2);
        let mut lazy = GroupStore::new(&shape, T0);
        let mut eager = GroupStore::new(&shape, T0);
        let mut t = T0;
        for st in steps {
            let next = t + st.dt;
            // Eager: visit every boundary in (t, next].
            let mut boundaries: Vec<u64> = intervals
                .iter()
                .flat_map(|&len| ((t / len + 1) * len..=next).step_by(len as usize))
                .collect();
            boundaries.sort_unstable();
            for b in boundaries {
                eager.advance(b);
                eager.sweep(b, 1);
            }
            eager.sweep(next, 1);
            t = next;
            let at = st.at_back.map_or(t, |back| t.saturating_sub(back));
            let batch = [(EVENTS[st.event], st.count)];
            let a = log(&mut lazy, &batch, at, t);
            let b = log(&mut eager, &batch, at, t);
            prop_assert_eq!(a.is_ok(), b.is_ok());
            for probe in [t, t + 700, t + 1600, t + 5000] {
                prop_assert_eq!(all_reads(&lazy, probe), all_reads(&eager, probe));
            }
            prop_assert_eq!(encode(&lazy), encode(&eager));
            let decoded = decode(&encode(&lazy)).unwrap();
            prop_assert_eq!(all_reads(&decoded, t + 700), all_reads(&lazy, t + 700));
        }
    }

    /// The decoder never panics on arbitrary bytes.
    #[test]
    fn decode_survives_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut with_magic = b"ECL\x01".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = decode(&bytes);
        let _ = decode(&with_magic);
    }
}

/// A version 1 payload written by the first release. Every later build must
/// keep decoding it (bump `ENCODING_VERSION` for a new layout; never change
/// what this decodes to).
const GOLDEN_V1: &str = "45434c01016702e80781e2cfaa06e0d40395aac10d010202016101620509406f766572666c6f77040004040001610100010100016209000909000178020002020001790300030300040001017007e8d795ffbc31";

fn golden_store() -> GroupStore {
    let mut s = GroupStore::new(&shape(&[1000, 60_000], &["a", "b"], true, 2), T0);
    log(
        &mut s,
        &[("a", 1), ("x", 2), ("y", 3), ("z", 4)],
        T0 + 500,
        T0 + 500,
    )
    .unwrap();
    s.log(Batch {
        events: &[(b"b", 9)],
        at_ms: Some(T0 + 900),
        now_ms: T0 + 1200,
        producer: Some((b"p", 7)),
    })
    .unwrap();
    s
}

#[test]
fn version_1_payloads_still_decode() {
    let golden: Vec<u8> = (0..GOLDEN_V1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&GOLDEN_V1[i..i + 2], 16).unwrap())
        .collect();
    let decoded = decode(&golden).expect("a version 1 payload decodes");
    let expected = golden_store();
    for t in [T0 + 1200, T0 + 2100, T0 + 61_000] {
        assert_eq!(all_reads(&decoded, t), all_reads(&expected, t));
    }
    assert!(decoded.producers().is_duplicate(b"p", 7));
}

#[test]
fn vectors_grow_into_whole_allocation_classes() {
    assert_eq!(allocation_class(1), 16);
    assert_eq!(allocation_class(64), 64);
    assert_eq!(allocation_class(65), 80);
    assert_eq!(allocation_class(40_000), 40_960);
    assert_eq!(allocation_class(270_000), 327_680);
    assert_eq!(allocation_class(262_144), 262_144);
    let mut v: Vec<u32> = Vec::new();
    for i in 0..100_000u32 {
        push_compact_capped(&mut v, i, usize::MAX);
        let bytes = v.capacity() * 4;
        assert_eq!(allocation_class(bytes), bytes, "capacity fills its class");
        assert!(
            v.capacity() <= v.len() + v.len() / 2 + 16,
            "growth stays modest"
        );
    }
}

#[test]
fn a_refused_or_duplicate_write_after_a_boundary_changes_nothing() {
    let mut s = GroupStore::new(&shape(&[1000, 60_000], &["a"], false, 10), T0);
    s.log(Batch {
        events: &[(b"a", 1)],
        at_ms: None,
        now_ms: T0,
        producer: Some((b"p", 1)),
    })
    .unwrap();
    let mut full = GroupStore::new(&shape(&[1000], &[], true, 1), T0);
    log(&mut full, &[("x", 1)], T0, T0).unwrap();
    let mut near_max = GroupStore::new(&shape(&[1000], &["a"], false, 10), T0);
    log(&mut near_max, &[("a", u64::MAX)], T0, T0).unwrap();
    let later = T0 + 1500; // past a 1 s boundary: the windows would move
    let refused: [(bool, Batch<'_>); 7] = [
        (false, batch_of(&[(b"typo", 1)], later, None)),
        // Batches of known events only: they reach admission from the
        // hot path, which must have moved nothing.
        (false, batch_of(&[(b"a", u64::MAX), (b"a", 1)], later, None)),
        (true, batch_of(&[(b"a", 1), (b"a", 1)], later, None)),
        (false, batch_of(&[(b"@overflow", 1)], later, None)),
        (false, batch_of(&[(b"a", 1)], later, Some((b"p", 1)))),
        (
            false,
            batch_of(&[(b"a", 1), (b"typo", 1)], later, Some((b"p", 2))),
        ),
        (true, batch_of(&[(b"a", 1)], later, None)),
    ];
    for (on_near_max, batch) in refused {
        let store = if on_near_max { &mut near_max } else { &mut s };
        let before = encode(store);
        let position = store.position_ms();
        let result = store.log(batch);
        assert!(
            result.is_err()
                || matches!(&result, Ok(r) if r.outcome == LogOutcome::AlreadyApplied && !r.moved),
            "{result:?}"
        );
        assert_eq!(encode(store), before, "{result:?} changed the store");
        assert_eq!(store.position_ms(), position);
    }
    // An overflowing new event is accepted (into @overflow) and moves the windows.
    let report = full.log(batch_of(&[(b"y", 1)], later, None)).unwrap();
    assert!(report.moved);
}

/// `@overflow` is the store's own: once it holds counts, a client naming
/// it (alone or among known events, with or without `AT`) is refused and
/// changes nothing, on every write path.
#[test]
fn a_client_cannot_log_an_existing_overflow_event() {
    let mut s = GroupStore::new(&shape(&[1000], &["a"], true, 1), T0);
    log(&mut s, &[("x", 1), ("y", 1)], T0, T0).unwrap();
    assert!(s
        .totals(T0)
        .iter()
        .any(|&(id, n)| id == b"@overflow" && n == 1));
    let before = encode(&s);
    for events in [
        &[(&b"@overflow"[..], 1)][..],
        &[(b"a", 1), (b"@overflow", 1)],
        &[(b"x", 1), (b"@overflow", 2)],
    ] {
        for at in [None, Some(T0)] {
            let result = s.log(Batch {
                at_ms: at,
                ..batch_of(events, T0 + 10, None)
            });
            assert!(
                matches!(result, Err(EclError::BadEventId { .. })),
                "{result:?}"
            );
            assert_eq!(encode(&s), before);
        }
    }
    assert_eq!(s.log_in_place(b"@overflow", 1, T0 + 10), None);
    for pairs in [
        &[&b"@overflow"[..], b"1"][..],
        &[b"a", b"1", b"@overflow", b"1"],
        &[b"x", b"1", b"@overflow", b"1"],
    ] {
        assert_eq!(s.mlog_in_place(pairs, T0 + 10), None);
    }
    assert_eq!(encode(&s), before);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A plain `ECL.MLOG` counted in place, from the pairs as sent, does
    /// what `log` does with the parsed batch at the clock; where it
    /// declines (a count that does not parse, an event not known or
    /// reserved, a clock outside the current windows, a total that might
    /// overflow) it changes nothing, and `log` then has the answer.
    /// Declared and auto-declared events, short and long IDs, mixed in any
    /// order (the declared short ones take a loop of their own).
    #[test]
    fn a_plain_mlog_in_place_is_the_batch_logged(
        before in proptest::collection::vec((0usize..8, 0u64..3000), 0..6),
        // Mostly declared events and good counts, so many batches count.
        pairs in proptest::collection::vec(
            (prop_oneof![5 => 0usize..3, 1 => 0usize..8], prop_oneof![5 => 0usize..6, 1 => 0usize..10]),
            1..8,
        ),
        clock_step in 0u64..4000,
        boundary in 0usize..8,
        auto in any::<bool>(),
    ) {
        let ids = [
            "a", "b", "a-declared-event-with-a-long-id",
            "x", "y", "@overflow", "nope", "an-auto-declared-event-with-a-long-id",
        ];
        let intervals = [1000, 1500, 3000];
        let counts = ["0", "1", "7", "1", "2", "12", "x", "", "18446744073709551615", "99999999999999999999"];
        let declared = &ids[..3];
        let mut store = GroupStore::new(&shape(&intervals, declared, auto, 4), T0);
        let mut t = T0;
        for &(id, dt) in &before {
            t += dt;
            let _ = log_at(&mut store, &[(ids[id], 1)], None, t);
        }
        // Now and then exactly at the end of a current window.
        let clock = match boundary {
            // Inside every current window (where the store stands: a
            // write before may have failed).
            0..=4 => {
                let (from, until) = store.current_span;
                from + clock_step % (until - from)
            }
            b => (t / intervals[b - 5] + 1) * intervals[b - 5],
        };
        let args: Vec<&[u8]> = pairs
            .iter()
            .flat_map(|&(id, count)| [ids[id].as_bytes(), counts[count].as_bytes()])
            .collect();
        let mut in_place = store.clone();
        match in_place.mlog_in_place(&args, clock) {
            None => prop_assert_eq!(encode(&in_place), encode(&store), "declined, yet changed"),
            Some(report) => {
                let events: Vec<(&[u8], u64)> = args
                    .chunks_exact(2)
                    .map(|pair| (pair[0], parse_u64(pair[1]).expect("counted, so parsed")))
                    .collect();
                let logged = store.log(Batch { events: &events, at_ms: None, now_ms: clock, producer: None });
                prop_assert_eq!(Ok(report), logged);
                prop_assert_eq!(encode(&in_place), encode(&store));
            }
        }
    }
}

/// The declared events with short IDs of a plain `ECL.MLOG` go through a
/// loop of their own until another comes; wherever that one stands in the
/// batch, and whatever the table's hasher, the batch is counted as `log`
/// counts it.
#[test]
fn a_plain_mlog_in_place_counts_declared_and_other_events_in_any_order() {
    let long = "a-declared-event-with-a-long-id";
    for auto in [false, true] {
        let batches: &[&[&str]] = &[
            &["a", "b", "a"],
            &[long, "a", "b"],
            &["a", long, "b"],
            &["a", "b", long],
            &["a", "x", "b"],
            &["x", "a", "y"],
            &["a", "b", "x"],
        ];
        for (i, batch) in batches.iter().enumerate() {
            let mut store = GroupStore::new(&shape(&[1000, 3000], &["a", "b", long], auto, 10), T0);
            // x and y exist (and live) where the group takes new events.
            log_at(&mut store, &[("a", 1)], None, T0).unwrap();
            if auto {
                log_at(&mut store, &[("x", 1), ("y", 1)], None, T0).unwrap();
            }
            let args: Vec<&[u8]> = batch
                .iter()
                .enumerate()
                .flat_map(|(n, id)| [id.as_bytes(), [b"1", b"2", b"3"][n].as_slice()])
                .collect();
            let mut in_place = store.clone();
            let counted = in_place.mlog_in_place(&args, T0 + 10);
            let knows_all = auto || !batch.iter().any(|id| id.starts_with(['x', 'y']));
            assert_eq!(counted.is_some(), knows_all, "batch {i}, auto {auto}");
            if counted.is_some() {
                let events: Vec<(&[u8], u64)> = args
                    .chunks_exact(2)
                    .map(|pair| (pair[0], parse_u64(pair[1]).unwrap()))
                    .collect();
                let logged = store.log(batch_of(&events, T0 + 10, None));
                assert_eq!(counted.map(|r| r.outcome), logged.ok().map(|r| r.outcome));
                assert_eq!(encode(&in_place), encode(&store), "batch {i}, auto {auto}");
                let total = |id: &str| {
                    let totals = in_place.totals(T0 + 10);
                    totals
                        .iter()
                        .find(|(t, _)| *t == id.as_bytes())
                        .map(|&(_, n)| n)
                };
                let sent = |id: &str| -> u64 {
                    events
                        .iter()
                        .filter(|(e, _)| *e == id.as_bytes())
                        .map(|&(_, n)| n)
                        .sum()
                };
                // Each logged once before the batch, but the long ID.
                assert_eq!(total("a"), Some(sent("a") + 1), "batch {i}, auto {auto}");
                assert_eq!(total(long), Some(sent(long)), "batch {i}, auto {auto}");
                if auto {
                    assert_eq!(total("x"), Some(sent("x") + 1), "batch {i}, auto {auto}");
                }
            } else {
                assert_eq!(encode(&in_place), encode(&store), "declined, yet changed");
            }
        }
    }
}

fn batch_of<'a>(
    events: &'a [(&'a [u8], u64)],
    now: u64,
    producer: Option<(&'a [u8], u64)>,
) -> Batch<'a> {
    Batch {
        events,
        at_ms: None,
        now_ms: now,
        producer,
    }
}

#[test]
fn a_clock_stepped_back_far_brings_the_group_back_to_real_time() {
    let mut s = GroupStore::new(&shape(&[1000, 60_000], &["a"], true, 10), T0);
    log(&mut s, &[("a", 2), ("x", 1)], T0, T0).unwrap();
    // The clock steps back 300 s: the next write brings every window back.
    let back = T0 - 300_000;
    let report = s.log(batch_of(&[(b"a", 5)], back, None)).unwrap();
    assert!(report.moved && report.times.clock_step);
    assert_eq!(s.tallies().clock_steps, 1);
    assert_eq!(s.position_ms(), back / 1000 * 1000);
    assert_eq!(
        counts(&s, 0, WindowKind::Current, back),
        pairs(&[("a", 7), ("x", 1)])
    );
    // One second of real time later, the window rotates as usual.
    assert_eq!(
        counts(&s, 0, WindowKind::Last, back + 1000),
        pairs(&[("a", 7), ("x", 1)])
    );
    assert_eq!(s.totals(back), [(&b"a"[..], 7), (&b"x"[..], 1)]);
    // x expires by real time, not by the time the clock had stepped from.
    assert_eq!(s.live_auto_events(back + 120_000), 0);
    // A clock behind by less than the shortest window is no step.
    assert!(!s.clock_stepped_back(back - 900));
}

#[test]
fn a_forward_step_and_its_correction_do_not_freeze_the_windows() {
    let mut s = GroupStore::new(&shape(&[1000], &["a"], false, 10), T0);
    let day = 86_400_000;
    log(&mut s, &[("a", 1)], T0 + day, T0 + day).unwrap();
    assert!(s.clock_stepped_back(T0 + 10));
    let (moved, _) = s.tidy(T0 + 10, SWEEP_STEP);
    assert!(moved);
    assert_eq!(s.position_ms(), T0);
    log(&mut s, &[("a", 1)], T0 + 1100, T0 + 1100).unwrap();
    assert_eq!(
        counts(&s, 0, WindowKind::Current, T0 + 1100),
        pairs(&[("a", 1)])
    );
    assert_eq!(
        counts(&s, 0, WindowKind::Last, T0 + 1100),
        pairs(&[("a", 1)])
    );
    assert_eq!(s.totals(T0 + 1100), [(&b"a"[..], 2)]);
    assert_eq!(s.tallies().clock_steps, 1);
    let copy = decode(&encode(&s)).unwrap();
    assert_eq!(copy.tallies().clock_steps, 1, "the tally is persisted");
}

#[test]
fn decode_refuses_states_that_could_not_be_kept() {
    let far = GroupStore::new(&shape(&[1000], &["a"], false, 10), crate::time::MAX_TIME_MS);
    assert!(decode(&encode(&far)).is_ok(), "the year 9999 itself loads");
    let mut parts = StoreParts {
        name: "g".into(),
        intervals: vec![(1000, u64::MAX / 1000 - 5), (10_000, 0)],
        declared: vec![b"a".to_vec()],
        auto_declare: false,
        max_events: 10,
        events: vec![StoredEvent {
            id: b"a".to_vec(),
            total: 1,
            windows: vec![(1, 0), (0, 0)],
        }],
        tallies: Tallies::default(),
        producers: vec![],
        history_ms: 0,
        older: vec![vec![], vec![]],
    };
    assert!(GroupStore::from_parts(parts.clone())
        .unwrap_err()
        .contains("9999"));
    parts.intervals[0].1 = T0 / 1000;
    assert!(GroupStore::from_parts(parts.clone()).is_ok());
    parts.events[0].windows[1] = (0, 2);
    assert!(GroupStore::from_parts(parts)
        .unwrap_err()
        .contains("above its total"));
}

/// A naive reference for the store: every accepted count kept in a plain
/// list, every read computed from scratch by filtering it. No windows, no
/// slots, no rotation: if the store and this agree, the store's windows,
/// expiry and sweeping are right. (Clocks move forward here; clock steps
/// have tests of their own.)
struct Reference {
    intervals: Vec<u64>,
    /// Closed windows kept per interval (the group's history).
    kept: Vec<u64>,
    declared: Vec<String>,
    /// `(event, window index per interval (None: too old), count)`.
    landed: Vec<(String, Vec<Option<u64>>, u64)>,
    /// Total of the event's current life.
    totals: std::collections::BTreeMap<String, u64>,
}

impl Reference {
    fn is_declared(&self, event: &str) -> bool {
        self.declared.iter().any(|d| d == event)
    }

    /// Whether the event has a count in a window kept at `t`.
    fn alive(&self, event: &str, t: u64) -> bool {
        self.is_declared(event)
            || self.landed.iter().any(|(e, windows, _)| {
                e == event
                    && windows
                        .iter()
                        .zip(self.intervals.iter().zip(&self.kept))
                        .any(|(w, (&len, &kept))| w.is_some_and(|w| w + kept >= t / len))
            })
    }

    fn log(&mut self, batch: &[(&str, u64)], at: u64, now: u64) {
        for &(event, count) in batch {
            let windows: Vec<Option<u64>> = self
                .intervals
                .iter()
                .zip(&self.kept)
                .map(|(&len, &kept)| (at / len + kept >= now / len).then_some(at / len))
                .collect();
            if !self.alive(event, now) {
                if count == 0 || windows.iter().all(Option::is_none) {
                    continue; // never created (a late one is only tallied)
                }
                self.totals.insert(event.to_string(), 0);
            }
            *self.totals.entry(event.to_string()).or_insert(0) += count;
            if count > 0 {
                self.landed.push((event.to_string(), windows, count));
            }
        }
    }

    fn window(&self, interval: usize, kind: WindowKind, t: u64) -> Vec<(String, u64)> {
        let len = self.intervals[interval];
        let Some(w) = (match kind {
            WindowKind::Current => Some(t / len),
            WindowKind::Last => (t / len).checked_sub(1),
        }) else {
            return vec![];
        };
        self.window_k(interval, w)
    }

    /// Window `w` of an interval: every declared event and every event
    /// counted in it.
    fn window_k(&self, interval: usize, w: u64) -> Vec<(String, u64)> {
        let mut sums: std::collections::BTreeMap<String, u64> =
            self.declared.iter().map(|d| (d.clone(), 0)).collect();
        for (e, windows, count) in &self.landed {
            if windows[interval] == Some(w) {
                *sums.entry(e.clone()).or_insert(0) += count;
            }
        }
        sums.into_iter()
            .filter(|(e, n)| *n > 0 || self.is_declared(e))
            .collect()
    }

    fn totals(&self, t: u64) -> Vec<(String, u64)> {
        self.totals
            .iter()
            .filter(|(e, _)| self.alive(e, t))
            .map(|(e, n)| (e.clone(), *n))
            .collect()
    }
}

/// One write of a random history: time forward, a batch at `AT` now minus
/// `at_back`, then maybe a sweep step and a save/load.
#[derive(Debug, Clone)]
struct Write {
    dt: u64,
    batch: Vec<(usize, u64)>,
    at_back: u64,
    sweep: bool,
    reload: bool,
}

fn write() -> impl Strategy<Value = Write> {
    (
        0u64..2600,
        proptest::collection::vec((0usize..7, 0u64..4), 1..5),
        prop_oneof![3 => Just(0u64), 1 => 0u64..4000],
        any::<bool>(),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(dt, batch, at_back, sweep, reload)| Write {
            dt,
            batch,
            at_back,
            sweep,
            reload,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_store_answers_as_the_naive_reference(writes in proptest::collection::vec(write(), 1..40)) {
        check_against_reference(&writes, 0)?;
    }

    #[test]
    fn with_history_the_store_answers_as_the_naive_reference(writes in proptest::collection::vec(write(), 1..40)) {
        check_against_reference(&writes, 4500)?;
    }
}

/// Random writes (forward clocks, late `AT`s, sweeps, save/load) on a
/// group with `history_ms`: every window, range and total as the reference.
fn check_against_reference(writes: &[Write], history_ms: u64) -> Result<(), TestCaseError> {
    {
        let intervals = vec![1000, 1500, 3000];
        let group = GroupShape {
            history_ms,
            ..shape(&intervals, &["a", "b"], true, 1000)
        };
        let kept: Vec<u64> = group.kept_windows().collect();
        let mut store = GroupStore::new(&group, T0);
        let mut reference = Reference {
            kept: kept.clone(),
            intervals: intervals.clone(),
            declared: vec!["a".into(), "b".into()],
            landed: vec![],
            totals: ["a", "b"].iter().map(|e| (e.to_string(), 0)).collect(),
        };
        let mut t = T0;
        for w in writes {
            let w = w.clone();
            t += w.dt;
            let at = t.saturating_sub(w.at_back);
            let batch: Vec<(&str, u64)> = w.batch.iter().map(|&(e, c)| (EVENTS[e], c)).collect();
            // Without `AT` half the time: the hot paths (one event, no
            // `AT`) are then taken whenever the windows allow.
            let given_at = (w.at_back > 0 || w.sweep).then_some(at);
            log_at(&mut store, &batch, given_at, t).unwrap();
            reference.log(&batch, at, t);
            if w.sweep {
                store.tidy(t, 2);
            }
            if w.reload {
                store = decode(&encode(&store)).unwrap();
            }
            for probe in [t, t + 700, t + 1600, t + 5000] {
                for (i, len) in intervals.iter().enumerate() {
                    for kind in [WindowKind::Last, WindowKind::Current] {
                        prop_assert_eq!(
                            counts(&store, i, kind, probe),
                            reference.window(i, kind, probe),
                            "interval {} {:?} at +{}",
                            len,
                            kind,
                            probe - t
                        );
                    }
                }
                let totals: Vec<(String, u64)> = store
                    .totals(probe)
                    .into_iter()
                    .map(|(e, n)| (String::from_utf8_lossy(e).into_owned(), n))
                    .collect();
                prop_assert_eq!(totals, reference.totals(probe), "totals at +{}", probe - t);
                for (i, len) in intervals.iter().enumerate() {
                    let now_k = probe / len;
                    let windows = store.range(i, 0, u64::MAX, usize::MAX, probe);
                    let expected: Vec<u64> = (now_k - kept[i]..now_k).map(|k| k * len).collect();
                    prop_assert_eq!(windows.iter().map(|w| w.0).collect::<Vec<_>>(), expected);
                    for (start, counts) in windows {
                        let counts: Vec<(String, u64)> = counts
                            .into_iter()
                            .map(|(e, n)| (String::from_utf8_lossy(e).into_owned(), n))
                            .collect();
                        prop_assert_eq!(
                            counts,
                            reference.window_k(i, start / len),
                            "interval {} window {} at +{}",
                            len,
                            start,
                            probe - t
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn history_shape(intervals: &[u64], declared: &[&str], auto: bool, history_ms: u64) -> GroupShape {
    GroupShape {
        history_ms,
        ..shape(intervals, declared, auto, 100)
    }
}

fn range(
    s: &GroupStore,
    interval: usize,
    from: u64,
    to: u64,
    at: u64,
) -> Vec<(u64, Vec<(String, u64)>)> {
    s.range(interval, from, to, usize::MAX, at)
        .into_iter()
        .map(|(start, counts)| {
            let counts = counts
                .into_iter()
                .map(|(id, c)| (String::from_utf8_lossy(id).into_owned(), c))
                .collect();
            (start, counts)
        })
        .collect()
}

#[test]
fn history_keeps_every_closed_window_zero_filled_and_exact() {
    // 1 s windows, 5 s of history: 5 closed windows kept.
    let mut s = GroupStore::new(&history_shape(&[1000], &["a"], true, 5000), T0);
    log(&mut s, &[("a", 1)], T0, T0).unwrap();
    log(&mut s, &[("a", 2), ("x", 7)], T0 + 1000, T0 + 1000).unwrap();
    // Nothing at T0 + 2000; three windows later:
    log(&mut s, &[("a", 3)], T0 + 3000, T0 + 3000).unwrap();
    let at = T0 + 4500;
    let got = range(&s, 0, 0, u64::MAX, at);
    let starts: Vec<u64> = got.iter().map(|w| w.0).collect();
    assert_eq!(starts, [T0 - 1000, T0, T0 + 1000, T0 + 2000, T0 + 3000]);
    assert_eq!(got[1].1, pairs(&[("a", 1)]));
    assert_eq!(got[2].1, pairs(&[("a", 2), ("x", 7)]));
    assert_eq!(
        got[3].1,
        pairs(&[("a", 0)]),
        "a quiet window is there, zero-filled"
    );
    assert_eq!(got[4].1, pairs(&[("a", 3)]));
    // FROM as a cursor: each window once.
    let after = range(&s, 0, T0 + 1000 + 1, u64::MAX, at);
    assert_eq!(
        after.iter().map(|w| w.0).collect::<Vec<_>>(),
        [T0 + 2000, T0 + 3000]
    );
    // x lives while a kept window counts it, and no longer.
    assert!(s.is_live(s.events.find(b"x").unwrap(), T0 + 6999));
    assert!(!s.is_live(s.events.find(b"x").unwrap(), T0 + 7000));
    // Encoding carries it all.
    let decoded = decode(&encode(&s)).unwrap();
    assert_eq!(range(&decoded, 0, 0, u64::MAX, at), got);
    assert_eq!(encode(&decoded), encode(&s));
    // Later, the oldest windows go.
    let later = range(&s, 0, 0, u64::MAX, T0 + 7500);
    assert_eq!(later.first().map(|w| w.0), Some(T0 + 2000));
    assert_eq!(later.last().map(|w| w.0), Some(T0 + 6000));
}

#[test]
fn a_late_count_lands_in_its_kept_window_and_beyond_the_history_is_late() {
    let mut s = GroupStore::new(&history_shape(&[1000], &["a"], false, 4000), T0);
    log(&mut s, &[("a", 1)], T0 + 5000, T0 + 5000).unwrap();
    log(&mut s, &[("a", 4)], T0 + 2500, T0 + 5100).unwrap();
    assert_eq!(
        range(&s, 0, T0 + 2000, T0 + 2000, T0 + 5100)[0].1,
        pairs(&[("a", 4)])
    );
    log(&mut s, &[("a", 9)], T0 + 500, T0 + 5100).unwrap();
    assert_eq!(s.tallies().late_dropped, 9);
    assert_eq!(s.totals(T0 + 5100), vec![(&b"a"[..], 14)]);
    let top = GroupStore::top(s.closed_window_counts(0, (T0 + 2000) / 1000, T0 + 5100), 1);
    assert_eq!(top, vec![(&b"a"[..], 4)]);
}

#[test]
fn reshaping_keeps_history_as_far_as_the_new_one_reaches() {
    let mut s = GroupStore::new(&history_shape(&[1000, 60_000], &["a"], true, 10_000), T0);
    for i in 0..8 {
        log(
            &mut s,
            &[("a", i + 1), ("e", 1)],
            T0 + i * 1000,
            T0 + i * 1000,
        )
        .unwrap();
    }
    let at = T0 + 8000;
    let (lower, _) = s
        .reshape(&history_shape(&[1000], &["a"], true, 3000), at)
        .unwrap();
    let got = range(&lower, 0, 0, u64::MAX, at);
    assert_eq!(
        got.iter().map(|w| w.0).collect::<Vec<_>>(),
        [T0 + 5000, T0 + 6000, T0 + 7000]
    );
    assert_eq!(got[0].1, pairs(&[("a", 6), ("e", 1)]));
    assert_eq!(
        decode(&encode(&lower)).map(|d| encode(&d)),
        Ok(encode(&lower))
    );
}

/// Every read of `store` at `t`: each interval's last and current window,
/// its kept closed windows, the totals and the live auto-declared events.
fn every_read(store: &GroupStore, t: u64) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..store.intervals().len() {
        for kind in [WindowKind::Last, WindowKind::Current] {
            out.push(format!("{i} {kind:?} {:?}", counts(store, i, kind, t)));
        }
        out.push(format!(
            "{i} range {:?}",
            store.range(i, 0, u64::MAX, usize::MAX, t)
        ));
    }
    out.push(format!("totals {:?}", store.totals(t)));
    out.push(format!("live {}", store.live_auto_events(t)));
    out
}

#[test]
fn adding_intervals_or_changing_max_events_in_place_answers_as_a_rebuild() {
    let base = GroupShape {
        history_ms: 3_000,
        ..shape(&[1_000, 3_000], &["a", "b"], true, 100)
    };
    let mut store = GroupStore::new(&base, T0);
    log(&mut store, &[("a", 2), ("x", 1)], T0, T0).unwrap();
    log(&mut store, &[("b", 1), ("y", 5)], T0 + 1_500, T0 + 1_500).unwrap();
    log(&mut store, &[("x", 3), ("z", 1)], T0 + 1_900, T0 + 2_600).unwrap();
    let now = T0 + 2_600;
    let wider = GroupShape {
        intervals: vec![500, 1_000, 2_000, 3_000],
        max_events: 50,
        ..base.clone()
    };
    let (mut rebuilt, _) = store.reshape(&wider, now).unwrap();
    let mut in_place = store.clone();
    assert!(in_place.reshape_in_place(&wider, now).unwrap());
    assert_eq!(in_place.shape(), rebuilt.shape());
    let probes = [now, now + 400, now + 1_200, now + 4_000, now + 9_000];
    for t in probes {
        assert_eq!(
            every_read(&in_place, t),
            every_read(&rebuilt, t),
            "at +{}",
            t - now
        );
    }
    // Writes afterwards land alike, and both save and load alike: one
    // without `AT` by a clock inside the old intervals' current windows
    // but not the new 500 ms one's (counted in place only where every
    // current window holds it), then a batch.
    for s in [&mut in_place, &mut rebuilt] {
        log_at(s, &[("a", 4)], None, now - 200).unwrap();
        log(s, &[("a", 1), ("x", 2), ("w", 1)], now + 700, now + 700).unwrap();
    }
    let in_place = decode(&encode(&in_place)).unwrap();
    for t in probes.map(|t| t + 700) {
        assert_eq!(
            every_read(&in_place, t),
            every_read(&rebuilt, t),
            "after a write, at +{}",
            t - now
        );
    }

    // Anything else is left to the rebuild, untouched.
    let before = every_read(&store, now);
    for other in [
        GroupShape {
            intervals: vec![1_000],
            ..base.clone()
        },
        GroupShape {
            intervals: vec![3_000, 1_000],
            ..base.clone()
        },
        GroupShape {
            history_ms: 6_000,
            ..base.clone()
        },
        GroupShape {
            declared: vec![b"a".to_vec()],
            ..base.clone()
        },
        GroupShape {
            auto_declare: false,
            ..base.clone()
        },
    ] {
        assert!(!store.reshape_in_place(&other, now).unwrap(), "{other:?}");
        assert_eq!(every_read(&store, now), before);
    }
}
