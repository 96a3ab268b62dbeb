//! Throughput of one thread logging through ecl-client, for `make bench`.
//!
//! `bench_client CONFIG GROUP MODE SECONDS` with MODE `direct`, `by-name`,
//! `by-handle` or `by-local-handle`; prints `calls_per_second`. In the cached modes the group must
//! be cached in CONFIG; the counts are flushed (and checked by the caller).

use ecl_client::EclClient;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, group, mode, seconds] = args.as_slice() else {
        return Err(
            "usage: bench_client CONFIG GROUP direct|by-name|by-handle|by-local-handle SECONDS"
                .into(),
        );
    };
    let ecl = EclClient::from_config_file(config)?;
    let group = ecl.group(group);
    let handle = group.event("e1")?;
    let local = group.local_event("e1")?;
    let duration = Duration::from_secs_f64(seconds.parse()?);
    let started = Instant::now();
    let mut calls: u64 = 0;
    while started.elapsed() < duration {
        // Check the clock every 1,000 calls only.
        for _ in 0..1000 {
            match mode.as_str() {
                "by-handle" => black_box(&handle).inc(),
                "by-local-handle" => black_box(&local).inc(),
                _ => group.log(black_box("e1"))?,
            }
        }
        calls += 1000;
        if mode == "direct" && started.elapsed() >= duration {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    ecl.flush()?;
    println!("{:.0} {calls}", calls as f64 / elapsed);
    Ok(())
}
