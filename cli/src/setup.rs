//! What every command starts from: the config (optional, `--url` and
//! `ECL_REDIS_URL` over it), a client for one run, and the schema of the
//! group a command names.

use crate::CliError;
use ecl_client::{Config, EclClient};
use ecl_core::command::resolve_interval;
use std::path::Path;

/// Environment variable overriding the config's Redis connection.
pub const URL_ENV: &str = "ECL_REDIS_URL";

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

/// A client for one run: one deadline for all its round trips, and a log
/// Redis cannot confirm is an error (exit 1), not kept for later as an
/// application's client keeps it.
pub(crate) fn client(config: &Config) -> Result<EclClient, CliError> {
    let client = EclClient::from_config(config)?;
    client.for_one_shot_run();
    Ok(client)
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

/// The schema of a group: the config's, else the server's.
pub(crate) fn group_schema(
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
pub(crate) fn interval_name(
    g: &ecl_client::GroupConfig,
    interval: Option<&str>,
) -> Result<String, CliError> {
    let ms = resolve_interval(&g.name, &g.intervals, interval.map(str::as_bytes))
        .map_err(|e| CliError::Usage(e.message()))?;
    Ok(g.interval_by_ms(ms)
        .expect("resolved from the config")
        .name
        .clone())
}
