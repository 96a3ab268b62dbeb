//! Argument lists of the commands clients and the module send (`ECL.LOG`,
//! `ECL.MLOG`, `ECL.ROTATE`, the reads), built in one place. Parsing
//! them back (`crate::command::parse_mlog`) gives the original: a property
//! test checks it.

/// What an `ECL.MLOG` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlogArgs<'a> {
    pub group: &'a [u8],
    pub at_ms: Option<u64>,
    /// The master's clock (replication and the AOF only).
    pub now_ms: Option<u64>,
    pub producer: Option<(&'a [u8], u64)>,
    pub events: &'a [(&'a [u8], u64)],
}

/// The arguments of `ECL.MLOG` (the command name not included):
/// `group [AT at] [NOW now] [ID producer seq] event count ...`.
pub fn mlog_args(args: &MlogArgs<'_>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(7 + 2 * args.events.len());
    out.push(args.group.to_vec());
    if let Some(at) = args.at_ms {
        out.push(b"AT".to_vec());
        out.push(at.to_string().into_bytes());
    }
    if let Some(now) = args.now_ms {
        out.push(b"NOW".to_vec());
        out.push(now.to_string().into_bytes());
    }
    if let Some((producer, seq)) = args.producer {
        out.push(b"ID".to_vec());
        out.push(producer.to_vec());
        out.push(seq.to_string().into_bytes());
    }
    if args
        .events
        .first()
        .is_some_and(|(event, _)| crate::command::reads_as_option(event))
    {
        out.push(crate::command::END_OF_OPTIONS.to_vec());
    }
    for &(event, count) in args.events {
        out.push(event.to_vec());
        out.push(count.to_string().into_bytes());
    }
    out
}

/// The arguments of `ECL.LOG group event count` (the command name not included).
pub fn log_args(group: &[u8], event: &[u8], count: u64) -> Vec<Vec<u8>> {
    vec![
        group.to_vec(),
        event.to_vec(),
        count.to_string().into_bytes(),
    ]
}

/// A read command with its arguments: `(name, arguments)`.
pub type ReadCommand = (&'static str, Vec<Vec<u8>>);

/// `ECL.GET group interval LAST|CURRENT`.
pub fn get_command(group: &[u8], interval: &[u8], kind: crate::WindowKind) -> ReadCommand {
    let kind: &[u8] = match kind {
        crate::WindowKind::Last => b"LAST",
        crate::WindowKind::Current => b"CURRENT",
    };
    (
        "ECL.GET",
        vec![group.to_vec(), interval.to_vec(), kind.to_vec()],
    )
}

/// `ECL.TOTALS group`.
pub fn totals_command(group: &[u8]) -> ReadCommand {
    ("ECL.TOTALS", vec![group.to_vec()])
}

/// `ECL.INFO group`.
pub fn info_command(group: &[u8]) -> ReadCommand {
    ("ECL.INFO", vec![group.to_vec()])
}

/// `ECL.RANGE group interval FROM from TO to [COUNT n] [SUM]`.
pub fn range_command(
    group: &[u8],
    interval: &[u8],
    from_ms: u64,
    to_ms: u64,
    count: Option<usize>,
    sum: bool,
) -> ReadCommand {
    let mut args = vec![
        group.to_vec(),
        interval.to_vec(),
        b"FROM".to_vec(),
        from_ms.to_string().into_bytes(),
        b"TO".to_vec(),
        to_ms.to_string().into_bytes(),
    ];
    if let Some(n) = count {
        args.push(b"COUNT".to_vec());
        args.push(n.to_string().into_bytes());
    }
    if sum {
        args.push(b"SUM".to_vec());
    }
    ("ECL.RANGE", args)
}

/// `ECL.TOP group interval k [LAST|CURRENT|AT t]`.
pub fn top_command(
    group: &[u8],
    interval: &[u8],
    k: usize,
    window: crate::command::TopWindow,
) -> ReadCommand {
    let mut args = vec![
        group.to_vec(),
        interval.to_vec(),
        k.to_string().into_bytes(),
    ];
    match window {
        crate::command::TopWindow::Last => args.push(b"LAST".to_vec()),
        crate::command::TopWindow::Current => args.push(b"CURRENT".to_vec()),
        crate::command::TopWindow::At(t) => {
            args.push(b"AT".to_vec());
            args.push(t.to_string().into_bytes());
        }
    }
    ("ECL.TOP", args)
}

/// `ECL.GROUPS`.
pub fn groups_command() -> ReadCommand {
    ("ECL.GROUPS", Vec::new())
}

/// The arguments of `ECL.ROTATE group NOW now STEPS steps` (the command
/// name not included), as the timer replicates a tick's work on a group.
pub fn rotate_args(group: &[u8], now_ms: u64, steps: u64) -> Vec<Vec<u8>> {
    vec![
        group.to_vec(),
        b"NOW".to_vec(),
        now_ms.to_string().into_bytes(),
        b"STEPS".to_vec(),
        steps.to_string().into_bytes(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{parse_log, parse_mlog};
    use proptest::prelude::*;

    fn id() -> impl Strategy<Value = Vec<u8>> {
        // Any bytes, keywords and digits included.
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 1..12),
            Just(b"AT".to_vec()),
            Just(b"ID".to_vec()),
            Just(b"now".to_vec()),
            Just(b"--".to_vec()),
            Just(b"7".to_vec()),
        ]
    }

    proptest! {
        #[test]
        fn parsing_what_mlog_args_builds_gives_it_back(
            at in proptest::option::of(any::<u64>()),
            now in proptest::option::of(any::<u64>()),
            producer in proptest::option::of((id(), any::<u64>())),
            events in proptest::collection::vec((id(), any::<u64>()), 1..6),
        ) {
            let events: Vec<(&[u8], u64)> = events.iter().map(|(e, c)| (e.as_slice(), *c)).collect();
            let built = MlogArgs {
                group: b"g",
                at_ms: at,
                now_ms: now,
                producer: producer.as_ref().map(|(p, s)| (p.as_slice(), *s)),
                events: &events,
            };
            let args = mlog_args(&built);
            let raw: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(raw[0], &b"g"[..]);
            let parsed = parse_mlog(&raw[1..]).unwrap();
            prop_assert_eq!(parsed.options.at_ms, at);
            prop_assert_eq!(parsed.options.now_ms, now);
            prop_assert_eq!(parsed.options.producer, built.producer);
            prop_assert_eq!(parsed.events, events);
        }

        #[test]
        fn parsing_what_log_args_builds_gives_it_back(event in id(), count in any::<u64>()) {
            let args = log_args(b"g", &event, count);
            let raw: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let parsed = parse_log(&raw[1..]).unwrap();
            prop_assert_eq!(parsed.event, &event[..]);
            prop_assert_eq!(parsed.count, count);
        }
    }
}
