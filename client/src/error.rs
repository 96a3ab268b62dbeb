//! Errors of the client.

use ecl_core::{ConfigError, EclError};

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
    /// The client refused the input itself, by the same rule and with the
    /// same words as the server (unknown group, undeclared event, bad event
    /// ID, interval not named): nothing was sent.
    #[error("{}", .0.message())]
    Refused(#[from] EclError),
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

/// Whether a Redis error means the server could not be reached or did not
/// answer in time (rather than refusing the command): the command may or
/// may not have been applied.
pub(crate) fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

impl ClientError {
    /// The server refused the command itself (no permission, or a module
    /// without it): another command may do.
    pub fn is_refusal(&self) -> bool {
        match self {
            ClientError::Redis(e) => {
                e.code() == Some("NOPERM") || e.to_string().contains("unknown command")
            }
            _ => false,
        }
    }

    /// Redis could not be reached or did not answer in time (a connection
    /// problem, not a refusal).
    pub fn is_unreachable(&self) -> bool {
        match self {
            ClientError::Redis(e) => unreachable(e),
            ClientError::Flush(_) => true,
            _ => false,
        }
    }
}
