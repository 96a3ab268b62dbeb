//! Loading configs: the seed's own, bad ones, and a changed one on restart.

use ecl_integration::*;

#[test]
fn the_seed_example_config_loads_unchanged() {
    let seed = include_str!("../data/seed_example_config.yml");
    let s = Server::start(seed, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, 30_000, 2_000);
    let groups: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut c).unwrap();
    assert_eq!(groups, ["group1", "group2"]);
    cmd(&["ECL.LOG", "group1", "event1"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "group2", "anything"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "group2", "CURRENT"]),
        pairs(&[("anything", 1)])
    );
}

#[test]
fn the_project_example_config_loads() {
    let text = include_str!("../../../example_config.yml");
    let s = Server::start(text, &[]);
    let groups: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut s.conn()).unwrap();
    assert_eq!(groups, ["group1", "group2"]);
}

#[test]
fn a_bad_config_stops_the_load_with_one_clear_line() {
    let log = Server::try_start("groups:\n  g:\n    intervals: [5x]\n")
        .err()
        .expect("the server must not start");
    assert!(
        log.contains("ECL: not loading: config ")
            && log.contains(", group 'g', key 'intervals': '5x' is not an interval"),
        "{log}"
    );
}

/// The original ignored keys it did not know; its main user's real config
/// has `sync-interval: 1` in every group. It loads, with a warning naming
/// the key and the likely one; `ecl check` is the strict check for CI.
#[test]
fn unknown_keys_are_warnings_and_ecl_check_is_strict() {
    let config = "groups:\n  g:\n    events: [e1]\n    intervals: [1s]\n    sync-interval: 1\n    foo: bar\n";
    let server = Server::start(config, &[]);
    let mut c = server.conn();
    cmd(&["ECL.LOG", "g", "e1"]).query::<()>(&mut c).unwrap();
    let log = server.log();
    assert!(
        log.contains(
            "group 'g': ignoring unknown key 'sync-interval' (did you mean 'sync_interval'?)"
        ),
        "{log}"
    );
    assert!(log.contains("ignoring unknown key 'foo'"), "{log}");
    let path = server.config_path().display().to_string();
    let strict = run_bin("ecl", &["check", &path], &[]);
    assert_eq!(strict.code, 2, "{}{}", strict.stdout, strict.stderr);
    assert!(
        strict.stdout.contains("'sync-interval'"),
        "{}",
        strict.stdout
    );
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/data/seed_example_config.yml");
    let seed = run_bin("ecl", &["check", seed], &[]);
    assert_eq!(seed.code, 0, "{}", seed.stderr);
}

#[test]
fn a_missing_config_stops_the_load() {
    let s = Server::try_start("groups: {}\n").expect("an empty group list is fine");
    std::fs::remove_file(s.config_path()).unwrap();
    let mut s = s;
    s.kill();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.start_again()));
    assert!(
        result.is_err(),
        "the server must not start without its config"
    );
    assert!(s.log().contains("cannot read"), "{}", s.log());
}

/// The group's schema lives in its key; a config only declares: after a
/// restart with a changed config, the group keeps what it had and gains
/// what the config adds on its first write (SPEC §3).
#[test]
fn a_changed_config_adds_and_never_removes() {
    let before = "groups:\n  g:\n    events: [a, b]\n    intervals: [1h, 1d]\n";
    let after = "groups:\n  g:\n    events: [b, c]\n    intervals: [1d, 1m]\n";
    let mut s = Server::start(before, &[]);
    let mut c = s.conn();
    // Logged before and read after a restart, in the current 1 d window.
    clear_of_boundary(&mut c, 60_000, 10_000);
    cmd(&["ECL.MLOG", "g", "a", "1", "b", "2"])
        .query::<()>(&mut c)
        .unwrap();
    s.restart_with_config(after);
    let mut c = s.conn();
    // Before any write: the stored schema, untouched.
    assert_eq!(
        counts(&mut c, &["ECL.GET", "g", "1h", "CURRENT"]),
        pairs(&[("a", 1), ("b", 2)])
    );
    cmd(&["ECL.LOG", "g", "c"]).query::<()>(&mut c).unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "g", "1d", "CURRENT"]),
        pairs(&[("a", 1), ("b", 2), ("c", 1)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "g", "1m", "CURRENT"]),
        pairs(&[("a", 0), ("b", 0), ("c", 1)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "g", "1h", "CURRENT"]),
        pairs(&[("a", 1), ("b", 2), ("c", 1)]),
        "the interval the config no longer lists stays"
    );
}

/// A version 1 payload (written when the config decided the schema) takes
/// the config's schema when it loads, as it did then.
#[test]
fn a_version_1_payload_takes_the_config_s_schema() {
    let config = "groups:\n  g:\n    events: [e1, e2]\n    intervals: [1s, 1h]\n";
    let s = Server::start(config, &[]);
    let mut c = s.conn();
    let now = server_ms(&mut c);
    let v1 = v1_payload("g", &[(1000, now / 1000), (60_000, now / 60_000)]);
    cmd(&["ECL.RESTORE", "g"])
        .arg(&v1[..])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "g"]),
        pairs(&[("e1", 1), ("e2", 0)])
    );
    assert!(error_of(&mut c, &["ECL.GET", "g", "1m"]).contains("unknown interval"));
    assert!(
        s.log().contains("reshaped to the current config"),
        "{}",
        s.log()
    );
}
