//! Errors of the client.

use ecl_core::event_id::EventIdError;
use ecl_core::ConfigError;

/// What went wrong in a client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The config file could not be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Redis could not be reached, did not answer in time, or refused the
    /// command.
    #[error("redis: {}", describe_redis_error(.0))]
    Redis(#[from] redis::RedisError),
    /// The event is not declared and the group does not auto-declare.
    #[error("event '{event}' is not declared in group '{group}' and auto_declare_events is off")]
    UndeclaredEvent {
        /// The group.
        group: String,
        /// The event ID, printable.
        event: String,
    },
    /// The event ID is empty, too long, or reserved (`@...`).
    #[error("bad event ID '{event}': {reason}")]
    BadEventId {
        /// The event ID, printable.
        event: String,
        /// What is wrong with it.
        reason: EventIdError,
    },
    /// The group has no such interval (or several and none was named).
    #[error("{0}")]
    Interval(String),
    /// `flush()` or shutdown could not deliver everything.
    #[error("flush incomplete: {0}")]
    Flush(String),
    /// The server replied in a shape this client does not understand
    /// (a module of another version?).
    #[error("unexpected reply: {0}")]
    Protocol(String),
    /// A connection setting this build cannot honour.
    #[error("unsupported connection setting: {0}")]
    Unsupported(String),
}

/// A timeout says so in words (the OS's text for it is "Resource
/// temporarily unavailable").
fn describe_redis_error(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        format!("no answer within the timeout (server hung or overloaded?): {e}")
    } else {
        e.to_string()
    }
}
