//! The commands behind `ecl`, `ecl_reader` and `ecl_log_event`: each returns
//! its output as text, or a [`CliError`] that says which exit code it means.

pub mod app;
pub mod exporter;
pub mod http;
pub mod munin;
pub mod seed_tools;
pub mod serve;
pub mod stderr_log;
pub mod top;

use ecl_client::{ClientError, Config, Counts, EclClient};
use ecl_core::command::resolve_interval;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Environment variable overriding the config's Redis connection.
pub const URL_ENV: &str = "ECL_REDIS_URL";

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments or config: exit code 2.
    Usage(String),
    /// Redis unreachable or a server error: exit code 1.
    Runtime(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Runtime(_) => 1,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CliError::Usage(m) | CliError::Runtime(m) => m,
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Redis(_) | ClientError::Flush(_) => CliError::Runtime(e.to_string()),
            _ => CliError::Usage(e.to_string()),
        }
    }
}

/// Output format of reading commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

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

/// The config, with `url` (or `ECL_REDIS_URL`) overriding its `redis:`
/// section. Every group is made direct: the CLI reads, or logs once.
pub fn load_config(path: &Path, url: Option<&str>) -> Result<Config, CliError> {
    load_optional_config(Some(path), url)
}

/// [`load_config`] where the file is optional (SPEC §6): without one, the
/// groups come from the server and Redis is `--url`, `ECL_REDIS_URL` or
/// `redis://127.0.0.1:6379/0`.
pub fn load_optional_config(path: Option<&Path>, url: Option<&str>) -> Result<Config, CliError> {
    let mut config = match path {
        Some(path) => Config::load(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => {
            let mut config = Config::default();
            config.redis.host = Some("127.0.0.1".into());
            config
        }
    };
    let env_url = std::env::var(URL_ENV).ok().filter(|u| !u.is_empty());
    if let Some(url) = url.map(str::to_string).or(env_url) {
        if !ecl_core::config::is_redis_url(&url) {
            return Err(CliError::Usage(format!(
                "bad Redis URL '{url}': must start with redis://, rediss:// or unix://"
            )));
        }
        config.redis.url = Some(url);
        config.redis.cluster.clear();
    }
    for group in &mut config.groups {
        group.sync_interval = None;
        group.sync_limit = None;
    }
    // Unknown keys are warnings (the original ignored them): said once on
    // stderr, never on stdout, which the seed's tools' users parse.
    for warning in std::mem::take(&mut config.warnings) {
        eprintln!("warning: {warning}");
    }
    Ok(config)
}

/// `ECL.INFO` as JSON, as `ecl info --format json` prints one group.
pub fn info_json(info: &ecl_client::GroupInfo) -> String {
    serde_json::to_string(info).unwrap_or_else(|_| "{}".into())
}

/// The config's groups, or every group on the server when the config
/// lists none.
pub fn all_groups(config: &Config, ecl: &EclClient) -> Result<Vec<String>, CliError> {
    if config.groups.is_empty() {
        Ok(ecl.server_groups()?)
    } else {
        Ok(config.groups.iter().map(|g| g.name.clone()).collect())
    }
}

/// `ecl groups`: the groups on the server (and the module's config), one a line.
pub fn groups(config: &Config) -> Result<String, CliError> {
    let names = client(config)?.server_groups()?;
    Ok(names.iter().map(|n| format!("{n}\n")).collect())
}

/// `ecl create|declare|alter|drop`: a schema command as the module takes it.
pub fn schema_command(config: &Config, command: &str, args: &[String]) -> Result<String, CliError> {
    let ecl = client(config)?;
    let reply = ecl.raw_command(command, args)?;
    Ok(format!("{reply}\n"))
}

/// `ecl declare [CONFIG] [GROUP ...]`: declares the config's groups (the
/// named ones, or all) on the server, as clients do when they connect.
pub fn declare_config(config: &Config, only: &[String]) -> Result<String, CliError> {
    let ecl = client(config)?;
    let mut out = String::new();
    for g in &config.groups {
        if !only.is_empty() && !only.contains(&g.name) {
            continue;
        }
        let shape = ecl_core::GroupShape::from(g);
        let args: Vec<String> = ecl_core::schema::SchemaArgs::full(&shape, false, None)
            .into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect();
        ecl.raw_command("ECL.DECLARE", &args)?;
        let _ = writeln!(out, "declared {}", g.name);
    }
    for name in only {
        if config.group(name).is_none() {
            return Err(CliError::Usage(format!(
                "group '{name}' is not in the config"
            )));
        }
    }
    Ok(out)
}

/// `ecl check CONFIG`: every warning and error of a config, one per line;
/// an error (exit 2) if there is any, for CI.
pub fn check(path: &Path) -> Result<String, CliError> {
    let config = Config::load(path).map_err(|e| CliError::Usage(e.to_string()))?;
    if config.warnings.is_empty() {
        return Ok(format!(
            "{}: OK, {} groups\n",
            path.display(),
            config.groups.len()
        ));
    }
    for warning in &config.warnings {
        println!("warning: {warning}");
    }
    Err(CliError::Usage(format!(
        "{} warnings in {}",
        config.warnings.len(),
        path.display()
    )))
}

/// A client for one run: one deadline for all its round trips, and a log
/// Redis cannot confirm is an error (exit 1), not kept for later as an
/// application's client keeps it.
pub(crate) fn client(config: &Config) -> Result<EclClient, CliError> {
    let client = EclClient::from_config(config)?;
    client.for_one_shot_run();
    Ok(client)
}

/// The schema of a group: the config's, else the server's.
fn group_schema(
    config: &Config,
    ecl: &EclClient,
    group: &str,
) -> Result<ecl_client::GroupConfig, CliError> {
    if let Some(g) = config.group(group) {
        return Ok(g.clone());
    }
    let g = ecl.group(group);
    if !g.is_configured() {
        return Err(CliError::Usage(format!(
            "group '{group}' is not in the config nor on the server"
        )));
    }
    let info = g.info()?;
    Ok(ecl_client::GroupConfig::from_server(group, &info))
}

/// The original scripts' rule: the group must be in the config.
pub fn require_in_config(config: &Config, group: &str) -> Result<(), CliError> {
    match config.group(group) {
        Some(_) => Ok(()),
        None => Err(CliError::Usage(format!(
            "group '{group}' is not in the config"
        ))),
    }
}

/// The configured name of the interval a user asked for (or the only one).
fn interval_name(g: &ecl_client::GroupConfig, interval: Option<&str>) -> Result<String, CliError> {
    let ms = resolve_interval(&g.name, &g.intervals, interval.map(str::as_bytes))
        .map_err(|e| CliError::Usage(e.message()))?;
    Ok(g.interval_by_ms(ms)
        .expect("resolved from the config")
        .name
        .clone())
}

fn lines(out: &mut String, counts: &Counts) {
    for (event, count) in counts {
        let _ = writeln!(out, "{event}:{count}");
    }
}

fn object(counts: &Counts) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(e, c)| (e.clone(), json!(c)))
            .collect::<Map<_, _>>(),
    )
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

/// `ecl log` / `ecl_log_event`: adds `count` to an event, one `ECL.LOG`.
pub fn log(config: &Config, group: &str, event: &str, count: u64) -> Result<String, CliError> {
    let ecl = client(config)?;
    group_schema(config, &ecl, group)?;
    ecl.group(group).log_n(event, count)?;
    Ok(String::new())
}

/// `ecl totals`: `event:count` lines of every total.
pub fn totals(config: &Config, group: &str, format: Format) -> Result<String, CliError> {
    let ecl = client(config)?;
    group_schema(config, &ecl, group)?;
    let totals = ecl.group(group).totals()?;
    Ok(match format {
        Format::Text => {
            let mut out = String::new();
            lines(&mut out, &totals);
            out
        }
        Format::Json => json!({ "group": group, "totals": object(&totals) }).to_string() + "\n",
    })
}

/// `ecl info`: groups, intervals, window times, events and tallies.
pub fn info(config: &Config, group: Option<&str>, format: Format) -> Result<String, CliError> {
    let ecl = client(config)?;
    let names: Vec<String> = match group {
        Some(g) => vec![group_schema(config, &ecl, g)?.name],
        None => all_groups(config, &ecl)?,
    };
    let mut text = String::new();
    let mut docs = Vec::new();
    for name in names {
        let info = ecl.group(&name).info()?;
        let _ = writeln!(text, "group {name}");
        for i in &info.intervals {
            let _ = writeln!(
                text,
                "  interval {} ({} ms): current window from {} ms, last from {} ms",
                i.name, i.length_ms, i.current_start_ms, i.last_start_ms
            );
        }
        let _ = writeln!(
            text,
            "  events: {} declared, {} auto-declared (max {}); overflowed {}, late_dropped {}, clock_steps {}; memory {} bytes",
            info.declared_events, info.auto_declared_events, info.max_events, info.overflowed, info.late_dropped, info.clock_steps, info.memory_bytes
        );
        docs.push(serde_json::to_value(&info).map_err(|e| CliError::Runtime(e.to_string()))?);
    }
    Ok(match format {
        Format::Text => text,
        Format::Json => Value::Array(docs).to_string() + "\n",
    })
}

/// The original scripts' exit statuses: they exited 1 for an unknown group,
/// a missing `-i`, an unknown interval and every other failure they met
/// after parsing their arguments (argparse's own errors, 2, stay clap's).
pub fn with_seed_status(result: Result<String, CliError>) -> Result<String, CliError> {
    result.map_err(|e| match e {
        CliError::Usage(message) => CliError::Runtime(message),
        other => other,
    })
}

/// Prints a command's outcome and exits with the code SPEC §6 gives:
/// 0 success, 1 runtime failure, 2 usage or config error.
pub fn finish(program: &str, result: Result<String, CliError>) -> ! {
    match result {
        Ok(out) => {
            print!("{out}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{program}: {}", e.message().replace('\n', " "));
            std::process::exit(e.exit_code())
        }
    }
}
