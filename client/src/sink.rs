//! Where the flusher's batches go: a small trait, so that batching, retries
//! and exactly-once delivery are tested without a server (an in-memory sink
//! that applies each `(producer, seq)` once, as the module does, and can
//! lose replies or refuse service on demand).

use crate::connection::{command, Connection, Pool};
use ecl_core::protocol::{mlog_args, MlogArgs};
use std::sync::Arc;

/// Why a batch was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The server refused it and will refuse it again (bad input): report
    /// it, do not resend.
    Refused(String),
    /// Unknown whether it was applied (no connection, timeout, `LOADING`,
    /// `READONLY` after a failover, ...): resend it as is, same `seq`.
    Unavailable(String),
}

/// Sends one `ECL.MLOG` batch and waits for its acknowledgement.
pub(crate) trait BatchSink: Send {
    fn send(&mut self, batch: &MlogArgs<'_>) -> Result<(), SendError>;
}

/// Batches to Redis, on a connection of the flusher's own (made again after
/// any failure).
pub(crate) struct RedisSink {
    pool: Arc<Pool>,
    connection: Option<Connection>,
}

impl RedisSink {
    pub fn new(pool: Arc<Pool>) -> RedisSink {
        RedisSink {
            pool,
            connection: None,
        }
    }
}

impl BatchSink for RedisSink {
    fn send(&mut self, batch: &MlogArgs<'_>) -> Result<(), SendError> {
        let cmd = command("ECL.MLOG", mlog_args(batch));
        let connection = match self.connection.as_mut() {
            Some(c) => Ok(c),
            None => self.pool.connect().map(|c| self.connection.insert(c)),
        };
        let sent = connection.and_then(|c| {
            self.pool.declare_before_writing(c)?;
            cmd.query::<()>(c)
        });
        match sent {
            Ok(()) => Ok(()),
            Err(e) if is_server_refusal(&e) => Err(SendError::Refused(e.to_string())),
            Err(e) => {
                self.connection = None;
                Err(SendError::Unavailable(e.to_string()))
            }
        }
    }
}

/// A refusal the server will repeat (bad input). Everything else — broken
/// connections, timeouts, `LOADING`, `OOM`, `BUSY`, `READONLY` after a
/// failover — is worth retrying.
fn is_server_refusal(e: &redis::RedisError) -> bool {
    matches!(e.code(), Some("ERR") | Some("WRONGTYPE"))
}

#[cfg(test)]
pub(crate) mod memory {
    //! An in-memory sink for unit tests of the flusher.

    use super::{BatchSink, SendError};
    use ecl_core::protocol::MlogArgs;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Mutex};

    /// What the sink holds: totals per `(group, AT, event)`, batches
    /// applied, and faults to inject.
    #[derive(Default)]
    pub struct MemoryState {
        pub counts: BTreeMap<(String, u64, Vec<u8>), u64>,
        /// Highest `seq` applied per producer (the module's `ID` rule).
        applied: HashMap<Vec<u8>, u64>,
        pub batches_applied: u64,
        pub duplicates_ignored: u64,
        /// The next sends fail before applying.
        pub unavailable_next: u32,
        /// The next sends apply, then lose their reply.
        pub lose_reply_next: u32,
        /// Batches of this group are refused.
        pub refuse_group: Option<String>,
    }

    impl MemoryState {
        /// A write that reached the server by another way (a direct log
        /// whose reply was lost): applied as `(producer, seq)` at 1000 ms.
        pub fn pre_apply(&mut self, producer: &[u8], seq: u64, group: &str, event: &str, n: u64) {
            self.applied.insert(producer.to_vec(), seq);
            *self
                .counts
                .entry((group.to_string(), 1000, event.as_bytes().to_vec()))
                .or_insert(0) += n;
        }

        pub fn total(&self, group: &str, event: &str) -> u64 {
            self.counts
                .iter()
                .filter(|((g, _, e), _)| g == group && e == event.as_bytes())
                .map(|(_, n)| n)
                .sum()
        }
    }

    #[derive(Clone, Default)]
    pub struct MemorySink(pub Arc<Mutex<MemoryState>>);

    impl BatchSink for MemorySink {
        fn send(&mut self, batch: &MlogArgs<'_>) -> Result<(), SendError> {
            let mut s = self.0.lock().unwrap();
            if s.unavailable_next > 0 {
                s.unavailable_next -= 1;
                return Err(SendError::Unavailable("connection refused".into()));
            }
            let group = String::from_utf8_lossy(batch.group).into_owned();
            if s.refuse_group.as_deref() == Some(group.as_str()) {
                return Err(SendError::Refused("ERR refused".into()));
            }
            let (producer, seq) = batch.producer.expect("the flusher sends ID");
            let last = s.applied.get(producer).copied().unwrap_or(0);
            if seq <= last {
                s.duplicates_ignored += 1;
            } else {
                s.applied.insert(producer.to_vec(), seq);
                s.batches_applied += 1;
                let at = batch.at_ms.expect("the flusher sends AT");
                for &(event, n) in batch.events {
                    *s.counts
                        .entry((group.clone(), at, event.to_vec()))
                        .or_insert(0) += n;
                }
            }
            if s.lose_reply_next > 0 {
                s.lose_reply_next -= 1;
                return Err(SendError::Unavailable("reply lost".into()));
            }
            Ok(())
        }
    }
}
