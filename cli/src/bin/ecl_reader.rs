//! `ecl_reader`: the original project's reader, same arguments and output,
//! so Munin plugins written for it keep working.

use clap::Parser;
use ecl_cli::{finish, load_config, read, require_in_config, with_seed_status, Format, WindowArgs};
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
    #[command(flatten)]
    windows: WindowArgs,
}

fn main() {
    let args = Args::parse();
    let result = load_config(&args.config_file, None).and_then(|c| {
        require_in_config(&c, &args.group)?;
        read(
            &c,
            &args.group,
            args.interval.as_deref(),
            args.windows.windows(),
            Format::Text,
        )
    });
    finish("ecl_reader", with_seed_status(result));
}
