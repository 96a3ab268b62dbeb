//! Every command of SPEC §4.2 and every error case, against a real server.

use ecl_integration::*;

const CONFIG: &str = "\
groups:
  requests:
    events: [req1, req2, error]
    intervals: [5s, 5m, 1h]
  single:
    events: [a, b]
    intervals: [1m]
  dyn:
    auto_declare_events: true
    intervals: [1m]
    max_events: 3
";

fn totals(c: &mut redis::Connection, group: &str) -> Counts {
    counts(c, &["ECL.TOTALS", group])
}

#[test]
fn log_get_totals_groups() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, 5_000, 1_000); // reads the current 5 s window
    let ok: String = cmd(&["ECL.LOG", "requests", "req1"]).query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    cmd(&["ECL.LOG", "requests", "req2", "5"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "requests", "error", "0"])
        .query::<()>(&mut c)
        .unwrap();
    for interval in ["5s", "5m", "1h", "300s", "60M"] {
        assert_eq!(
            counts(&mut c, &["ECL.GET", "requests", interval, "CURRENT"]),
            pairs(&[("error", 0), ("req1", 1), ("req2", 5)]),
            "{interval}"
        );
    }
    assert_eq!(
        totals(&mut c, "requests"),
        pairs(&[("error", 0), ("req1", 1), ("req2", 5)])
    );
    // The single-interval group needs no interval; LAST is the default.
    assert_eq!(
        counts(&mut c, &["ECL.GET", "single"]),
        pairs(&[("a", 0), ("b", 0)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "single", "current"]),
        pairs(&[("a", 0), ("b", 0)])
    );
    let groups: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut c).unwrap();
    assert_eq!(groups, ["dyn", "requests", "single"], "sorted");
    // The group lives in one key, hash-tagged with the group name.
    let keys: Vec<String> = cmd(&["KEYS", "*"]).query(&mut c).unwrap();
    assert_eq!(keys, ["ecl:{requests}"]);
    let kind: String = cmd(&["TYPE", "ecl:{requests}"]).query(&mut c).unwrap();
    assert_eq!(kind, "ecl-group");
}

#[test]
fn mlog_applies_all_events() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    cmd(&[
        "ECL.MLOG", "requests", "req1", "2", "req2", "3", "req1", "4",
    ])
    .query::<()>(&mut c)
    .unwrap();
    assert_eq!(
        totals(&mut c, "requests"),
        pairs(&[("error", 0), ("req1", 6), ("req2", 3)])
    );
}

#[test]
fn the_group_argument_is_the_key() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    for command in [
        vec!["ECL.LOG", "requests", "req1"],
        vec!["ECL.MLOG", "requests", "req1", "1"],
        vec!["ECL.GET", "requests", "5s"],
        vec!["ECL.TOTALS", "requests"],
        vec!["ECL.INFO", "requests"],
    ] {
        let mut args = vec!["COMMAND", "GETKEYS"];
        args.extend(&command);
        let keys: Vec<String> = cmd(&args).query(&mut c).unwrap();
        assert_eq!(keys, ["requests"], "{command:?}");
    }
}

#[test]
fn errors_are_clear_and_change_nothing() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, 5_000, 2_000); // compares digests: no rotation meanwhile
    cmd(&["ECL.MLOG", "requests", "req1", "1", "req2", "2"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.MLOG", "dyn", "x", "1"])
        .query::<()>(&mut c)
        .unwrap();
    let before = (
        digest(&mut c, "ecl:{requests}"),
        digest(&mut c, "ecl:{dyn}"),
        totals(&mut c, "requests"),
    );
    let max = u64::MAX.to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["ECL.LOG", "nosuch", "e"], "ERR unknown group 'nosuch'"),
        (
            vec!["ECL.LOG", "requests", "nope"],
            "ERR event 'nope' is not declared in group 'requests'",
        ),
        (
            vec!["ECL.LOG", "requests", "req1", "-1"],
            "ERR count must be a non-negative integer, got '-1'",
        ),
        (
            vec!["ECL.LOG", "requests", "req1", "abc"],
            "ERR count must be a non-negative integer",
        ),
        (
            vec!["ECL.LOG", "requests", "req1", "1.5"],
            "ERR count must be a non-negative integer",
        ),
        (
            vec!["ECL.LOG", "requests", "req1", &max],
            "ERR count overflow: the total of event 'req1'",
        ),
        (
            vec!["ECL.LOG", "requests"],
            "ERR wrong number of arguments for 'ecl.log' command",
        ),
        (vec!["ECL.LOG"], "ERR wrong number of arguments"),
        (
            vec!["ECL.LOG", "requests", "req1", "1", "AT", "x"],
            "ERR AT must be a non-negative integer",
        ),
        (
            vec!["ECL.LOG", "requests", "req1", "1", "extra"],
            "ERR syntax error",
        ),
        (
            vec!["ECL.LOG", "requests", "req1", "1", "NOW", "5"],
            "ERR NOW is only accepted from the master or the AOF",
        ),
        (
            vec!["ECL.LOG", "dyn", "@overflow"],
            "ERR bad event ID '@overflow'",
        ),
        (
            vec!["ECL.MLOG", "requests", "req1", "1", "nope", "1"],
            "ERR event 'nope' is not declared",
        ),
        (
            vec!["ECL.MLOG", "requests", "req1", "1", "req2"],
            "ERR syntax error",
        ),
        (
            vec!["ECL.MLOG", "requests", "req1", "1", "req2", "-3"],
            "ERR count must be a non-negative integer",
        ),
        (
            vec!["ECL.MLOG", "requests", "req1", "1", "req1", &max],
            "ERR count overflow",
        ),
        (
            vec!["ECL.MLOG", "dyn", "y", "1", "z", "1", "@x", "1"],
            "ERR bad event ID '@x'",
        ),
        (
            vec!["ECL.MLOG", "requests"],
            "ERR wrong number of arguments for 'ecl.mlog' command",
        ),
        (
            vec!["ECL.GET", "requests"],
            "ERR group 'requests' has several intervals (5s, 5m, 1h): name one",
        ),
        (
            vec!["ECL.GET", "requests", "10s"],
            "ERR unknown interval '10s' for group 'requests' (configured: 5s, 5m, 1h)",
        ),
        (
            vec!["ECL.GET", "requests", "5s", "SOON"],
            "ERR syntax error: expected LAST or CURRENT",
        ),
        (
            vec!["ECL.GET", "nosuch", "5s"],
            "ERR unknown group 'nosuch'",
        ),
        (
            vec!["ECL.TOTALS"],
            "ERR wrong number of arguments for 'ecl.totals' command",
        ),
        (
            vec!["ECL.TOTALS", "requests", "x"],
            "ERR wrong number of arguments",
        ),
        (vec!["ECL.INFO", "nosuch"], "ERR unknown group 'nosuch'"),
        (vec!["ECL.GROUPS", "x"], "ERR wrong number of arguments"),
        (
            vec!["ECL.RESTORE", "requests", "garbage"],
            "ERR bad ECL payload",
        ),
    ];
    for (args, expected) in cases {
        let e = error_of(&mut c, &args);
        assert!(
            e.contains(expected),
            "{args:?}: got {e:?}, want {expected:?}"
        );
    }
    let after = (
        digest(&mut c, "ecl:{requests}"),
        digest(&mut c, "ecl:{dyn}"),
        totals(&mut c, "requests"),
    );
    assert_eq!(before, after);
    // A failed first write creates no key.
    let _ = error_of(&mut c, &["ECL.LOG", "single", "nope"]);
    let exists: u64 = cmd(&["EXISTS", "ecl:{single}"]).query(&mut c).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn wrong_type() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    cmd(&["SET", "ecl:{requests}", "x"])
        .query::<()>(&mut c)
        .unwrap();
    for args in [
        vec!["ECL.LOG", "requests", "req1"],
        vec!["ECL.GET", "requests", "5s"],
        vec!["ECL.TOTALS", "requests"],
        vec!["ECL.INFO", "requests"],
    ] {
        assert!(error_of(&mut c, &args).contains("WRONGTYPE"), "{args:?}");
    }
    let v: String = cmd(&["GET", "ecl:{requests}"]).query(&mut c).unwrap();
    assert_eq!(v, "x");
}

#[test]
fn counts_up_to_u64_max() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    let max = u64::MAX.to_string();
    cmd(&["ECL.LOG", "single", "a", &max])
        .query::<()>(&mut c)
        .unwrap();
    // Above i64::MAX the count is a big number (a bulk string in RESP2).
    let flat: Vec<String> = cmd(&["ECL.TOTALS", "single"]).query(&mut c).unwrap();
    assert_eq!(flat, ["a", &max, "b", "0"]);
    assert!(error_of(&mut c, &["ECL.LOG", "single", "a"]).contains("count overflow"));
}

#[test]
fn resp3_replies_are_maps() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, 60_000, 2_000);
    cmd(&["ECL.LOG", "single", "b", "2"])
        .query::<()>(&mut c)
        .unwrap();
    let _: redis::Value = cmd(&["HELLO", "3"]).query(&mut c).unwrap();
    let v: redis::Value = cmd(&["ECL.GET", "single", "CURRENT"])
        .query(&mut c)
        .unwrap();
    match v {
        redis::Value::Map(entries) => {
            let entries: Vec<(String, i64)> = entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        redis::from_redis_value(&k).unwrap(),
                        redis::from_redis_value(&v).unwrap(),
                    )
                })
                .collect();
            assert_eq!(entries, [("a".to_string(), 0), ("b".to_string(), 2)]);
        }
        other => panic!("expected a map, got {other:?}"),
    }
}

#[test]
fn info_describes_the_group() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, 60_000, 3_000);
    cmd(&[
        "ECL.MLOG", "dyn", "a", "1", "b", "1", "c", "1", "d", "5", "e", "2",
    ])
    .query::<()>(&mut c)
    .unwrap();
    let now = server_ms(&mut c);
    let info: redis::Value = cmd(&["ECL.INFO", "dyn"]).query(&mut c).unwrap();
    let map: std::collections::HashMap<String, redis::Value> =
        redis::from_redis_value(&info).unwrap();
    let int =
        |k: &str| -> i64 { redis::from_redis_value(&map[k]).unwrap_or_else(|_| panic!("{k}")) };
    assert_eq!(int("declared_events"), 0);
    assert_eq!(int("auto_declared_events"), 3);
    assert_eq!(int("max_events"), 3);
    assert_eq!(int("overflowed"), 7);
    assert_eq!(int("late_dropped"), 0);
    assert!(int("memory_bytes") > 0);
    let intervals: Vec<std::collections::HashMap<String, redis::Value>> =
        redis::from_redis_value(&map["intervals"]).unwrap();
    assert_eq!(intervals.len(), 1);
    let length: u64 = redis::from_redis_value(&intervals[0]["length_ms"]).unwrap();
    let current: u64 = redis::from_redis_value(&intervals[0]["current_start_ms"]).unwrap();
    let last: u64 = redis::from_redis_value(&intervals[0]["last_start_ms"]).unwrap();
    assert_eq!(length, 60_000);
    assert_eq!(current, now / 60_000 * 60_000);
    assert_eq!(last, current - 60_000);
    assert_eq!(
        counts(&mut c, &["ECL.GET", "dyn", "CURRENT"]),
        pairs(&[("@overflow", 7), ("a", 1), ("b", 1), ("c", 1)])
    );
}

#[test]
fn works_in_any_database() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    cmd(&["SELECT", "3"]).query::<()>(&mut c).unwrap();
    cmd(&["ECL.LOG", "single", "a", "4"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(totals(&mut c, "single"), pairs(&[("a", 4), ("b", 0)]));
    cmd(&["SELECT", "0"]).query::<()>(&mut c).unwrap();
    assert_eq!(totals(&mut c, "single"), pairs(&[("a", 0), ("b", 0)]));
}

#[test]
fn a_renamed_group_key_is_refused_not_misread() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    cmd(&["ECL.LOG", "single", "a", "2"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["RENAME", "ecl:{single}", "ecl:{requests}"])
        .query::<()>(&mut c)
        .unwrap();
    for args in [
        vec!["ECL.LOG", "requests", "req1"],
        vec!["ECL.GET", "requests", "5s"],
        vec!["ECL.TOTALS", "requests"],
        vec!["ECL.INFO", "requests"],
        vec!["ECL.ROTATE", "requests"],
    ] {
        let e = error_of(&mut c, &args);
        assert!(
            e.contains("the key of group 'requests' holds the data of group 'single'"),
            "{args:?}: {e}"
        );
    }
    cmd(&["RENAME", "ecl:{requests}", "ecl:{single}"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "single"]),
        pairs(&[("a", 2), ("b", 0)])
    );
}
