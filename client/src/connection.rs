//! Connections from the config's `redis:` section — one server or a Redis
//! Cluster — and a small pool so threads in direct mode do not queue behind
//! one socket.

use crate::error::ClientError;
use ecl_core::protocol::{mlog_args, MlogArgs};
use ecl_core::schema::SchemaArgs;
use ecl_core::{GroupShape, RedisSettings};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{
    ClientTlsConfig, Cmd, ConnectionAddr, ConnectionInfo, ConnectionLike, IntoConnectionInfo,
    ProtocolVersion, RedisConnectionInfo, RedisResult, TlsCertificates, Value,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Cluster retries (redirections, `TRYAGAIN` while a slot moves, reconnects).
const CLUSTER_RETRIES: u32 = 16;
/// Bounds of the wait before a cluster retry, in ms. The redis crate's
/// defaults start above a second; a slot move is over in milliseconds.
const CLUSTER_RETRY_WAIT_MS: (u64, u64) = (5, 500);

/// Where the config points.
enum Target {
    Single(redis::Client),
    Cluster(ClusterClient),
}

impl Target {
    fn new(settings: &RedisSettings) -> Result<Target, ClientError> {
        if settings.cluster.is_empty() {
            let info = connection_info(settings)?;
            let tls = matches!(info.addr, ConnectionAddr::TcpTls { .. });
            return Ok(Target::Single(match tls_certificates(settings)? {
                Some(certificates) if tls => redis::Client::build_with_tls(info, certificates)?,
                _ => redis::Client::open(info)?,
            }));
        }
        if settings.tls {
            return Err(ClientError::Unsupported(
                "redis.ssl/tls with redis.cluster".into(),
            ));
        }
        let nodes: Vec<ConnectionInfo> = settings
            .cluster
            .iter()
            .map(|node| format!("redis://{node}").into_connection_info())
            .collect::<RedisResult<_>>()?;
        let mut builder = ClusterClientBuilder::new(nodes)
            .connection_timeout(settings.connect_timeout())
            .response_timeout(settings.response_timeout())
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(CLUSTER_RETRY_WAIT_MS.0)
            .max_retry_wait(CLUSTER_RETRY_WAIT_MS.1);
        if let Some(user) = &settings.username {
            builder = builder.username(user.clone());
        }
        if let Some(password) = &settings.password {
            builder = builder.password(password.clone());
        }
        Ok(Target::Cluster(builder.build()?))
    }
}

/// The CA and client certificates a TLS connection is made with (PEM
/// files, redis-py's `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`); `None`:
/// the system's roots and no client certificate.
fn tls_certificates(settings: &RedisSettings) -> Result<Option<TlsCertificates>, ClientError> {
    let read = |what: &str, path: &str| {
        std::fs::read(path)
            .map_err(|e| ClientError::Unsupported(format!("redis.{what} '{path}': {e}")))
    };
    let root_cert = match &settings.tls_ca_certs {
        Some(path) => Some(read("ssl_ca_certs", path)?),
        None => None,
    };
    let client_tls = match (&settings.tls_certfile, &settings.tls_keyfile) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read("ssl_certfile", cert)?,
            client_key: read("ssl_keyfile", key)?,
        }),
        (None, None) => None,
        _ => {
            return Err(ClientError::Unsupported(
                "redis.ssl_certfile and redis.ssl_keyfile go together".into(),
            ))
        }
    };
    Ok(
        (root_cert.is_some() || client_tls.is_some()).then_some(TlsCertificates {
            client_tls,
            root_cert,
        }),
    )
}

/// Connection parameters for a single server; `url` overrides the rest.
fn connection_info(settings: &RedisSettings) -> Result<ConnectionInfo, ClientError> {
    if let Some(url) = &settings.url {
        let mut info = url.as_str().into_connection_info()?;
        if let ConnectionAddr::TcpTls { insecure, .. } = &mut info.addr {
            *insecure |= settings.tls_insecure;
        }
        return Ok(info);
    }
    let host = settings.host.clone().unwrap_or_else(|| "localhost".into());
    let port = settings.port.unwrap_or(6379);
    let addr = match &settings.path {
        Some(path) => ConnectionAddr::Unix(path.into()),
        None if settings.tls => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: settings.tls_insecure,
            tls_params: None,
        },
        None => ConnectionAddr::Tcp(host, port),
    };
    Ok(ConnectionInfo {
        addr,
        redis: RedisConnectionInfo {
            db: settings.db.unwrap_or(0),
            username: settings.username.clone(),
            password: settings.password.clone(),
            protocol: ProtocolVersion::RESP2,
        },
    })
}

/// A connection to a single server or to a cluster (which routes each
/// command by its group argument, follows redirections and retries).
pub(crate) struct Connection {
    link: Link,
    /// The configured groups were declared on it (before its first write:
    /// a reader never declares, so it writes nothing).
    declared: bool,
    /// The `ID` of this connection's direct logs, see [`Connection::log`]:
    /// its own, so its sequence numbers reach each group in order.
    producer: String,
    next_seq: u64,
}

enum Link {
    Single(redis::Connection),
    // Boxed: it is several times the size of a single connection.
    Cluster(Box<ClusterConnection>),
}

/// A command from its name and the argument list `ecl_core::protocol` built.
pub(crate) fn command(name: &str, args: Vec<Vec<u8>>) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    for arg in args {
        cmd.arg(arg);
    }
    cmd
}

impl Connection {
    /// The `(producer, seq)` the next direct log goes out with.
    pub fn next_id(&mut self) -> (String, u64) {
        self.next_seq += 1;
        (self.producer.clone(), self.next_seq)
    }

    /// A direct log: `ECL.MLOG group ID producer seq event n`, so that a
    /// log resent after a lost reply (by the cluster connection on its own,
    /// or by the flusher once parked) is applied once.
    pub fn log(
        &mut self,
        group: &str,
        event: &[u8],
        n: u64,
        id: &(String, u64),
    ) -> RedisResult<()> {
        let args = mlog_args(&MlogArgs {
            group: group.as_bytes(),
            at_ms: None,
            now_ms: None,
            producer: Some((id.0.as_bytes(), id.1)),
            events: &[(event, n)],
        });
        command("ECL.MLOG", args).query(self)
    }

    fn inner(&mut self) -> &mut dyn ConnectionLike {
        match &mut self.link {
            Link::Single(c) => c,
            Link::Cluster(connection) => &mut **connection,
        }
    }

    fn inner_ref(&self) -> &dyn ConnectionLike {
        match &self.link {
            Link::Single(c) => c,
            Link::Cluster(connection) => &**connection,
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.inner().req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.inner().req_packed_commands(cmd, offset, count)
    }

    // Forwarded, not left to the default: the cluster connection routes a
    // `Cmd` without parsing it back from bytes.
    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        self.inner().req_command(cmd)
    }

    fn get_db(&self) -> i64 {
        self.inner_ref().get_db()
    }

    fn supports_pipelining(&self) -> bool {
        self.inner_ref().supports_pipelining()
    }

    fn check_connection(&mut self) -> bool {
        self.inner().check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner_ref().is_open()
    }
}

/// Idle connections ready for reuse. A connection that saw an error is
/// dropped, not returned, since its stream may be out of step.
pub(crate) struct Pool {
    target: Target,
    /// `ECL.DECLARE` arguments of the configured groups, sent on every new
    /// connection (SPEC §5): a new event or group in the application's
    /// config works without touching the server, also after a reconnect.
    declarations: Vec<Vec<Vec<u8>>>,
    /// Declarations the server refused, reported once.
    refused_declaration_reported: std::sync::atomic::AtomicBool,
    idle: Mutex<Vec<Connection>>,
    /// Connecting, handshake included (the redis crate applies it to both).
    connect_timeout: Duration,
    /// Every reply.
    response_timeout: Duration,
    /// The flusher's producer ID, and the base of the connections' ones.
    producer: String,
    connections_made: AtomicU64,
    /// A one-shot run's deadline for every command ([`Pool::set_deadline`]).
    deadline: Mutex<Option<Instant>>,
}

impl Pool {
    pub fn new(settings: &RedisSettings, declare: &[GroupShape]) -> Result<Pool, ClientError> {
        Ok(Pool {
            target: Target::new(settings)?,
            declarations: declare
                .iter()
                .map(|shape| SchemaArgs::full(shape, false, None))
                .collect(),
            refused_declaration_reported: std::sync::atomic::AtomicBool::new(false),
            idle: Mutex::new(Vec::new()),
            connect_timeout: settings.connect_timeout(),
            response_timeout: settings.response_timeout(),
            producer: producer_id(),
            connections_made: AtomicU64::new(0),
            deadline: Mutex::new(None),
        })
    }

    /// This client's producer ID (`ECL.MLOG ... ID producer seq`);
    /// connections use IDs below it for their direct logs.
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// Whether this pool talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    /// A fresh connection, not from the pool.
    pub fn connect(&self) -> RedisResult<Connection> {
        self.open()
    }

    /// Declares the configured groups on `connection` before its first
    /// write (SPEC §5: once per connection; readers never declare).
    pub fn declare_before_writing(&self, connection: &mut Connection) -> RedisResult<()> {
        if !connection.declared {
            self.declare(connection)?;
            connection.declared = true;
        }
        Ok(())
    }

    /// Ends every later command of this pool by `deadline` (a one-shot
    /// run's single deadline, whatever the number of round trips).
    pub fn set_deadline(&self, deadline: Instant) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
    }

    /// `limit`, or less when the deadline is nearer; an error once it passed.
    fn within_deadline(&self, limit: Duration) -> RedisResult<Duration> {
        let Some(deadline) = *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) else {
            return Ok(limit);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the run's deadline passed (no answer from Redis in time)",
            )));
        }
        Ok(limit.min(left))
    }

    /// Bounds the connection's next replies by the deadline.
    fn bound(&self, connection: &mut Connection) -> RedisResult<()> {
        let timeout = self.within_deadline(self.response_timeout)?;
        if let Link::Single(c) = &connection.link {
            c.set_read_timeout(Some(timeout))?;
            c.set_write_timeout(Some(timeout))?;
        }
        Ok(())
    }

    /// Declares the configured groups, one command per group (on a cluster
    /// each routed by its group). A server that refuses a declaration (an older module, an ACL)
    /// is reported once and the connection is used all the same.
    fn declare(&self, connection: &mut Connection) -> RedisResult<()> {
        if self.declarations.is_empty() {
            return Ok(());
        }
        // One command at a time: a refused declaration must not leave
        // replies of a pipeline unread on the connection; an unreachable
        // server ends it at once; each waits no longer than the deadline.
        for args in &self.declarations {
            self.bound(connection)?;
            let refused = match command("ECL.DECLARE", args.clone()).query::<Value>(connection) {
                Ok(Value::ServerError(e)) => Some(format!("{e:?}")),
                Ok(_) => None,
                Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                    return Err(e)
                }
                Err(e) => Some(e.to_string()),
            };
            if let Some(reason) = refused {
                if !self
                    .refused_declaration_reported
                    .swap(true, Ordering::Relaxed)
                {
                    log::warn!("ECL: the server refused to declare a configured group: {reason}");
                }
            }
        }
        Ok(())
    }

    fn open(&self) -> RedisResult<Connection> {
        let link = match &self.target {
            Target::Single(client) => {
                let connect_timeout = self.within_deadline(self.connect_timeout)?;
                let connection = client.get_connection_with_timeout(connect_timeout)?;
                connection.set_read_timeout(Some(self.response_timeout))?;
                connection.set_write_timeout(Some(self.response_timeout))?;
                Link::Single(connection)
            }
            Target::Cluster(client) => Link::Cluster(Box::new(client.get_connection()?)),
        };
        let n = self.connections_made.fetch_add(1, Ordering::Relaxed);
        Ok(Connection {
            link,
            declared: false,
            producer: format!("{}/{n}", self.producer),
            next_seq: 0,
        })
    }

    /// Runs a pipeline on a pooled connection. On any error the connection
    /// is dropped: a pipeline that failed part way may have left replies
    /// unread.
    pub fn with_pipeline<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> RedisResult<R>,
    ) -> RedisResult<R> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match idle {
            Some(c) => c,
            None => self.connect()?,
        };
        self.bound(&mut connection)?;
        let result = f(&mut connection);
        if result.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(connection);
        }
        result
    }

    /// Runs `f` on a pooled connection.
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<R>) -> RedisResult<R> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match idle {
            Some(c) => c,
            None => self.connect()?,
        };
        self.bound(&mut connection)?;
        let result = f(&mut connection);
        let healthy = match &result {
            Ok(_) => true,
            // A server error reply leaves the stream in step.
            Err(e) => {
                e.kind() != redis::ErrorKind::IoError
                    && !e.is_connection_dropped()
                    && !e.is_timeout()
            }
        };
        if healthy {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(connection);
        }
        result
    }
}

/// A producer ID unique to this client instance: host, process, start time
/// and a random part (so restarts and several clients per process differ).
fn producer_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    format!(
        "{}-{}-{:x}-{:08x}",
        host.trim(),
        std::process::id(),
        nanos,
        h.finish() as u32
    )
}
