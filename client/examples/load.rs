//! Load generator for the end-to-end benchmark: logs events of a cached
//! group through handles for a while, flushes, and prints how many it logged.
//!
//! `cargo run --release -p ecl-client --example load -- CONFIG GROUP SECONDS`

use ecl_client::EclClient;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, group, seconds] = args.as_slice() else {
        return Err("usage: load CONFIG GROUP SECONDS".into());
    };
    let ecl = EclClient::from_config_file(config)?;
    let group = ecl.group(group);
    let events = ecl_client::Config::load(config.as_ref())?
        .group(group.name())
        .map(|g| g.events.clone())
        .unwrap_or_default();
    let handles = events
        .iter()
        .map(|e| group.event(e))
        .collect::<Result<Vec<_>, _>>()?;
    if handles.is_empty() {
        return Err("the group declares no events".into());
    }
    let until = Instant::now() + Duration::from_secs_f64(seconds.parse()?);
    let mut logged: u64 = 0;
    while Instant::now() < until {
        for _ in 0..1000 {
            handles[(logged % handles.len() as u64) as usize].inc();
            logged += 1;
        }
    }
    ecl.flush()?;
    println!("{logged}");
    Ok(())
}
