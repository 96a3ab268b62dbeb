//! Soak: minutes of mixed load with 1 s windows on a master with a replica
//! (`make soak`; not part of `make test`). Run it by hand with
//! `SOAK_SECS=60 cargo test --release -p ecl-integration --test soak -- --ignored --nocapture`.
//!
//! Producers: two cached clients (as two processes would be; one counts
//! through shared handles, the other through thread-local ones), one direct
//! client, and a raw producer of `ECL.MLOG ... AT ... ID ...` batches into an
//! auto-declare group whose event names change every 10 s, so events keep
//! dying and being swept. Every 10 s the last complete 10 s window of that
//! group is compared, event by event, with what the producer logged into it;
//! at the end every total is compared, and the replica with the master.
//! Memory (`used_memory` of both servers) is sampled all along and must be
//! flat: the last fifth of the run may not use more than the second fifth
//! plus a small margin.

use ecl_client::EclClient;
use ecl_integration::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CONFIG: &str = "\
groups:
  cached:
    events: [a, b, c, d]
    intervals: [1s, 1h]
    sync_interval: 0.2
    sync_limit: 5000
  direct:
    events: [x, y]
    intervals: [1s, 1h]
  churn:
    auto_declare_events: true
    intervals: [1s, 10s]
    max_events: 5000
";

/// Length of the churn group's long window.
const WINDOW_MS: u64 = 10_000;
/// Distinct churn events per 10 s window.
const CHURN_EVENTS: u64 = 400;
/// Memory may grow this much (bytes) between the second and the last fifth.
const MEMORY_SLACK: u64 = 512 * 1024;

fn clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Per 10 s window start: the counts the raw producer had acknowledged.
type Expected = Arc<Mutex<BTreeMap<u64, HashMap<String, u64>>>>;

fn nonzero(counts: Counts) -> HashMap<String, u64> {
    counts.into_iter().filter(|(_, n)| *n > 0).collect()
}

fn average(samples: &[u64]) -> u64 {
    samples.iter().sum::<u64>() / samples.len().max(1) as u64
}

#[test]
#[ignore = "long: run with `make soak`"]
fn soak_mixed_load_with_a_replica() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let master = Server::start(CONFIG, &[]);
    let replica = Server::start(
        CONFIG,
        &["--replicaof", "127.0.0.1", &master.port.to_string()],
    );
    let (mut m, mut r) = (master.conn(), replica.conn());
    wait_replica_synced(&mut m, &mut r);
    let client_config = format!(
        "redis:\n  host: 127.0.0.1\n  port: {}\n{CONFIG}",
        master.port
    );
    let client = || {
        EclClient::from_config(&ecl_client::Config::parse(&client_config, "soak.yml").unwrap())
            .unwrap()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let cached_logged = Arc::new(AtomicU64::new(0));
    let direct_logged = Arc::new(AtomicU64::new(0));
    let expected: Expected = Arc::default();
    let mut producers = Vec::new();

    // Two cached clients, two threads each, throttled to leave CPU to Redis.
    let cached_clients = [client(), client()];
    // The first client's threads count through shared handles, the second's
    // through thread-local ones.
    for (c, ecl) in cached_clients.iter().enumerate() {
        for t in 0..2u64 {
            let (ecl, stop, logged) = (ecl.clone(), stop.clone(), cached_logged.clone());
            producers.push(std::thread::spawn(move || {
                let group = ecl.group("cached");
                let shared: Vec<_> = ["a", "b", "c", "d"]
                    .iter()
                    .map(|e| group.event(e).unwrap())
                    .collect();
                let local: Vec<_> = ["a", "b", "c", "d"]
                    .iter()
                    .map(|e| group.local_event(e).unwrap())
                    .collect();
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1000 {
                        let e = (i % 4) as usize;
                        if c == 0 {
                            shared[e].inc();
                        } else {
                            local[e].inc();
                        }
                        i += 1;
                    }
                    logged.fetch_add(1000, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            }));
        }
    }
    // A direct client: every log a round trip.
    {
        let (ecl, stop, logged) = (client(), stop.clone(), direct_logged.clone());
        producers.push(std::thread::spawn(move || {
            let group = ecl.group("direct");
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                group
                    .log_n(["x", "y"][(i % 2) as usize], i % 3 + 1)
                    .unwrap();
                logged.fetch_add(i % 3 + 1, Ordering::Relaxed);
                i += 1;
                if i.is_multiple_of(50) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }));
    }
    // The raw producer: batches with AT and ID into the churning group.
    {
        let (mut c, stop, expected) = (master.conn(), stop.clone(), expected.clone());
        producers.push(std::thread::spawn(move || {
            let mut seq = 0u64;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let at = clock_ms();
                let window = at - at % WINDOW_MS;
                let mut batch: HashMap<String, u64> = HashMap::new();
                for _ in 0..50 {
                    let event = format!("w{}-e{}", window / WINDOW_MS, i % CHURN_EVENTS);
                    *batch.entry(event).or_default() += 1 + i % 2;
                    i += 1;
                }
                seq += 1;
                let mut mlog = redis::cmd("ECL.MLOG");
                mlog.arg("churn")
                    .arg("AT")
                    .arg(at)
                    .arg("ID")
                    .arg("soak")
                    .arg(seq);
                for (event, n) in &batch {
                    mlog.arg(event).arg(*n);
                }
                mlog.query::<()>(&mut c).unwrap();
                let mut expected = expected.lock().unwrap();
                let counts = expected.entry(window).or_default();
                for (event, n) in batch {
                    *counts.entry(event).or_default() += n;
                }
                drop(expected);
                std::thread::sleep(Duration::from_millis(2));
            }
        }));
    }

    // Watch: memory every 10 s, and the last complete churn window.
    let started = Instant::now();
    let (mut master_memory, mut replica_memory) = (Vec::new(), Vec::new());
    let mut windows_checked = 0;
    let mut next_sample = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(200));
        if Instant::now() < next_sample {
            continue;
        }
        // At least a second into a window: the last one is complete.
        let now = server_ms(&mut m);
        if now % WINDOW_MS < 1000 || now % WINDOW_MS > WINDOW_MS - 1000 {
            continue;
        }
        next_sample += Duration::from_secs(10);
        let last_window = now - now % WINDOW_MS - WINDOW_MS;
        let got = nonzero(counts(&mut m, &["ECL.GET", "churn", "10s", "LAST"]));
        let want = expected
            .lock()
            .unwrap()
            .get(&last_window)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            server_ms(&mut m) / WINDOW_MS,
            now / WINDOW_MS,
            "checked in time"
        );
        assert_eq!(got, want, "churn window {last_window}");
        if !want.is_empty() {
            windows_checked += 1;
        }
        expected.lock().unwrap().retain(|w, _| *w >= last_window);
        master_memory.push(used_memory(&mut m));
        replica_memory.push(used_memory(&mut r));
        println!(
            "soak {:>4}s: used_memory master {} B, replica {} B; churn live events {}",
            started.elapsed().as_secs(),
            master_memory.last().unwrap(),
            replica_memory.last().unwrap(),
            info_field(&mut m, "churn", "auto_declared_events"),
        );
    }
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        p.join().expect("producer");
    }
    for ecl in &cached_clients {
        ecl.flush().unwrap();
        assert_eq!(ecl.stats().rejected_counts, 0);
    }
    drop(cached_clients);

    let total = |c: &mut redis::Connection, group: &str| -> u64 {
        counts(c, &["ECL.TOTALS", group]).iter().map(|p| p.1).sum()
    };
    let cached = cached_logged.load(Ordering::Relaxed);
    let direct = direct_logged.load(Ordering::Relaxed);
    assert_eq!(total(&mut m, "cached"), cached, "cached counts exact");
    assert_eq!(total(&mut m, "direct"), direct, "direct counts exact");
    // The master's timer may rotate between the two reads: compare again
    // after the replica caught up, a few times.
    let view = |c: &mut redis::Connection| -> Vec<(Counts, String)> {
        ["cached", "direct", "churn"]
            .iter()
            .map(|g| {
                (
                    counts(c, &["ECL.TOTALS", g]),
                    digest(c, &format!("ecl:{{{g}}}")),
                )
            })
            .collect()
    };
    let mut attempts = 0;
    loop {
        wait_replica_synced(&mut m, &mut r);
        let (on_master, on_replica) = (view(&mut m), view(&mut r));
        if on_master == on_replica {
            break;
        }
        attempts += 1;
        assert!(attempts < 5, "the replica differs from the master");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        windows_checked >= secs / 20,
        "{windows_checked} windows checked"
    );

    let fifth = (master_memory.len() / 5).max(1);
    for (name, samples) in [("master", &master_memory), ("replica", &replica_memory)] {
        let early = average(&samples[fifth..(2 * fifth).min(samples.len())]);
        let late = average(&samples[samples.len() - fifth..]);
        println!("soak: {name} used_memory second fifth {early} B, last fifth {late} B");
        assert!(
            late <= early + MEMORY_SLACK,
            "{name} memory grew: {early} -> {late} B"
        );
    }
    println!(
        "soak: {secs} s, cached {cached} + direct {direct} counts exact, \
         {windows_checked} churn windows exact, 0 lost"
    );
}
