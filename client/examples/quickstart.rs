//! Counts a few events with the example config and prints what Redis holds.
//!
//! Start the server with `make run` (port 6379, example_config.yml), then:
//! `cargo run -p ecl-client --example quickstart [config.yml]`

use ecl_client::{ClientError, EclClient};

fn main() -> Result<(), ClientError> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "example_config.yml".into());
    let ecl = EclClient::from_config_file(&path)?;

    // group1 is cached (sync_interval 2, sync_limit 5): logging is local.
    let group1 = ecl.group("group1");
    let event1 = group1.event("event1")?; // resolved once: the fastest way to count
    for _ in 0..10 {
        event1.inc();
    }
    group1.log_n("event2", 3)?;
    ecl.flush()?; // deliver now instead of within 2 s

    // group2 is direct (one ECL.LOG per call) and auto-declares events.
    let group2 = ecl.group("group2");
    group2.log("login-failed")?;

    println!(
        "group1, current 10s window: {:?}",
        group1.current_counts(Some("10s"))?
    );
    println!("group1, totals: {:?}", group1.totals()?);
    println!(
        "group2, current 30s window: {:?}",
        group2.current_counts(None)?
    );
    println!("delivery: {:?}", ecl.stats());
    Ok(())
}
