//! How long rotating and freeing a large group takes, step by step, without
//! a server: `cargo run --release -p ecl-core --example rotation_cost [events]`.

use ecl_core::store::SWEEP_STEP;
use ecl_core::{Batch, GroupShape, GroupStore};
use std::time::Instant;

fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let shape = GroupShape {
        name: "huge".into(),
        intervals: vec![1000, 60_000, 3_600_000],
        declared: vec![],
        auto_declare: true,
        max_events: events as u64,
        history_ms: 0,
    };
    let t0 = 1_700_000_000_000u64 / 3_600_000 * 3_600_000;
    let mut store = GroupStore::new(&shape, t0);
    let names: Vec<Vec<u8>> = (0..events)
        .map(|i| format!("e{i:07}").into_bytes())
        .collect();
    for chunk in names.chunks(10_000) {
        let batch: Vec<(&[u8], u64)> = chunk.iter().map(|n| (n.as_slice(), 1)).collect();
        store
            .log(Batch {
                events: &batch,
                at_ms: None,
                now_ms: t0,
                producer: None,
            })
            .unwrap();
    }
    println!("{events} events, {} bytes", store.memory_bytes());
    // Boundary of the 1 s interval only: one swap and memset.
    let started = Instant::now();
    store.advance(t0 + 1000);
    println!("rotate 1s interval: {:?}", started.elapsed());
    // All three intervals two windows on: every event dies; free in steps.
    let now = t0 + 2 * 3_600_000;
    let started = Instant::now();
    store.advance(now);
    println!("rotate all intervals: {:?}", started.elapsed());
    let (mut steps, mut longest) = (0, std::time::Duration::ZERO);
    loop {
        let started = Instant::now();
        let more = store.sweep(now, SWEEP_STEP);
        longest = longest.max(started.elapsed());
        steps += 1;
        if !more {
            println!("last sweep step: {:?}", started.elapsed());
            break;
        }
    }
    println!(
        "sweep: {steps} steps of {SWEEP_STEP} slots, longest {longest:?}; {} bytes left",
        store.memory_bytes()
    );
}
