//! A replica's dataset and replies follow the master's.

use ecl_integration::*;
use std::time::{Duration, Instant};

const CONFIG: &str = "\
groups:
  fast:
    events: [a, b]
    intervals: [1s, 1h]
  dyn:
    auto_declare_events: true
    intervals: [1s]
    max_events: 50
  dyn_hour:
    auto_declare_events: true
    intervals: [1h]
";

fn view(c: &mut redis::Connection) -> Vec<Counts> {
    vec![
        counts(c, &["ECL.GET", "fast", "1h", "CURRENT"]),
        counts(c, &["ECL.TOTALS", "fast"]),
        counts(c, &["ECL.GET", "dyn", "CURRENT"]),
        counts(c, &["ECL.GET", "dyn", "LAST"]),
        counts(c, &["ECL.TOTALS", "dyn"]),
    ]
}

#[test]
fn replica_answers_as_the_master() {
    let master = Server::start(CONFIG, &[]);
    let mut m = master.conn();
    // Compares hour windows of both servers, read apart.
    clear_of_boundary(&mut m, HOUR_MS, HOUR_MARGIN_MS);
    cmd(&["ECL.LOG", "fast", "a", "5"])
        .query::<()>(&mut m)
        .unwrap();
    let port = master.port.to_string();
    let replica = Server::start(CONFIG, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r); // full sync: RDB callbacks
    for i in 0..200 {
        let event = format!("e{}", i % 60);
        cmd(&[
            "ECL.MLOG",
            "dyn",
            "ID",
            "p",
            &(i + 1).to_string(),
            &event,
            "1",
        ])
        .query::<()>(&mut m)
        .unwrap();
        cmd(&["ECL.LOG", "fast", "b"]).query::<()>(&mut m).unwrap();
        // A plain batch, counted in place between boundaries.
        cmd(&["ECL.MLOG", "fast", "a", "1", "b", "2", "a", "0"])
            .query::<()>(&mut m)
            .unwrap();
    }
    // Through at least one rotation by the master's timer.
    std::thread::sleep(Duration::from_millis(1100));
    cmd(&["ECL.LOG", "fast", "a"]).query::<()>(&mut m).unwrap();
    wait_replica_synced(&mut m, &mut r);
    // Both views within one 1 s window (the replica reads at the master's
    // clock, so a boundary between the two reads would be the only
    // difference).
    clear_of_boundary(&mut m, 1000, 300);
    assert_eq!(view(&mut r), view(&mut m));
    for key in ["ecl:{fast}", "ecl:{dyn}"] {
        assert_eq!(digest(&mut r, key), digest(&mut m, key), "{key}");
    }
    assert!(error_of(&mut r, &["ECL.LOG", "fast", "a"]).starts_with("READONLY"));
}

#[test]
fn failover_keeps_acknowledged_counts_and_moves_rotation() {
    let mut master = Server::start(CONFIG, &[]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start(CONFIG, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    for _ in 0..50 {
        cmd(&["ECL.LOG", "fast", "a"]).query::<()>(&mut m).unwrap();
    }
    // An hour-long window: an auto-declared event lives while a kept
    // window counts it, and this one must outlive the failover.
    cmd(&["ECL.MLOG", "dyn_hour", "ID", "p", "1", "x", "5"])
        .query::<()>(&mut m)
        .unwrap();
    let acked: i64 = cmd(&["WAIT", "1", "5000"]).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    // The replica does not rotate by itself: its timer stats stay at 0.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(info_field(&mut r, "fast", "timer_last_tick_us"), 0);
    master.kill();
    cmd(&["REPLICAOF", "NO", "ONE"])
        .query::<()>(&mut r)
        .unwrap();
    assert_eq!(
        counts(&mut r, &["ECL.TOTALS", "fast"]),
        pairs(&[("a", 50), ("b", 0)])
    );
    assert_eq!(
        counts(&mut r, &["ECL.TOTALS", "dyn_hour"]),
        pairs(&[("x", 5)])
    );
    // The producer table came along: a retry of batch 1 is not counted again.
    cmd(&["ECL.MLOG", "dyn_hour", "ID", "p", "1", "x", "5"])
        .query::<()>(&mut r)
        .unwrap();
    assert_eq!(
        counts(&mut r, &["ECL.TOTALS", "dyn_hour"]),
        pairs(&[("x", 5)])
    );
    // Promoted, it rotates: the timer works at the next 1 s boundary.
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut r, "fast", "timer_last_tick_us") == 0 {
        assert!(
            Instant::now() < deadline,
            "the promoted server never rotated"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The old master, back as a replica of the new one, stops rotating.
    let new_master_port = replica.port.to_string();
    master.restart_with_args(&["--replicaof", "127.0.0.1", &new_master_port]);
    let mut old = master.conn();
    wait_replica_synced(&mut r, &mut old);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(info_field(&mut old, "fast", "timer_last_tick_us"), 0);
    assert_eq!(
        counts(&mut old, &["ECL.TOTALS", "fast"]),
        pairs(&[("a", 50), ("b", 0)])
    );
}
