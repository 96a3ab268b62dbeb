//! Direct-mode logs that could not be confirmed: the server did not answer
//! within the response timeout, or it is known to be down. Instead of
//! failing the application's call (a monitoring outage must not fail
//! requests), the count is parked here and the flusher delivers it when
//! Redis answers again.
//!
//! A log that was sent keeps the `ID producer seq` it was sent with, so it
//! is applied once whether or not the first attempt arrived (its
//! connection, dropped on the error, never sends under that producer
//! again). A log parked while Redis is known down was never sent and goes
//! out in a batch of the flusher's own.
//!
//! A leaf: the direct path parks, the flusher takes; neither imports the
//! other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One direct log waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParkedLog {
    pub group: Arc<str>,
    /// Where the count belongs in time (`AT`).
    pub at_ms: u64,
    /// The `(producer, seq)` it was sent with, if it was.
    pub sent_as: Option<(String, u64)>,
    pub event: Box<[u8]>,
    pub n: u64,
}

#[derive(Default)]
pub(crate) struct Parked {
    logs: Mutex<Vec<ParkedLog>>,
    /// Set when a direct log found Redis unreachable, cleared when the
    /// flusher delivers again: meanwhile direct logs park at once rather
    /// than wait out a timeout each.
    down: AtomicBool,
}

impl Parked {
    pub fn park(&self, log: ParkedLog) {
        self.down.store(true, Ordering::Release);
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(log);
    }

    pub fn take_all(&self) -> Vec<ParkedLog> {
        std::mem::take(&mut *self.logs.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Redis answered the flusher.
    pub fn reachable_again(&self) {
        self.down.store(false, Ordering::Release);
    }
}
