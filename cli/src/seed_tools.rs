//! The original project's scripts, `ecl_reader` and `ecl_log_event`: same
//! arguments, output and exit statuses. The binaries and the Python
//! package's console scripts both run these.

use crate::{
    finish, load_config, log, read, require_in_config, with_seed_status, Format, WindowArgs,
};
use clap::Parser;
use std::path::PathBuf;

/// Read specified counters from Redis and print them to stdout (part of EventCountLogger system).
#[derive(Parser)]
#[command(name = "ecl_reader")]
struct ReaderArgs {
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

/// Runs `ecl_reader` with these arguments (the program name first) and exits.
pub fn ecl_reader(argv: Vec<String>) -> ! {
    crate::stderr_log::install();
    let args = ReaderArgs::parse_from(argv);
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

/// Log an event to the EventCountLogger system (for debugging)
#[derive(Parser)]
#[command(name = "ecl_log_event")]
struct LogEventArgs {
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

/// Runs `ecl_log_event` with these arguments (the program name first) and exits.
pub fn ecl_log_event(argv: Vec<String>) -> ! {
    crate::stderr_log::install();
    let args = LogEventArgs::parse_from(argv);
    let result = load_config(&args.config_file, None).and_then(|c| {
        require_in_config(&c, &args.group)?;
        log(&c, &args.group, &args.event, args.count)
    });
    finish("ecl_log_event", with_seed_status(result));
}
