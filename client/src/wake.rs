//! What wakes the flusher: a count reaching `sync_limit` (from the
//! counting threads), `flush()`, a parked direct log, and shutdown. A leaf:
//! the counting side and the flusher both import it, not each other.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Wakes the flusher: on `sync_limit`, `flush()` and shutdown.
#[derive(Default)]
pub(crate) struct Wake {
    state: Mutex<WakeState>,
    cond: Condvar,
}

#[derive(Default)]
struct WakeState {
    notified: bool,
    flush_requested: u64,
    shutdown: bool,
}

impl Wake {
    pub fn notify(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.notified = true;
        self.cond.notify_one();
    }

    pub fn request_flush(&self) -> u64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.flush_requested += 1;
        s.notified = true;
        self.cond.notify_one();
        s.flush_requested
    }

    pub fn shutdown(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.shutdown = true;
        s.notified = true;
        self.cond.notify_one();
    }

    /// Sleeps until notified or `timeout`; returns (flush generation, shutdown).
    pub fn wait(&self, timeout: Duration) -> (u64, bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.notified {
            s = self
                .cond
                .wait_timeout(s, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        s.notified = false;
        (s.flush_requested, s.shutdown)
    }
}
