//! Windows across real boundaries, `AT`, and the in-server timer.

use ecl_integration::*;
use std::time::Duration;

const CONFIG: &str = "\
groups:
  fast:
    events: [a, b]
    intervals: [1s]
  slow:
    events: [a]
    intervals: [10s, 1m]
  dyn:
    auto_declare_events: true
    intervals: [1s]
";

fn sleep_until_server_ms(c: &mut redis::Connection, t: u64) {
    loop {
        let now = server_ms(c);
        if now >= t {
            return;
        }
        std::thread::sleep(Duration::from_millis(t - now));
    }
}

#[test]
fn counts_rotate_at_real_boundaries() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    let start = wait_for_window_start(&mut c, 1000, 400);
    let window = start / 1000 * 1000;
    cmd(&["ECL.LOG", "fast", "a", "3"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "fast", "b"]).query::<()>(&mut c).unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "CURRENT"]),
        pairs(&[("a", 3), ("b", 1)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast"]),
        pairs(&[("a", 0), ("b", 0)])
    );
    sleep_until_server_ms(&mut c, window + 1000 + 20);
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "LAST"]),
        pairs(&[("a", 3), ("b", 1)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "CURRENT"]),
        pairs(&[("a", 0), ("b", 0)])
    );
    cmd(&["ECL.LOG", "fast", "b", "2"])
        .query::<()>(&mut c)
        .unwrap();
    sleep_until_server_ms(&mut c, window + 2000 + 20);
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "LAST"]),
        pairs(&[("a", 0), ("b", 2)])
    );
    sleep_until_server_ms(&mut c, window + 3000 + 20);
    assert_eq!(
        counts(&mut c, &["ECL.GET", "fast", "LAST"]),
        pairs(&[("a", 0), ("b", 0)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "fast"]),
        pairs(&[("a", 3), ("b", 3)])
    );
}

#[test]
fn at_lands_in_the_last_window_or_is_tallied_late() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    let now = wait_for_window_start(&mut c, 10_000, 2_000);
    let window = now / 10_000 * 10_000;
    let in_last = (window - 5_000).to_string();
    let too_old = (window - 25_000).to_string();
    let future = (now + 3_600_000).to_string();
    cmd(&["ECL.LOG", "slow", "a", "2", "AT", &in_last])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "slow", "a", "5", "AT", &too_old])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "slow", "a", "7", "at", &future])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "slow", "10s", "LAST"]),
        pairs(&[("a", 2)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.GET", "slow", "10s", "CURRENT"]),
        pairs(&[("a", 7)])
    );
    assert_eq!(counts(&mut c, &["ECL.TOTALS", "slow"]), pairs(&[("a", 14)]));
    // In the 1m interval, -25 s may still be in the current or last window.
    let minute: Vec<(String, u64)> = [
        counts(&mut c, &["ECL.GET", "slow", "1m", "LAST"]),
        counts(&mut c, &["ECL.GET", "slow", "1m", "CURRENT"]),
    ]
    .concat();
    assert_eq!(minute.iter().map(|p| p.1).sum::<u64>(), 14);
    let info: redis::Value = cmd(&["ECL.INFO", "slow"]).query(&mut c).unwrap();
    let map: std::collections::HashMap<String, redis::Value> =
        redis::from_redis_value(&info).unwrap();
    let late: u64 = redis::from_redis_value(&map["late_dropped"]).unwrap();
    assert_eq!(late, 5);
}

#[test]
fn the_timer_frees_ephemeral_events() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    // Not database 0: the timer must find groups in every database.
    cmd(&["SELECT", "5"]).query::<()>(&mut c).unwrap();
    let mut mlog = redis::cmd("ECL.MLOG");
    mlog.arg("dyn");
    for i in 0..5000 {
        mlog.arg(format!("event-{i}")).arg(1);
    }
    mlog.query::<()>(&mut c).unwrap();
    let full: u64 = cmd(&["MEMORY", "USAGE", "ecl:{dyn}"])
        .query(&mut c)
        .unwrap();
    let info = |c: &mut redis::Connection| -> std::collections::HashMap<String, redis::Value> {
        let v: redis::Value = cmd(&["ECL.INFO", "dyn"]).query(c).unwrap();
        redis::from_redis_value(&v).unwrap()
    };
    let live: u64 = redis::from_redis_value(&info(&mut c)["auto_declared_events"]).unwrap();
    assert_eq!(live, 5000);
    // Two boundaries later nothing is left, and no write was needed for it.
    std::thread::sleep(Duration::from_millis(2300));
    let map = info(&mut c);
    let live: u64 = redis::from_redis_value(&map["auto_declared_events"]).unwrap();
    assert_eq!(live, 0);
    assert_eq!(counts(&mut c, &["ECL.GET", "dyn", "LAST"]), vec![]);
    assert_eq!(counts(&mut c, &["ECL.TOTALS", "dyn"]), vec![]);
    let after: u64 = cmd(&["MEMORY", "USAGE", "ecl:{dyn}"])
        .query(&mut c)
        .unwrap();
    assert!(
        after * 10 < full,
        "memory {full} -> {after}: the timer should have freed the events"
    );
    let tick: u64 = redis::from_redis_value(&map["timer_last_tick_us"]).unwrap();
    assert!(tick > 0, "the timer did work");
}
