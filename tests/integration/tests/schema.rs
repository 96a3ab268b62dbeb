//! Groups live in the data (SPEC §3, §4.1, §4.2): created, declared, altered
//! and dropped at runtime, carried by replication, the AOF and DUMP/RESTORE
//! with their schema, and listed from an index kept through RENAME, MOVE,
//! SWAPDB and FLUSHDB.

use ecl_integration::*;

fn ok(c: &mut redis::Connection, args: &[&str]) {
    cmd(args)
        .query::<()>(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

fn groups(c: &mut redis::Connection) -> Vec<String> {
    cmd(&["ECL.GROUPS"]).query(c).unwrap()
}

/// `ECL.INFO`'s schema part: (intervals, declared_events, auto_declare, max_events).
fn schema(c: &mut redis::Connection, group: &str) -> (Vec<String>, u64, u64, u64) {
    let v: redis::Value = cmd(&["ECL.INFO", group]).query(c).unwrap();
    let map: std::collections::HashMap<String, redis::Value> = redis::from_redis_value(&v).unwrap();
    let intervals: Vec<std::collections::HashMap<String, redis::Value>> =
        redis::from_redis_value(&map["intervals"]).unwrap();
    let names = intervals
        .iter()
        .map(|i| redis::from_redis_value(&i["name"]).unwrap())
        .collect();
    let int = |k: &str| redis::from_redis_value::<u64>(&map[k]).unwrap();
    (
        names,
        int("declared_events"),
        int("auto_declare_events"),
        int("max_events"),
    )
}

#[test]
fn a_module_without_config_creates_declares_alters_and_drops_groups() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    assert!(groups(&mut c).is_empty());
    assert!(error_of(&mut c, &["ECL.LOG", "web", "hit"]).contains("unknown group 'web'"));
    let create = [
        "ECL.CREATE",
        "web",
        "INTERVALS",
        "1m",
        "1h",
        "EVENTS",
        "hit",
        "miss",
    ];
    ok(&mut c, &create);
    // The same schema again: OK; another: an error that changes nothing.
    ok(&mut c, &create);
    let before = digest(&mut c, "ecl:{web}");
    assert!(error_of(&mut c, &["ECL.CREATE", "web", "INTERVALS", "1m"])
        .contains("exists with another schema"));
    for bad in [
        vec!["ECL.CREATE", "bad name", "INTERVALS", "1m"],
        vec!["ECL.CREATE", "x{y}", "INTERVALS", "1m"],
        vec!["ECL.CREATE", "n", "INTERVALS", "5x"],
        vec!["ECL.CREATE", "n", "INTERVALS", "1m", "60s"],
        vec!["ECL.CREATE", "n", "EVENTS", "a"],
        vec!["ECL.CREATE", "n", "INTERVALS", "1m", "EVENTS", "a", "a"],
        vec!["ECL.CREATE", "n", "INTERVALS", "1m", "EVENTS", "@x"],
        vec!["ECL.ALTER", "web", "AUTO_DECLARE", "2"],
        vec!["ECL.ALTER", "nosuch", "MAX_EVENTS", "5"],
        vec!["ECL.DECLARE", "web", "INTERVALS", "bogus"],
    ] {
        let e = error_of(&mut c, &bad);
        assert!(e.starts_with("ERR "), "{bad:?}: {e}");
    }
    assert_eq!(
        digest(&mut c, "ecl:{web}"),
        before,
        "errors changed nothing"
    );
    assert_eq!(groups(&mut c), ["web"], "nothing else was created");

    ok(&mut c, &["ECL.MLOG", "web", "hit", "3", "miss", "1"]);
    // DECLARE only adds: a new event and interval; the old ones stay.
    ok(
        &mut c,
        &["ECL.DECLARE", "web", "INTERVALS", "1d", "EVENTS", "error"],
    );
    assert_eq!(
        schema(&mut c, "web"),
        (vec!["1m".into(), "1h".into(), "1d".into()], 3, 0, 10_000)
    );
    ok(&mut c, &["ECL.LOG", "web", "error"]);
    assert_eq!(
        counts(&mut c, &["ECL.GET", "web", "1h", "CURRENT"]),
        pairs(&[("error", 1), ("hit", 3), ("miss", 1)])
    );
    // ALTER replaces: counts of (interval, event) pairs that remain stay.
    ok(
        &mut c,
        &[
            "ECL.ALTER",
            "web",
            "INTERVALS",
            "1h",
            "5m",
            "EVENTS",
            "hit",
            "new",
        ],
    );
    assert_eq!(
        schema(&mut c, "web"),
        (vec!["1h".into(), "5m".into()], 2, 0, 10_000)
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "web", "1h", "CURRENT"]),
        pairs(&[("hit", 3), ("new", 0)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "web", "5m", "CURRENT"]),
        pairs(&[("hit", 0), ("new", 0)])
    );
    assert!(error_of(&mut c, &["ECL.LOG", "web", "anything"]).contains("not declared"));
    ok(
        &mut c,
        &["ECL.ALTER", "web", "AUTO_DECLARE", "1", "MAX_EVENTS", "7"],
    );
    assert_eq!(
        schema(&mut c, "web"),
        (vec!["1h".into(), "5m".into()], 2, 1, 7)
    );
    ok(&mut c, &["ECL.LOG", "web", "anything"]);
    assert_eq!(cmd(&["ECL.DROP", "web"]).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd(&["ECL.DROP", "web"]).query::<i64>(&mut c).unwrap(), 0);
    assert!(groups(&mut c).is_empty());
    assert!(error_of(&mut c, &["ECL.GET", "web", "1h"]).contains("unknown group"));
}

#[test]
fn replicas_and_the_aof_hold_the_master_s_schema_whatever_their_config() {
    let master_config = "groups:\n  app:\n    events: [e1, e2]\n    intervals: [1s, 1h]\n";
    let master = Server::start(master_config, &["--appendonly", "yes"]);
    let mut m = master.conn();
    let port = master.port.to_string();
    // One replica with a config missing e2, one with none.
    let lacking = Server::start(
        "groups:\n  app:\n    events: [e1]\n    intervals: [1h]\n",
        &["--replicaof", "127.0.0.1", &port],
    );
    let bare = Server::start_without_config(&["--replicaof", "127.0.0.1", &port]);
    let (mut r1, mut r2) = (lacking.conn(), bare.conn());
    wait_replica_synced(&mut m, &mut r1);
    wait_replica_synced(&mut m, &mut r2);
    for _ in 0..13 {
        ok(&mut m, &["ECL.MLOG", "app", "e1", "1", "e2", "1"]);
    }
    ok(&mut m, &["ECL.LOG", "app", "e2"]);
    ok(
        &mut m,
        &["ECL.CREATE", "runtime", "AUTO_DECLARE", "INTERVALS", "1h"],
    );
    ok(&mut m, &["ECL.LOG", "runtime", "x", "5"]);
    ok(&mut m, &["ECL.DECLARE", "app", "EVENTS", "e3"]);
    // Changes made in place (an interval added, max_events changed), with
    // a count in the new interval afterwards; its windows are compared
    // below, so no minute may turn in between.
    clear_of_boundary(&mut m, 60_000, 10_000);
    ok(&mut m, &["ECL.DECLARE", "runtime", "INTERVALS", "1m"]);
    ok(&mut m, &["ECL.ALTER", "runtime", "MAX_EVENTS", "50"]);
    ok(&mut m, &["ECL.LOG", "runtime", "x", "2"]);
    let acked: i64 = cmd(&["WAIT", "2", "5000"]).query(&mut m).unwrap();
    assert_eq!(acked, 2, "both replicas have everything");
    let master_totals = counts(&mut m, &["ECL.TOTALS", "app"]);
    assert_eq!(master_totals, pairs(&[("e1", 13), ("e2", 14), ("e3", 0)]));
    for r in [&mut r1, &mut r2] {
        assert_eq!(counts(r, &["ECL.TOTALS", "app"]), master_totals);
        for key in ["ecl:{app}", "ecl:{runtime}"] {
            assert_eq!(digest(r, key), digest(&mut m, key), "{key}");
        }
        for interval in ["1m", "1h"] {
            for kind in ["LAST", "CURRENT"] {
                let get = ["ECL.GET", "runtime", interval, kind];
                assert_eq!(counts(r, &get), counts(&mut m, &get), "{get:?}");
            }
        }
        assert_eq!(groups(r), ["app", "runtime"]);
    }
    let before = (digest(&mut m, "ecl:{app}"), digest(&mut m, "ecl:{runtime}"));
    ok(&mut m, &["DEBUG", "LOADAOF"]);
    assert_eq!(
        (digest(&mut m, "ecl:{app}"), digest(&mut m, "ecl:{runtime}")),
        before
    );
    ok(&mut m, &["DEBUG", "RELOAD"]);
    assert_eq!(
        (digest(&mut m, "ecl:{app}"), digest(&mut m, "ecl:{runtime}")),
        before
    );
    assert_eq!(
        groups(&mut m),
        ["app", "runtime"],
        "the index is rebuilt by the load"
    );
}

#[test]
fn the_group_index_follows_rename_move_swapdb_and_flushdb() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    ok(
        &mut c,
        &["ECL.CREATE", "a", "AUTO_DECLARE", "INTERVALS", "1s"],
    );
    ok(&mut c, &["ECL.CREATE", "b", "INTERVALS", "1h"]);
    ok(&mut c, &["ECL.LOG", "a", "x"]);
    assert_eq!(groups(&mut c), ["a", "b"]);
    ok(&mut c, &["MOVE", "ecl:{b}", "3"]);
    assert_eq!(groups(&mut c), ["a"]);
    ok(&mut c, &["SELECT", "3"]);
    assert_eq!(groups(&mut c), ["b"]);
    ok(&mut c, &["SWAPDB", "0", "3"]);
    assert_eq!(groups(&mut c), ["a"]);
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(groups(&mut c), ["b"]);
    ok(&mut c, &["FLUSHDB"]);
    assert!(groups(&mut c).is_empty());
    ok(&mut c, &["SELECT", "3"]);
    // A group key renamed away is no longer that group.
    ok(&mut c, &["RENAME", "ecl:{a}", "elsewhere"]);
    assert!(groups(&mut c).is_empty());
    ok(&mut c, &["RENAME", "elsewhere", "ecl:{a}"]);
    assert_eq!(groups(&mut c), ["a"]);
    ok(&mut c, &["DEL", "ecl:{a}"]);
    assert!(groups(&mut c).is_empty());
}

#[test]
fn a_database_holds_at_most_max_groups() {
    let s = Server::start_with_module_args(&["MAX_GROUPS", "2"], &[]);
    let mut c = s.conn();
    ok(&mut c, &["ECL.CREATE", "a", "INTERVALS", "1h"]);
    ok(&mut c, &["ECL.CREATE", "b", "INTERVALS", "1h"]);
    let e = error_of(&mut c, &["ECL.CREATE", "c", "INTERVALS", "1h"]);
    assert!(e.contains("holds 2 groups already"), "{e}");
    assert_eq!(groups(&mut c), ["a", "b"]);
    // Another database has room of its own.
    ok(&mut c, &["SELECT", "1"]);
    ok(&mut c, &["ECL.CREATE", "c", "INTERVALS", "1h"]);
}

/// A rolling deploy: two versions of an application, the new one with an
/// extra event, count into the same group at once; each declares its
/// config on connecting, so both count exactly (SPEC §5).
#[test]
fn two_clients_with_different_configs_both_count_exactly() {
    let s = Server::start_without_config(&[]);
    let old = s.dir.join("old.yml");
    let new = s.dir.join("new.yml");
    let group = |events: &str| {
        format!("redis:\n  port: {}\ngroups:\n  app:\n    events: [{events}]\n    intervals: [1h]\n    sync_interval: 0.1\n", s.port)
    };
    std::fs::write(&old, group("login")).unwrap();
    std::fs::write(&new, group("login, logout")).unwrap();
    let old = ecl_client::EclClient::from_config_file(&old).unwrap();
    let new = ecl_client::EclClient::from_config_file(&new).unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..1000 {
                old.group("app").log("login").unwrap();
            }
        });
        scope.spawn(|| {
            for _ in 0..1000 {
                new.group("app").log("login").unwrap();
                new.group("app").log("logout").unwrap();
            }
        });
    });
    old.flush().unwrap();
    new.flush().unwrap();
    let mut c = s.conn();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "app"]),
        pairs(&[("login", 2000), ("logout", 1000)])
    );
}

/// A group made with redis-cli is readable and loggable through the client
/// and the CLI with no config file.
#[test]
fn a_group_created_on_the_server_needs_no_config_anywhere() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    ok(
        &mut c,
        &["ECL.CREATE", "ops", "INTERVALS", "1h", "EVENTS", "deploy"],
    );
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    let url = format!("redis://127.0.0.1:{}/0", s.port);
    let client = ecl_client::EclClient::builder().url(&url).build().unwrap();
    let ops = client.group("ops");
    assert!(ops.is_configured(), "usable with the server's schema");
    ops.log_n("deploy", 2).unwrap();
    assert!(ops.log("typo").is_err(), "the server checks the events");
    assert_eq!(ops.current_counts(None).unwrap(), pairs(&[("deploy", 2)]));
    let logged = run_bin("ecl", &["log", "--url", &url, "ops", "deploy", "3"], &[]);
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    let read = run_bin(
        "ecl",
        &["read", "--url", &url, "-g", "ops", "--current"],
        &[],
    );
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert_eq!(read.stdout, "deploy:5\n");
    let listed = run_bin("ecl", &["groups", "--url", &url], &[]);
    assert_eq!(listed.stdout, "ops\n", "{}", listed.stderr);
}
