//! `ecl_log_event`: the original project's event logger, same arguments.

use clap::Parser;
use ecl_cli::{finish, load_config, log, require_in_config, with_seed_status};
use std::path::PathBuf;

/// Log an event to the EventCountLogger system (for debugging)
#[derive(Parser)]
#[command(name = "ecl_log_event")]
struct Args {
    /// Path to a YAML file with configuration, specifying event groups and Redis connection parameters
    #[arg(value_name = "CONFIG_FILE")]
    config_file: PathBuf,
    /// Event group
    #[arg(value_name = "GROUP")]
    group: String,
    /// Event ID
    #[arg(value_name = "EVENT")]
    event: String,
    /// Increment counter by this number (default: 1)
    #[arg(value_name = "COUNT", default_value_t = 1)]
    count: u64,
}

fn main() {
    let args = Args::parse();
    let result = load_config(&args.config_file, None).and_then(|c| {
        require_in_config(&c, &args.group)?;
        log(&c, &args.group, &args.event, args.count)
    });
    finish("ecl_log_event", with_seed_status(result));
}
