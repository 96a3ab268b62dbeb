//! Command arguments (NUL-separated): no parser panics, and what one
//! accepts is consistent with the group it is for.
#![no_main]

use ecl_core::command::{parse_get, parse_log, parse_mlog, parse_rotate, resolve_interval};
use ecl_core::Config;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::parse(
            "groups:\n  g:\n    intervals: [1s, 1m]\n  h:\n    intervals: [5m]\n",
            "fuzz.yml",
        )
        .expect("the fuzz config loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let args: Vec<&[u8]> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|&b| b == 0).collect()
    };
    // The event ID itself is checked by the store, not here.
    if parse_log(&args).is_ok() {
        assert!(args.len() <= 6, "event [count] [AT t] [NOW t] at most");
    }
    let _ = parse_rotate(&args);
    if let Ok(many) = parse_mlog(&args) {
        assert!(!many.events.is_empty());
    }
    for group in &config().groups {
        let resolved = parse_get(&args)
            .and_then(|get| resolve_interval(&group.name, &group.intervals, get.interval));
        if let Ok(ms) = resolved {
            assert!(group.interval_by_ms(ms).is_some());
        }
    }
    let _ = ecl_core::schema::parse_schema(&args, true);
    // A group name (any bytes) and schema a command accepts can be stored,
    // saved and loaded again (SPEC 4.6).
    if let Some((name, rest)) = args.split_first() {
        let accepted = ecl_core::schema::group_name(name)
            .and_then(|name| ecl_core::schema::parse_schema(rest, false)?.new_shape(&name));
        if let Ok(shape) = accepted {
            let store = ecl_core::GroupStore::new(&shape, 0);
            let payload = ecl_core::encoding::encode(&store);
            assert!(ecl_core::encoding::decode(&payload).is_ok());
        }
    }
});
