//! `ecl read` (and `ecl_reader`), `ecl read --sum`, `ecl range`.

use crate::output::{lines, object, Format};
use crate::setup::{client, group_schema, interval_name};
use crate::CliError;
use ecl_client::Config;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// Which windows `read` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    Last,
    Current,
    Both,
}

/// The window flags of `ecl read` and `ecl_reader` (the original's texts).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct WindowArgs {
    /// Print counts in the last completed interval (this is the default).
    #[arg(long, group = "window")]
    pub last: bool,
    /// Print counts in the current (incomplete) interval.
    #[arg(long, group = "window")]
    pub current: bool,
    /// Print counts in both the last and the current interval.
    #[arg(long, group = "window")]
    pub both: bool,
}

impl WindowArgs {
    /// Which windows the flags ask for.
    pub fn windows(&self) -> Windows {
        if self.both {
            Windows::Both
        } else if self.current {
            Windows::Current
        } else {
            Windows::Last
        }
    }
}

/// `ecl read` / `ecl_reader`: `event:count` lines sorted by event ID, with
/// `Last:` and `Current:` headers for both windows — as the original reader.
pub fn read(
    config: &Config,
    group: &str,
    interval: Option<&str>,
    windows: Windows,
    format: Format,
) -> Result<String, CliError> {
    let ecl = client(config)?;
    let interval = interval_name(&group_schema(config, &ecl, group)?, interval)?;
    let g = ecl.group(group);
    let last = matches!(windows, Windows::Last | Windows::Both)
        .then(|| g.last_counts(Some(&interval)))
        .transpose()?;
    let current = matches!(windows, Windows::Current | Windows::Both)
        .then(|| g.current_counts(Some(&interval)))
        .transpose()?;
    let mut out = String::new();
    match format {
        Format::Text => {
            let both = windows == Windows::Both;
            if both {
                out.push_str("Last:\n");
            }
            if let Some(last) = &last {
                lines(&mut out, last);
            }
            if both {
                out.push_str("Current:\n");
            }
            if let Some(current) = &current {
                lines(&mut out, current);
            }
        }
        Format::Json => {
            let mut doc = Map::new();
            doc.insert("group".into(), json!(group));
            doc.insert("interval".into(), json!(interval));
            if let Some(last) = &last {
                doc.insert("last".into(), object(last));
            }
            if let Some(current) = &current {
                doc.insert("current".into(), object(current));
            }
            out = Value::Object(doc).to_string() + "\n";
        }
    }
    Ok(out)
}

/// `ecl range`: the kept closed windows of an interval whose start is in
/// `[from_ms, to_ms]`, oldest first: per window a `# start_ms` line, then
/// its `event:count` lines (JSON: a list of `{start_ms, counts}`).
pub fn range(
    config: &Config,
    group: &str,
    interval: Option<&str>,
    span: (u64, u64),
    count: Option<usize>,
    format: Format,
) -> Result<String, CliError> {
    let ecl = client(config)?;
    let interval = interval_name(&group_schema(config, &ecl, group)?, interval)?;
    let windows = ecl
        .group(group)
        .range(Some(&interval), span.0, span.1, count)?;
    let mut out = String::new();
    match format {
        Format::Text => {
            for window in &windows {
                let _ = writeln!(out, "# {}", window.start_ms);
                lines(&mut out, &window.counts);
            }
        }
        Format::Json => {
            let list: Vec<Value> = windows
                .iter()
                .map(|w| json!({"start_ms": w.start_ms, "counts": object(&w.counts)}))
                .collect();
            out = json!({"group": group, "interval": interval, "windows": list}).to_string() + "\n";
        }
    }
    Ok(out)
}

/// `ecl read --sum DURATION`: the counts of the closed windows of the last
/// DURATION (as of the last closed window), summed — "the last hour" from
/// finer windows, exact to a window.
pub fn read_sum(
    config: &Config,
    group: &str,
    interval: Option<&str>,
    duration_ms: u64,
    format: Format,
) -> Result<String, CliError> {
    let ecl = client(config)?;
    let interval = interval_name(&group_schema(config, &ecl, group)?, interval)?;
    let g = ecl.group(group);
    let info = g.info()?;
    let current_start = info
        .intervals
        .iter()
        .find(|i| i.name == interval || i.normalized == interval)
        .map_or(0, |i| i.current_start_ms);
    let from = current_start.saturating_sub(duration_ms);
    let sum = g.sum(Some(&interval), from, current_start.saturating_sub(1))?;
    Ok(match format {
        Format::Text => {
            let mut out = String::new();
            lines(&mut out, &sum);
            out
        }
        Format::Json => {
            json!({"group": group, "interval": interval, "from_ms": from, "to_ms": current_start, "sum": object(&sum)})
                .to_string()
                + "\n"
        }
    })
}
