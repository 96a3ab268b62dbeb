//! The YAML configuration shared by the module, the client and the CLI.
//!
//! Every config the original Python project accepted loads unchanged. Errors
//! name the file, the group and the key, so an operator can fix them without
//! reading code.

use crate::event_id::{check_client_event_id, EventIdError};
use crate::interval::{parse_interval_ms, IntervalMs};
use crate::store::GroupShape;
use serde_yaml::{Mapping, Value};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// Longest group name (from the one table of limits).
pub use crate::limits::GROUP_NAME_BYTES as MAX_GROUP_NAME_LEN;
/// `max_events` when the config does not say.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000;

/// A config that could not be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub group: Option<String>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}", self.file)?;
        if let Some(group) = &self.group {
            write!(f, ", group '{group}'")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key '{key}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One configured interval: the text as written and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalSpec {
    pub name: String,
    pub ms: u64,
}

/// One event group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    pub name: String,
    pub events: Vec<String>,
    pub intervals: Vec<IntervalSpec>,
    pub auto_declare_events: bool,
    /// Client side: flush local counts this often.
    pub sync_interval: Option<Duration>,
    /// Client side: flush as soon as a local count reaches this.
    pub sync_limit: Option<u64>,
    pub max_events: u64,
    /// Closed windows kept per interval cover this duration (`history`;
    /// `None`: the last window only).
    pub history_ms: Option<u64>,
}

impl GroupConfig {
    /// A group known by name only: direct, every event left to the server.
    pub fn unchecked(name: &str) -> GroupConfig {
        GroupConfig {
            name: name.to_string(),
            events: Vec::new(),
            intervals: Vec::new(),
            // The server decides which events it accepts.
            auto_declare_events: true,
            sync_interval: None,
            sync_limit: None,
            max_events: DEFAULT_MAX_EVENTS,
            history_ms: None,
        }
    }

    /// A group the server has and the config does not list: its intervals
    /// as the server names them; events are left to the server to check.
    pub fn from_server(name: &str, info: &crate::protocol::GroupInfo) -> GroupConfig {
        GroupConfig {
            intervals: info
                .intervals
                .iter()
                .map(|i| IntervalSpec {
                    name: i.name.clone(),
                    ms: i.length_ms,
                })
                .collect(),
            max_events: info.max_events,
            ..GroupConfig::unchecked(name)
        }
    }

    /// Whether clients keep local counts (cached mode) for this group.
    pub fn is_cached(&self) -> bool {
        self.sync_interval.is_some() || self.sync_limit.is_some()
    }

    /// The interval whose length equals `ms`.
    pub fn interval_by_ms(&self, ms: u64) -> Option<&IntervalSpec> {
        self.intervals.iter().find(|i| i.ms == ms)
    }

    /// Configured intervals, comma separated, for messages.
    pub fn interval_names(&self) -> String {
        let names: Vec<&str> = self.intervals.iter().map(|i| i.name.as_str()).collect();
        names.join(", ")
    }
}

/// Connection settings for clients and the CLI (the module ignores them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedisSettings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub db: Option<i64>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `redis://` or `rediss://` URL; overrides host, port, db and credentials.
    pub url: Option<String>,
    /// Unix socket path (also accepted as redis-py's `unix_socket_path`).
    pub path: Option<String>,
    /// Redis Cluster seed nodes `host:port`; overrides everything else.
    pub cluster: Vec<String>,
    /// How long a command's reply may take (redis-py's `socket_timeout`);
    /// [`RedisSettings::response_timeout`] gives the default.
    pub timeout: Option<Duration>,
    /// How long connecting may take, handshake included (redis-py's
    /// `socket_connect_timeout`); [`RedisSettings::connect_timeout`] gives
    /// the default.
    pub connect_timeout: Option<Duration>,
    /// TLS (redis-py's `ssl`; a `rediss://` URL too).
    pub tls: bool,
    /// TLS: the CA certificates to trust (PEM file; redis-py's
    /// `ssl_ca_certs`); the system's roots otherwise.
    pub tls_ca_certs: Option<String>,
    /// TLS client certificate and key (PEM files; redis-py's
    /// `ssl_certfile`, `ssl_keyfile`).
    pub tls_certfile: Option<String>,
    pub tls_keyfile: Option<String>,
    /// TLS without checking the server's certificate (redis-py's
    /// `ssl_cert_reqs: none`; the default checks it).
    pub tls_insecure: bool,
}

/// The rule for group names, for configs and `ECL.CREATE` alike: 1 to 128
/// bytes, no NUL, whitespace, `{` or `}` (the name is the key's hash tag).
pub fn check_group_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("group name is empty".to_string())
    } else if name.len() > MAX_GROUP_NAME_LEN {
        Err(format!(
            "group name is longer than {MAX_GROUP_NAME_LEN} bytes"
        ))
    } else if name
        .chars()
        .any(|c| c.is_whitespace() || c == '{' || c == '}' || c == '\0')
    {
        Err("group name must not contain NUL, whitespace, '{' or '}'".to_string())
    } else {
        Ok(())
    }
}

/// A boolean as the original's YAML loader (PyYAML, YAML 1.1) read it:
/// `true`/`false`, `yes`/`no`, `on`/`off`, in any case.
fn yaml11_bool(value: &Value) -> Option<bool> {
    if let Some(b) = value.as_bool() {
        return Some(b);
    }
    match value.as_str()?.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether `url` names a Redis server the way the clients accept it.
pub fn is_redis_url(url: &str) -> bool {
    ["redis://", "rediss://", "unix://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

impl RedisSettings {
    /// Default of `socket_connect_timeout` (SPEC §5).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default of `socket_timeout` (SPEC §5).
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

    /// How long connecting (handshake included) may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
            .unwrap_or(Self::DEFAULT_CONNECT_TIMEOUT)
    }

    /// How long a reply may take.
    pub fn response_timeout(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_RESPONSE_TIMEOUT)
    }
}

/// A loaded, validated configuration (the default: no groups, Redis on
/// localhost).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub redis: RedisSettings,
    /// Groups in the order the file lists them.
    pub groups: Vec<GroupConfig>,
    /// Things accepted but ignored, to be logged by the caller.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            group: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, &file)
    }

    /// Validates config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        Parser { file }.config(text)
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// The known key a misspelt `key` most likely meant: the same once case and
/// `-`/`_` are ignored, or at most two edits away.
fn likely_meant<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let normal = key.to_ascii_lowercase().replace('-', "_");
    known
        .iter()
        .map(|&k| (edit_distance(&normal, k), k))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Validation state: only the file name, for error messages.
struct Parser<'a> {
    file: &'a str,
}

const GROUP_KEYS: &[&str] = &[
    "events",
    "intervals",
    "auto_declare_events",
    "sync_interval",
    "sync_limit",
    "max_events",
    "history",
];

impl Parser<'_> {
    fn error(
        &self,
        group: Option<&str>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_string(),
            group: group.map(str::to_string),
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    fn config(&self, text: &str) -> Result<Config, ConfigError> {
        let root: Value = serde_yaml::from_str(text)
            .map_err(|e| self.error(None, None, format!("not valid YAML: {e}")))?;
        let root = match root {
            Value::Mapping(m) => m,
            Value::Null => return Err(self.error(None, None, "the file is empty")),
            _ => {
                return Err(self.error(
                    None,
                    None,
                    "expected a mapping with 'groups' (and optionally 'redis')",
                ))
            }
        };
        let mut warnings = Vec::new();
        let mut redis = RedisSettings::default();
        let mut groups = None;
        for (key, value) in &root {
            match key.as_str() {
                Some("redis") => redis = self.redis(value, &mut warnings)?,
                Some("groups") => groups = Some(self.groups(value, &mut warnings)?),
                _ => warnings.push(format!(
                    "config {}: ignoring unknown top-level key {}",
                    self.file,
                    describe_key(key)
                )),
            }
        }
        let groups = groups.ok_or_else(|| self.error(None, Some("groups"), "missing"))?;
        Ok(Config {
            redis,
            groups,
            warnings,
        })
    }

    fn redis(
        &self,
        value: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<RedisSettings, ConfigError> {
        let mut settings = RedisSettings::default();
        let map = match value {
            Value::Null => return Ok(settings),
            Value::Mapping(m) => m,
            _ => return Err(self.error(None, Some("redis"), "expected a mapping")),
        };
        let mut ignored = Vec::new();
        for (key, value) in map {
            let Some(name) = key.as_str() else {
                ignored.push(describe_key(key));
                continue;
            };
            let at = format!("redis.{name}");
            let string = |v: &Value| self.scalar_string(v, None, &at);
            match name {
                "host" => settings.host = Some(string(value)?),
                "port" => {
                    let port = self.unsigned(value, None, &at)?;
                    settings.port = Some(
                        u16::try_from(port)
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or_else(|| self.error(None, Some(&at), "must be 1..=65535"))?,
                    );
                }
                "db" => settings.db = Some(self.unsigned(value, None, &at)? as i64),
                "username" => settings.username = Some(string(value)?),
                "password" => settings.password = Some(string(value)?),
                "url" => {
                    let url = string(value)?;
                    if !is_redis_url(&url) {
                        return Err(self.error(
                            None,
                            Some(&at),
                            "must start with redis://, rediss:// or unix://",
                        ));
                    }
                    settings.url = Some(url);
                }
                "path" | "unix_socket_path" => settings.path = Some(string(value)?),
                "socket_timeout" | "timeout" => {
                    if !value.is_null() {
                        settings.timeout = Some(self.seconds(value, None, &at)?);
                    }
                }
                "socket_connect_timeout" => {
                    if !value.is_null() {
                        settings.connect_timeout = Some(self.seconds(value, None, &at)?);
                    }
                }
                "ssl" | "tls" => {
                    settings.tls = yaml11_bool(value)
                        .ok_or_else(|| self.error(None, Some(&at), "expected true or false"))?
                }
                "ssl_ca_certs" => settings.tls_ca_certs = Some(string(value)?),
                "ssl_certfile" => settings.tls_certfile = Some(string(value)?),
                "ssl_keyfile" => settings.tls_keyfile = Some(string(value)?),
                "ssl_cert_reqs" => {
                    settings.tls_insecure = match string(value)?.to_ascii_lowercase().as_str() {
                        "required" | "cert_required" | "optional" | "cert_optional" => false,
                        "none" | "cert_none" => true,
                        other => {
                            return Err(self.error(
                                None,
                                Some(&at),
                                format!("'{other}' is not one of required, optional, none"),
                            ))
                        }
                    }
                }
                "cluster" => {
                    let Value::Sequence(nodes) = value else {
                        return Err(self.error(None, Some(&at), "expected a list of host:port"));
                    };
                    for node in nodes {
                        let node = string(node)?;
                        if !node.contains(':') {
                            return Err(self.error(
                                None,
                                Some(&at),
                                format!("'{node}' is not host:port"),
                            ));
                        }
                        settings.cluster.push(node);
                    }
                }
                _ => ignored.push(name.to_string()),
            }
        }
        if !ignored.is_empty() {
            warnings.push(format!(
                "config {}: ignoring redis keys not used by ECL: {}",
                self.file,
                ignored.join(", ")
            ));
        }
        Ok(settings)
    }

    fn groups(
        &self,
        value: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<GroupConfig>, ConfigError> {
        let map = match value {
            Value::Mapping(m) => m,
            Value::Null => return Ok(Vec::new()),
            _ => {
                return Err(self.error(
                    None,
                    Some("groups"),
                    "expected a mapping of group name to group",
                ))
            }
        };
        let mut groups: Vec<GroupConfig> = Vec::with_capacity(map.len());
        for (name, body) in map {
            let name = match name {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(self.error(
                        None,
                        Some("groups"),
                        format!("group name {} is not a string", describe_key(other)),
                    ))
                }
            };
            self.check_group_name(&name)?;
            if groups.iter().any(|g| g.name == name) {
                return Err(self.error(Some(&name), None, "defined twice"));
            }
            groups.push(self.group(&name, body, warnings)?);
        }
        Ok(groups)
    }

    fn check_group_name(&self, name: &str) -> Result<(), ConfigError> {
        check_group_name(name).map_err(|message| self.error(Some(name), None, message))
    }

    fn group(
        &self,
        name: &str,
        body: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<GroupConfig, ConfigError> {
        let group = Some(name);
        let map: &Mapping = body.as_mapping().ok_or_else(|| {
            self.error(
                group,
                None,
                "expected a mapping with 'intervals' (and 'events', ...)",
            )
        })?;
        // The original ignored keys it did not know, and real configs carry
        // some (`sync-interval`): a warning, never a refusal (SPEC §3).
        for key in map.keys() {
            match key.as_str() {
                Some(k) if GROUP_KEYS.contains(&k) => {}
                other => {
                    let hint = other
                        .and_then(|k| likely_meant(k, GROUP_KEYS))
                        .map(|k| format!(" (did you mean '{k}'?)"))
                        .unwrap_or_else(|| format!(" (known: {})", GROUP_KEYS.join(", ")));
                    warnings.push(format!(
                        "config {}, group '{name}': ignoring unknown key '{}'{hint}",
                        self.file,
                        describe_key(key)
                    ));
                }
            }
        }
        let get = |key: &str| map.get(key).filter(|v| !v.is_null());

        let mut events: Vec<String> = Vec::new();
        let mut seen_events: std::collections::HashSet<String> = std::collections::HashSet::new();
        if let Some(value) = get("events") {
            let list = value
                .as_sequence()
                .ok_or_else(|| self.error(group, Some("events"), "expected a list of event IDs"))?;
            for item in list {
                let id = self.scalar_string(item, group, "events")?;
                check_client_event_id(id.as_bytes()).map_err(|e: EventIdError| {
                    self.error(group, Some("events"), format!("event '{id}': {e}"))
                })?;
                if !seen_events.insert(id.clone()) {
                    return Err(self.error(
                        group,
                        Some("events"),
                        format!("event '{id}' is listed twice"),
                    ));
                }
                events.push(id);
            }
        }

        let list = get("intervals")
            .ok_or_else(|| {
                self.error(
                    group,
                    Some("intervals"),
                    "missing (a non-empty list such as [5s, 5m])",
                )
            })?
            .as_sequence()
            .ok_or_else(|| {
                self.error(group, Some("intervals"), "expected a list such as [5s, 5m]")
            })?;
        if list.is_empty() {
            return Err(self.error(group, Some("intervals"), "must not be empty"));
        }
        let mut intervals: Vec<IntervalSpec> = Vec::new();
        for item in list {
            let text = self.scalar_string(item, group, "intervals")?;
            let ms = parse_interval_ms(&text)
                .map_err(|e| self.error(group, Some("intervals"), e.to_string()))?;
            if let Some(same) = intervals.iter().find(|i| i.ms == ms) {
                return Err(self.error(
                    group,
                    Some("intervals"),
                    format!("'{text}' duplicates '{}' ({})", same.name, IntervalMs(ms)),
                ));
            }
            intervals.push(IntervalSpec { name: text, ms });
        }

        let auto_declare_events = match get("auto_declare_events") {
            None => false,
            Some(v) => yaml11_bool(v).ok_or_else(|| {
                self.error(
                    group,
                    Some("auto_declare_events"),
                    "expected true or false (or yes/no, on/off)",
                )
            })?,
        };
        let sync_interval = match get("sync_interval") {
            None => None,
            Some(v) => Some(self.seconds(v, group, "sync_interval")?),
        };
        let sync_limit = match get("sync_limit") {
            None => None,
            Some(v) => {
                let n = self.unsigned(v, group, "sync_limit")?;
                if n == 0 {
                    return Err(self.error(group, Some("sync_limit"), "must be at least 1"));
                }
                Some(n)
            }
        };
        let max_events = match get("max_events") {
            None => DEFAULT_MAX_EVENTS,
            Some(v) => self.unsigned(v, group, "max_events")?,
        };
        let history_ms = match get("history") {
            None => None,
            Some(v) => {
                let text = self.scalar_string(v, group, "history")?;
                Some(
                    parse_interval_ms(&text)
                        .map_err(|e| self.error(group, Some("history"), e.to_string()))?,
                )
            }
        };
        let config = GroupConfig {
            name: name.to_string(),
            events,
            intervals,
            auto_declare_events,
            sync_interval,
            sync_limit,
            max_events,
            history_ms,
        };
        GroupShape::from(&config)
            .check_limits(0)
            .map_err(|e| self.error(group, None, e.to_string()))?;
        Ok(config)
    }

    /// A string, or a number written without quotes (the seed's YAML loader
    /// accepted `events: [404, 500]` and used them as strings).
    fn scalar_string(
        &self,
        value: &Value,
        group: Option<&str>,
        key: &str,
    ) -> Result<String, ConfigError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.error(
                group,
                Some(key),
                format!("expected a string, got {}", describe(value)),
            )),
        }
    }

    fn unsigned(&self, value: &Value, group: Option<&str>, key: &str) -> Result<u64, ConfigError> {
        value.as_u64().ok_or_else(|| {
            self.error(
                group,
                Some(key),
                format!("expected a non-negative integer, got {}", describe(value)),
            )
        })
    }

    /// Seconds as an int or float, positive and finite.
    fn seconds(
        &self,
        value: &Value,
        group: Option<&str>,
        key: &str,
    ) -> Result<Duration, ConfigError> {
        let secs = value
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
            .ok_or_else(|| {
                self.error(
                    group,
                    Some(key),
                    format!(
                        "expected a positive number of seconds, got {}",
                        describe(value)
                    ),
                )
            })?;
        Ok(Duration::from_secs_f64(secs))
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) => format!("'{s}'"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

fn describe_key(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => describe(other),
    }
}

impl From<&GroupConfig> for GroupShape {
    fn from(g: &GroupConfig) -> Self {
        GroupShape {
            name: g.name.clone(),
            intervals: g.intervals.iter().map(|i| i.ms).collect(),
            declared: g.events.iter().map(|e| e.as_bytes().to_vec()).collect(),
            auto_declare: g.auto_declare_events,
            max_events: g.max_events,
            history_ms: g.history_ms.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "test.yml")
    }

    fn err(text: &str) -> ConfigError {
        parse(text).expect_err("config should be refused")
    }

    const SEED: &str = include_str!("../../example_config.yml");

    #[test]
    fn loads_the_example_config() {
        let config = parse(SEED).unwrap();
        let group1 = config.group("group1").unwrap();
        assert_eq!(group1.events, ["event1", "event2"]);
        assert_eq!(
            group1.intervals.iter().map(|i| i.ms).collect::<Vec<_>>(),
            [10_000, 60_000]
        );
        assert_eq!(group1.sync_interval, Some(Duration::from_secs(2)));
        assert_eq!(group1.sync_limit, Some(5));
        assert!(group1.is_cached());
        let group2 = config.group("group2").unwrap();
        assert!(group2.auto_declare_events);
        assert!(!group2.is_cached());
        assert_eq!(group2.max_events, DEFAULT_MAX_EVENTS);
        assert_eq!(config.redis.port, Some(6379));
    }

    #[test]
    fn defaults_and_numbers_as_events() {
        let c = parse("groups:\n  g:\n    intervals: [1s]\n  h:\n    events: [404, ok]\n    intervals: ['1.5m']\n    sync_interval: 0.5\n").unwrap();
        let g = c.group("g").unwrap();
        assert!(g.events.is_empty());
        assert!(!g.auto_declare_events);
        assert_eq!(c.group("h").unwrap().events, ["404", "ok"]);
        assert_eq!(
            c.group("h").unwrap().sync_interval,
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            c.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["g", "h"]
        );
    }

    #[test]
    fn errors_name_file_group_and_key() {
        let e = err("groups:\n  g:\n    intervals: [5x]\n");
        assert_eq!(
            (e.file.as_str(), e.group.as_deref(), e.key.as_deref()),
            ("test.yml", Some("g"), Some("intervals"))
        );
        assert!(
            e.to_string().starts_with(
                "config test.yml, group 'g', key 'intervals': '5x' is not an interval"
            ),
            "{e}"
        );
    }

    #[test]
    fn unknown_group_keys_are_warnings_with_the_likely_key() {
        let c = Config::parse(
            "groups:\n  g:\n    intervals: [1s]\n    sync-interval: 1\n    colour: red\n",
            "app.yml",
        )
        .unwrap();
        assert_eq!(
            c.groups[0].sync_interval, None,
            "the misspelt key is ignored, as the original did"
        );
        assert_eq!(
            c.warnings,
            [
                "config app.yml, group 'g': ignoring unknown key 'sync-interval' (did you mean 'sync_interval'?)",
                "config app.yml, group 'g': ignoring unknown key 'colour' (known: events, intervals, auto_declare_events, sync_interval, sync_limit, max_events, history)",
            ]
        );
        assert_eq!(likely_meant("maxevents", GROUP_KEYS), Some("max_events"));
        assert_eq!(likely_meant("interval", GROUP_KEYS), Some("intervals"));
    }

    #[test]
    fn refuses_what_the_spec_lists() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                "groups:\n  g:\n    events: []\n",
                Some("intervals"),
                "missing",
            ),
            (
                "groups:\n  g:\n    intervals: []\n",
                Some("intervals"),
                "must not be empty",
            ),
            (
                "groups:\n  g:\n    intervals: [1s, 1000ms]\n",
                Some("intervals"),
                "duplicates",
            ),
            (
                "groups:\n  g:\n    intervals: 1s\n",
                Some("intervals"),
                "expected a list",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    events: [a, a]\n",
                Some("events"),
                "listed twice",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    events: ['@x']\n",
                Some("events"),
                "reserved",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    events: ['']\n",
                Some("events"),
                "1 to 1024",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    auto_declare_events: 3\n",
                Some("auto_declare_events"),
                "true or false",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    sync_interval: -1\n",
                Some("sync_interval"),
                "positive",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    sync_limit: 0\n",
                Some("sync_limit"),
                "at least 1",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    sync_limit: 1.5\n",
                Some("sync_limit"),
                "integer",
            ),
            (
                "groups:\n  g:\n    intervals: [1s]\n    max_events: -3\n",
                Some("max_events"),
                "integer",
            ),
            (
                "groups:\n  g:\n    intervals: [50ms]\n",
                Some("intervals"),
                "minimum",
            ),
        ];
        for (text, key, needle) in cases {
            let e = err(text);
            assert_eq!(e.group.as_deref(), Some("g"), "{text}");
            assert_eq!(e.key.as_deref(), *key, "{text}");
            assert!(e.message.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn refuses_bad_group_names() {
        for name in ["''", "'a b'", "'a{b'", "'x}'", &"n".repeat(129)] {
            let e = err(&format!("groups:\n  {name}:\n    intervals: [1s]\n"));
            assert!(e.message.contains("group name"), "{name}: {e}");
        }
        assert!(parse(&format!(
            "groups:\n  {}:\n    intervals: [1s]\n",
            "n".repeat(128)
        ))
        .is_ok());
    }

    #[test]
    fn refuses_non_configs() {
        assert!(err("").message.contains("empty"));
        assert!(err("[1, 2]").message.contains("mapping"));
        assert!(err(": : :").message.contains("YAML"));
        assert_eq!(err("redis: {}\n").key.as_deref(), Some("groups"));
    }

    #[test]
    fn redis_section_maps_redis_py_keys_and_warns_on_the_rest() {
        let c = parse(
            "redis:\n  unix_socket_path: /tmp/r.sock\n  socket_timeout: 2.5\n  ssl: true\n  decode_responses: true\n  health_check_interval: 3\ngroups: {}\n",
        )
        .unwrap();
        assert_eq!(c.redis.path.as_deref(), Some("/tmp/r.sock"));
        assert_eq!(c.redis.timeout, Some(Duration::from_millis(2500)));
        assert!(c.redis.tls);
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("decode_responses, health_check_interval"),
            "{:?}",
            c.warnings
        );
        assert_eq!(
            err("redis:\n  port: 70000\ngroups: {}\n").key.as_deref(),
            Some("redis.port")
        );
        assert_eq!(
            err("redis:\n  url: http://x\ngroups: {}\n").key.as_deref(),
            Some("redis.url")
        );
        let c =
            parse("redis:\n  cluster: ['127.0.0.1:7000', '127.0.0.1:7001']\ngroups: {}\n").unwrap();
        assert_eq!(c.redis.cluster.len(), 2);
    }
}
