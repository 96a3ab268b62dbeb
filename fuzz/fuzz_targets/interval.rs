//! Interval strings: never a panic; what parses is at least 100 ms and
//! reads back the same from its normalised form.
#![no_main]

use ecl_core::interval::{parse_interval_ms, IntervalMs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ms) = parse_interval_ms(text) {
        assert!(ms >= 100);
        assert_eq!(parse_interval_ms(&IntervalMs(ms).to_string()), Ok(ms));
    }
});
