//! `ecl munin`: a Munin plugin for one group (and interval), linked as
//! `ecl_<group>` or `ecl_<group>_<interval>`.
//!
//! Munin conventions followed: `config` prints the graph and one field per
//! event (every field has a label), fetch prints `<field>.value N`,
//! `autoconf` prints `yes` or `no (reason)` and exits 0, `suggest` prints the
//! link suffixes. The config file comes from the plugin environment
//! (`env.config /etc/ecl.yml` in plugin-conf.d). Auto-declared events seen
//! once are remembered in `MUNIN_PLUGSTATE`, so their line stays (at 0).

use crate::{load_config, CliError};
use ecl_client::{Config, GroupConfig};
use ecl_core::interval::parse_interval_ms;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `munin-node-configure` looks for these magic markers in the plugin's
/// file; this binary is the plugin, so they are in it (and in `--help`).
pub const MAGIC_MARKERS: &str = "#%# family=auto\n#%# capabilities=autoconf suggest\n";

/// Longest field name: RRD file names are built from it and must stay well
/// under 255 bytes.
const MAX_FIELD_LEN: usize = 48;

/// Munin's usual fetch period; a group with several intervals and none named
/// in the link is graphed with the interval closest to it.
const MUNIN_PERIOD_MS: u64 = 300_000;

/// A Munin field name for an event ID: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// 48 bytes. An ID that is already such a name is used as is; any other is
/// sanitised, cut, and given a hash of the original, so two IDs never share
/// a field and every ID keeps its field from run to run, whatever other IDs
/// appear.
pub fn field_name(id: &str) -> String {
    let valid = id
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if valid && !id.is_empty() && id.len() <= MAX_FIELD_LEN {
        return id.to_string();
    }
    let mut name: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    name.truncate(MAX_FIELD_LEN - 9);
    format!("{name}_{:08x}", fnv1a(id.as_bytes()))
}

/// FNV-1a, 32 bits: small, stable across versions and platforms.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A label value: the escaped ID (`escape_id`: no control characters, so
/// no line ends), as every other output shows it.
fn label(id: &str) -> String {
    id.to_string()
}

/// The group and interval a plugin link names: `ecl_<group>` or
/// `ecl_<group>_<interval>` (group names may contain `_`).
pub fn target_of(link: &str, config: &Config) -> Result<(String, String), CliError> {
    let rest = link.strip_prefix("ecl_").unwrap_or(link);
    if let Some(group) = config.group(rest) {
        return Ok((group.name.clone(), default_interval(group)));
    }
    if let Some((group, interval)) = rest.rsplit_once('_') {
        if let Some(g) = config.group(group) {
            // `5m` also names a configured `300s`.
            let wanted = parse_interval_ms(interval).ok();
            if let Some(i) = g
                .intervals
                .iter()
                .find(|i| i.name == interval || Some(i.ms) == wanted)
            {
                return Ok((g.name.clone(), i.name.clone()));
            }
            return Err(CliError::Usage(format!(
                "group '{}' has no interval '{interval}' (configured: {}); plugin name '{link}'",
                g.name,
                g.interval_names()
            )));
        }
    }
    Err(CliError::Usage(format!(
        "no group in the config matches the plugin name '{link}'"
    )))
}

fn default_interval(group: &GroupConfig) -> String {
    group
        .intervals
        .iter()
        .min_by_key(|i| i.ms.abs_diff(MUNIN_PERIOD_MS))
        .map(|i| i.name.clone())
        .expect("groups have intervals")
}

/// Where remembered events of this plugin live.
fn state_file(group: &str, interval: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("MUNIN_PLUGSTATE")?;
    Some(Path::new(&dir).join(format!("ecl_{group}_{interval}.events")))
}

/// Declared events, remembered ones and those counted now; remembers them all.
fn known_events(
    config: &GroupConfig,
    interval: &str,
    counts: &[(String, u64)],
) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = config.events.iter().cloned().collect();
    known.extend(counts.iter().map(|(e, _)| e.clone()));
    if let Some(path) = state_file(&config.name, interval) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            known.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
        }
        // IDs are escaped (`escape_id`): one line each, whatever their bytes.
        let dynamic: String = known
            .iter()
            .filter(|e| !config.events.contains(e))
            .map(|e| format!("{e}\n"))
            .collect();
        if let Err(e) = std::fs::write(&path, dynamic) {
            // The graph still comes; the operator learns why events seen
            // once will not keep their line (munin-node logs stderr).
            eprintln!(
                "ecl munin: cannot remember events in {} ({e}): check MUNIN_PLUGSTATE",
                path.display()
            );
        }
    }
    known
}

/// Runs the plugin: `action` is `config`, `autoconf`, `suggest` or none (fetch).
pub fn run(
    link: &str,
    action: Option<&str>,
    config_path: Option<&Path>,
) -> Result<String, CliError> {
    let config_path = config_path
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("config").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/etc/ecl/config.yml"));
    if action == Some("autoconf") {
        return Ok(match autoconf(&config_path, link) {
            Ok(()) => "yes\n".to_string(),
            Err(reason) => format!("no ({reason})\n"),
        });
    }
    let config = load_config(&config_path, None)?;
    if action == Some("suggest") {
        let mut out = String::new();
        for g in &config.groups {
            if g.intervals.len() == 1 {
                let _ = writeln!(out, "{}", g.name);
            } else {
                for i in &g.intervals {
                    let _ = writeln!(out, "{}_{}", g.name, i.name);
                }
            }
        }
        return Ok(out);
    }
    let (group, interval) = target_of(link, &config)?;
    let group_config = config.group(&group).expect("target_of found it");
    // The last closed window with its start (one round trip): each value
    // is reported with its own window's time, so a late poll records the
    // right window, not the next one.
    let g = crate::client(&config)?.group(&group);
    let (window_s, counts) = match g.range(Some(&interval), 0, u64::MAX, None) {
        Ok(mut windows) => windows
            .pop()
            .map_or((None, Vec::new()), |w| (Some(w.start_ms / 1000), w.counts)),
        // A user allowed ECL.GET only (or an older module): the last
        // window's counts, stamped by munin-node's own clock.
        Err(e) if e.is_refusal() => (None, g.last_counts(Some(&interval))?),
        Err(e) => return Err(e.into()),
    };
    let known = known_events(group_config, &interval, &counts);
    let mut out = String::new();
    let fetch = |out: &mut String| {
        for id in &known {
            let n = counts.iter().find(|(e, _)| e == id).map_or(0, |p| p.1);
            match window_s {
                Some(t) => writeln!(out, "{}.value {t}:{n}", field_name(id)),
                None => writeln!(out, "{}.value {n}", field_name(id)),
            }
            .ok();
        }
    };
    match action {
        Some("config") => {
            let _ = writeln!(out, "graph_title ECL events: {group} per {interval}");
            let _ = writeln!(out, "graph_category ecl");
            let _ = writeln!(out, "graph_vlabel events per {interval}");
            let _ = writeln!(out, "graph_args --base 1000 -l 0");
            let _ = writeln!(out, "graph_info Events counted in the last complete {interval} window of ECL group {group}.");
            for id in &known {
                let field = field_name(id);
                let _ = writeln!(out, "{field}.label {}", label(id));
                let _ = writeln!(out, "{field}.type GAUGE");
                let _ = writeln!(out, "{field}.min 0");
            }
            // Munin's dirtyconfig: values with the config, so a field first
            // seen at a boundary is stored at once, not lost.
            if std::env::var("MUNIN_CAP_DIRTYCONFIG").as_deref() == Ok("1") {
                fetch(&mut out);
            }
        }
        None | Some("fetch") => fetch(&mut out),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "unknown plugin action '{other}' (config, autoconf, suggest)"
            )))
        }
    }
    Ok(out)
}

/// `yes` only when the module answers for the group the link names (or,
/// for a bare `ecl_` link, for every configured group).
fn autoconf(config_path: &Path, link: &str) -> Result<(), String> {
    let config = load_config(config_path, None).map_err(|e| e.message().to_string())?;
    let client = crate::client(&config).map_err(|e| e.message().to_string())?;
    let groups: Vec<String> = match target_of(link, &config) {
        Ok((group, _)) => vec![group],
        Err(_) if link.is_empty() || link == "ecl_" || link == "ecl" => {
            config.groups.iter().map(|g| g.name.clone()).collect()
        }
        Err(e) => return Err(e.message().to_string()),
    };
    if groups.is_empty() {
        return Err("the config has no groups".into());
    }
    for group in groups {
        client
            .group(&group)
            .info()
            .map_err(|e| format!("group '{group}': {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_valid_and_stable() {
        assert_eq!(field_name("req1"), "req1");
        assert_eq!(field_name("_x"), "_x");
        let valid = |f: &str| {
            f.chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
        };
        for id in ["404", "a-b", "a.b", "a b", "", "žluť", "a_b_"] {
            let f = field_name(id);
            assert!(valid(&f) && !f.is_empty(), "{id:?} -> {f}");
            assert_eq!(field_name(id), f, "stable");
        }
        // IDs that sanitise alike still get distinct fields.
        assert_ne!(field_name("a-b"), field_name("a.b"));
        assert_ne!(field_name("a-b"), field_name("a_b"));
        assert!(field_name("404").starts_with("_404_"));
        let long = "x".repeat(300);
        assert!(field_name(&long).len() <= 48);
        assert_ne!(field_name(&long), field_name(&"x".repeat(301)));
    }

    #[test]
    fn links_name_a_group_and_maybe_an_interval() {
        let config = Config::parse(
            "groups:\n  web_api:\n    intervals: [1m, 5m, 1h]\n  one:\n    intervals: [30s]\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            target_of("ecl_one", &config).unwrap(),
            ("one".into(), "30s".into())
        );
        assert_eq!(
            target_of("ecl_web_api", &config).unwrap(),
            ("web_api".into(), "5m".into())
        );
        assert_eq!(
            target_of("ecl_web_api_1h", &config).unwrap(),
            ("web_api".into(), "1h".into())
        );
        assert!(target_of("ecl_web_api_2h", &config)
            .unwrap_err()
            .message()
            .contains("has no interval '2h'"));
        assert_eq!(
            target_of("ecl_web_api_60m", &config).unwrap(),
            ("web_api".into(), "1h".into()),
            "an interval named another way"
        );
        assert!(target_of("ecl_nope", &config).is_err());
    }
}
