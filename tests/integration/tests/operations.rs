//! What a Redis operator does to the server ECL lives in — pausing writes,
//! failing over, stepping the clock, refusing bad writes, restoring dumps —
//! never crashes it and never lets a replica or the AOF drift from the
//! master (SPEC §4.3, §4.4).

use ecl_integration::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CONFIG: &str = "\
groups:
  g:
    events: [e1, e2]
    intervals: [1s, 10s]
  dyn:
    auto_declare_events: true
    intervals: [1s]
    max_events: 2
";

fn ok(c: &mut redis::Connection, args: &[&str]) {
    cmd(args)
        .query::<()>(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

fn role(c: &mut redis::Connection) -> String {
    let info: String = cmd(&["INFO", "replication"]).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("role:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn total_of(c: &mut redis::Connection, group: &str, event: &str) -> u64 {
    counts(c, &["ECL.TOTALS", group])
        .into_iter()
        .find(|(e, _)| e == event)
        .map_or(0, |(_, n)| n)
}

/// Logs `e1` to `g` and new auto-declared events to `dyn` (so the timer has
/// work at every boundary) until stopped; counts the acknowledged `e1` logs.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let (stop2, acked2) = (stop.clone(), acked.clone());
        let thread = thread::spawn(move || {
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
            let mut c = client.get_connection().unwrap();
            let mut i = 0u64;
            while !stop2.load(Ordering::Relaxed) {
                i += 1;
                if cmd(&["ECL.LOG", "g", "e1"]).query::<()>(&mut c).is_ok() {
                    acked2.fetch_add(1, Ordering::Relaxed);
                }
                let event = format!("x{}", i % 5);
                let _ = cmd(&["ECL.MLOG", "dyn", &event, "1"]).query::<()>(&mut c);
                thread::sleep(Duration::from_millis(2));
            }
        });
        Load {
            stop,
            acked,
            thread: Some(thread),
        }
    }

    /// Stops the load and returns the acknowledged `e1` logs.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.acked.load(Ordering::Relaxed)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn client_pause_write_across_boundaries_with_aof_and_a_replica() {
    let master = Server::start(CONFIG, &["--appendonly", "yes"]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start(CONFIG, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    let load = Load::start(master.port);
    thread::sleep(Duration::from_millis(300));
    ok(&mut m, &["CLIENT", "PAUSE", "3000", "WRITE"]);
    // Three 1 s boundaries pass while writes are paused; the timer has
    // auto-declared events to free at each.
    thread::sleep(Duration::from_millis(3500));
    let acked = load.finish();
    let pong: String = cmd(&["PING"]).query(&mut m).expect("the master is alive");
    assert_eq!(pong, "PONG");
    wait_replica_synced(&mut m, &mut r);
    assert_eq!(total_of(&mut m, "g", "e1"), acked);
    assert_eq!(total_of(&mut r, "g", "e1"), acked);
    same_on_both(&mut m, &mut r, "after the pause");
}

#[test]
fn failover_under_load_keeps_every_acknowledged_count() {
    let old_master = Server::start(CONFIG, &["--appendonly", "yes"]);
    let mut m = old_master.conn();
    let port = old_master.port.to_string();
    let replica = Server::start(CONFIG, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    let load = Load::start(old_master.port);
    thread::sleep(Duration::from_millis(1500));
    ok(&mut m, &["FAILOVER", "TIMEOUT", "5000"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while role(&mut r) != "master" {
        assert!(Instant::now() < deadline, "the failover did not finish");
        thread::sleep(Duration::from_millis(50));
    }
    // The old master, now a replica, goes on through more boundaries.
    thread::sleep(Duration::from_millis(1500));
    let acked = load.finish();
    let pong: String = cmd(&["PING"])
        .query(&mut m)
        .expect("the old master is alive");
    assert_eq!(pong, "PONG");
    assert_eq!(role(&mut m), "slave");
    assert_eq!(total_of(&mut r, "g", "e1"), acked);
    // The new master's timer takes over: writes and rotation go on.
    ok(&mut r, &["ECL.MLOG", "dyn", "late", "1"]);
    wait_replica_synced(&mut r, &mut m);
    same_on_both(&mut r, &mut m, "after the failover");
}

/// Master and replica hold the same: the digests of both groups, and every
/// LAST and CURRENT window (read within one 1 s window on both).
fn same_on_both(m: &mut redis::Connection, r: &mut redis::Connection, context: &str) {
    for key in ["ecl:{g}", "ecl:{dyn}"] {
        assert_eq!(digest(r, key), digest(m, key), "{key} {context}");
    }
    clear_of_boundary(m, 1000, 300);
    for args in [
        ["ECL.GET", "g", "1s", "LAST"],
        ["ECL.GET", "g", "1s", "CURRENT"],
        ["ECL.GET", "g", "10s", "LAST"],
        ["ECL.GET", "g", "10s", "CURRENT"],
        ["ECL.GET", "dyn", "1s", "LAST"],
        ["ECL.GET", "dyn", "1s", "CURRENT"],
    ] {
        assert_eq!(counts(r, &args), counts(m, &args), "{args:?} {context}");
    }
}

/// Every kind of refused write, sent just after a window boundary.
const REFUSED: &[&[&str]] = &[
    &["ECL.LOG", "nosuch", "e1"],
    &["ECL.LOG", "g", "typo"],
    &["ECL.LOG", "g", "@overflow"],
    &["ECL.LOG", "g", "e1", "-1"],
    &["ECL.LOG", "g", "e2", "18446744073709551615"],
    &["ECL.MLOG", "g", "e1", "1", "typo", "1"],
    &["ECL.MLOG", "g", "e1", "1", "e1", "x"],
    &["ECL.MLOG", "g", "e1", "1", "e2", "1000"],
    &["ECL.MLOG", "dyn", "a", "1", "@overflow", "1"],
    &["ECL.MLOG", "dyn", "ID", "p", "1", "c", "1"],
];

#[test]
fn refused_writes_after_a_boundary_change_nothing_anywhere() {
    let master = Server::start(CONFIG, &["--appendonly", "yes"]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start(CONFIG, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    let mut watcher = master.conn();
    wait_replica_synced(&mut m, &mut r);
    ok(&mut m, &["ECL.LOG", "g", "e2", "18446744073709551000"]);
    ok(&mut m, &["ECL.MLOG", "dyn", "ID", "p", "1", "a", "1"]);
    for refused in REFUSED {
        wait_for_window_start(&mut m, 1000, 400);
        ok(&mut watcher, &["WATCH", "ecl:{g}", "ecl:{dyn}"]);
        // A refused write may fail or (a duplicate) be acknowledged.
        let _ = cmd(refused).query::<redis::Value>(&mut m);
        ok(&mut watcher, &["MULTI"]);
        ok(&mut watcher, &["ECL.GET", "g", "1s"]);
        let exec: redis::Value = cmd(&["EXEC"]).query(&mut watcher).unwrap();
        assert_ne!(exec, redis::Value::Nil, "{refused:?} aborted a WATCH");
        // Plain writes after it are replicated verbatim (the second and
        // third counted in place): the replica must stand where the master
        // stands.
        ok(&mut m, &["ECL.LOG", "g", "e1"]);
        ok(&mut m, &["ECL.MLOG", "g", "e1", "2", "e2", "0", "e1", "1"]);
        ok(&mut m, &["ECL.MLOG", "dyn", "a", "1", "a", "2"]);
        wait_replica_synced(&mut m, &mut r);
        same_on_both(&mut m, &mut r, &format!("after {refused:?}"));
    }
    let before = (
        digest(&mut m, "ecl:{g}"),
        digest(&mut m, "ecl:{dyn}"),
        counts(&mut m, &["ECL.TOTALS", "g"]),
    );
    ok(&mut m, &["DEBUG", "LOADAOF"]);
    let after = (
        digest(&mut m, "ecl:{g}"),
        digest(&mut m, "ecl:{dyn}"),
        counts(&mut m, &["ECL.TOTALS", "g"]),
    );
    assert_eq!(after, before, "the AOF holds what the master held");
}

#[test]
fn the_timer_touches_no_group_without_work() {
    let server = Server::start(CONFIG, &[]);
    let mut c = server.conn();
    ok(&mut c, &["ECL.LOG", "g", "e1"]);
    ok(&mut c, &["WATCH", "ecl:{g}"]);
    // Boundaries of the 1 s and (maybe) 10 s windows pass.
    thread::sleep(Duration::from_millis(2200));
    ok(&mut c, &["MULTI"]);
    ok(&mut c, &["ECL.GET", "g", "1s"]);
    let exec: redis::Value = cmd(&["EXEC"]).query(&mut c).unwrap();
    assert_ne!(exec, redis::Value::Nil, "rotation alone aborted a WATCH");
}

#[test]
fn writes_notify_keyspace_subscribers_and_eviction_risk_is_reported() {
    let server = Server::start(CONFIG, &[]);
    let mut c = server.conn();
    assert_eq!(info_field(&mut c, "g", "eviction_policy_risk"), 0);
    ok(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    );
    assert_eq!(info_field(&mut c, "g", "eviction_policy_risk"), 1);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Kd"]);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let mut sub_conn = client.get_connection().unwrap();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.subscribe("__keyspace@0__:ecl:{g}").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = cmd(&["ECL.LOG", "g", "typo"]).query::<redis::Value>(&mut c);
    ok(&mut c, &["ECL.LOG", "g", "e1"]);
    ok(&mut c, &["ECL.MLOG", "g", "e1", "1", "e2", "1"]);
    let mut next = || -> String { pubsub.get_message().unwrap().get_payload().unwrap() };
    let got = [next(), next(), next()];
    assert_eq!(
        got,
        ["ecl.create", "ecl.log", "ecl.mlog"],
        "the first write creates the group; one event per accepted write, none for the refused one"
    );
}

#[test]
fn restore_accepts_only_states_that_can_be_kept() {
    let server = Server::start(
        "groups:\n  g:\n    events: [e1]\n    intervals: [1s, 10s]\n",
        &[],
    );
    let mut c = server.conn();
    ok(&mut c, &["SET", "unrelated", "kept"]);
    let far = v1_payload("g", &[(1000, u64::MAX / 1000 - 5), (10_000, 170_000_000)]);
    let refused = cmd(&["ECL.RESTORE", "g"])
        .arg(&far[..])
        .query::<()>(&mut c)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("9999"), "{refused}");
    let now = server_ms(&mut c);
    let good = v1_payload("g", &[(1000, now / 1000), (10_000, now / 10_000)]);
    cmd(&["ECL.RESTORE", "g"])
        .arg(&good[..])
        .query::<()>(&mut c)
        .unwrap();
    ok(&mut c, &["ECL.LOG", "g", "e1"]);
    ok(&mut c, &["DEBUG", "RELOAD"]);
    let kept: String = cmd(&["GET", "unrelated"]).query(&mut c).unwrap();
    assert_eq!(kept, "kept");
    assert_eq!(total_of(&mut c, "g", "e1"), 2);
}

/// The `1s` window of `g` as counts of `e1`: (LAST, CURRENT).
fn e1_windows(c: &mut redis::Connection) -> (u64, u64) {
    let of = |v: Counts| v.into_iter().find(|(e, _)| e == "e1").map_or(0, |p| p.1);
    (
        of(counts(c, &["ECL.GET", "g", "1s", "LAST"])),
        of(counts(c, &["ECL.GET", "g", "1s", "CURRENT"])),
    )
}

/// Sleeps until 20 ms into the next 1 s window of the server's clock.
fn next_window(c: &mut redis::Connection) {
    let now = server_ms(c);
    thread::sleep(Duration::from_millis(1000 - now % 1000 + 20));
}

/// Logs `n` counts of `e1` early in a 1 s window of the server's clock, then
/// checks they are CURRENT and, one window later, LAST.
fn windows_follow_the_clock(c: &mut redis::Connection, n: u64) {
    next_window(c);
    ok(c, &["ECL.LOG", "g", "e1", &n.to_string()]);
    assert_eq!(e1_windows(c).1, n, "counted in the current window");
    next_window(c);
    assert_eq!(e1_windows(c), (n, 0), "one window later: last");
}

#[test]
fn a_clock_stepped_back_300_s_moves_no_window_backwards_for_long() {
    let (server, clock) = Server::start_with_clock(CONFIG, &[], 0);
    let mut c = server.conn();
    windows_follow_the_clock(&mut c, 3);
    clock.set_offset_ms(-300_000);
    thread::sleep(Duration::from_millis(400)); // a few timer ticks
    windows_follow_the_clock(&mut c, 4);
    windows_follow_the_clock(&mut c, 5);
    assert_eq!(total_of(&mut c, "g", "e1"), 12, "no count lost");
    assert!(info_field(&mut c, "g", "clock_steps") >= 1);
    assert!(server.log().contains("clock stepped back"));
}

#[test]
fn a_day_forward_and_back_again_freezes_no_window() {
    let (server, clock) = Server::start_with_clock(CONFIG, &[], 0);
    let mut c = server.conn();
    clock.set_offset_ms(86_400_000);
    thread::sleep(Duration::from_millis(50));
    windows_follow_the_clock(&mut c, 2);
    clock.set_offset_ms(0);
    thread::sleep(Duration::from_millis(400));
    windows_follow_the_clock(&mut c, 3);
    assert_eq!(total_of(&mut c, "g", "e1"), 5);
    assert_eq!(info_field(&mut c, "g", "clock_steps"), 1);
}

#[test]
fn a_short_backward_glitch_delays_no_freeing() {
    let config = "groups:\n  churn:\n    auto_declare_events: true\n    intervals: [1s]\n    max_events: 100000\n";
    let (server, clock) = Server::start_with_clock(config, &[], 0);
    let mut c = server.conn();
    clock.set_offset_ms(-20_000);
    thread::sleep(Duration::from_millis(2000));
    clock.set_offset_ms(0);
    thread::sleep(Duration::from_millis(100));
    let mut batch = vec!["ECL.MLOG", "churn"];
    let names: Vec<String> = (0..2000).map(|i| format!("event-{i}")).collect();
    for name in &names {
        batch.push(name);
        batch.push("1");
    }
    ok(&mut c, &batch);
    let full = info_field(&mut c, "churn", "memory_bytes");
    // The events are dead 2 s after their window: the timer frees them
    // then, not 18 s later.
    let deadline = Instant::now() + Duration::from_secs(6);
    while info_field(&mut c, "churn", "memory_bytes") > full / 4 {
        assert!(
            Instant::now() < deadline,
            "events not freed within 6 s of the glitch"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_replica_with_a_clock_off_answers_as_its_master() {
    for offset in [5_000, -5_000] {
        let master = Server::start(CONFIG, &[]);
        let mut m = master.conn();
        let port = master.port.to_string();
        let (replica, _clock) =
            Server::start_with_clock(CONFIG, &["--replicaof", "127.0.0.1", &port], offset);
        let mut r = replica.conn();
        wait_replica_synced(&mut m, &mut r);
        for n in [3, 5] {
            next_window(&mut m);
            ok(&mut m, &["ECL.LOG", "g", "e1", &n.to_string()]);
            wait_replica_synced(&mut m, &mut r);
            assert_eq!(e1_windows(&mut r), e1_windows(&mut m), "offset {offset}");
            next_window(&mut m);
            ok(&mut m, &["ECL.LOG", "g", "e2"]);
            wait_replica_synced(&mut m, &mut r);
            assert_eq!(e1_windows(&mut r), (n, 0), "offset {offset}");
            assert_eq!(e1_windows(&mut m), (n, 0));
        }
    }
}

#[test]
fn the_timer_frees_dead_events_on_the_master_and_through_it_on_replicas() {
    let config = "groups:\n  churn:\n    auto_declare_events: true\n    intervals: [1s]\n    max_events: 100000\n";
    let master = Server::start(config, &["--latency-monitor-threshold", "1"]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start(config, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    let names: Vec<String> = (0..5000).map(|i| format!("event-{i}")).collect();
    let mut batch = vec!["ECL.MLOG", "churn"];
    for name in &names {
        batch.push(name);
        batch.push("1");
    }
    ok(&mut m, &batch);
    wait_replica_synced(&mut m, &mut r);
    let full = info_field(&mut r, "churn", "memory_bytes");
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        wait_replica_synced(&mut m, &mut r);
        let (on_master, on_replica) = (
            info_field(&mut m, "churn", "memory_bytes"),
            info_field(&mut r, "churn", "memory_bytes"),
        );
        if on_master < full / 4 && on_replica < full / 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not freed: {on_master} {on_replica} of {full}"
        );
        thread::sleep(Duration::from_millis(100));
    }
    let stats: String = cmd(&["INFO", "commandstats"]).query(&mut r).unwrap();
    assert!(stats.contains("cmdstat_ecl.rotate:calls="), "{stats}");
    assert_eq!(digest(&mut r, "ecl:{churn}"), digest(&mut m, "ecl:{churn}"));
}

#[test]
fn events_named_like_options_are_counted_and_replicated() {
    let config = "groups:\n  names:\n    auto_declare_events: true\n    intervals: [1s, 1h]\n    sync_interval: 0.05\n";
    let master = Server::start(config, &[]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start(config, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    let names = ["ID", "AT", "NOW", "--", "now"];
    // Each right after a boundary: replicated with the master's times.
    for name in names {
        next_window(&mut m);
        ok(&mut m, &["ECL.LOG", "names", name, "2"]);
    }
    // Through the client's cached batches too.
    let client_config = master.dir.join("client.yml");
    std::fs::write(
        &client_config,
        format!("redis:\n  port: {}\n{config}", master.port),
    )
    .unwrap();
    let client = ecl_client::EclClient::from_config_file(&client_config).unwrap();
    for name in names {
        client.group("names").log(name).unwrap();
    }
    client.flush().unwrap();
    wait_replica_synced(&mut m, &mut r);
    for name in names {
        assert_eq!(total_of(&mut m, "names", name), 3, "{name}");
    }
    assert_eq!(digest(&mut r, "ecl:{names}"), digest(&mut m, "ecl:{names}"));
}

fn lazyfreed_objects(c: &mut redis::Connection) -> u64 {
    server_info(c, "memory", "lazyfreed_objects")
}

/// Waits until Redis has freed `n` more objects in the background than
/// `before`.
fn wait_lazyfreed(c: &mut redis::Connection, before: u64, n: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while lazyfreed_objects(c) < before + n {
        assert!(
            Instant::now() < deadline,
            "{what}: not freed in the background"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_large_group_copies_exactly_and_is_freed_off_the_main_thread() {
    // Freeing a group of a million events takes milliseconds: above Redis's
    // lazy-free threshold a group is freed in the background by ECL.DROP,
    // UNLINK and FLUSHALL ASYNC, and COPY clones it exactly.
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    ok(
        &mut c,
        &[
            "ECL.CREATE",
            "big",
            "AUTO_DECLARE",
            "MAX_EVENTS",
            "5000",
            "INTERVALS",
            "1h",
            "1d",
        ],
    );
    let names: Vec<String> = (0..2_000).map(|i| format!("event-{i}")).collect();
    let mut args = vec!["ECL.MLOG".to_string(), "big".to_string()];
    for (i, name) in names.iter().enumerate() {
        args.push(name.clone());
        args.push((i % 7 + 1).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&mut c, &args);

    for copy in ["ecl:{copy1}", "ecl:{copy2}"] {
        ok(&mut c, &["COPY", "ecl:{big}", copy]);
        assert_eq!(digest(&mut c, copy), digest(&mut c, "ecl:{big}"), "{copy}");
    }
    assert_eq!(
        counts(&mut c, &["ECL.GET", "big", "1h", "CURRENT"]).len(),
        names.len(),
        "the source is unchanged"
    );

    let before = lazyfreed_objects(&mut c);
    let dropped: i64 = cmd(&["ECL.DROP", "big"]).query(&mut c).unwrap();
    assert_eq!(dropped, 1);
    wait_lazyfreed(&mut c, before, 1, "ECL.DROP");
    let groups: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut c).unwrap();
    assert!(!groups.contains(&"big".to_string()), "{groups:?}");

    let before = lazyfreed_objects(&mut c);
    let unlinked: i64 = cmd(&["UNLINK", "ecl:{copy1}"]).query(&mut c).unwrap();
    assert_eq!(unlinked, 1);
    wait_lazyfreed(&mut c, before, 1, "UNLINK");

    let before = lazyfreed_objects(&mut c);
    ok(&mut c, &["FLUSHALL", "ASYNC"]);
    wait_lazyfreed(&mut c, before, 1, "FLUSHALL ASYNC");
    let pong: String = cmd(&["PING"]).query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn the_aof_replays_writes_where_the_master_made_them_however_late() {
    // Writes that moved no window go to the AOF as they came, without a
    // time: replayed, they act at the group's position, not at the clock of
    // the replay, however many windows have passed since.
    let s = Server::start(CONFIG, &["--appendonly", "yes"]);
    let mut c = s.conn();
    for _ in 0..3 {
        ok(&mut c, &["ECL.LOG", "g", "e1"]);
    }
    let before = (
        digest(&mut c, "ecl:{g}"),
        counts(&mut c, &["ECL.TOTALS", "g"]),
    );
    // Let windows of the 1 s interval pass (waiting is the point here).
    thread::sleep(Duration::from_millis(2_200));
    ok(&mut c, &["DEBUG", "LOADAOF"]);
    let after = (
        digest(&mut c, "ecl:{g}"),
        counts(&mut c, &["ECL.TOTALS", "g"]),
    );
    assert_eq!(after, before);
}
