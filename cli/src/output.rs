//! How reading commands print: `event:count` lines (the original reader's
//! text) or JSON.

use ecl_client::Counts;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// Output format of reading commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub(crate) fn lines(out: &mut String, counts: &Counts) {
    for (event, count) in counts {
        let _ = writeln!(out, "{event}:{count}");
    }
}

pub(crate) fn object(counts: &Counts) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(e, c)| (e.clone(), json!(c)))
            .collect::<Map<_, _>>(),
    )
}

/// `ECL.INFO` as JSON, as `ecl info --format json` prints one group.
pub fn info_json(info: &ecl_client::GroupInfo) -> String {
    serde_json::to_string(info).unwrap_or_else(|_| "{}".into())
}
