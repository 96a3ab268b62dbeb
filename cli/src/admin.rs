//! `ecl groups`, `ecl totals`, `ecl info`, `ecl check`.

use crate::output::{lines, object, Format};
use crate::setup::{all_groups, client, group_schema};
use crate::CliError;
use ecl_client::Config;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// `ecl groups`: the groups on the server (and the module's config), one a line.
pub fn groups(config: &Config) -> Result<String, CliError> {
    let names = client(config)?.server_groups()?;
    Ok(names.iter().map(|n| format!("{n}\n")).collect())
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
