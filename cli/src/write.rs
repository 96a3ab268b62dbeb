//! `ecl log` (and `ecl_log_event`) and the schema commands (`ecl create`,
//! `declare`, `alter`, `drop`).

use crate::setup::{client, group_schema};
use crate::CliError;
use ecl_client::Config;
use std::fmt::Write as _;

/// `ecl log` / `ecl_log_event`: adds `count` to an event, one `ECL.LOG`.
pub fn log(config: &Config, group: &str, event: &str, count: u64) -> Result<String, CliError> {
    let ecl = client(config)?;
    group_schema(config, &ecl, group)?;
    ecl.group(group).log_n(event, count)?;
    Ok(String::new())
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
