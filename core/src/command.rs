//! Parsing of command arguments (everything after the group name). Pure, so
//! it is unit-tested and fuzzed without a server.

use crate::config::IntervalSpec;
use crate::error::EclError;
use crate::interval::parse_interval_ms;
use crate::store::WindowKind;

/// Options of `ECL.LOG` / `ECL.MLOG`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions<'a> {
    /// `AT unix_ms`: the time the counts belong to.
    pub at_ms: Option<u64>,
    /// `ID producer seq` (`ECL.MLOG` only).
    pub producer: Option<(&'a [u8], u64)>,
    /// `NOW unix_ms`: the master's clock, in replicated and AOF commands only.
    pub now_ms: Option<u64>,
}

/// `ECL.LOG` arguments: one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOne<'a> {
    pub event: &'a [u8],
    pub count: u64,
    pub options: LogOptions<'a>,
}

/// `ECL.MLOG` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogArgs<'a> {
    pub events: Vec<(&'a [u8], u64)>,
    pub options: LogOptions<'a>,
}

/// `ECL.GET` arguments; the interval is resolved against the group's
/// schema with [`resolve_interval`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetArgs<'a> {
    pub interval: Option<&'a [u8]>,
    pub kind: WindowKind,
}

fn is_keyword(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

pub use crate::bytes::parse_u64;

#[inline]
fn count(arg: &[u8]) -> Result<u64, EclError> {
    parse_u64(arg).ok_or_else(|| EclError::BadCount(arg.to_vec()))
}

fn integer(what: &'static str, arg: &[u8]) -> Result<u64, EclError> {
    parse_u64(arg).ok_or_else(|| EclError::BadInteger {
        what,
        value: arg.to_vec(),
    })
}

/// Ends the options of `ECL.MLOG` before the events: needed (and sent by
/// `protocol::mlog_args`) only when the first event is named like an option
/// (`AT`, `NOW`, `ID`) or like this marker.
pub const END_OF_OPTIONS: &[u8] = b"--";

/// Whether an event named `id`, first after the options, would be read as
/// an option (so `END_OF_OPTIONS` must precede it).
pub fn reads_as_option(id: &[u8]) -> bool {
    id == END_OF_OPTIONS || ["AT", "NOW", "ID"].iter().any(|k| is_keyword(id, k))
}

/// Parses `AT ms`, `NOW ms` and (when `allow_id`) `ID producer seq` options
/// starting at `args[*i]`, while the next argument is one of those keywords.
fn options<'a>(
    args: &[&'a [u8]],
    i: &mut usize,
    out: &mut LogOptions<'a>,
    allow_id: bool,
) -> Result<(), EclError> {
    let value = |i: usize, name: &str| -> Result<&'a [u8], EclError> {
        args.get(i)
            .copied()
            .ok_or_else(|| EclError::Syntax(format!("{name} needs a value")))
    };
    while let Some(arg) = args.get(*i) {
        if *arg == END_OF_OPTIONS {
            *i += 1;
            break;
        }
        if is_keyword(arg, "AT") && out.at_ms.is_none() {
            out.at_ms = Some(integer("AT", value(*i + 1, "AT")?)?);
            *i += 2;
        } else if is_keyword(arg, "NOW") && out.now_ms.is_none() {
            out.now_ms = Some(integer("NOW", value(*i + 1, "NOW")?)?);
            *i += 2;
        } else if allow_id && is_keyword(arg, "ID") && out.producer.is_none() {
            let producer = value(*i + 1, "ID")?;
            let seq = integer("seq", value(*i + 2, "ID")?)?;
            out.producer = Some((producer, seq));
            *i += 3;
        } else {
            break;
        }
    }
    Ok(())
}

/// `ECL.LOG`'s event and count when it has no options (the common case),
/// else `None` (then [`parse_log`] has the answer, errors included): small
/// enough to come back in registers for the write path.
#[inline]
pub fn parse_plain_log<'a>(args: &[&'a [u8]]) -> Option<(&'a [u8], u64)> {
    match *args {
        [event] => Some((event, 1)),
        [event, count] => parse_u64(count).map(|count| (event, count)),
        _ => None,
    }
}

/// `ECL.LOG group event [count] [AT unix_ms]`; `args` start after the group.
#[inline]
pub fn parse_log<'a>(args: &[&'a [u8]]) -> Result<LogOne<'a>, EclError> {
    if let Some((event, count)) = parse_plain_log(args) {
        return Ok(LogOne {
            event,
            count,
            options: LogOptions::default(),
        });
    }
    let (event, rest) = match args {
        [] => return Err(EclError::WrongArity("ecl.log")),
        [event, rest @ ..] => (*event, rest),
    };
    debug_assert!(!rest.is_empty());
    let mut options_out = LogOptions::default();
    let mut i = 1;
    let mut n = 1;
    if let Some(arg) = args.get(1) {
        if !is_keyword(arg, "AT") && !is_keyword(arg, "NOW") {
            n = count(arg)?;
            i = 2;
        }
    }
    options(args, &mut i, &mut options_out, false)?;
    if let Some(extra) = args.get(i) {
        return Err(EclError::Syntax(format!(
            "unexpected argument '{}' (usage: ECL.LOG group event [count] [AT unix_ms])",
            crate::event_id::display_id(extra)
        )));
    }
    Ok(LogOne {
        event,
        count: n,
        options: options_out,
    })
}

/// `ECL.MLOG`'s `event count` pairs when it has no options (the common
/// case) and its pairs are whole and within the limit, else `None` (then
/// [`parse_mlog`] has the answer, errors included); `args` start after
/// the group. The counts are left to the caller to parse ([`parse_u64`])
/// as it looks the events up.
#[inline]
pub fn plain_mlog_pairs<'b, 'a>(args: &'b [&'a [u8]]) -> Option<&'b [&'a [u8]]> {
    let first = args.first()?;
    (!reads_as_option(first) && check_pairs(args).is_ok()).then_some(args)
}

/// `ECL.MLOG group [AT unix_ms] [ID producer seq] event count [event count ...]`;
/// `args` start after the group.
pub fn parse_mlog<'a>(args: &[&'a [u8]]) -> Result<LogArgs<'a>, EclError> {
    let mut out = LogArgs {
        events: Vec::new(),
        options: LogOptions::default(),
    };
    let mut i = 0;
    options(args, &mut i, &mut out.options, true)?;
    let pairs = &args[i..];
    check_pairs(pairs)?;
    // Written in place rather than pushed: no capacity test per event.
    out.events = vec![(&[][..], 0); pairs.len() / 2];
    for (event, pair) in out.events.iter_mut().zip(pairs.chunks_exact(2)) {
        *event = (pair[0], count(pair[1])?);
    }
    Ok(out)
}

/// `ECL.MLOG`'s `event count` pairs: at least one, each whole, and no more
/// than a command may carry.
fn check_pairs(pairs: &[&[u8]]) -> Result<(), EclError> {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(EclError::Syntax(
            "expected event count pairs (usage: ECL.MLOG group [AT unix_ms] [ID producer seq] event count [event count ...])"
                .into(),
        ));
    }
    crate::limits::within(
        "events in one command",
        pairs.len() / 2,
        crate::limits::EVENTS_PER_COMMAND,
    )?;
    Ok(())
}

/// `ECL.GET group [interval] [LAST|CURRENT]`; `args` start after the group.
pub fn parse_get<'a>(args: &[&'a [u8]]) -> Result<GetArgs<'a>, EclError> {
    let mut kind = WindowKind::Last;
    let mut interval: Option<&[u8]> = None;
    match args {
        [] => {}
        [one] if is_keyword(one, "LAST") || is_keyword(one, "CURRENT") => kind = window_kind(one),
        [one] => interval = Some(one),
        [i, k] if is_keyword(k, "LAST") || is_keyword(k, "CURRENT") => {
            interval = Some(i);
            kind = window_kind(k);
        }
        [_, k] => {
            return Err(EclError::Syntax(format!(
                "expected LAST or CURRENT, got '{}'",
                crate::event_id::display_id(k)
            )))
        }
        _ => return Err(EclError::WrongArity("ecl.get")),
    }
    Ok(GetArgs { interval, kind })
}

fn window_kind(arg: &[u8]) -> WindowKind {
    if is_keyword(arg, "CURRENT") {
        WindowKind::Current
    } else {
        WindowKind::Last
    }
}

/// The interval a reader names: by length, so `5m` also finds `300s`.
/// `None` is fine when the group has exactly one interval.
pub fn resolve_interval(
    group: &str,
    intervals: &[IntervalSpec],
    interval: Option<&[u8]>,
) -> Result<u64, EclError> {
    let names = || {
        intervals
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(text) = interval else {
        return match intervals {
            [only] => Ok(only.ms),
            _ => Err(EclError::IntervalRequired {
                group: group.to_string(),
                configured: names(),
            }),
        };
    };
    let unknown = || EclError::UnknownInterval {
        group: group.to_string(),
        interval: String::from_utf8_lossy(text).into_owned(),
        configured: names(),
    };
    let ms = std::str::from_utf8(text)
        .ok()
        .and_then(|t| parse_interval_ms(t).ok())
        .ok_or_else(unknown)?;
    intervals
        .iter()
        .find(|i| i.ms == ms)
        .map(|i| i.ms)
        .ok_or_else(unknown)
}

/// `ECL.RANGE` arguments after the group (SPEC §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeArgs<'a> {
    pub interval: &'a [u8],
    /// Windows whose start is in `[from_ms, to_ms]`.
    pub from_ms: u64,
    pub to_ms: u64,
    /// At most this many windows (the oldest first).
    pub count: Option<usize>,
    /// Only these events.
    pub events: Option<Vec<&'a [u8]>>,
    /// One window, the sum of them.
    pub sum: bool,
}

/// `ECL.RANGE group interval [FROM t|-] [TO t|+] [COUNT n] [EVENTS e ...] [SUM]`;
/// `args` start after the group. `EVENTS` takes the rest of the arguments
/// but a last `SUM`.
pub fn parse_range<'a>(args: &[&'a [u8]]) -> Result<RangeArgs<'a>, EclError> {
    let usage = || {
        EclError::Syntax(
            "usage: ECL.RANGE group interval [FROM t|-] [TO t|+] [COUNT n] [EVENTS event ...] [SUM]"
                .into(),
        )
    };
    let (&interval, rest) = args.split_first().ok_or_else(usage)?;
    let mut out = RangeArgs {
        interval,
        from_ms: 0,
        to_ms: u64::MAX,
        count: None,
        events: None,
        sum: false,
    };
    let (mut from_seen, mut to_seen) = (false, false);
    let twice = |what: &str| EclError::Syntax(format!("{what} given twice"));
    let mut i = 0;
    while let Some(&arg) = rest.get(i) {
        i += 1;
        if is_keyword(arg, "FROM") || is_keyword(arg, "TO") {
            let from = is_keyword(arg, "FROM");
            let value = *rest.get(i).ok_or_else(usage)?;
            i += 1;
            let seen = if from { &mut from_seen } else { &mut to_seen };
            if std::mem::replace(seen, true) {
                return Err(twice(if from { "FROM" } else { "TO" }));
            }
            let t = match value {
                b"-" if from => 0,
                b"+" if !from => u64::MAX,
                _ => integer(if from { "FROM" } else { "TO" }, value)?,
            };
            if from {
                out.from_ms = t;
            } else {
                out.to_ms = t;
            }
        } else if is_keyword(arg, "COUNT") {
            let value = *rest.get(i).ok_or_else(usage)?;
            i += 1;
            if out.count.is_some() {
                return Err(twice("COUNT"));
            }
            let n = integer("COUNT", value)?;
            if n == 0 {
                return Err(EclError::Syntax("COUNT must be at least 1".into()));
            }
            out.count = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else if is_keyword(arg, "SUM") {
            if std::mem::replace(&mut out.sum, true) {
                return Err(twice("SUM"));
            }
        } else if is_keyword(arg, "EVENTS") {
            let mut events: Vec<&[u8]> = rest[i..].to_vec();
            if events.last().is_some_and(|e| is_keyword(e, "SUM")) && !out.sum {
                events.pop();
                out.sum = true;
            }
            if events.is_empty() {
                return Err(EclError::Syntax("EVENTS needs at least one event".into()));
            }
            out.events = Some(events);
            i = rest.len();
        } else {
            return Err(usage());
        }
    }
    if out.from_ms > out.to_ms {
        return Err(EclError::Syntax(format!(
            "FROM {} is after TO {}",
            out.from_ms, out.to_ms
        )));
    }
    Ok(out)
}

/// Which window `ECL.TOP` ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopWindow {
    Last,
    Current,
    /// The window containing this time (a kept one).
    At(u64),
}

/// `ECL.TOP` arguments after the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopArgs<'a> {
    pub interval: &'a [u8],
    pub k: usize,
    pub window: TopWindow,
}

/// `ECL.TOP group interval k [LAST|CURRENT|AT t]`; `args` start after the group.
pub fn parse_top<'a>(args: &[&'a [u8]]) -> Result<TopArgs<'a>, EclError> {
    let usage = || EclError::Syntax("usage: ECL.TOP group interval k [LAST|CURRENT|AT t]".into());
    let (interval, k, rest) = match args {
        [interval, k, rest @ ..] => (*interval, *k, rest),
        _ => return Err(usage()),
    };
    let k = integer("k", k)?;
    if k == 0 {
        return Err(EclError::Syntax("k must be at least 1".into()));
    }
    crate::limits::within("events in a top list", k, crate::limits::TOP_EVENTS)?;
    let window = match rest {
        [] => TopWindow::Last,
        [w] if is_keyword(w, "LAST") => TopWindow::Last,
        [w] if is_keyword(w, "CURRENT") => TopWindow::Current,
        [w, t] if is_keyword(w, "AT") => TopWindow::At(integer("AT", t)?),
        _ => return Err(usage()),
    };
    Ok(TopArgs {
        interval,
        k: k as usize,
        window,
    })
}

/// What `ECL.ROTATE` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateArgs {
    /// The master's clock (replication and the AOF only).
    pub now_ms: Option<u64>,
    /// Sweep steps to take: the timer replicates the steps of one tick as
    /// one command.
    pub steps: u64,
}

/// `ECL.ROTATE group [NOW unix_ms] [STEPS n]`; `args` start after the group.
pub fn parse_rotate(args: &[&[u8]]) -> Result<RotateArgs, EclError> {
    let usage = || EclError::Syntax("usage: ECL.ROTATE group [NOW unix_ms] [STEPS n]".into());
    let mut out = RotateArgs {
        now_ms: None,
        steps: 1,
    };
    let mut seen_steps = false;
    for pair in args.chunks(2) {
        match pair {
            [k, v] if is_keyword(k, "NOW") && out.now_ms.is_none() => {
                out.now_ms = Some(integer("NOW", v)?)
            }
            [k, v] if is_keyword(k, "STEPS") && !seen_steps => {
                seen_steps = true;
                out.steps = integer("STEPS", v)?;
                if out.steps == 0 {
                    return Err(usage());
                }
                crate::limits::within("STEPS", out.steps, crate::limits::ROTATE_STEPS)?;
            }
            _ => return Err(usage()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::protocol::rotate_args;

    fn args(s: &str) -> Vec<&[u8]> {
        s.split_whitespace().map(str::as_bytes).collect()
    }

    #[test]
    fn log_forms() {
        let one = parse_log(&args("e")).unwrap();
        assert_eq!(
            (one.event, one.count, one.options),
            (&b"e"[..], 1, LogOptions::default())
        );
        assert_eq!(parse_log(&args("e 0")).unwrap().count, 0);
        let a = parse_log(&args("e 7 at 1000")).unwrap();
        assert_eq!((a.count, a.options.at_ms), (7, Some(1000)));
        let a = parse_log(&args("e AT 5 NOW 9")).unwrap();
        assert_eq!(
            (a.count, a.options.at_ms, a.options.now_ms),
            (1, Some(5), Some(9))
        );
        assert_eq!(parse_log(&args("")), Err(EclError::WrongArity("ecl.log")));
        assert_eq!(
            parse_log(&args("e -1")),
            Err(EclError::BadCount(b"-1".to_vec()))
        );
        assert_eq!(
            parse_log(&args("e 1.5")),
            Err(EclError::BadCount(b"1.5".to_vec()))
        );
        assert_eq!(
            parse_log(&args("e 18446744073709551616")),
            Err(EclError::BadCount(b"18446744073709551616".to_vec()))
        );
        assert!(matches!(
            parse_log(&args("e 1 AT")),
            Err(EclError::Syntax(_))
        ));
        assert!(matches!(
            parse_log(&args("e 1 AT -5")),
            Err(EclError::BadInteger { what: "AT", .. })
        ));
        assert!(matches!(
            parse_log(&args("e 1 2")),
            Err(EclError::Syntax(_))
        ));
        assert!(matches!(
            parse_log(&args("e 1 AT 5 AT 6")),
            Err(EclError::Syntax(_))
        ));
    }

    #[test]
    fn mlog_forms() {
        let a = parse_mlog(&args("a 1 b 2")).unwrap();
        assert_eq!(a.events, [(&b"a"[..], 1), (&b"b"[..], 2)]);
        let a = parse_mlog(&args("ID p1 42 AT 100 a 1")).unwrap();
        assert_eq!(
            (a.options.producer, a.options.at_ms),
            (Some((&b"p1"[..], 42)), Some(100))
        );
        assert!(matches!(parse_mlog(&args("")), Err(EclError::Syntax(_))));
        assert!(matches!(parse_mlog(&args("a")), Err(EclError::Syntax(_))));
        assert!(matches!(
            parse_mlog(&args("a 1 b")),
            Err(EclError::Syntax(_))
        ));
        assert!(matches!(
            parse_mlog(&args("AT 5")),
            Err(EclError::Syntax(_))
        ));
        assert!(matches!(
            parse_mlog(&args("ID p x a 1")),
            Err(EclError::BadInteger { what: "seq", .. })
        ));
        assert_eq!(
            parse_mlog(&args("a x")),
            Err(EclError::BadCount(b"x".to_vec()))
        );
    }

    #[test]
    fn get_forms() {
        let c = Config::parse(
            "groups:\n  one:\n    intervals: [5m]\n  two:\n    intervals: [5s, 1h]\n",
            "t",
        )
        .unwrap();
        let one = c.group("one").unwrap();
        let two = c.group("two").unwrap();
        // Parsed, then resolved against the group's intervals.
        let get = |g: &crate::config::GroupConfig, a: &[&[u8]]| {
            parse_get(a).and_then(|get| {
                Ok((
                    resolve_interval(&g.name, &g.intervals, get.interval)?,
                    get.kind,
                ))
            })
        };
        assert_eq!(get(one, &[]), Ok((300_000, WindowKind::Last)));
        assert_eq!(get(one, &args("current")).unwrap().1, WindowKind::Current);
        assert_eq!(get(one, &args("300s")).unwrap().0, 300_000);
        assert_eq!(
            get(two, &args("1h CURRENT")),
            Ok((3_600_000, WindowKind::Current))
        );
        assert!(matches!(
            get(two, &[]),
            Err(EclError::IntervalRequired { .. })
        ));
        assert!(matches!(
            get(two, &args("LAST")),
            Err(EclError::IntervalRequired { .. })
        ));
        assert!(matches!(
            get(two, &args("5m")),
            Err(EclError::UnknownInterval { .. })
        ));
        assert!(matches!(
            get(two, &args("bogus")),
            Err(EclError::UnknownInterval { .. })
        ));
        assert!(matches!(
            parse_get(&args("5s sometime")),
            Err(EclError::Syntax(_))
        ));
        assert!(matches!(
            parse_get(&args("5s last x")),
            Err(EclError::WrongArity(_))
        ));
    }

    #[test]
    fn integers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"-1",
            b"+1",
            b" 1",
            b"1a",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rotate_forms() {
        let r = parse_range(&args("1m FROM 5 TO + COUNT 2 EVENTS a b SUM")).unwrap();
        assert_eq!(
            (r.from_ms, r.to_ms, r.count, r.sum),
            (5, u64::MAX, Some(2), true)
        );
        assert_eq!(r.events, Some(vec![&b"a"[..], b"b"]));
        for bad in [
            "",
            "1m FROM 9 TO 3",
            "1m COUNT 0",
            "1m COUNT -1",
            "1m FROM 1 FROM 2",
            "1m SUM SUM",
            "1m EVENTS",
            "1m X",
        ] {
            assert!(parse_range(&args(bad)).is_err(), "{bad}");
        }
        let t = parse_top(&args("5m 3 AT 7")).unwrap();
        assert_eq!((t.k, t.window), (3, TopWindow::At(7)));
        assert_eq!(parse_top(&args("5m 1")).unwrap().window, TopWindow::Last);
        for bad in [
            "5m",
            "5m 0",
            "5m -1",
            "5m 99999999999",
            "5m 3 NOW",
            "5m 3 AT",
        ] {
            assert!(parse_top(&args(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_rotate(&[]).unwrap().now_ms, None);
        assert_eq!(parse_rotate(&args("now 5")).unwrap().now_ms, Some(5));
        let both = parse_rotate(&args("NOW 5 STEPS 3")).unwrap();
        assert_eq!((both.now_ms, both.steps), (Some(5), 3));
        assert!(parse_rotate(&args("x")).is_err());
        assert!(parse_rotate(&args("STEPS 0")).is_err());
        assert!(parse_rotate(&args("STEPS 1 STEPS 2")).is_err());
        assert!(parse_rotate(&args("STEPS 100000")).is_err());
        let built = rotate_args(b"g", 7, 2);
        let refs: Vec<&[u8]> = built.iter().map(Vec::as_slice).collect();
        let parsed = parse_rotate(&refs[1..]).unwrap();
        assert_eq!(
            (refs[0], parsed.now_ms, parsed.steps),
            (&b"g"[..], Some(7), 2)
        );
    }
}
