//! `ecl serve` (and `ecl exporter`): one HTTP server for `/metrics` (the
//! Prometheus text, as the exporter's), a page at `/` that draws every
//! group's kept windows, live, and the small JSON API it polls:
//! - `/api/groups`: every group with its `ECL.INFO`;
//! - `/api/range?group=&interval=&from=`: the kept closed windows of an
//!   interval (from `from` on, Unix ms) and the window in progress.
//!
//! Everything the page needs is served from the binary (no other host is
//! ever asked; the CSP says so to the browser). Every read of Redis answers
//! within the deadline: when Redis hangs, with `"up": false` (and `ecl_up 0`).

use crate::exporter::{self, ScrapeErrors};
use crate::http::{self, Request, Response};
use crate::CliError;
use ecl_client::{Config, EclClient};
use serde_json::{json, Map, Value};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// Windows `/api/range` returns at most (the newest).
const MOST_WINDOWS: usize = 300;

/// What every request thread shares.
pub(crate) struct Shared {
    pub client: EclClient,
    pub config: Config,
    pub errors: ScrapeErrors,
    pub deadline: Duration,
}

impl Shared {
    /// Runs a read of Redis in a thread of its own and waits for it at
    /// most the deadline; `None` when it took longer (the read then ends on
    /// the client's own response timeout, in the background).
    fn within_deadline<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Shared) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = mpsc::channel();
        let shared = self.clone();
        std::thread::Builder::new()
            .name("ecl-read".into())
            .spawn(move || {
                let _ = tx.send(read(&shared));
            })
            .ok()?;
        rx.recv_timeout(self.deadline).ok()
    }
}

/// Serves until killed: `/metrics` always; with `page`, the page and its
/// API too (`ecl serve`), else a landing page (`ecl exporter`).
pub fn serve(
    config: &Config,
    listen: &str,
    deadline: Duration,
    page: bool,
) -> Result<String, CliError> {
    let listener = http::bind(listen).map_err(CliError::Usage)?;
    // Redis replies never take longer than a request may.
    let mut config = config.clone();
    config.redis.timeout = Some(config.redis.response_timeout().min(deadline));
    config.redis.connect_timeout = Some(config.redis.connect_timeout().min(deadline));
    let shared = Arc::new(Shared {
        client: EclClient::from_config(&config)?,
        config,
        errors: ScrapeErrors::default(),
        deadline,
    });
    let what = if page { "ecl serve" } else { "ecl exporter" };
    eprintln!("{what}: serving http://{listen}/");
    http::serve(listener, move |request| route(&shared, request, page));
    Ok(String::new())
}

fn route(shared: &Arc<Shared>, request: &Request<'_>, page: bool) -> Response {
    let text = |status, body: &str| Response::new(status, "text/plain; charset=utf-8", body);
    match (request.path, page) {
        ("/metrics", _) => Response::new(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics(shared),
        ),
        ("/", false) => Response::new(200, "text/html; charset=utf-8", exporter::LANDING),
        ("/", true) => Response::new(200, "text/html; charset=utf-8", INDEX),
        ("/app.js", true) => Response::new(200, "text/javascript; charset=utf-8", APP_JS),
        ("/app.css", true) => Response::new(200, "text/css; charset=utf-8", APP_CSS),
        ("/api/groups", true) => json_response(groups(shared)),
        ("/api/range", true) => match query(request.query, "group") {
            Some(group) => json_response(range(
                shared,
                group,
                query(request.query, "interval"),
                query(request.query, "from").and_then(|f| f.parse().ok()),
            )),
            None => text(400, "group= is required\n"),
        },
        _ => text(404, "not found\n"),
    }
}

fn metrics(shared: &Arc<Shared>) -> String {
    shared
        .within_deadline(|s| exporter::render(&s.client, &s.config, &s.errors))
        .unwrap_or_else(|| exporter::timed_out(shared.deadline, &shared.errors))
}

fn json_response(value: Value) -> Response {
    Response::new(200, "application/json", value.to_string() + "\n")
}

fn down(why: &str) -> Value {
    json!({"up": false, "error": why})
}

fn counts_object(counts: &[(String, u64)]) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(e, n)| (e.clone(), json!(n)))
            .collect::<Map<_, _>>(),
    )
}

/// `/api/groups`: every group (the config's, or the server's) and its info.
fn groups(shared: &Arc<Shared>) -> Value {
    let read = shared.within_deadline(|s| -> Result<Vec<Value>, String> {
        let names = crate::all_groups(&s.config, &s.client).map_err(|e| e.message().to_string())?;
        let mut out = Vec::new();
        for name in names {
            // A group Redis refuses is left out; the others are shown.
            if let Ok(info) = s.client.group(&name).info() {
                out.push(json!({"group": name, "info": info}));
            }
        }
        Ok(out)
    });
    match read {
        None => down("Redis did not answer in time"),
        Some(Err(e)) => down(&e),
        Some(Ok(groups)) => json!({"up": true, "groups": groups}),
    }
}

/// `/api/range`: the kept closed windows of an interval from `from` on
/// (the newest `MOST_WINDOWS`) and the window in progress.
fn range(
    shared: &Arc<Shared>,
    group: String,
    interval: Option<String>,
    from: Option<u64>,
) -> Value {
    let read = shared.within_deadline(move |s| -> Result<Value, String> {
        let g = s.client.group(&group);
        let interval = interval.as_deref();
        let mut windows = g
            .range(interval, from.unwrap_or(0), u64::MAX, None)
            .map_err(|e| e.to_string())?;
        let skip = windows.len().saturating_sub(MOST_WINDOWS);
        windows.drain(..skip);
        let current = g.current_counts(interval).map_err(|e| e.to_string())?;
        let len = g
            .info()
            .ok()
            .and_then(|info| {
                info.intervals
                    .into_iter()
                    .find(|i| interval.is_none_or(|n| i.name == n || i.normalized == n))
            })
            .map(|i| (i.current_start_ms, i.length_ms));
        let windows: Vec<Value> = windows
            .iter()
            .map(|w| json!({"start_ms": w.start_ms, "counts": counts_object(&w.counts)}))
            .collect();
        Ok(json!({
            "up": true,
            "group": group,
            "windows": windows,
            "current": {"start_ms": len.map_or(0, |l| l.0), "counts": counts_object(&current)},
            "length_ms": len.map_or(0, |l| l.1),
        }))
    });
    match read {
        None => down("Redis did not answer in time"),
        Some(Err(e)) => down(&e),
        Some(Ok(value)) => value,
    }
}

/// The value of `key` in a query string, percent-decoded.
fn query(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_decoded() {
        assert_eq!(
            query("group=a%20b&interval=5m", "group").as_deref(),
            Some("a b")
        );
        assert_eq!(
            query("group=%3Cscript%3E", "group").as_deref(),
            Some("<script>")
        );
        assert_eq!(query("x=1", "group"), None);
        assert_eq!(percent_decode("100%"), "100%");
    }
}
