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
    // The mode is chosen once: each loop times the call alone.
    let (calls, elapsed) = match mode.as_str() {
        "by-handle" => calls_for(duration, || {
            black_box(&handle).inc();
            Ok(())
        })?,
        "by-local-handle" => calls_for(duration, || {
            black_box(&local).inc();
            Ok(())
        })?,
        _ => calls_for(duration, || group.log(black_box("e1")))?,
    };
    ecl.flush()?;
    println!("{:.0} {calls}", calls as f64 / elapsed);
    Ok(())
}

/// Calls `call` for `duration` (the clock read every 1,000 calls); returns
/// the calls made and the seconds they took.
fn calls_for(
    duration: Duration,
    mut call: impl FnMut() -> Result<(), ecl_client::ClientError>,
) -> Result<(u64, f64), ecl_client::ClientError> {
    let started = Instant::now();
    let mut calls: u64 = 0;
    while started.elapsed() < duration {
        for _ in 0..1000 {
            call()?;
        }
        calls += 1000;
    }
    Ok((calls, started.elapsed().as_secs_f64()))
}
