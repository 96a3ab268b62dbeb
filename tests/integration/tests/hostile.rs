//! Hostile and constrained conditions: random and malformed commands, a flood
//! of distinct events, maxmemory, and ACL users.

use ecl_integration::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CONFIG: &str = "\
groups:
  requests:
    events: [req1, req2]
    intervals: [1h, 1d]
  dyn:
    auto_declare_events: true
    intervals: [1h]
    max_events: 1000
";

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn resp(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).into_bytes());
        out.extend(a);
        out.extend(b"\r\n");
    }
    out
}

#[test]
fn thousands_of_random_commands_get_errors_and_change_nothing() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    cmd(&["ECL.MLOG", "requests", "req1", "3"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.MLOG", "dyn", "x", "3"])
        .query::<()>(&mut c)
        .unwrap();
    let before = (
        digest(&mut c, "ecl:{requests}"),
        digest(&mut c, "ecl:{dyn}"),
    );
    let names: [&[u8]; 8] = [
        b"ECL.LOG",
        b"ECL.MLOG",
        b"ECL.GET",
        b"ECL.TOTALS",
        b"ECL.INFO",
        b"ECL.ROTATE",
        b"ECL.RESTORE",
        b"ecl.log",
    ];
    // No valid write can be formed from these: the only group named is
    // `requests` (or none), and none of its events is among them.
    let words: [&[u8]; 15] = [
        b"requests",
        b"nosuch",
        b"-1",
        b"1.5",
        b"AT",
        b"NOW",
        b"ID",
        b"18446744073709551616",
        b"@overflow",
        b"",
        b"LAST",
        b"CURRENT",
        b"\x00\xff",
        b"5x",
        b"ECL\x01garbage",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sent = 0;
    let mut errors = 0;
    for _ in 0..5000 {
        let mut args: Vec<Vec<u8>> = vec![rng.pick(&names).to_vec()];
        for _ in 0..(rng.next() % 7) {
            args.push(rng.pick(&words).to_vec());
        }
        stream.write_all(&resp(&args)).unwrap();
        sent += 1;
        // Read one reply line (replies to these are errors, or short arrays).
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            stream.read_exact(&mut byte).unwrap();
            reply.push(byte[0]);
            if reply.ends_with(b"\r\n") {
                break;
            }
        }
        if reply[0] == b'-' {
            errors += 1;
        } else {
            // A read that succeeded: drain it with a PING marker.
            stream.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
            let mut tail = Vec::new();
            while !tail.ends_with(b"+PONG\r\n") {
                stream.read_exact(&mut byte).unwrap();
                tail.push(byte[0]);
            }
        }
    }
    assert!(errors > sent / 2, "{errors} errors of {sent}");
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG", "the server is up");
    let after = (
        digest(&mut c, "ecl:{requests}"),
        digest(&mut c, "ecl:{dyn}"),
    );
    assert_eq!(before, after, "no error changed state");
}

#[test]
fn a_flood_of_distinct_events_stays_bounded_and_exact() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    let total_events = 1_000_000u64;
    for start in (0..total_events).step_by(5000) {
        let mut mlog = redis::cmd("ECL.MLOG");
        mlog.arg("dyn");
        for i in start..start + 5000 {
            mlog.arg(format!("flood-{i}")).arg(1);
        }
        mlog.query::<()>(&mut c).unwrap();
    }
    let current = counts(&mut c, &["ECL.GET", "dyn", "CURRENT"]);
    assert_eq!(current.len(), 1001, "1000 events and @overflow");
    assert_eq!(current[0], ("@overflow".to_string(), total_events - 1000));
    assert_eq!(
        current.iter().map(|p| p.1).sum::<u64>(),
        total_events,
        "nothing lost"
    );
    let memory: u64 = cmd(&["MEMORY", "USAGE", "ecl:{dyn}"])
        .query(&mut c)
        .unwrap();
    assert!(
        memory < 500_000,
        "memory bounded by max_events: {memory} bytes"
    );
}

#[test]
fn writes_fail_cleanly_under_maxmemory() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    cmd(&["ECL.LOG", "requests", "req1"])
        .query::<()>(&mut c)
        .unwrap();
    let used = used_memory(&mut c);
    cmd(&["CONFIG", "SET", "maxmemory", &(used / 2).to_string()])
        .query::<()>(&mut c)
        .unwrap();
    let before = digest(&mut c, "ecl:{requests}");
    for args in [
        vec!["ECL.LOG", "requests", "req1"],
        vec!["ECL.MLOG", "requests", "req1", "1", "req2", "1"],
        vec!["ECL.LOG", "dyn", "new"],
    ] {
        let e = error_of(&mut c, &args);
        assert!(e.starts_with("OOM"), "{args:?}: {e}");
    }
    assert_eq!(digest(&mut c, "ecl:{requests}"), before);
    // Reads still work.
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "requests"]),
        pairs(&[("req1", 1), ("req2", 0)])
    );
    cmd(&["CONFIG", "SET", "maxmemory", "0"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "requests", "req1"])
        .query::<()>(&mut c)
        .unwrap();
}

#[test]
fn a_read_only_acl_user_can_read_and_cannot_log() {
    let s = Server::start(CONFIG, &[]);
    let mut admin = s.conn();
    cmd(&["ECL.LOG", "requests", "req1", "2"])
        .query::<()>(&mut admin)
        .unwrap();
    // Commands by name, keys by the group argument (ECL commands declare it as their key).
    cmd(&[
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">secret",
        "~requests",
        "+ecl.get",
        "+ecl.totals",
        "+ecl.info",
        "+ecl.groups",
    ])
    .query::<()>(&mut admin)
    .unwrap();
    let client =
        redis::Client::open(format!("redis://reader:secret@127.0.0.1:{}/", s.port)).unwrap();
    let mut reader = client.get_connection().unwrap();
    assert_eq!(
        counts(&mut reader, &["ECL.TOTALS", "requests"]),
        pairs(&[("req1", 2), ("req2", 0)])
    );
    assert!(error_of(&mut reader, &["ECL.LOG", "requests", "req1"]).starts_with("NOPERM"));
    assert!(
        error_of(&mut reader, &["ECL.TOTALS", "dyn"]).starts_with("NOPERM"),
        "key pattern ~requests"
    );
    assert_eq!(
        counts(&mut admin, &["ECL.TOTALS", "requests"]),
        pairs(&[("req1", 2), ("req2", 0)])
    );
}
