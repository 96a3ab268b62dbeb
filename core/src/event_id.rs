//! Event IDs: binary-safe strings of 1..=1024 bytes; `@...` is ECL's own.

/// Longest event ID, in bytes.
pub const MAX_EVENT_ID_LEN: usize = 1024;
/// Where counts for new events go once a group holds `max_events` of them.
pub const OVERFLOW_EVENT: &[u8] = b"@overflow";

/// Why an event ID given by a client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventIdError {
    #[error("event ID must be 1 to {MAX_EVENT_ID_LEN} bytes")]
    Length,
    #[error("event IDs starting with '@' are reserved for ECL")]
    Reserved,
}

/// Checks an event ID that a client (or a config) names.
pub fn check_client_event_id(id: &[u8]) -> Result<(), EventIdError> {
    if id.is_empty() || id.len() > MAX_EVENT_ID_LEN {
        Err(EventIdError::Length)
    } else if id[0] == b'@' {
        Err(EventIdError::Reserved)
    } else {
        Ok(())
    }
}

/// An ID shown in an error message: printable, and cut when long.
pub fn display_id(id: &[u8]) -> String {
    const SHOWN: usize = 64;
    let shown = &id[..id.len().min(SHOWN)];
    let mut text: String = shown.escape_ascii().to_string();
    if id.len() > SHOWN {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_length_and_reserved_prefix() {
        assert_eq!(check_client_event_id(b"req1"), Ok(()));
        assert_eq!(check_client_event_id(&[0xff, 0, b' ']), Ok(()));
        assert_eq!(check_client_event_id(&[b'x'; MAX_EVENT_ID_LEN]), Ok(()));
        assert_eq!(
            check_client_event_id(&[b'x'; MAX_EVENT_ID_LEN + 1]),
            Err(EventIdError::Length)
        );
        assert_eq!(check_client_event_id(b""), Err(EventIdError::Length));
        assert_eq!(
            check_client_event_id(OVERFLOW_EVENT),
            Err(EventIdError::Reserved)
        );
    }

    #[test]
    fn display_escapes_and_cuts() {
        assert_eq!(display_id(b"a\nb"), "a\\nb");
        assert_eq!(display_id(&[b'x'; 100]), format!("{}...", "x".repeat(64)));
    }
}
