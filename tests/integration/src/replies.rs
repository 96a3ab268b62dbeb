//! Commands from words and replies as plain values; replicas in sync.

use std::time::{Duration, Instant};

/// `ECL.GET`-style reply as pairs.
pub type Counts = Vec<(String, u64)>;

/// Runs a command that replies `event, count, ...` and returns the pairs.
pub fn counts(c: &mut redis::Connection, args: &[&str]) -> Counts {
    let flat: Vec<(String, u64)> = cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    flat
}

/// Builds a command from words.
pub fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Builds a command from binary arguments (key names with any bytes).
pub fn bin_cmd(args: &[&[u8]]) -> redis::Cmd {
    let mut c = redis::cmd(&String::from_utf8_lossy(args[0]));
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command expected to fail and returns the error text.
pub fn error_of(c: &mut redis::Connection, args: &[&str]) -> String {
    command_error(c, cmd(args))
}

/// Runs a command expected to fail and returns the error text: the RESP
/// error line, code then message.
pub fn command_error(c: &mut redis::Connection, command: redis::Cmd) -> String {
    match command.query::<redis::Value>(c) {
        Ok(v) => panic!("the command should fail, got {v:?}"),
        // Rebuild the RESP error line: code, then message.
        Err(e) => format!(
            "{} {}",
            e.code().unwrap_or("?"),
            e.detail().unwrap_or_default()
        ),
    }
}

/// Waits until the replica's link to its master is up and it has
/// acknowledged everything the master wrote so far (`WAIT 1`).
pub fn wait_replica_synced(master: &mut redis::Connection, replica: &mut redis::Connection) {
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
    assert!(acked >= 1, "the replica acknowledged the master's writes");
}

/// The server's `used_memory` (`INFO memory`), in bytes.
pub fn used_memory(c: &mut redis::Connection) -> u64 {
    server_info(c, "memory", "used_memory")
}

/// A numeric field of `INFO section`.
pub fn server_info(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = cmd(&["INFO", section]).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has a number for {field}: {info}"))
}

/// A numeric field of `ECL.INFO group`.
pub fn info_field(c: &mut impl redis::ConnectionLike, group: &str, field: &str) -> u64 {
    let v: redis::Value = cmd(&["ECL.INFO", group]).query(c).unwrap();
    let map: std::collections::HashMap<String, redis::Value> =
        redis::from_redis_value(&v).unwrap_or_else(|e| panic!("ECL.INFO {group}: {e}: {v:?}"));
    let value = map
        .get(field)
        .unwrap_or_else(|| panic!("ECL.INFO {group} has no {field}: {v:?}"));
    redis::from_redis_value(value).unwrap()
}

/// `(event, count)` pairs from string slices, for comparisons.
pub fn pairs(list: &[(&str, u64)]) -> Counts {
    list.iter().map(|(e, c)| (e.to_string(), *c)).collect()
}

/// `DEBUG DIGEST-VALUE` of a key.
pub fn digest(c: &mut redis::Connection, key: &str) -> String {
    let v: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg(key)
        .query(c)
        .unwrap();
    v.into_iter().next().unwrap_or_default()
}

/// A version 1 payload (what `ECL.RESTORE` takes) written by hand: one
/// group with intervals `(len, window)`
/// and one declared event `e1` counted once in the first interval's
/// current window.
pub fn v1_payload(group: &str, intervals: &[(u64, u64)]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = b"ECL\x01".to_vec();
    varint(&mut out, group.len() as u64);
    out.extend_from_slice(group.as_bytes());
    varint(&mut out, intervals.len() as u64);
    for &(len, window) in intervals {
        varint(&mut out, len);
        varint(&mut out, window);
    }
    varint(&mut out, 0); // auto_declare
    varint(&mut out, 10); // max_events
    varint(&mut out, 1); // declared
    varint(&mut out, 2);
    out.extend_from_slice(b"e1");
    varint(&mut out, 1); // events
    varint(&mut out, 2);
    out.extend_from_slice(b"e1");
    varint(&mut out, 1); // total
    for i in 0..intervals.len() {
        varint(&mut out, u64::from(i == 0)); // cur
        varint(&mut out, 0); // last
    }
    varint(&mut out, 0); // overflowed
    varint(&mut out, 0); // late_dropped
    varint(&mut out, 0); // producers
    out
}
