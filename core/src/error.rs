//! Every error a command can return, with its exact RESP text.
//!
//! The module only turns these into replies; tests and clients can rely on
//! the texts.

use crate::event_id::{display_id, EventIdError};

/// A command that was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EclError {
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
    #[error("ERR unknown group '{0}'")]
    UnknownGroup(String),
    #[error("ERR unknown interval '{interval}' for group '{group}' (configured: {configured})")]
    UnknownInterval {
        group: String,
        interval: String,
        configured: String,
    },
    #[error("ERR group '{group}' has several intervals ({configured}): name one")]
    IntervalRequired { group: String, configured: String },
    #[error("ERR event '{}' is not declared in group '{group}' and auto_declare_events is off", display_id(.event))]
    UndeclaredEvent { group: String, event: Vec<u8> },
    #[error("ERR event '{}' is not in group '{group}'", display_id(.event))]
    NotInGroup { group: String, event: Vec<u8> },
    #[error("ERR bad event ID '{}': {reason}", display_id(.event))]
    BadEventId {
        event: Vec<u8>,
        reason: EventIdError,
    },
    #[error("ERR count must be a non-negative integer, got '{}'", display_id(.0))]
    BadCount(Vec<u8>),
    #[error("ERR {what} must be a non-negative integer, got '{}'", display_id(.value))]
    BadInteger { what: &'static str, value: Vec<u8> },
    #[error("ERR count overflow: the total of event '{}' would exceed 18446744073709551615", display_id(.0))]
    CountOverflow(Vec<u8>),
    #[error("ERR syntax error: {0}")]
    Syntax(String),
    #[error("ERR {0} is only accepted from the master or the AOF")]
    ReplicationOnly(&'static str),
    #[error("ERR bad ECL payload: {0}")]
    BadPayload(String),
    #[error("ERR the key of group '{group}' holds the data of group '{stored}' (was it renamed?)")]
    ForeignGroup { group: String, stored: String },
    /// In Redis Cluster, while the group's slot moves between nodes and its
    /// key is not (or no longer) on this one: the client retries, and
    /// Redis's own `ASK` redirections then find the key where it lives.
    #[error("TRYAGAIN the slot of group '{0}' is moving between cluster nodes; retry")]
    SlotMoving(String),
    /// An input beyond one of [`crate::limits`].
    #[error("ERR {0}")]
    OverLimit(#[from] crate::limits::OverLimit),
    /// The database holds as many groups as the module's `MAX_GROUPS`.
    #[error("ERR database {db} holds {cap} groups already (the module's MAX_GROUPS, CONFIG SET ecl.max-groups); drop some or raise it")]
    TooManyGroups { db: i32, cap: usize },
    /// `ECL.CREATE` of a group that exists with a different schema.
    #[error(
        "ERR group '{0}' exists with another schema (ECL.DECLARE adds to it, ECL.ALTER changes it)"
    )]
    OtherSchema(String),
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
}

impl EclError {
    /// The text without its RESP error code (`ERR `), as a client that
    /// refused the input itself says it.
    pub fn message(&self) -> String {
        let text = self.to_string();
        match text.strip_prefix("ERR ") {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_a_resp_error_naming_the_problem() {
        let errors = [
            EclError::WrongArity("ecl.log"),
            EclError::UnknownGroup("g".into()),
            EclError::UndeclaredEvent {
                group: "g".into(),
                event: b"e\x01".to_vec(),
            },
            EclError::BadCount(b"-1".to_vec()),
            EclError::CountOverflow(b"e".to_vec()),
            EclError::WrongType,
        ];
        for e in errors {
            let text = e.to_string();
            assert!(
                text.starts_with("ERR ") || text.starts_with("WRONGTYPE "),
                "{text}"
            );
        }
        assert_eq!(
            EclError::UndeclaredEvent {
                group: "g".into(),
                event: b"e\x01".to_vec()
            }
            .to_string(),
            "ERR event 'e\\x01' is not declared in group 'g' and auto_declare_events is off"
        );
    }
}
