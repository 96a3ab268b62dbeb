//! Nothing a client sends can crash, stall or corrupt the server (SPEC
//! §4.6): key names with any bytes, schemas at and beyond every limit,
//! local caps that never refuse the replication stream or a load, a group
//! index that follows every generic key command, and a timer whose work
//! per tick is bounded whatever the number of groups.

use ecl_core::limits;
use ecl_integration::*;
use std::time::{Duration, Instant};

fn bin(args: &[&[u8]]) -> redis::Cmd {
    bin_cmd(args)
}

fn bin_error(c: &mut redis::Connection, args: &[&[u8]]) -> String {
    command_error(c, bin_cmd(args))
}

fn groups(c: &mut redis::Connection) -> Vec<String> {
    cmd(&["ECL.GROUPS"]).query(c).unwrap()
}

fn ping(c: &mut redis::Connection) {
    let pong: String = cmd(&["PING"]).query(c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn key_names_with_any_bytes_never_crash_the_server() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    cmd(&["ECL.CREATE", "g", "INTERVALS", "1h"])
        .query::<()>(&mut c)
        .unwrap();
    let nul_key: &[u8] = b"ecl:{a\0b}";
    // A string moved to a group-like name with a NUL byte.
    cmd(&["SET", "x", "1"]).query::<()>(&mut c).unwrap();
    bin(&[b"RENAME", b"x", nul_key])
        .query::<()>(&mut c)
        .unwrap();
    ping(&mut c);
    // A group's value copied, moved, renamed and restored to such names.
    bin(&[b"COPY", b"ecl:{g}", b"ecl:{c\0d}"])
        .query::<()>(&mut c)
        .unwrap();
    let dump: Vec<u8> = cmd(&["DUMP", "ecl:{g}"]).query(&mut c).unwrap();
    bin(&[b"RESTORE", b"ecl:{e\0f}", b"0", &dump])
        .query::<()>(&mut c)
        .unwrap();
    bin(&[b"RENAME", b"ecl:{c\0d}", b"ecl:{g\0h}"])
        .query::<()>(&mut c)
        .unwrap();
    bin(&[b"MOVE", b"ecl:{g\0h}", b"1"])
        .query::<()>(&mut c)
        .unwrap();
    bin(&[b"DEL", nul_key, b"ecl:{e\0f}"])
        .query::<()>(&mut c)
        .unwrap();
    ping(&mut c);
    // Commands naming such groups get clear errors, not internal ones.
    let create = bin_error(&mut c, &[b"ECL.CREATE", b"nul\0x", b"INTERVALS", b"1s"]);
    assert!(create.contains("NUL"), "{create}");
    for args in [
        &[&b"ECL.INFO"[..], b"nul\0x"][..],
        &[b"ECL.LOG", b"nul\0x", b"e"],
        &[b"ECL.GET", b"nul\0x"],
        &[b"ECL.DROP", b"nul\0x", b"extra"],
    ] {
        let e = bin_error(&mut c, args);
        assert!(!e.contains("internal"), "{e}");
    }
    assert_eq!(groups(&mut c), ["g"]);
    assert!(!s.log().contains("panic"), "{}", s.log());
}

#[test]
fn every_schema_the_server_accepts_survives_reload_and_one_beyond_a_limit_is_refused() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    let intervals = |n: usize| (1..=n).map(|i| format!("{i}s")).collect::<Vec<_>>();
    let create = |name: &str, n: usize| {
        let mut args = vec!["ECL.CREATE".to_string(), name.into(), "INTERVALS".into()];
        args.extend(intervals(n));
        args
    };
    let at_limit = create("at", limits::INTERVALS_PER_GROUP);
    let refs: Vec<&str> = at_limit.iter().map(String::as_str).collect();
    cmd(&refs).query::<()>(&mut c).unwrap();
    let beyond = create("beyond", limits::INTERVALS_PER_GROUP + 1);
    let refs: Vec<&str> = beyond.iter().map(String::as_str).collect();
    let e = error_of(&mut c, &refs);
    assert!(e.contains("too many intervals"), "{e}");
    // DECLARE and ALTER cannot reach beyond it either.
    let e = error_of(&mut c, &["ECL.DECLARE", "at", "INTERVALS", "1000s"]);
    assert!(e.contains("too many intervals"), "{e}");
    let mut alter = vec!["ECL.ALTER".to_string(), "at".into(), "INTERVALS".into()];
    alter.extend(intervals(limits::INTERVALS_PER_GROUP + 1));
    let refs: Vec<&str> = alter.iter().map(String::as_str).collect();
    assert!(error_of(&mut c, &refs).contains("too many intervals"));
    // Declared events, max_events and the counters they make.
    let mut events = vec![
        "ECL.CREATE".to_string(),
        "ev".into(),
        "INTERVALS".into(),
        "1h".into(),
        "EVENTS".into(),
    ];
    events.extend((0..limits::DECLARED_EVENTS_PER_GROUP).map(|i| format!("e{i}")));
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    cmd(&refs).query::<()>(&mut c).unwrap();
    let e = error_of(&mut c, &["ECL.DECLARE", "ev", "EVENTS", "one_more"]);
    assert!(e.contains("too many declared events"), "{e}");
    let too_many = (limits::MAX_EVENTS + 1).to_string();
    let e = error_of(
        &mut c,
        &[
            "ECL.CREATE",
            "m",
            "MAX_EVENTS",
            &too_many,
            "INTERVALS",
            "1s",
        ],
    );
    assert!(e.contains("max_events"), "{e}");
    let e = error_of(
        &mut c,
        &[
            "ECL.CREATE",
            "m",
            "AUTO_DECLARE",
            "MAX_EVENTS",
            "1000000",
            "INTERVALS",
            "1s",
            "2s",
            "3s",
            "4s",
            "5s",
        ],
    );
    assert!(e.contains("too many counters"), "{e}");
    // Intervals written with spaces are typos, not another spelling.
    assert!(error_of(&mut c, &["ECL.CREATE", "sp", "INTERVALS", " 1s"]).contains("not an interval"));
    // Everything accepted survives a reload, and nothing refused was made.
    let before: Vec<String> = groups(&mut c);
    assert_eq!(before, ["at", "ev"]);
    let digests: Vec<String> = before
        .iter()
        .map(|g| digest(&mut c, &format!("ecl:{{{g}}}")))
        .collect();
    cmd(&["DEBUG", "RELOAD"]).query::<()>(&mut c).unwrap();
    assert_eq!(groups(&mut c), before);
    let after: Vec<String> = before
        .iter()
        .map(|g| digest(&mut c, &format!("ecl:{{{g}}}")))
        .collect();
    assert_eq!(after, digests);
}

#[test]
fn too_many_arguments_or_events_are_refused_before_any_work() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    cmd(&["ECL.CREATE", "g", "AUTO_DECLARE", "INTERVALS", "1h"])
        .query::<()>(&mut c)
        .unwrap();
    let mut mlog = vec!["ECL.MLOG".to_string(), "g".into()];
    for i in 0..=limits::EVENTS_PER_COMMAND {
        mlog.push(format!("e{i}"));
        mlog.push("1".into());
    }
    let refs: Vec<&str> = mlog.iter().map(String::as_str).collect();
    let e = error_of(&mut c, &refs);
    assert!(e.contains("too many"), "{e}");
    let mut many = vec!["ECL.GET".to_string(), "g".into()];
    many.extend((0..limits::ARGS_PER_COMMAND).map(|i| i.to_string()));
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(error_of(&mut c, &refs).contains("too many arguments"));
    assert_eq!(counts(&mut c, &["ECL.TOTALS", "g"]), pairs(&[]));
}

#[test]
fn the_same_schema_in_another_order_is_the_same_schema() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    cmd(&[
        "ECL.CREATE",
        "g",
        "INTERVALS",
        "1s",
        "1m",
        "EVENTS",
        "a",
        "b",
    ])
    .query::<()>(&mut c)
    .unwrap();
    cmd(&[
        "ECL.CREATE",
        "g",
        "INTERVALS",
        "1m",
        "1s",
        "EVENTS",
        "b",
        "a",
    ])
    .query::<()>(&mut c)
    .unwrap();
    let e = error_of(
        &mut c,
        &["ECL.CREATE", "g", "INTERVALS", "1m", "EVENTS", "b", "a"],
    );
    assert!(e.contains("another schema"), "{e}");
}

#[test]
fn a_replica_or_a_reload_with_a_lower_cap_keeps_every_group() {
    let master = Server::start_with_module_args(
        &["MAX_GROUPS", "50"],
        &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"],
    );
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica =
        Server::start_with_module_args(&["MAX_GROUPS", "10"], &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    for i in 0..20 {
        cmd(&["ECL.CREATE", &format!("g{i}"), "INTERVALS", "1h"])
            .query::<()>(&mut m)
            .unwrap();
        cmd(&["ECL.LOG", &format!("g{i}"), "e"])
            .query::<()>(&mut m)
            .unwrap_err();
    }
    wait_replica_synced(&mut m, &mut r);
    assert_eq!(
        groups(&mut r).len(),
        20,
        "the replica holds what the master holds"
    );
    assert!(!replica.log().contains("CRITICAL"), "{}", replica.log());
    // A restart from the AOF with a lower cap keeps every group and warns.
    drop(r);
    drop(replica);
    let mut master = master;
    master.restart_with_module_args(&["MAX_GROUPS", "5"]);
    let mut m = master.conn();
    assert_eq!(groups(&mut m).len(), 20);
    // Clients' creates are capped on it.
    let e = error_of(&mut m, &["ECL.CREATE", "one_more", "INTERVALS", "1h"]);
    assert!(e.contains("MAX_GROUPS"), "{e}");
}

#[test]
fn the_group_index_follows_every_generic_key_command() {
    let master = Server::start_without_config(&[]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let replica = Server::start_without_config(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    for g in ["a", "c", "d", "h", "i", "k"] {
        cmd(&["ECL.CREATE", g, "INTERVALS", "1h"])
            .query::<()>(&mut m)
            .unwrap();
    }
    let string_dump: Vec<u8> = {
        cmd(&["SET", "s", "x"]).query::<()>(&mut m).unwrap();
        cmd(&["DUMP", "s"]).query(&mut m).unwrap()
    };
    cmd(&["SET", "ecl:{c}", "x"]).query::<()>(&mut m).unwrap();
    bin(&[b"RESTORE", b"ecl:{d}", b"0", &string_dump, b"REPLACE"])
        .query::<()>(&mut m)
        .unwrap();
    cmd(&["RENAME", "s", "ecl:{h}"])
        .query::<()>(&mut m)
        .unwrap();
    cmd(&["SADD", "set1", "m"]).query::<()>(&mut m).unwrap();
    cmd(&["SUNIONSTORE", "ecl:{i}", "set1"])
        .query::<()>(&mut m)
        .unwrap();
    cmd(&["EXPIRE", "ecl:{k}", "1"])
        .query::<()>(&mut m)
        .unwrap();
    cmd(&["RENAME", "ecl:{a}", "ecl:{b}"])
        .query::<()>(&mut m)
        .unwrap();
    cmd(&["COPY", "ecl:{b}", "ecl:{a}"])
        .query::<()>(&mut m)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while groups(&mut m).contains(&"k".to_string()) {
        assert!(Instant::now() < deadline, "the expired group stays listed");
        let _: i64 = cmd(&["EXISTS", "ecl:{k}"]).query(&mut m).unwrap(); // expire on access
        std::thread::sleep(Duration::from_millis(100));
    }
    // `b` holds group a's data under another name: not a group of its own.
    assert_eq!(groups(&mut m), ["a"]);
    wait_replica_synced(&mut m, &mut r);
    assert_eq!(groups(&mut r), ["a"]);
    cmd(&["DEBUG", "RELOAD"]).query::<()>(&mut r).unwrap();
    assert_eq!(groups(&mut r), ["a"]);
    // The cap counts only real groups.
    drop(r);
    drop(replica);
}

#[test]
fn the_timer_frees_many_groups_in_bounded_ticks() {
    // Groups whose auto-declared events all die at the same moment, and a
    // restart that makes the timer look at every group: each tick does a
    // bounded part of the work, and the work is done.
    const GROUPS: usize = 20_000;
    let mut s = Server::start_without_config(&["--hz", "100"]);
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..GROUPS {
        let g = format!("g{i}");
        pipe.cmd("ECL.CREATE")
            .arg(&g)
            .arg("AUTO_DECLARE")
            .arg("INTERVALS")
            .arg("1s")
            .ignore();
        pipe.cmd("ECL.LOG").arg(&g).arg("gone").ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    cmd(&["SAVE"]).query::<()>(&mut c).unwrap();
    // The events die two windows later; all groups are due at once.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut worst = Duration::ZERO;
    loop {
        let t = Instant::now();
        ping(&mut c);
        worst = worst.max(t.elapsed());
        let live: u64 = info_field(&mut c, &format!("g{}", GROUPS - 1), "auto_declared_events");
        let first: u64 = info_field(&mut c, "g0", "auto_declared_events");
        if live == 0 && first == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the timer did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The budget is 1 ms per tick plus one group's work (debug build:
    // generous). Checked on the CPU time a tick used: its wall time also
    // counts any time the server was descheduled, which a busy test
    // machine adds at random (the bench checks wall time, in release, on
    // a quiet one); a wall bound ten times wider still catches a tick that
    // does not stop.
    let ticks = |c: &mut redis::Connection| {
        (
            server_info(c, "ecl", "ecl_timer_max_tick_cpu_us"),
            info_field(c, "g0", "timer_max_tick_us"),
        )
    };
    let (cpu, wall) = ticks(&mut c);
    assert!(
        cpu < 20_000 && wall < 200_000,
        "longest tick {cpu} us of CPU, {wall} us"
    );
    assert!(worst < Duration::from_millis(200), "worst PING {worst:?}");
    // A restart: the timer looks at every group again, a few per tick.
    s.restart();
    let mut c = s.conn();
    for _ in 0..50 {
        ping(&mut c);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(groups(&mut c).len(), GROUPS);
    let (cpu, wall) = ticks(&mut c);
    assert!(
        cpu < 20_000 && wall < 200_000,
        "longest tick after restart {cpu} us of CPU, {wall} us"
    );
}

#[test]
fn the_exporter_bounds_what_a_client_can_make_it_do() {
    let s = Server::start("groups:\n  g:\n    events: [a]\n    intervals: [1h]\n", &[]);
    let config = s.config_path().display().to_string();
    let mut exporter = Exporter::start_with(
        &config,
        &["--url", &format!("redis://127.0.0.1:{}/0", s.port)],
    );
    // A body announced as 100 GB is refused without being read.
    let huge = exporter
        .send_raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    assert!(exporter.alive());
    // 2,000 idle connections start no thread each, and once they are gone
    // scrapes are answered as usual.
    let idle: Vec<std::net::TcpStream> = (0..2000)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", exporter.port)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let threads = exporter.threads();
    assert!(threads < 32, "{threads} threads for idle connections");
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = exporter.send_raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        if response.starts_with("HTTP/1.1 200") {
            assert!(response.contains("ecl_up 1"), "{response}");
            break;
        }
        assert!(Instant::now() < deadline, "no scrape answered: {response}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(exporter.alive());
}

/// The groups a database holds, judged from the keyspace alone: keys
/// `ecl:{x}` of ECL's type whose data is group `x`'s.
fn groups_in_keyspace(c: &mut redis::Connection) -> Vec<String> {
    let keys: Vec<Vec<u8>> = cmd(&["KEYS", "ecl:{*}"]).query(c).unwrap();
    let mut out: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let kind: String = bin_cmd(&[b"TYPE", k]).query(c).unwrap();
            let name = std::str::from_utf8(k.strip_prefix(b"ecl:{")?.strip_suffix(b"}")?).ok()?;
            let ours =
                kind == "ecl-group" && cmd(&["ECL.INFO", name]).query::<redis::Value>(c).is_ok();
            ours.then(|| name.to_string())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_group_index_matches_the_keyspace_under_random_key_commands() {
    let master = Server::start_without_config(&[]);
    let port = master.port.to_string();
    let replica = Server::start_without_config(&["--replicaof", "127.0.0.1", &port]);
    let db = |server: &Server, n: u8| {
        redis::Client::open(format!("redis://127.0.0.1:{}/{n}", server.port))
            .unwrap()
            .get_connection()
            .unwrap()
    };
    let (mut m0, mut m1) = (db(&master, 0), db(&master, 1));
    let (mut r0, mut r1) = (db(&replica, 0), db(&replica, 1));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let names = ["a", "b", "c", "d", "e"];
    for step in 0..300 {
        let x = format!("ecl:{{{}}}", names[next(5) as usize]);
        let y = format!("ecl:{{{}}}", names[next(5) as usize]);
        let g = &x[5..x.len() - 1];
        let c = if next(4) == 0 { &mut m1 } else { &mut m0 };
        // Errors (a missing key, a refused command) are part of the game.
        let _: redis::RedisResult<redis::Value> = match next(12) {
            0 | 1 => cmd(&["ECL.CREATE", g, "AUTO_DECLARE", "INTERVALS", "1h"]).query(c),
            2 => cmd(&["ECL.LOG", g, "e"]).query(c),
            3 => cmd(&["ECL.DROP", g]).query(c),
            4 => cmd(&["DEL", &x]).query(c),
            5 => cmd(&["SET", &x, "v"]).query(c),
            6 => cmd(&["RENAME", &x, &y]).query(c),
            7 => cmd(&["COPY", &x, &y]).query(c),
            8 => cmd(&["MOVE", &x, if next(2) == 0 { "1" } else { "0" }]).query(c),
            9 => match cmd(&["DUMP", &x]).query::<Option<Vec<u8>>>(c) {
                Ok(Some(dump)) => {
                    bin_cmd(&[b"RESTORE", y.as_bytes(), b"0", &dump, b"REPLACE"]).query(c)
                }
                _ => Ok(redis::Value::Nil),
            },
            10 => cmd(&["SWAPDB", "0", "1"]).query(c),
            _ => cmd(&["SADD", &x, "m"]).query(c),
        };
        for (c, other) in [(&mut m0, "db 0"), (&mut m1, "db 1")] {
            let listed: Vec<String> = groups(c);
            assert_eq!(
                listed,
                groups_in_keyspace(c),
                "master {other} after step {step}"
            );
        }
        if step % 25 == 24 {
            let _: i64 = cmd(&["WAIT", "1", "5000"]).query(&mut m0).unwrap();
            for (c, other) in [(&mut r0, "db 0"), (&mut r1, "db 1")] {
                let listed: Vec<String> = groups(c);
                assert_eq!(
                    listed,
                    groups_in_keyspace(c),
                    "replica {other} after step {step}"
                );
            }
        }
    }
}
