//! The commands behind `ecl`, `ecl_reader` and `ecl_log_event`: each returns
//! its output as text, or a [`CliError`] that says which exit code it means.
//!
//! One file per command family (`read`, `write`, `admin`, `munin`,
//! `exporter`, `serve`, `top`), `output` for text and JSON, `setup` for the
//! config and the client of a run, `error` for exit statuses; `app` parses
//! the command line, `seed_tools` keeps the original scripts' arguments.

mod admin;
pub mod app;
mod error;
pub mod exporter;
pub mod http;
pub mod munin;
mod output;
mod read;
pub mod seed_tools;
pub mod serve;
mod setup;
pub mod stderr_log;
pub mod top;
mod write;

pub use admin::{check, groups, info, totals};
pub use error::{finish, with_seed_status, CliError};
pub use output::{info_json, Format};
pub use read::{range, read, read_sum, WindowArgs, Windows};
pub(crate) use setup::client;
pub use setup::{all_groups, load_config, load_optional_config, require_in_config, URL_ENV};
pub use write::{declare_config, log, schema_command};
