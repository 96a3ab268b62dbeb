//! `ecl exporter`: Prometheus metrics of every configured group, read from
//! Redis on each scrape. When Redis cannot be read, `/metrics` still answers
//! (`ecl_up 0`) and the reason is logged to stderr.

use crate::CliError;
use ecl_client::{ClientError, Config, EclClient};
use std::fmt::Write as _;

const LANDING: &str = "<html><head><title>ECL exporter</title></head><body>\
<h1>ECL exporter</h1><p>Event counts of ECL groups, for Prometheus.</p>\
<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// Escapes a label value as the text exposition format requires.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `/metrics` body: samples of every group, then `ecl_up`.
pub fn render(client: &EclClient, config: &Config) -> String {
    let mut out = String::new();
    let up = match samples(client, config, &mut out) {
        Ok(()) => 1,
        Err(e) => {
            eprintln!("ecl exporter: cannot read Redis: {e}");
            out.clear();
            0
        }
    };
    let _ = write!(
        out,
        "# HELP ecl_up Whether the last read of Redis succeeded.\n# TYPE ecl_up gauge\necl_up {up}\n"
    );
    out
}

fn samples(client: &EclClient, config: &Config, out: &mut String) -> Result<(), ClientError> {
    let mut totals = String::new();
    let mut last = String::new();
    let mut starts = String::new();
    for g in &config.groups {
        let group = client.group(&g.name);
        let name = escape(&g.name);
        for (event, n) in group.totals()? {
            let _ = writeln!(
                totals,
                "ecl_events_total{{group=\"{name}\",event=\"{}\"}} {n}",
                escape(&event)
            );
        }
        for i in &g.intervals {
            let interval = escape(&i.name);
            for (event, n) in group.last_counts(Some(&i.name))? {
                let _ = writeln!(
                    last,
                    "ecl_events_last_window{{group=\"{name}\",interval=\"{interval}\",event=\"{}\"}} {n}",
                    escape(&event)
                );
            }
        }
        for i in group.info()?.intervals {
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
    let _ = write!(
        out,
        "# HELP ecl_events_total Events counted since the event's counters were created.\n\
         # TYPE ecl_events_total counter\n{totals}\
         # HELP ecl_events_last_window Events counted in the last complete window of the interval.\n\
         # TYPE ecl_events_last_window gauge\n{last}\
         # HELP ecl_window_start_seconds Start of the current and of the last window (Unix time).\n\
         # TYPE ecl_window_start_seconds gauge\n{starts}"
    );
    Ok(())
}

/// Serves `/metrics` and a landing page at `/` until killed.
pub fn serve(config: &Config, listen: &str) -> Result<String, CliError> {
    let server = tiny_http::Server::http(listen)
        .map_err(|e| CliError::Usage(format!("cannot listen on {listen}: {e}")))?;
    let client = EclClient::from_config(config)?;
    eprintln!("ecl exporter: serving http://{listen}/metrics");
    let text = |body: String, kind: &str, code: u16| {
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes())
            .expect("valid header");
        tiny_http::Response::from_string(body)
            .with_header(header)
            .with_status_code(code)
    };
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("").to_string();
        let response = match path.as_str() {
            "/metrics" => text(
                render(&client, config),
                "text/plain; version=0.0.4; charset=utf-8",
                200,
            ),
            "/" => text(LANDING.to_string(), "text/html; charset=utf-8", 200),
            _ => text("not found\n".to_string(), "text/plain", 404),
        };
        if let Err(e) = request.respond(response) {
            eprintln!("ecl exporter: cannot answer a request: {e}");
        }
    }
    Ok(String::new())
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
