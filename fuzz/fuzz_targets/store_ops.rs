//! The counter store under any sequence of logs, clock moves, rotations and
//! sweeps: never a panic, nothing lost (every count is in a total, in
//! `@overflow`, or counted as late), and a store saved and loaded at any
//! point answers every read as the original does.
#![no_main]

use ecl_core::encoding::{decode, encode};
use ecl_core::{Batch, GroupShape, GroupStore, WindowKind};
use libfuzzer_sys::fuzz_target;

const EVENTS: [&[u8]; 6] = [b"a", b"b", b"x1", b"x2", b"x3", b"x4"];

fn shape() -> GroupShape {
    GroupShape {
        name: "g".into(),
        intervals: vec![1000, 5000],
        declared: vec![b"a".to_vec(), b"b".to_vec()],
        auto_declare: true,
        max_events: 2,
        // Closed windows kept: 10 of 1 s, 2 of 5 s.
        history_ms: 10_000,
    }
}

fn same_reads(a: &GroupStore, b: &GroupStore, now: u64) {
    for i in 0..a.intervals().len() {
        for kind in [WindowKind::Last, WindowKind::Current] {
            assert_eq!(a.window_counts(i, kind, now), b.window_counts(i, kind, now));
        }
    }
    assert_eq!(a.totals(now), b.totals(now));
    for i in 0..a.intervals().len() {
        assert_eq!(
            a.range(i, 0, u64::MAX, usize::MAX, now),
            b.range(i, 0, u64::MAX, usize::MAX, now)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now: u64 = 1_700_000_000_000;
    let mut store = GroupStore::new(&shape(), now);
    let mut logged: u64 = 0;
    let mut seq = 0u64;
    for op in data.chunks_exact(3) {
        let (kind, x, y) = (op[0] % 6, op[1], op[2]);
        match kind {
            // Log one event now, or at a time up to ~6 s back (AT).
            0 | 1 => {
                let event = EVENTS[usize::from(x) % EVENTS.len()];
                let count = u64::from(y % 8);
                let at = (kind == 1).then(|| now.saturating_sub(u64::from(y) * 25));
                let producer = (x & 0x80 != 0).then(|| {
                    seq += u64::from(y % 3 == 0); // sometimes a retry
                    (&b"p"[..], seq)
                });
                let batch = [(event, count)];
                if let Ok(ecl_core::LogOutcome::Applied) = store
                    .log(Batch {
                        events: &batch,
                        at_ms: at,
                        now_ms: now,
                        producer,
                    })
                    .map(|report| report.outcome)
                {
                    logged += count;
                }
            }
            // The clock moves on, by up to ~16 s.
            2 => now += u64::from(x) * 64 + u64::from(y),
            3 => {
                store.advance(now);
            }
            4 => {
                store.sweep(now, usize::from(y % 4) + 1);
            }
            // Save and load.
            _ => {
                let loaded = decode(&encode(&store)).expect("a saved store loads");
                same_reads(&store, &loaded, now);
                store = loaded;
            }
        }
        // Nothing lost: live totals, plus dead events' totals freed by
        // sweeping, never exceed what was logged; and the current windows
        // never hold more than the totals.
        let totals: u64 = store.totals(now).iter().map(|p| p.1).sum();
        assert!(totals <= logged, "totals {totals} > logged {logged}");
        for i in 0..store.intervals().len() {
            let window: u64 = store
                .window_counts(i, WindowKind::Current, now)
                .iter()
                .map(|p| p.1)
                .sum();
            assert!(window <= totals, "window {window} > totals {totals}");
        }
    }
});
