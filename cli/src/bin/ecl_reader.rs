//! `ecl_reader`: the original project's reader, same arguments and output,
//! so Munin plugins written for it keep working.

use clap::Parser;
use ecl_cli::{finish, load_config, read, Format, Windows};
use std::path::PathBuf;

/// Read specified counters from Redis and print them to stdout (part of EventCountLogger system).
#[derive(Parser)]
#[command(name = "ecl_reader")]
struct Args {
    /// Path to a YAML file with configuration, specifying event groups and Redis connection parameters
    #[arg(value_name = "CONFIG_FILE")]
    config_file: PathBuf,
    /// Counter group to print
    #[arg(short, long, value_name = "GROUP")]
    group: String,
    /// If events in the group are reset in multiple intervals, specify the interval to read.
    #[arg(short, long, value_name = "INT")]
    interval: Option<String>,
    /// Print counts in the last completed interval (this is the default).
    #[arg(long, group = "window")]
    last: bool,
    /// Print counts in the current (incomplete) interval.
    #[arg(long, group = "window")]
    current: bool,
    /// Print counts in both the last and the current interval.
    #[arg(long, group = "window")]
    both: bool,
}

fn main() {
    let args = Args::parse();
    let windows = if args.both {
        Windows::Both
    } else if args.current {
        Windows::Current
    } else {
        Windows::Last
    };
    let result = load_config(&args.config_file, None).and_then(|c| {
        read(
            &c,
            &args.group,
            args.interval.as_deref(),
            windows,
            Format::Text,
        )
    });
    finish("ecl_reader", result);
}
