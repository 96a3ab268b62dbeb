//! The `ecl-client` crate against a real server with the module.

use ecl_client::EclClient;
use ecl_integration::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GROUPS: &str = "\
groups:
  cached:
    events: [e0, e1, e2, e3, e4, e5, e6, e7]
    intervals: [1h]
    sync_interval: 0.2
    sync_limit: 500
  dyn:
    auto_declare_events: true
    intervals: [1h]
    sync_interval: 0.2
  fast:
    events: [a, b]
    intervals: [1s]
    sync_interval: 30
  direct:
    events: [x, y]
    intervals: [1h, 1m]
";

fn client_for(port: u16, groups: &str) -> EclClient {
    let text = format!("redis:\n  host: 127.0.0.1\n  port: {port}\n{groups}");
    EclClient::from_config(&ecl_client::Config::parse(&text, "client.yml").unwrap()).unwrap()
}

fn total_of(c: &mut redis::Connection, group: &str) -> u64 {
    counts(c, &["ECL.TOTALS", group]).iter().map(|p| p.1).sum()
}

#[test]
fn many_threads_cached_counts_all_arrive() {
    let s = Server::start(GROUPS, &[]);
    let ecl = client_for(s.port, GROUPS);
    let per_thread = 20_000u64;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ecl = ecl.clone();
            std::thread::spawn(move || {
                let group = ecl.group("cached");
                let handles: Vec<_> = (0..8)
                    .map(|e| group.event(format!("e{e}")).unwrap())
                    .collect();
                let dynamic = ecl.group("dyn");
                for i in 0..per_thread {
                    if i.is_multiple_of(2) {
                        handles[(i % 8) as usize].inc();
                    } else {
                        group.log(format!("e{}", (i + t) % 8)).unwrap();
                    }
                    if i.is_multiple_of(100) {
                        dynamic.log_n(format!("d{}", i % 700), 2).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    ecl.flush().unwrap();
    let mut c = s.conn();
    assert_eq!(total_of(&mut c, "cached"), 4 * per_thread);
    assert_eq!(total_of(&mut c, "dyn"), 4 * 2 * (per_thread / 100));
    // After drop too.
    let group = ecl.group("cached");
    group.log_n("e3", 5).unwrap();
    let handle = group.event("e4").unwrap();
    drop(ecl);
    drop(group);
    handle.add(7);
    drop(handle);
    assert_eq!(total_of(&mut c, "cached"), 4 * per_thread + 12);
}

#[test]
fn thread_local_handles_count_exactly_alongside_shared_ones() {
    let s = Server::start(GROUPS, &[]);
    let ecl = client_for(s.port, GROUPS);
    let per_thread = 50_000u64;
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let ecl = ecl.clone();
            std::thread::spawn(move || {
                let group = ecl.group("cached");
                let local = group.local_event("e1").unwrap();
                let shared = group.event("e1").unwrap();
                let dynamic = ecl.group("dyn").local_event(format!("t{t}")).unwrap();
                for i in 0..per_thread {
                    if i % 3 == 0 {
                        shared.inc();
                    } else {
                        local.inc();
                    }
                    dynamic.add(2);
                }
                // Dropped with counts not yet flushed: nothing is lost.
            })
        })
        .collect();
    // Flushes while they count (sync_limit and the 0.2 s timer may fire too).
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(30));
        let _ = ecl.flush();
    }
    for t in threads {
        t.join().unwrap();
    }
    ecl.flush().unwrap();
    let mut c = s.conn();
    assert_eq!(total_of(&mut c, "cached"), 4 * per_thread);
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "dyn"]),
        pairs(&[
            ("t0", 2 * per_thread),
            ("t1", 2 * per_thread),
            ("t2", 2 * per_thread),
            ("t3", 2 * per_thread)
        ])
    );
    // A direct group's local handle is a round trip, like the shared one.
    let direct = ecl.group("direct").local_event("x").unwrap();
    direct.add(3);
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "direct"]),
        pairs(&[("x", 3), ("y", 0)])
    );
}

/// Waits up to 5 s for the server's totals of `group` to reach `at_least`.
fn wait_for_total(c: &mut redis::Connection, group: &str, at_least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let total = total_of(c, group);
        if total >= at_least || Instant::now() > deadline {
            return total;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn reaching_sync_limit_sends_without_waiting_for_the_timer() {
    const LIMITED: &str = "\
groups:
  limited:
    events: [a, b]
    intervals: [1h]
    sync_interval: 3600
    sync_limit: 100
";
    let s = Server::start(LIMITED, &[]);
    let mut c = s.conn();
    // A window boundary drains too: keep clear of the next one.
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    let ecl = client_for(s.port, LIMITED);
    let group = ecl.group("limited");
    // One thread: the 100th count of an event sends the batch.
    for _ in 0..99 {
        group.log("a").unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        total_of(&mut c, "limited"),
        0,
        "below sync_limit: kept local"
    );
    group.log("a").unwrap();
    assert_eq!(wait_for_total(&mut c, "limited", 100), 100);
    // Several threads: the limit is shared out among the threads counting,
    // so together they send no later than when their sum reaches it.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let handle = group.event("b").unwrap();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    handle.inc();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        wait_for_total(&mut c, "limited", 101) > 100,
        "the sum of 4 threads reached sync_limit"
    );
    ecl.flush().unwrap();
    assert_eq!(total_of(&mut c, "limited"), 200);
}

#[test]
fn local_handle_counts_land_in_the_window_they_were_logged_in() {
    let s = Server::start(GROUPS, &[]);
    let ecl = client_for(s.port, GROUPS);
    let local = ecl.group("fast").local_event("b").unwrap();
    let mut c = s.conn();
    let start = wait_for_window_start(&mut c, 1000, 300);
    let window = start / 1000 * 1000;
    while server_ms(&mut c) < window + 850 {
        std::thread::sleep(Duration::from_millis(5));
    }
    local.add(4);
    while server_ms(&mut c) < window + 1300 {
        std::thread::sleep(Duration::from_millis(10));
    }
    local.add(1);
    ecl.flush().unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "LAST"]),
        pairs(&[("a", 0), ("b", 4)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "CURRENT"]),
        pairs(&[("a", 0), ("b", 1)])
    );
}

#[test]
fn counts_land_in_the_window_they_were_logged_in() {
    let s = Server::start(GROUPS, &[]);
    let ecl = client_for(s.port, GROUPS);
    let mut c = s.conn();
    let start = wait_for_window_start(&mut c, 1000, 300);
    let window = start / 1000 * 1000;
    // Just before the boundary (sync_interval is 30 s: nothing flushes by time).
    while server_ms(&mut c) < window + 850 {
        std::thread::sleep(Duration::from_millis(5));
    }
    ecl.group("fast").log_n("a", 7).unwrap();
    while server_ms(&mut c) < window + 1300 {
        std::thread::sleep(Duration::from_millis(10));
    }
    ecl.flush().unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "LAST"]),
        pairs(&[("a", 7), ("b", 0)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "CURRENT"]),
        pairs(&[("a", 0), ("b", 0)])
    );
}

#[test]
fn redis_down_for_a_while_loses_and_doubles_nothing() {
    let mut s = Server::start(GROUPS, &["--appendonly", "yes", "--appendfsync", "always"]);
    let ecl = client_for(s.port, GROUPS);
    let handle = ecl.group("cached").event("e1").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let logged = {
        let (handle, stop) = (handle.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                handle.inc();
                n += 1;
                if n.is_multiple_of(1000) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    s.kill();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        ecl.flush().is_err(),
        "flush reports that Redis is unreachable"
    );
    s.start_again();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let logged = logged.join().unwrap();
    ecl.flush().unwrap();
    let mut c = s.conn();
    assert_eq!(total_of(&mut c, "cached"), logged);
    assert!(ecl.stats().failed_attempts > 0);
}

#[test]
fn a_batch_whose_reply_was_lost_is_counted_once() {
    let s = Server::start(GROUPS, &[]);
    let proxy = LosingProxy::start(s.port, b"ECL.MLOG");
    let ecl = client_for(proxy.port, GROUPS);
    let group = ecl.group("cached");
    group.log_n("e2", 40).unwrap();
    ecl.flush().unwrap();
    proxy.armed.store(true, Ordering::SeqCst);
    group.log_n("e2", 2).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ecl.flush().is_err() {
        assert!(Instant::now() < deadline, "the retry never succeeded");
    }
    assert!(!proxy.armed.load(Ordering::SeqCst), "the proxy cut a reply");
    assert!(ecl.stats().failed_attempts >= 1);
    let mut c = s.conn();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "cached"])[2],
        ("e2".to_string(), 42)
    );
}

#[test]
fn direct_mode_unknown_groups_and_undeclared_events() {
    let s = Server::start(GROUPS, &[]);
    clear_of_boundary(&mut s.conn(), 60_000, 3_000); // reads current 1 m windows
    let ecl = client_for(s.port, GROUPS);
    let direct = ecl.group("direct");
    direct.log("x").unwrap();
    direct.log_n("y", 3).unwrap();
    direct.event("y").unwrap().inc();
    let mut c = s.conn();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "direct"]),
        pairs(&[("x", 1), ("y", 4)])
    );
    assert_eq!(direct.current_count("y", Some("1m")).unwrap(), 4);
    assert_eq!(
        direct.current_counts(Some("1h")).unwrap(),
        pairs(&[("x", 1), ("y", 4)])
    );
    let per_interval = direct.event_counts("y").unwrap();
    assert_eq!(
        per_interval.iter().map(|i| i.current).collect::<Vec<_>>(),
        [4, 4]
    );
    assert!(matches!(
        direct.last_counts(None),
        Err(ecl_client::ClientError::Refused(
            ecl_client::EclError::IntervalRequired { .. }
        ))
    ));
    // Unknown group: a no-op.
    let unknown = ecl.group("nope");
    assert!(!unknown.is_configured());
    unknown.log("anything").unwrap();
    // Undeclared event: an error, found locally (a dead server is not asked).
    let dead = client_for(free_port(), GROUPS);
    for group in ["direct", "cached"] {
        let e = dead.group(group).log("zzz").unwrap_err();
        assert!(
            matches!(
                e,
                ecl_client::ClientError::Refused(ecl_client::EclError::UndeclaredEvent { .. })
            ),
            "{group}: {e}"
        );
    }
    assert!(matches!(
        dead.group("dyn").log("@x"),
        Err(ecl_client::ClientError::Refused(
            ecl_client::EclError::BadEventId { .. }
        ))
    ));
}

#[test]
fn a_refused_batch_is_reported_not_hidden() {
    let s = Server::start(GROUPS, &[]);
    // The client declares an event the server's config does not: on
    // connecting, it adds it to the group (SPEC §5).
    let client_groups = GROUPS.replace("events: [e0, e1", "events: [extra, e0, e1");
    let ecl = client_for(s.port, &client_groups);
    ecl.group("cached").log_n("extra", 2).unwrap();
    ecl.flush().unwrap();
    assert_eq!(ecl.stats().rejected_batches, 0, "declared by the client");
    // An operator takes the event away meanwhile: the next batch is
    // refused, and said so.
    let mut c = s.conn();
    cmd(&["ECL.ALTER", "cached", "EVENTS", "e0", "e1"])
        .query::<()>(&mut c)
        .unwrap();
    ecl.group("cached").log_n("extra", 3).unwrap();
    ecl.flush().unwrap();
    let stats = ecl.stats();
    assert_eq!((stats.rejected_batches, stats.rejected_counts), (1, 3));
}

#[test]
fn a_rust_service_stopped_by_sigterm_delivers_its_cached_counts() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/debug/examples/signal_flush");
    if !example.exists() {
        eprintln!(
            "skipped: {} not built (make build builds the examples)",
            example.display()
        );
        return;
    }
    let s = Server::start_without_config(&[]);
    let url = format!("redis://127.0.0.1:{}/0", s.port);
    let mut child = std::process::Command::new(&example)
        .args([url.as_str(), "12345"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    let mut c = s.conn();
    assert!(
        error_of(&mut c, &["ECL.TOTALS", "svc"]).contains("unknown group"),
        "nothing sent yet"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        exit.signal(),
        Some(15),
        "it still ends by SIGTERM: {exit:?}"
    );
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "svc"]),
        pairs(&[("e", 12345)])
    );
}
