//! `ecl exporter`: Prometheus metrics of every configured group (every
//! group on the server when run without a config), read from Redis on each
//! scrape (one pipelined round trip per group).
//!
//! A scrape always answers within its deadline (`--timeout`): when Redis
//! hangs or is down, with `ecl_up 0`. Scrapes are served by several
//! threads, so a slow one does not hold the others. Groups are read one by
//! one: a group Redis refuses (say it does not exist there) is left out,
//! counted in `ecl_scrape_errors_total{group}` and logged with the server's
//! words, and the other groups are exported as usual.

use ecl_client::{Config, EclClient, GroupSnapshot};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

pub(crate) const LANDING: &str = "<html><head><title>ECL exporter</title></head><body>\
<h1>ECL exporter</h1><p>Event counts of ECL groups, for Prometheus.</p>\
<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// Escapes a label value as the text exposition format requires.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Errors per group since the exporter started (a counter).
#[derive(Default)]
pub struct ScrapeErrors(Mutex<BTreeMap<String, u64>>);

impl ScrapeErrors {
    fn add(&self, group: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(group.to_string()).or_insert(0) += 1;
    }

    fn render(&self, out: &mut String) {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str(
            "# HELP ecl_scrape_errors_total Reads of a group that failed (the group was left out of that scrape).\n\
             # TYPE ecl_scrape_errors_total counter\n",
        );
        for (group, n) in map.iter() {
            let _ = writeln!(
                out,
                "ecl_scrape_errors_total{{group=\"{}\"}} {n}",
                escape(group)
            );
        }
    }
}

/// The `/metrics` body: samples of every group that could be read, then
/// `ecl_up` and the error counters.
pub fn render(client: &EclClient, config: &Config, errors: &ScrapeErrors) -> String {
    let mut snapshots: Vec<(String, GroupSnapshot)> = Vec::new();
    let mut up = 1;
    // The config's groups, or every group on the server without one.
    let names = match crate::all_groups(config, client) {
        Ok(names) => names,
        Err(e) => {
            eprintln!("ecl exporter: cannot read Redis: {}", e.message());
            let mut out = String::new();
            finish(&mut out, 0, errors);
            return out;
        }
    };
    for name in &names {
        match client.group(name).snapshot() {
            Ok(snapshot) => snapshots.push((name.clone(), snapshot)),
            Err(e) if e.is_unreachable() => {
                eprintln!("ecl exporter: cannot read Redis: {e}");
                up = 0;
                snapshots.clear();
                break;
            }
            Err(e) => {
                eprintln!("ecl exporter: group '{name}' left out of this scrape: {e}");
                errors.add(name);
            }
        }
    }
    let mut out = samples(&snapshots);
    finish(&mut out, up, errors);
    out
}

fn finish(out: &mut String, up: u8, errors: &ScrapeErrors) {
    let _ = write!(
        out,
        "# HELP ecl_up Whether Redis could be read in this scrape.\n# TYPE ecl_up gauge\necl_up {up}\n"
    );
    errors.render(out);
}

/// The body when the scrape's deadline passed before Redis answered.
pub(crate) fn timed_out(deadline: Duration, errors: &ScrapeErrors) -> String {
    eprintln!("ecl exporter: Redis did not answer within the scrape deadline ({deadline:?})");
    let mut out = String::new();
    finish(&mut out, 0, errors);
    out
}

fn samples(snapshots: &[(String, GroupSnapshot)]) -> String {
    let (mut totals, mut last, mut starts) = (String::new(), String::new(), String::new());
    for (group, snapshot) in snapshots {
        let name = escape(group);
        for (event, n) in &snapshot.totals {
            let _ = writeln!(
                totals,
                "ecl_events_total{{group=\"{name}\",event=\"{}\"}} {n}",
                escape(event)
            );
        }
        for (interval, counts) in &snapshot.last {
            let interval = escape(interval);
            for (event, n) in counts {
                let _ = writeln!(
                    last,
                    "ecl_events_last_window{{group=\"{name}\",interval=\"{interval}\",event=\"{}\"}} {n}",
                    escape(event)
                );
            }
        }
        for i in &snapshot.info.intervals {
            let interval = escape(&i.name);
            for (window, ms) in [("current", i.current_start_ms), ("last", i.last_start_ms)] {
                let _ = writeln!(
                    starts,
                    "ecl_window_start_seconds{{group=\"{name}\",interval=\"{interval}\",window=\"{window}\"}} {}",
                    ms as f64 / 1000.0
                );
            }
        }
    }
    format!(
        "# HELP ecl_events_total Events counted since the event's counters were created.\n\
         # TYPE ecl_events_total counter\n{totals}\
         # HELP ecl_events_last_window Events counted in the last complete window of the interval.\n\
         # TYPE ecl_events_last_window gauge\n{last}\
         # HELP ecl_window_start_seconds Start of the current and of the last window (Unix time).\n\
         # TYPE ecl_window_start_seconds gauge\n{starts}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
