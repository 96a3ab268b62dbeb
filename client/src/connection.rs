//! Connections from the config's `redis:` section, and a small pool so
//! threads in direct mode do not queue behind one socket.

use crate::error::ClientError;
use ecl_core::RedisSettings;
use redis::{
    ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion, RedisConnectionInfo,
};
use std::sync::Mutex;
use std::time::Duration;

/// Connect timeout when the config gives none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection parameters for the settings; `url` overrides the rest.
pub(crate) fn connection_info(settings: &RedisSettings) -> Result<ConnectionInfo, ClientError> {
    if !settings.cluster.is_empty() {
        return Err(ClientError::Unsupported(
            "redis.cluster (Redis Cluster is not supported yet)".into(),
        ));
    }
    if let Some(url) = &settings.url {
        return Ok(url.as_str().into_connection_info()?);
    }
    if settings.tls {
        return Err(ClientError::Unsupported(
            "redis.ssl/tls (use a rediss:// url)".into(),
        ));
    }
    let addr = match &settings.path {
        Some(path) => ConnectionAddr::Unix(path.into()),
        None => ConnectionAddr::Tcp(
            settings.host.clone().unwrap_or_else(|| "localhost".into()),
            settings.port.unwrap_or(6379),
        ),
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

/// Idle connections ready for reuse. A connection that saw an error is
/// dropped, not returned, since its stream may be out of step.
pub(crate) struct Pool {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
    timeout: Duration,
}

impl Pool {
    pub fn new(info: ConnectionInfo, timeout: Option<Duration>) -> Result<Pool, ClientError> {
        Ok(Pool {
            client: redis::Client::open(info)?,
            idle: Mutex::new(Vec::new()),
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }

    /// A fresh connection, not from the pool.
    pub fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let connection = self.client.get_connection_with_timeout(self.timeout)?;
        connection.set_read_timeout(Some(self.timeout))?;
        connection.set_write_timeout(Some(self.timeout))?;
        Ok(connection)
    }

    /// Runs `f` on a pooled connection.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<R>,
    ) -> redis::RedisResult<R> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match idle {
            Some(c) => c,
            None => self.connect()?,
        };
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
