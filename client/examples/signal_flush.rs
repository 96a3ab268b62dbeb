//! A service that counts through a cached group with a long sync interval
//! and is stopped by a signal: with `install_shutdown_handlers`, the counts
//! since the last sync reach Redis before it ends (the integration tests
//! run it). Usage: `signal_flush REDIS_URL COUNT`.

use ecl_client::EclClient;
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, count): (&str, u64) = (&args[1], args[2].parse().expect("COUNT"));
    let config = ecl_client::Config::parse(
        &format!(
            "redis:\n  url: {url}\ngroups:\n  svc:\n    events: [e]\n    intervals: [1h]\n    sync_interval: 600\n"
        ),
        "signal_flush",
    )
    .expect("config");
    let client = EclClient::from_config(&config).expect("client");
    client
        .install_shutdown_handlers()
        .expect("shutdown handlers");
    let group = client.group("svc");
    for _ in 0..count {
        group.log("e").expect("log");
    }
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
