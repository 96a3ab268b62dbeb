//! `EclClient`: one per process, shared by all threads.

use crate::cached::CachedGroup;
use crate::connection::Pool;
use crate::error::ClientError;
use crate::flusher::FlushStats;
use crate::group::Group;
use crate::inner::{ClientInner, GroupKind};
use crate::parked::Parked;
use crate::wake::Wake;
use ecl_core::GroupShape;
use ecl_core::{Config, GroupConfig, RedisSettings};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The ECL client. Cheap to clone; every clone, group and event handle
/// shares one connection pool and one background flusher. When the last of
/// them is dropped, everything counted is flushed (see [`EclClient::flush`]).
///
/// ```no_run
/// let ecl = ecl_client::EclClient::from_config_file("example_config.yml")?;
/// let requests = ecl.group("group1");
/// requests.log("event1")?;
/// let hits = requests.event("event2")?; // pre-resolved: the fastest way to count
/// hits.inc();
/// ecl.flush()?;
/// # Ok::<(), ecl_client::ClientError>(())
/// ```
#[derive(Clone)]
pub struct EclClient {
    pub(crate) inner: Arc<ClientInner>,
}

/// How long `flush()` waits for Redis unless told otherwise.
const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a client from code instead of a file.
///
/// ```no_run
/// use ecl_client::EclClient;
/// let ecl = EclClient::builder()
///     .url("redis://127.0.0.1:6379/0")
///     .group_yaml("requests", "events: [ok, error]\nintervals: [5s, 5m]\nsync_interval: 1")?
///     .build()?;
/// # Ok::<(), ecl_client::ClientError>(())
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    redis: RedisSettings,
    groups: Vec<GroupConfig>,
    flush_timeout: Option<Duration>,
}

impl ClientBuilder {
    /// Connects to this URL (`redis://`, `rediss://`, `unix://`).
    pub fn url(mut self, url: &str) -> Self {
        self.redis.url = Some(url.to_string());
        self
    }

    /// Uses these connection settings (as the config's `redis:` section).
    pub fn redis(mut self, settings: RedisSettings) -> Self {
        self.redis = settings;
        self
    }

    /// Adds a group.
    pub fn group(mut self, group: GroupConfig) -> Self {
        self.groups.push(group);
        self
    }

    /// Adds a group written as the YAML body of a config's group entry.
    pub fn group_yaml(self, name: &str, body: &str) -> Result<Self, ClientError> {
        let indented: String = body.lines().map(|l| format!("    {l}\n")).collect();
        let config = Config::parse(&format!("groups:\n  {name}:\n{indented}"), "<builder>")?;
        Ok(self.group(config.groups.into_iter().next().expect("one group")))
    }

    /// How long `flush()` waits at most (default 10 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = Some(timeout);
        self
    }

    /// Builds the client (and starts its flusher if a group is cached).
    pub fn build(self) -> Result<EclClient, ClientError> {
        EclClient::new(
            &self.redis,
            self.groups,
            self.flush_timeout.unwrap_or(DEFAULT_FLUSH_TIMEOUT),
        )
    }
}

// Shared by all threads of a process.
const _: () = {
    const fn assert_shareable<T: Clone + Send + Sync>() {}
    assert_shareable::<EclClient>();
    assert_shareable::<crate::Group>();
    assert_shareable::<crate::EventHandle>();
    // Moved into the thread that counts (not shared: see its docs).
    const fn assert_sendable<T: Send>() {}
    assert_sendable::<crate::LocalEventHandle>();
};

impl EclClient {
    /// Reads a config file (the same YAML as the module's).
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<EclClient, ClientError> {
        EclClient::from_config(&Config::load(path.as_ref())?)
    }

    /// From a loaded config.
    pub fn from_config(config: &Config) -> Result<EclClient, ClientError> {
        for warning in &config.warnings {
            log::warn!("ECL: {warning}");
        }
        EclClient::new(&config.redis, config.groups.clone(), DEFAULT_FLUSH_TIMEOUT)
    }

    /// Starts building a client from code.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    fn new(
        redis: &RedisSettings,
        groups: Vec<GroupConfig>,
        flush_timeout: Duration,
    ) -> Result<EclClient, ClientError> {
        crate::fork::watch();
        let generation = crate::fork::generation();
        let shapes: Vec<GroupShape> = groups.iter().map(GroupShape::from).collect();
        let pool = Arc::new(Pool::new(redis, &shapes)?);
        let wake = Arc::new(Wake::default());
        let mut kinds = HashMap::new();
        let mut cached = Vec::new();
        for config in groups {
            let config = Arc::new(config);
            let kind = if config.is_cached() {
                let group = Arc::new(CachedGroup::new(&config, wake.clone()));
                cached.push(group.clone());
                GroupKind::Cached(config.clone(), group)
            } else {
                GroupKind::Direct(config.clone())
            };
            kinds.insert(config.name.clone(), kind);
        }
        let inner = Arc::new(ClientInner {
            pool,
            groups: kinds,
            server_groups: Mutex::new(HashMap::new()),
            flusher: OnceLock::new(),
            cached,
            wake,
            parked: Arc::new(Parked::default()),
            one_shot: AtomicBool::new(false),
            process: std::process::id(),
            generation,
            reported: Mutex::new(HashSet::new()),
            flush_timeout,
            run_time: redis.connect_timeout() + redis.response_timeout(),
        });
        if !inner.cached.is_empty() {
            inner.flusher();
        }
        Ok(EclClient { inner })
    }

    /// Makes this a one-shot run's client (the command line's): a direct
    /// log Redis cannot confirm in time is an error, instead of being kept
    /// and delivered later (the default, for applications), and errors are
    /// left to the caller to report.
    ///
    /// The run also gets one deadline for all its round trips, however
    /// many: the connect timeout plus the response timeout from now (a
    /// Munin plugin ends well within munin-node's 10 s when Redis hangs).
    pub fn for_one_shot_run(&self) {
        self.inner.one_shot.store(true, Ordering::Relaxed);
        self.inner
            .pool
            .set_deadline(std::time::Instant::now() + self.inner.run_time);
    }

    /// Flushes this client (and every other that asked) when the process
    /// gets `SIGTERM` or `SIGINT`, then lets it end as it would have: the
    /// disposition that was there is put back and the signal raised again.
    /// supervisord, systemd, Docker and Kubernetes stop processes with
    /// `SIGTERM`, whose default action runs no destructor.
    pub fn install_shutdown_handlers(&self) -> std::io::Result<()> {
        crate::shutdown::install(&self.inner)
    }

    /// Declares the configured groups on the server now (`ECL.DECLARE`):
    /// clients do it by themselves before their first write.
    pub fn declare_configured(&self) -> Result<(), ClientError> {
        Ok(self
            .inner
            .pool
            .with(|c| self.inner.pool.declare_before_writing(c))?)
    }

    /// The group called `name`. A group the config does not list but the
    /// server has is usable with the server's schema (each log is one
    /// `ECL.LOG`; the server checks the events). A group neither has gives a
    /// group whose calls do nothing (with one warning), so a typo never
    /// takes an application down.
    pub fn group(&self, name: &str) -> Group {
        let kind = match self.inner.groups.get(name) {
            Some(kind) => kind.clone(),
            None => self.server_group(name),
        };
        Group {
            client: self.inner.clone(),
            kind,
        }
    }

    /// A group only the server knows, asked once (`ECL.INFO`).
    fn server_group(&self, name: &str) -> GroupKind {
        let known = self
            .inner
            .server_groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        if let Some(kind) = known {
            return kind;
        }
        let probe = Group {
            client: self.inner.clone(),
            kind: GroupKind::Direct(Arc::new(GroupConfig::unchecked(name))),
        };
        match probe.info() {
            Ok(info) => {
                let config = GroupConfig::from_server(name, &info);
                let kind = GroupKind::Direct(Arc::new(config));
                self.inner
                    .server_groups
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string(), kind.clone());
                kind
            }
            Err(e) => {
                self.inner.report_once(
                    name,
                    b"",
                    &format!("unknown group '{name}' (not in the config; the server says: {e}): its events are not counted"),
                );
                GroupKind::Noop(name.to_string())
            }
        }
    }

    /// Checks that Redis answers (`PING`), as the original library did on
    /// construction.
    pub fn ping(&self) -> Result<(), ClientError> {
        let _: String = self.inner.pool.with(|c| redis::cmd("PING").query(c))?;
        Ok(())
    }

    /// The groups on the server's selected database (and those its module's
    /// config declares): `ECL.GROUPS`.
    pub fn server_groups(&self) -> Result<Vec<String>, ClientError> {
        Ok(self.inner.pool.with(|c| {
            let (name, args) = ecl_core::protocol::groups_command();
            crate::connection::command(name, args).query(c)
        })?)
    }

    /// Runs an `ECL.*` command as given and returns its reply as text (for
    /// the CLI's schema commands: `ECL.CREATE`, `ECL.ALTER`, ...).
    pub fn raw_command(&self, command: &str, args: &[String]) -> Result<String, ClientError> {
        let mut cmd = redis::cmd(command);
        for arg in args {
            cmd.arg(arg);
        }
        let value: redis::Value = self.inner.pool.with(|c| cmd.query(c))?;
        Ok(match value {
            redis::Value::Okay => "OK".to_string(),
            redis::Value::Int(n) => n.to_string(),
            redis::Value::SimpleString(s) => s,
            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            other => format!("{other:?}"),
        })
    }

    /// Whether this process is a fork of the one that made the client: its
    /// connections, flusher and unsent counts are the parent's, and the
    /// child should count through a client of its own (the Python package
    /// makes one by itself).
    pub fn made_before_fork(&self) -> bool {
        crate::fork::generation() != self.inner.generation
    }

    /// The fork generation the client was made at ([`crate::fork_generation`]
    /// is the process's now).
    pub fn made_at_generation(&self) -> u64 {
        self.inner.generation
    }

    /// Sends everything counted so far by cached groups and waits for the
    /// server's acknowledgement. On failure the counts stay queued and are
    /// sent when Redis is back.
    pub fn flush(&self) -> Result<(), ClientError> {
        self.flush_within(self.inner.flush_timeout)
    }

    /// [`flush`](Self::flush), waiting at most `timeout`.
    pub fn flush_within(&self, timeout: Duration) -> Result<(), ClientError> {
        if std::process::id() != self.inner.process {
            return Ok(()); // a forked child never sends its parent's counts
        }
        match self.inner.flusher.get() {
            Some(flusher) => flusher.flush(timeout).map_err(ClientError::Flush),
            None => Ok(()),
        }
    }

    /// Delivery counters of the background flusher.
    pub fn stats(&self) -> FlushStats {
        self.inner
            .flusher
            .get()
            .map(|f| f.stats.snapshot())
            .unwrap_or_default()
    }
}
