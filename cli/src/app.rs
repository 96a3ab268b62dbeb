//! `ecl`: read and log ECL counts from the command line. The binary and the
//! Python package's console script both run [`run`].

use crate::{
    check, declare_config, finish, groups, info, load_optional_config, log, munin, range, read,
    read_sum, schema_command, totals, CliError, Format, WindowArgs,
};
use clap::{Parser, Subcommand};
use ecl_core::interval::parse_interval_ms;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "ecl",
    version,
    about = "Read and log ECL event counts",
    after_help = "Examples:\n  ecl read ecl.yml -g requests -i 5m\n  ecl read ecl.yml -g requests -i 5m --both --format json\n  ecl log ecl.yml requests req1 3\n  ecl totals ecl.yml -g requests\n  ECL_REDIS_URL=redis://10.0.0.5:6379/0 ecl info ecl.yml\n\nExit codes: 0 success, 1 Redis unreachable or server error, 2 usage or config error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every command shares.
#[derive(clap::Args)]
struct Common {
    /// The YAML config (groups, and `redis:` for the connection). Optional:
    /// without it, groups come from the server.
    config: Option<PathBuf>,
    /// Redis URL overriding the config's `redis:` section (also
    /// ECL_REDIS_URL; default redis://127.0.0.1:6379/0).
    #[arg(long)]
    url: Option<String>,
}

impl Common {
    fn load(&self) -> Result<ecl_client::Config, CliError> {
        load_optional_config(self.config.as_deref(), self.url.as_deref())
    }
}

/// `[CONFIG] GROUP ...`: a leading argument naming an existing YAML file is
/// the config.
fn split_config(mut args: Vec<String>) -> (Option<PathBuf>, Vec<String>) {
    let is_config = args
        .first()
        .is_some_and(|a| (a.ends_with(".yml") || a.ends_with(".yaml")) && Path::new(a).exists());
    if is_config {
        let config = PathBuf::from(args.remove(0));
        (Some(config), args)
    } else {
        (None, args)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the counts of a window: `event:count` lines sorted by event ID.
    Read {
        #[command(flatten)]
        common: Common,
        /// The group.
        #[arg(short, long)]
        group: String,
        /// The interval (may be omitted when the group has one).
        #[arg(short, long)]
        interval: Option<String>,
        #[command(flatten)]
        windows: WindowArgs,
        /// Instead: the closed windows of the last DURATION (`1h`), summed
        /// (the group's history must keep them).
        #[arg(long, value_name = "DURATION")]
        sum: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// A live full-screen view of a group: per event the current window's
    /// count, the last window's, the rate per second and a sparkline of the
    /// kept windows (q quits, s sorts, g next group, i next interval).
    Top {
        #[command(flatten)]
        common: Common,
        /// The group (default: the first).
        #[arg(short, long)]
        group: Option<String>,
        /// The interval (default: the group's first).
        #[arg(short, long)]
        interval: Option<String>,
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 1.0)]
        every: f64,
        /// Print one frame as text and exit (for scripts).
        #[arg(long)]
        once: bool,
    },
    /// Serve a live web page of every group at / (charts of the kept
    /// windows, the last window's table), its JSON API (/api/groups,
    /// /api/range) and /metrics as `ecl exporter` does.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (127.0.0.1 by default: put a reverse proxy
        /// in front to publish it).
        #[arg(long, default_value = "127.0.0.1:9717")]
        listen: String,
        /// Seconds a request may wait for Redis.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Print the kept closed windows of an interval, oldest first: a
    /// `# start_ms` line per window, then its `event:count` lines.
    Range {
        #[command(flatten)]
        common: Common,
        /// The group.
        #[arg(short, long)]
        group: String,
        /// The interval (may be omitted when the group has one).
        #[arg(short, long)]
        interval: Option<String>,
        /// Windows starting at or after this time (Unix ms); pass the last
        /// start seen + 1 to get each window once.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Windows starting at or before this time (Unix ms).
        #[arg(long, default_value_t = u64::MAX)]
        to: u64,
        /// At most this many windows.
        #[arg(long)]
        count: Option<usize>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Add COUNT (default 1) to an event: `ecl log [CONFIG] GROUP EVENT [COUNT]`.
    Log {
        /// [CONFIG] GROUP EVENT [COUNT]: the config (optional), the group to
        /// count in, the event ID (declared in the group, or any ID when the
        /// group auto-declares events) and how much to add (default 1).
        #[arg(num_args = 2..=4, value_name = "ARGS", required = true)]
        args: Vec<String>,
        /// Redis URL overriding the config's `redis:` section (also ECL_REDIS_URL).
        #[arg(long)]
        url: Option<String>,
    },
    /// Create a group on the server: `ecl create [CONFIG] GROUP
    /// [AUTO_DECLARE] [MAX_EVENTS n] INTERVALS i ... [EVENTS e ...]`.
    Create {
        /// [CONFIG] GROUP and the schema, as `ECL.CREATE` takes it.
        #[arg(num_args = 1.., value_name = "ARGS", required = true, allow_hyphen_values = true)]
        args: Vec<String>,
        #[arg(long)]
        url: Option<String>,
    },
    /// Create a group or add what it lacks: `ecl declare [CONFIG] GROUP
    /// <as create>`; with a config and no schema, declare the config's
    /// groups (the named ones, or all) as clients do.
    Declare {
        #[arg(num_args = 0.., value_name = "ARGS", allow_hyphen_values = true)]
        args: Vec<String>,
        #[arg(long)]
        url: Option<String>,
    },
    /// Change a group's schema: `ecl alter [CONFIG] GROUP [AUTO_DECLARE 0|1]
    /// [MAX_EVENTS n] [INTERVALS i ...] [EVENTS e ...]`.
    Alter {
        #[arg(num_args = 2.., value_name = "ARGS", required = true, allow_hyphen_values = true)]
        args: Vec<String>,
        #[arg(long)]
        url: Option<String>,
    },
    /// Delete a group and its counts: `ecl drop [CONFIG] GROUP`.
    Drop {
        #[arg(num_args = 1..=2, value_name = "ARGS", required = true)]
        args: Vec<String>,
        #[arg(long)]
        url: Option<String>,
    },
    /// List the groups on the server: `ecl groups [CONFIG]`.
    Groups {
        #[command(flatten)]
        common: Common,
    },
    /// Print every event's total since its counters were created.
    Totals {
        #[command(flatten)]
        common: Common,
        #[arg(short, long)]
        group: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Munin plugin: link the binary as `ecl_<group>` or
    /// `ecl_<group>_<interval>` (config file from `env.config`).
    #[command(after_help = crate::munin::MAGIC_MARKERS)]
    Munin {
        /// `config`, `autoconf`, `suggest`, or nothing to fetch values.
        action: Option<String>,
        /// The plugin name, as Munin would link it (`ecl_<group>[_<interval>]`).
        #[arg(long)]
        name: Option<String>,
        /// The config (default: $config, else /etc/ecl/config.yml).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Prometheus exporter: /metrics (read from Redis on each scrape) and a landing page.
    Exporter {
        #[command(flatten)]
        common: Common,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9717")]
        listen: String,
        /// Seconds a scrape may take; past it, `/metrics` answers `ecl_up 0`
        /// (keep it under Prometheus' scrape_timeout, 10 s by default).
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Print groups, intervals, window start times, events and tallies.
    Info {
        #[command(flatten)]
        common: Common,
        /// One group (default: all).
        #[arg(short, long)]
        group: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Check a config strictly: print every warning and error, exit 2 if
    /// there is any (unknown keys are only warnings elsewhere).
    Check {
        /// The YAML config.
        config: PathBuf,
    },
}

/// A schema command: `[CONFIG] GROUP args...` as the module takes them.
fn schema(args: Vec<String>, url: Option<String>, command: &str) -> Result<String, CliError> {
    let (config, args) = split_config(args);
    if args.is_empty() {
        return Err(CliError::Usage(format!("{command} needs a group")));
    }
    load_optional_config(config.as_deref(), url.as_deref())
        .and_then(|c| schema_command(&c, command, &args))
}

/// A positive number of seconds.
fn seconds(value: f64) -> Result<std::time::Duration, CliError> {
    std::time::Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--timeout must be a positive number of seconds, got {value}"
            ))
        })
}

/// Runs `ecl` with these arguments (the program name first) and exits.
pub fn run(argv: Vec<String>) -> ! {
    crate::stderr_log::install();
    // Linked as a Munin plugin (`ecl_<group>...`): behave as `ecl munin`.
    let argv0 = argv.first().cloned().unwrap_or_default();
    let link = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if link.starts_with("ecl_") {
        let action = argv.get(1).cloned();
        finish(&link, munin::run(&link, action.as_deref(), None));
    }
    let cli = Cli::parse_from(argv);
    let result = match cli.command {
        Command::Read {
            common,
            group,
            interval,
            windows,
            sum,
            format,
        } => common.load().and_then(|c| match sum {
            Some(duration) => parse_interval_ms(&duration)
                .map_err(|e| CliError::Usage(format!("--sum: {e}")))
                .and_then(|ms| read_sum(&c, &group, interval.as_deref(), ms, format)),
            None => read(&c, &group, interval.as_deref(), windows.windows(), format),
        }),
        Command::Top {
            common,
            group,
            interval,
            every,
            once,
        } => seconds(every).and_then(|every| {
            common
                .load()
                .and_then(|c| crate::top::run(&c, group, interval, every, once))
        }),
        Command::Serve {
            common,
            listen,
            timeout,
        } => seconds(timeout).and_then(|deadline| {
            common
                .load()
                .and_then(|c| crate::serve::serve(&c, &listen, deadline, true))
        }),
        Command::Range {
            common,
            group,
            interval,
            from,
            to,
            count,
            format,
        } => common.load().and_then(|c| {
            if from > to {
                return Err(CliError::Usage(format!("--from {from} is after --to {to}")));
            }
            range(&c, &group, interval.as_deref(), (from, to), count, format)
        }),
        Command::Log { args, url } => {
            let (config, args) = split_config(args);
            let parsed = match args.as_slice() {
                [group, event] => Ok((group.clone(), event.clone(), 1)),
                [group, event, count] => count
                    .parse()
                    .map(|n| (group.clone(), event.clone(), n))
                    .map_err(|_| {
                        CliError::Usage(format!(
                            "COUNT must be a non-negative integer, got '{count}'"
                        ))
                    }),
                _ => Err(CliError::Usage(
                    "usage: ecl log [CONFIG] GROUP EVENT [COUNT]".into(),
                )),
            };
            parsed.and_then(|(group, event, count)| {
                load_optional_config(config.as_deref(), url.as_deref())
                    .and_then(|c| log(&c, &group, &event, count))
            })
        }
        Command::Create { args, url } => schema(args, url, "ECL.CREATE"),
        Command::Alter { args, url } => schema(args, url, "ECL.ALTER"),
        Command::Drop { args, url } => schema(args, url, "ECL.DROP"),
        Command::Declare { args, url } => {
            let (config, rest) = split_config(args.clone());
            let is_schema = rest.iter().skip(1).any(|a| {
                [
                    "INTERVALS",
                    "EVENTS",
                    "AUTO_DECLARE",
                    "MAX_EVENTS",
                    "HISTORY",
                ]
                .iter()
                .any(|k| a.eq_ignore_ascii_case(k))
            });
            match (config, is_schema) {
                (Some(config), false) => load_optional_config(Some(&config), url.as_deref())
                    .and_then(|c| declare_config(&c, &rest)),
                _ => schema(args, url, "ECL.DECLARE"),
            }
        }
        Command::Groups { common } => common.load().and_then(|c| groups(&c)),
        Command::Totals {
            common,
            group,
            format,
        } => common.load().and_then(|c| totals(&c, &group, format)),
        Command::Exporter {
            common,
            listen,
            timeout,
        } => seconds(timeout).and_then(|deadline| {
            common
                .load()
                .and_then(|c| crate::serve::serve(&c, &listen, deadline, false))
        }),
        Command::Munin {
            action,
            name,
            config,
        } => munin::run(
            &name.unwrap_or_default(),
            action.as_deref(),
            config.as_deref(),
        ),
        Command::Info {
            common,
            group,
            format,
        } => common
            .load()
            .and_then(|c| info(&c, group.as_deref(), format)),
        Command::Check { config } => check(&config),
    };
    finish("ecl", result);
}
