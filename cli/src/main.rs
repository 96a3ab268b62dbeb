//! `ecl`: read and log ECL counts from the command line.

use clap::{Parser, Subcommand};
use ecl_cli::{
    check, exporter, finish, info, load_config, log, munin, read, totals, Format, WindowArgs,
};
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
    /// The YAML config (groups, and `redis:` for the connection).
    config: PathBuf,
    /// Redis URL overriding the config's `redis:` section (also ECL_REDIS_URL).
    #[arg(long)]
    url: Option<String>,
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
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Add COUNT (default 1) to an event.
    Log {
        #[command(flatten)]
        common: Common,
        /// The group to count in.
        group: String,
        /// The event ID (declared in the group, or any ID when the group
        /// auto-declares events).
        event: String,
        /// How much to add (a non-negative integer).
        #[arg(default_value_t = 1)]
        count: u64,
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
    #[command(after_help = ecl_cli::munin::MAGIC_MARKERS)]
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

/// A positive number of seconds.
fn seconds(value: f64) -> Result<std::time::Duration, ecl_cli::CliError> {
    std::time::Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ecl_cli::CliError::Usage(format!(
                "--timeout must be a positive number of seconds, got {value}"
            ))
        })
}

fn main() {
    // Linked as a Munin plugin (`ecl_<group>...`): behave as `ecl munin`.
    let argv0 = std::env::args().next().unwrap_or_default();
    let link = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if link.starts_with("ecl_") {
        let action = std::env::args().nth(1);
        finish(&link, munin::run(&link, action.as_deref(), None));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Read {
            common,
            group,
            interval,
            windows,
            format,
        } => load_config(&common.config, common.url.as_deref())
            .and_then(|c| read(&c, &group, interval.as_deref(), windows.windows(), format)),
        Command::Log {
            common,
            group,
            event,
            count,
        } => load_config(&common.config, common.url.as_deref())
            .and_then(|c| log(&c, &group, &event, count)),
        Command::Totals {
            common,
            group,
            format,
        } => load_config(&common.config, common.url.as_deref())
            .and_then(|c| totals(&c, &group, format)),
        Command::Exporter {
            common,
            listen,
            timeout,
        } => seconds(timeout).and_then(|deadline| {
            load_config(&common.config, common.url.as_deref())
                .and_then(|c| exporter::serve(&c, &listen, deadline))
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
        } => load_config(&common.config, common.url.as_deref())
            .and_then(|c| info(&c, group.as_deref(), format)),
        Command::Check { config } => check(&config),
    };
    finish("ecl", result);
}
