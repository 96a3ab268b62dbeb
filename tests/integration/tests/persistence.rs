//! RDB, AOF (with and without RDB preamble), DEBUG RELOAD: no reply changes.

use ecl_integration::*;
use std::time::{Duration, Instant};

// Long intervals: the snapshots compared below are taken seconds apart.
const CONFIG: &str = "\
groups:
  requests:
    events: [req1, req2]
    intervals: [1h, 1d]
  dyn:
    auto_declare_events: true
    intervals: [1h]
    max_events: 2
";

/// Every reply of ECL.GET / ECL.TOTALS / digest for both groups.
fn snapshot(c: &mut redis::Connection) -> Vec<String> {
    let mut out = Vec::new();
    for args in [
        vec!["ECL.GET", "requests", "1h", "LAST"],
        vec!["ECL.GET", "requests", "1h", "CURRENT"],
        vec!["ECL.GET", "requests", "1d", "LAST"],
        vec!["ECL.GET", "requests", "1d", "CURRENT"],
        vec!["ECL.GET", "dyn", "LAST"],
        vec!["ECL.GET", "dyn", "CURRENT"],
        vec!["ECL.TOTALS", "requests"],
        vec!["ECL.TOTALS", "dyn"],
    ] {
        out.push(format!("{args:?} {:?}", counts(c, &args)));
    }
    out.push(digest(c, "ecl:{requests}"));
    out.push(digest(c, "ecl:{dyn}"));
    out
}

fn fill(c: &mut redis::Connection) {
    let hour_ago = (server_ms(c) - 3_600_000).to_string();
    cmd(&["ECL.LOG", "requests", "req1", "3"])
        .query::<()>(c)
        .unwrap();
    cmd(&["ECL.LOG", "requests", "req2", "4", "AT", &hour_ago])
        .query::<()>(c)
        .unwrap();
    cmd(&[
        "ECL.MLOG", "dyn", "ID", "p", "7", "a", "1", "b", "2", "c", "3",
    ])
    .query::<()>(c)
    .unwrap();
    // Writes that move no window are replicated verbatim and replayed at
    // the store position.
    cmd(&["ECL.LOG", "requests", "req1", "2"])
        .query::<()>(c)
        .unwrap();
    cmd(&["ECL.MLOG", "dyn", "a", "5", "d", "1"])
        .query::<()>(c)
        .unwrap();
    cmd(&["SELECT", "2"]).query::<()>(c).unwrap();
    cmd(&["ECL.LOG", "requests", "req2", "9"])
        .query::<()>(c)
        .unwrap();
    cmd(&["SELECT", "0"]).query::<()>(c).unwrap();
}

fn check_retry_remembered(c: &mut redis::Connection) {
    cmd(&["ECL.MLOG", "dyn", "ID", "p", "7", "a", "100"])
        .query::<()>(c)
        .unwrap();
    let totals = counts(c, &["ECL.TOTALS", "dyn"]);
    assert_eq!(
        totals.iter().find(|p| p.0 == "a").map(|p| p.1),
        Some(6),
        "the producer table survived"
    );
}

fn db2_totals(c: &mut redis::Connection) -> Counts {
    cmd(&["SELECT", "2"]).query::<()>(c).unwrap();
    let t = counts(c, &["ECL.TOTALS", "requests"]);
    cmd(&["SELECT", "0"]).query::<()>(c).unwrap();
    t
}

#[test]
fn debug_reload_changes_nothing() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    fill(&mut c);
    let before = snapshot(&mut c);
    cmd(&["DEBUG", "RELOAD"]).query::<()>(&mut c).unwrap();
    assert_eq!(snapshot(&mut c), before);
    assert_eq!(db2_totals(&mut c), pairs(&[("req1", 0), ("req2", 9)]));
    check_retry_remembered(&mut c);
}

#[test]
fn restart_from_rdb_changes_nothing() {
    let mut s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    fill(&mut c);
    let before = snapshot(&mut c);
    s.restart();
    let mut c = s.conn();
    assert_eq!(snapshot(&mut c), before);
    assert_eq!(db2_totals(&mut c), pairs(&[("req1", 0), ("req2", 9)]));
    check_retry_remembered(&mut c);
}

fn wait_for_rewrite(c: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = cmd(&["INFO", "persistence"]).query(c).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        assert!(Instant::now() < deadline, "AOF rewrite did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn aof_round_trip(preamble: &str) {
    let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
    let mut s = Server::start(CONFIG, &args);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    wait_for_rewrite(&mut c);
    fill(&mut c);
    let before = snapshot(&mut c);
    // Replayed from the command log (ECL.MLOG with the master's times).
    s.kill();
    s.start_again();
    let mut c = s.conn();
    assert_eq!(snapshot(&mut c), before, "replay of the AOF log");
    // Rewritten: RDB preamble, or ECL.RESTORE commands without it.
    cmd(&["BGREWRITEAOF"]).query::<()>(&mut c).unwrap();
    wait_for_rewrite(&mut c);
    s.kill();
    s.start_again();
    let mut c = s.conn();
    assert_eq!(snapshot(&mut c), before, "rewritten AOF");
    assert_eq!(db2_totals(&mut c), pairs(&[("req1", 0), ("req2", 9)]));
    check_retry_remembered(&mut c);
}

#[test]
fn aof_with_rdb_preamble_changes_nothing() {
    aof_round_trip("yes");
}

#[test]
fn aof_without_rdb_preamble_changes_nothing() {
    aof_round_trip("no");
}

#[test]
fn restore_refuses_payloads_of_other_groups() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    cmd(&["ECL.LOG", "requests", "req1"])
        .query::<()>(&mut c)
        .unwrap();
    let dump: Vec<u8> = cmd(&["DUMP", "ecl:{requests}"]).query(&mut c).unwrap();
    assert!(!dump.is_empty());
    // DUMP/RESTORE (used by MIGRATE) goes through the RDB callbacks.
    redis::cmd("RESTORE")
        .arg("ecl:{requests}")
        .arg(0)
        .arg(dump)
        .arg("REPLACE")
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "requests"]),
        pairs(&[("req1", 1), ("req2", 0)])
    );
    // ECL.RESTORE of another group's payload under this group is refused
    // and changes nothing.
    let before = digest(&mut c, "ecl:{requests}");
    let now = server_ms(&mut c);
    let other = v1_payload("dyn", &[(HOUR_MS, now / HOUR_MS)]);
    let refused = cmd(&["ECL.RESTORE", "requests"])
        .arg(&other[..])
        .query::<()>(&mut c)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("payload is for group 'dyn'"), "{refused}");
    assert_eq!(digest(&mut c, "ecl:{requests}"), before);
}
