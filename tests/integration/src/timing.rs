//! Time as the server sees it, and keeping tests clear of window
//! boundaries.

use std::time::Duration;

/// The server's clock in Unix ms (`TIME`).
pub fn server_ms(c: &mut redis::Connection) -> u64 {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query(c).unwrap();
    secs * 1000 + micros / 1000
}

/// Sleeps past the next boundary of `len_ms` windows when less than
/// `need_ms` is left before it, so that a test which reads the current
/// window, or compares state over time, is not cut by a rotation. Windows
/// of longer intervals that are multiples of `len_ms` (1 m, 1 h, 1 d of 5 s)
/// rotate only at such boundaries too. Returns the server's time after.
pub fn clear_of_boundary(c: &mut redis::Connection, len_ms: u64, need_ms: u64) -> u64 {
    let left = len_ms - server_ms(c) % len_ms;
    if left < need_ms {
        std::thread::sleep(Duration::from_millis(left + 20));
    }
    server_ms(c)
}

/// An hour, and the time the hour-window tests keep clear of its end.
pub const HOUR_MS: u64 = 3_600_000;
pub const HOUR_MARGIN_MS: u64 = 30_000;

/// Sleeps until the server's clock is at least `len_ms` into a window and at
/// most `len_ms - margin_ms` (so a few commands fit before the next boundary).
pub fn wait_for_window_start(c: &mut redis::Connection, len_ms: u64, margin_ms: u64) -> u64 {
    loop {
        let now = server_ms(c);
        let into = now % len_ms;
        if into + margin_ms < len_ms && into < 50 {
            return now;
        }
        std::thread::sleep(Duration::from_millis((len_ms - into + 5).min(len_ms)));
    }
}
