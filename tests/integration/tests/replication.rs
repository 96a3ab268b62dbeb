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
";

fn wait_synced(master: &mut redis::Connection, replica: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = cmd(&["INFO", "replication"]).query(replica).unwrap();
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(Instant::now() < deadline, "replica did not sync");
        std::thread::sleep(Duration::from_millis(50));
    }
    let acked: i64 = cmd(&["WAIT", "1", "5000"]).query(master).unwrap();
    assert_eq!(acked, 1);
}

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
    cmd(&["ECL.LOG", "fast", "a", "5"])
        .query::<()>(&mut m)
        .unwrap();
    let port = master.port.to_string();
    let replica = Server::start(CONFIG, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_synced(&mut m, &mut r); // full sync: RDB callbacks
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
    }
    // Through at least one rotation by the master's timer.
    std::thread::sleep(Duration::from_millis(1100));
    cmd(&["ECL.LOG", "fast", "a"]).query::<()>(&mut m).unwrap();
    wait_synced(&mut m, &mut r);
    assert_eq!(view(&mut r), view(&mut m));
    for key in ["ecl:{fast}", "ecl:{dyn}"] {
        assert_eq!(digest(&mut r, key), digest(&mut m, key), "{key}");
    }
    assert!(error_of(&mut r, &["ECL.LOG", "fast", "a"]).starts_with("READONLY"));
}
