//! Event IDs: binary-safe strings of 1..=1024 bytes; `@...` is ECL's own.

/// Longest event ID, in bytes.
pub use crate::limits::EVENT_ID_BYTES as MAX_EVENT_ID_LEN;
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
#[inline]
pub fn check_client_event_id(id: &[u8]) -> Result<(), EventIdError> {
    if id.is_empty() || id.len() > MAX_EVENT_ID_LEN {
        Err(EventIdError::Length)
    } else if id[0] == b'@' {
        Err(EventIdError::Reserved)
    } else {
        Ok(())
    }
}

/// Whether a group may count `id`: a valid client ID that is `known` to the
/// group (declared, or auto-declared and live) or that the group may
/// auto-declare. The rule the store admits by and clients check locally.
#[inline]
pub fn check_loggable(
    group: &str,
    id: &[u8],
    known: bool,
    auto_declare: bool,
) -> Result<(), crate::EclError> {
    check_client_event_id(id).map_err(|reason| crate::EclError::BadEventId {
        event: id.to_vec(),
        reason,
    })?;
    if known || auto_declare {
        Ok(())
    } else {
        Err(crate::EclError::UndeclaredEvent {
            group: group.to_string(),
            event: id.to_vec(),
        })
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

/// An event ID as text, for every output (CLI text and JSON, Prometheus
/// and Munin labels): printable UTF-8 as it is; a backslash doubled; control
/// characters and bytes that are not UTF-8 as `\xNN`. Reversible
/// ([`unescape_id`]), so two IDs never print alike.
pub fn escape_id(id: &[u8]) -> String {
    let mut out = String::with_capacity(id.len());
    for chunk in id.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The ID an [`escape_id`] text stands for; `None` for text it cannot make.
pub fn unescape_id(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'\\' {
            out.push(b);
            rest = tail;
            continue;
        }
        match tail {
            [b'\\', more @ ..] => {
                out.push(b'\\');
                rest = more;
            }
            [b'x', h, l, more @ ..] => {
                let hex = std::str::from_utf8(&[*h, *l]).ok()?.to_string();
                out.push(u8::from_str_radix(&hex, 16).ok()?);
                rest = more;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escaping_keeps_printable_ids_and_tells_others_apart() {
        assert_eq!(escape_id(b"req1"), "req1");
        assert_eq!(escape_id("GET /caf\u{e9}".as_bytes()), "GET /caf\u{e9}");
        assert_eq!(escape_id(b"bin\0\xff"), "bin\\x00\\xff");
        assert_ne!(escape_id(b"bin\0\xff"), escape_id(b"bin\0\xfe"));
        assert_eq!(escape_id(b"a\nb"), "a\\x0ab");
        assert_eq!(escape_id(b"a\\x41"), "a\\\\x41");
    }

    proptest! {
        #[test]
        fn escaping_is_reversible(id in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(unescape_id(&escape_id(&id)), Some(id));
        }
    }

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
