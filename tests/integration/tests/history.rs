//! History (SPEC §4.5): closed windows kept, `ECL.RANGE` (zero-filled,
//! oldest first, a `FROM` cursor, `EVENTS`, `COUNT`, `SUM`), `ECL.TOP`, bad
//! input that changes nothing, and master, replica, RDB and AOF answering
//! every range alike.

use ecl_integration::*;
use redis::Value;

const MINUTE: u64 = 60_000;

/// `[(start, counts)]` of an `ECL.RANGE` reply.
fn windows(c: &mut redis::Connection, args: &[&str]) -> Vec<(u64, Counts)> {
    let reply: Vec<(u64, Vec<(String, u64)>)> = cmd(args).query(c).unwrap();
    reply
        .into_iter()
        .map(|(start, counts)| (start, counts.into_iter().collect()))
        .collect()
}

/// A group with 1m windows and 10m of history, counts logged with `AT` in
/// five past minutes: `now`, clear of the next minute boundary.
fn setup(c: &mut redis::Connection) -> u64 {
    cmd(&[
        "ECL.CREATE",
        "g",
        "AUTO_DECLARE",
        "HISTORY",
        "10m",
        "INTERVALS",
        "1m",
        "EVENTS",
        "a",
        "b",
    ])
    .query::<()>(c)
    .unwrap();
    let now = clear_of_boundary(c, MINUTE, 20_000);
    for k in 1..=5u64 {
        let at = (now - k * MINUTE).to_string();
        let n = k.to_string();
        cmd(&["ECL.MLOG", "g", "AT", &at, "a", &n, &format!("x{k}"), "1"])
            .query::<()>(c)
            .unwrap();
    }
    now
}

#[test]
fn ranges_are_exact_zero_filled_and_a_cursor() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    let now = setup(&mut c);
    let this = now / MINUTE * MINUTE;
    let all = windows(&mut c, &["ECL.RANGE", "g", "1m"]);
    let starts: Vec<u64> = all.iter().map(|w| w.0).collect();
    assert_eq!(
        starts,
        (1..=10)
            .rev()
            .map(|k| this - k * MINUTE)
            .collect::<Vec<_>>()
    );
    for (start, counts) in &all {
        let k = (this - start) / MINUTE;
        let expected = if k <= 5 {
            pairs(&[("a", k), ("b", 0), (&format!("x{k}"), 1)])
        } else {
            pairs(&[("a", 0), ("b", 0)])
        };
        assert_eq!(counts, &expected, "window {k} minutes ago");
    }
    // A cursor: FROM the last start seen + 1 gives each window once.
    let first_two = windows(&mut c, &["ECL.RANGE", "g", "1m", "COUNT", "2"]);
    assert_eq!(first_two, all[..2]);
    let from = (first_two[1].0 + 1).to_string();
    let rest = windows(&mut c, &["ECL.RANGE", "g", "1m", "FROM", &from]);
    assert_eq!(rest, all[2..]);
    // EVENTS and SUM.
    let (three, one) = ((this - 3 * MINUTE).to_string(), (this - MINUTE).to_string());
    let summed = counts(
        &mut c,
        &[
            "ECL.RANGE",
            "g",
            "1m",
            "FROM",
            &three,
            "TO",
            &one,
            "EVENTS",
            "a",
            "x2",
            "SUM",
        ],
    );
    assert_eq!(summed, pairs(&[("a", 6), ("x2", 1)]));
    // TOP of a kept window.
    let at = (this - 4 * MINUTE + 5).to_string();
    let top = counts(&mut c, &["ECL.TOP", "g", "1m", "1", "AT", &at]);
    assert_eq!(top, pairs(&[("a", 4)]));
    let last = counts(&mut c, &["ECL.TOP", "g", "1m", "2"]);
    assert_eq!(last, pairs(&[("a", 1), ("x1", 1)]));
    let info: Value = cmd(&["ECL.INFO", "g"]).query(&mut c).unwrap();
    let text = format!("{info:?}");
    assert!(
        text.contains("history_ms") && text.contains("kept_windows"),
        "{text}"
    );
}

#[test]
fn bad_history_and_range_input_is_refused_and_changes_nothing() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    setup(&mut c);
    let before = digest(&mut c, "ecl:{g}");
    for args in [
        vec!["ECL.CREATE", "h", "HISTORY", "0", "INTERVALS", "1m"],
        vec!["ECL.CREATE", "h", "HISTORY", "-1h", "INTERVALS", "1m"],
        vec!["ECL.CREATE", "h", "HISTORY", "soon", "INTERVALS", "1m"],
        vec!["ECL.CREATE", "h", "HISTORY", "1000d", "INTERVALS", "1m"],
        vec![
            "ECL.CREATE",
            "h",
            "HISTORY",
            "1h",
            "HISTORY",
            "2h",
            "INTERVALS",
            "1m",
        ],
        vec!["ECL.ALTER", "g", "HISTORY", "0"],
        vec!["ECL.ALTER", "g", "HISTORY", "100000d"],
        vec!["ECL.RANGE", "g", "1m", "FROM", "9", "TO", "3"],
        vec!["ECL.RANGE", "g", "1m", "COUNT", "0"],
        vec!["ECL.RANGE", "g", "1m", "COUNT", "-1"],
        vec!["ECL.RANGE", "g", "7m"],
        vec!["ECL.RANGE", "g", "1m", "EVENTS", "nope"],
        vec!["ECL.RANGE", "g", "1m", "SUM", "SUM"],
        vec!["ECL.RANGE", "g", "1m", "FROM", "1", "FROM", "2"],
        vec!["ECL.TOP", "g", "1m", "0"],
        vec!["ECL.TOP", "g", "1m", "-3"],
        vec!["ECL.TOP", "g", "1m", "99999999999"],
        vec!["ECL.TOP", "g", "1m", "3", "AT", "5"],
        vec!["ECL.TOP", "g", "9m", "3"],
    ] {
        let e = error_of(&mut c, &args);
        assert!(e.starts_with("ERR"), "{args:?}: {e}");
        assert_eq!(
            digest(&mut c, "ecl:{g}"),
            before,
            "{args:?} changed the group"
        );
    }
    let groups: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut c).unwrap();
    assert_eq!(groups, ["g"]);
}

#[test]
fn replica_rdb_and_aof_answer_every_range_as_the_master() {
    let master = Server::start_without_config(&["--appendonly", "yes"]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start_without_config(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    setup(&mut m);
    cmd(&["ECL.ALTER", "g", "HISTORY", "7m"])
        .query::<()>(&mut m)
        .unwrap();
    wait_replica_synced(&mut m, &mut r);
    let range = |c: &mut redis::Connection| windows(c, &["ECL.RANGE", "g", "1m"]);
    let expected = range(&mut m);
    assert_eq!(
        expected.len(),
        7,
        "ALTER lowered the history: the oldest windows went"
    );
    assert_eq!(range(&mut r), expected);
    assert_eq!(digest(&mut r, "ecl:{g}"), digest(&mut m, "ecl:{g}"));
    cmd(&["DEBUG", "RELOAD"]).query::<()>(&mut m).unwrap();
    assert_eq!(range(&mut m), expected);
    cmd(&["BGREWRITEAOF"]).query::<()>(&mut m).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info: String = cmd(&["INFO", "persistence"]).query(&mut m).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the AOF rewrite did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    cmd(&["DEBUG", "LOADAOF"]).query::<()>(&mut m).unwrap();
    assert_eq!(range(&mut m), expected);
}

#[test]
fn the_cli_prints_ranges_and_sums() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    setup(&mut c);
    let url = format!("redis://127.0.0.1:{}/0", s.port);
    let run = run_bin(
        "ecl",
        &[
            "range", "--url", &url, "-g", "g", "-i", "1m", "--format", "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["windows"].as_array().unwrap().len(), 10, "{doc}");
    let run = run_bin(
        "ecl",
        &["read", "--url", &url, "-g", "g", "-i", "1m", "--sum", "3m"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "a:6\nb:0\nx1:1\nx2:1\nx3:1\n");
    let run = run_bin(
        "ecl",
        &[
            "range", "--url", &url, "-g", "g", "--from", "9", "--to", "3",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}
