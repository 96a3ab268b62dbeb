//! Longest single write while a group grows to 1,200,000 auto-declared
//! events, one new event per batch (what `bench/module.sh` measures in a
//! server): `cargo run --release -p ecl-core --example growth_cost`.

use ecl_core::{Batch, GroupShape, GroupStore};
use std::time::Instant;

fn main() {
    let shape = GroupShape {
        name: "g".into(),
        intervals: vec![1000, 60_000, 3_600_000],
        declared: vec![],
        auto_declare: true,
        max_events: 2_000_000,
        history_ms: 0,
    };
    let now = 1_700_000_000_000;
    let mut store = GroupStore::new(&shape, now);
    let mut worst = (0u128, 0usize);
    let mut over_half_ms = 0;
    for i in 0..1_200_000usize {
        let id = format!("event-{i}");
        let events = [(id.as_bytes(), 1u64)];
        let started = Instant::now();
        store
            .log(Batch {
                events: &events,
                at_ms: None,
                now_ms: now,
                producer: None,
            })
            .unwrap();
        let ns = started.elapsed().as_nanos();
        if ns > 500_000 {
            over_half_ms += 1;
        }
        if ns > worst.0 {
            worst = (ns, i);
        }
    }
    println!(
        "longest single write: {:.3} ms (the {}th event); writes over 0.5 ms: {over_half_ms}",
        worst.0 as f64 / 1e6,
        worst.1
    );
}
