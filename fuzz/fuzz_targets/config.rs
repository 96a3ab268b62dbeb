//! Config text: never a panic; what loads is valid.
#![no_main]

use ecl_core::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = Config::parse(text, "fuzz.yml") {
        for group in &config.groups {
            assert!(
                !group.intervals.is_empty(),
                "a group without intervals loaded"
            );
            assert!(!group.name.is_empty() && group.name.len() <= 128);
        }
    }
});
