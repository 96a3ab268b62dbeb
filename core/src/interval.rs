//! Interval lengths such as `5s`, `1.5m`, `100ms`, `1h`, `1d`.
//!
//! Parsed exactly in integer arithmetic (no floats), so `0.1s` is 100 ms and
//! never 99.99999 ms.

use std::fmt;

/// Shortest interval ECL accepts: shorter windows would make the server's
/// timer fire more often than is useful and cost more than they tell.
pub const MIN_INTERVAL_MS: u64 = 100;

/// Why an interval string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error("'{0}' is not an interval: expected <number><unit> with unit ms, s, m, h or d (e.g. 5s, 1.5m, 1h)")]
    Syntax(String),
    #[error("'{0}' is not a whole number of milliseconds")]
    Fractional(String),
    #[error("'{0}' is shorter than the minimum of {MIN_INTERVAL_MS} ms")]
    TooShort(String),
    #[error("'{0}' is too long")]
    TooLong(String),
}

/// Parses an interval and returns its length in milliseconds.
///
/// Units are case-insensitive (`5S`, `1H`), as in the original project.
pub fn parse_interval_ms(text: &str) -> Result<u64, IntervalError> {
    let syntax = || IntervalError::Syntax(text.to_string());
    // No surrounding space is trimmed: `" 1s"` is refused as a typo, not
    // read as a second spelling of `1s`.
    let unit_start = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(syntax)?;
    let (number, unit) = text.split_at(unit_start);
    let unit_ms: u64 = match unit.to_ascii_lowercase().as_str() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(syntax()),
    };
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty()
        || !digits_only(int_part)
        || !digits_only(frac_part)
        || (number.contains('.') && frac_part.is_empty())
    {
        return Err(syntax());
    }
    // value = (int_part . frac_part) * unit_ms, computed as
    // (digits as integer) * unit_ms / 10^frac_len, which must divide exactly.
    let too_long = || IntervalError::TooLong(text.to_string());
    let frac_len = u32::try_from(frac_part.len()).map_err(|_| too_long())?;
    let scale = 10u128.checked_pow(frac_len).ok_or_else(too_long)?;
    let mut digits: u128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        digits = digits
            .checked_mul(10)
            .and_then(|d| d.checked_add(u128::from(b - b'0')))
            .ok_or_else(too_long)?;
    }
    let scaled = digits
        .checked_mul(u128::from(unit_ms))
        .ok_or_else(too_long)?;
    if scaled % scale != 0 {
        return Err(IntervalError::Fractional(text.to_string()));
    }
    let ms = u64::try_from(scaled / scale).map_err(|_| too_long())?;
    // Window arithmetic multiplies window indexes by the length; keep the
    // length far below the point where that could overflow for real clocks.
    if ms > 365 * 86_400_000 * 100 {
        return Err(too_long());
    }
    if ms < MIN_INTERVAL_MS {
        return Err(IntervalError::TooShort(text.to_string()));
    }
    Ok(ms)
}

/// An interval length in milliseconds, printed the way a person would write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntervalMs(pub u64);

impl fmt::Display for IntervalMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms.is_multiple_of(size) {
                return write!(f, "{}{}", ms / size, unit);
            }
        }
        write!(f, "{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_case() {
        assert_eq!(parse_interval_ms("5s"), Ok(5_000));
        assert_eq!(parse_interval_ms("5S"), Ok(5_000));
        assert_eq!(parse_interval_ms("1m"), Ok(60_000));
        assert_eq!(parse_interval_ms("1M"), Ok(60_000));
        assert_eq!(parse_interval_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_interval_ms("1d"), Ok(86_400_000));
        assert_eq!(parse_interval_ms("250ms"), Ok(250));
        assert_eq!(parse_interval_ms("250MS"), Ok(250));
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_interval_ms("1.5m"), Ok(90_000));
        assert_eq!(parse_interval_ms("0.5s"), Ok(500));
        assert_eq!(parse_interval_ms("0.1s"), Ok(100));
        assert_eq!(parse_interval_ms(".5s"), Ok(500));
        assert_eq!(parse_interval_ms("0.0001h"), Ok(360));
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "", "5", "s", "5x", "5 s s", "-5s", "5.s", "1e3s", "5sec", "five s", "1.2.3s",
        ] {
            assert!(
                matches!(parse_interval_ms(bad), Err(IntervalError::Syntax(_))),
                "{bad:?} should be a syntax error"
            );
        }
    }

    #[test]
    fn rejects_fractional_and_short_and_huge() {
        assert!(matches!(
            parse_interval_ms("0.0001s"),
            Err(IntervalError::Fractional(_))
        ));
        assert!(matches!(
            parse_interval_ms("99ms"),
            Err(IntervalError::TooShort(_))
        ));
        assert!(matches!(
            parse_interval_ms("0s"),
            Err(IntervalError::TooShort(_))
        ));
        assert!(matches!(
            parse_interval_ms("99999999999999999999999999999999999999999d"),
            Err(IntervalError::TooLong(_))
        ));
        assert!(matches!(
            parse_interval_ms("1000000d"),
            Err(IntervalError::TooLong(_))
        ));
    }

    #[test]
    fn displays_in_largest_whole_unit() {
        assert_eq!(IntervalMs(90_000).to_string(), "90s");
        assert_eq!(IntervalMs(300_000).to_string(), "5m");
        assert_eq!(IntervalMs(86_400_000).to_string(), "1d");
        assert_eq!(IntervalMs(250).to_string(), "250ms");
    }
}
