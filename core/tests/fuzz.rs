//! Property fuzzing of everything that parses untrusted input: config text,
//! interval strings, command arguments and the RDB/AOF payload decoder.
//! None may panic, and what they accept must be consistent.
//!
//! `make test` runs a short pass; `make fuzz` sets `PROPTEST_CASES` high.
//! The coverage-guided counterparts (cargo fuzz) are in `fuzz/`.

use ecl_core::command::{parse_get, parse_log, parse_mlog, parse_rotate, resolve_interval};
use ecl_core::encoding::{decode, encode};
use ecl_core::interval::{parse_interval_ms, IntervalMs};
use ecl_core::{Batch, Config, GroupShape, GroupStore, WindowKind};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Bytes that look like command arguments more often than random bytes do.
fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"AT".to_vec()),
        Just(b"NOW".to_vec()),
        Just(b"ID".to_vec()),
        Just(b"LAST".to_vec()),
        Just(b"current".to_vec()),
        "[0-9]{1,21}".prop_map(String::into_bytes),
        "[0-9.]{1,6}[mshdMSHD]{0,2}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn intervals_never_panic_and_round_trip(text in "\\PC{0,12}") {
        if let Ok(ms) = parse_interval_ms(&text) {
            prop_assert!(ms >= 100);
            prop_assert_eq!(parse_interval_ms(&IntervalMs(ms).to_string()), Ok(ms));
        }
    }

    #[test]
    fn config_text_never_panics(text in "\\PC{0,200}") {
        let _ = Config::parse(&text, "fuzz.yml");
    }

    #[test]
    fn config_shaped_text_never_panics(
        name in "[a-z{} ]{0,6}",
        key in prop_oneof![Just("events"), Just("intervals"), Just("max_events"), Just("sync_limit"), Just("colour")],
        value in "[\\[\\]a-z0-9.,@ -]{0,20}",
    ) {
        let text = format!("groups:\n  {name}:\n    intervals: [1s]\n    {key}: {value}\n");
        if let Ok(config) = Config::parse(&text, "fuzz.yml") {
            for group in &config.groups {
                prop_assert!(!group.intervals.is_empty());
            }
        }
    }

    #[test]
    fn command_arguments_never_panic(args in proptest::collection::vec(arg(), 0..8)) {
        let config = Config::parse("groups:\n  g:\n    intervals: [1s, 1m]\n  h:\n    intervals: [5m]\n", "t").unwrap();
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let _ = parse_log(&refs);
        let _ = parse_rotate(&refs);
        if let Ok(m) = parse_mlog(&refs) {
            prop_assert!(!m.events.is_empty());
        }
        for group in &config.groups {
            let resolved = parse_get(&refs)
                .and_then(|get| resolve_interval(&group.name, &group.intervals, get.interval));
            if let Ok(ms) = resolved {
                prop_assert!(group.interval_by_ms(ms).is_some());
            }
        }
        let _ = ecl_core::schema::parse_schema(&refs, false);
        let _ = ecl_core::schema::parse_schema(&refs, true);
    }

    /// Random bytes, and valid payloads with bytes flipped: the decoder
    /// refuses or accepts, and what it accepts encodes again and reads.
    #[test]
    fn payload_decoder_never_panics(
        events in proptest::collection::vec(("[a-c]{1,2}", 0u64..5), 0..6),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        garbage in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let shape = GroupShape {
            name: "g".into(),
            intervals: vec![1000, 60_000],
            declared: vec![b"a".to_vec()],
            auto_declare: true,
            max_events: 3,
            history_ms: 0,
        };
        let now = 1_700_000_000_000;
        let mut store = GroupStore::new(&shape, now);
        let batch: Vec<(&[u8], u64)> = events.iter().map(|(e, n)| (e.as_bytes(), *n)).collect();
        let _ = store.log(Batch { events: &batch, at_ms: None, now_ms: now, producer: Some((b"p", 1)) });
        let mut payload = encode(&store);
        for (at, byte) in flips {
            let i = at % payload.len();
            payload[i] = byte;
        }
        for bytes in [&payload, &garbage] {
            if let Ok(decoded) = decode(bytes) {
                let again = encode(&decoded);
                prop_assert!(decode(&again).is_ok());
                for i in 0..decoded.intervals().len() {
                    let _ = decoded.window_counts(i, WindowKind::Last, now + 500);
                }
                let _ = decoded.totals(now);
            }
        }
    }
}

/// Schema command arguments near every limit: intervals, declared events,
/// max_events and the counters they make, and names with any bytes.
fn schema_near_limits() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<u8>>)> {
    use ecl_core::limits::{DECLARED_EVENTS_PER_GROUP, INTERVALS_PER_GROUP, MAX_EVENTS};
    let name = prop_oneof![
        "[a-z]{1,8}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..140),
    ];
    let intervals = prop_oneof![
        1usize..4,
        (INTERVALS_PER_GROUP - 1)..(INTERVALS_PER_GROUP + 2)
    ];
    let declared = prop_oneof![
        0usize..4,
        (DECLARED_EVENTS_PER_GROUP - 1)..(DECLARED_EVENTS_PER_GROUP + 2)
    ];
    let max_events = prop_oneof![
        0u64..10,
        (MAX_EVENTS / 4 - 1)..(MAX_EVENTS / 4 + 2),
        (MAX_EVENTS - 1)..(MAX_EVENTS + 2)
    ];
    (name, intervals, declared, max_events, any::<bool>()).prop_map(
        |(name, intervals, declared, max_events, auto)| {
            let mut args: Vec<Vec<u8>> = Vec::new();
            if auto {
                args.push(b"AUTO_DECLARE".to_vec());
            }
            args.push(b"MAX_EVENTS".to_vec());
            args.push(max_events.to_string().into_bytes());
            args.push(b"INTERVALS".to_vec());
            args.extend((1..=intervals).map(|i| format!("{i}s").into_bytes()));
            args.push(b"EVENTS".to_vec());
            args.extend((0..declared).map(|i| format!("e{i}").into_bytes()));
            (name, args)
        },
    )
}

proptest! {
    #![proptest_config(cases(64))]

    /// Whatever a schema command accepts can be saved and loaded (SPEC
    /// §4.6); whatever it refuses names a limit or a rule.
    #[test]
    fn an_accepted_schema_round_trips_and_a_refused_one_says_why((name, args) in schema_near_limits()) {
        use ecl_core::schema::{group_name, parse_schema};
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let accepted = group_name(&name).and_then(|name| {
            parse_schema(&refs, false)?.new_shape(&name)
        });
        match accepted {
            Ok(shape) => {
                let mut store = GroupStore::new(&shape, 1_000_000);
                let events: Vec<(&[u8], u64)> =
                    shape.declared.iter().take(3).map(|e| (e.as_slice(), 1)).collect();
                if !events.is_empty() {
                    store
                        .log(Batch { events: &events, at_ms: None, now_ms: 1_000_000, producer: None })
                        .unwrap();
                }
                let payload = encode(&store);
                let loaded = decode(&payload).expect("an accepted schema loads");
                prop_assert_eq!(encode(&loaded), payload);
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.starts_with("ERR "), "{}", text);
            }
        }
    }
}
