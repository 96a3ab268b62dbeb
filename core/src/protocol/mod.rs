//! The wire protocol, defined once for every crate: the argument lists of
//! the write commands (built by clients and the module, parsed by
//! `crate::command`) and the fields of `ECL.INFO`'s reply (written by the
//! module, parsed by clients, printed by the CLI).

pub mod args;
pub mod info;

pub use args::{
    get_command, groups_command, info_command, log_args, mlog_args, range_command, rotate_args,
    top_command, totals_command, MlogArgs, ReadCommand,
};
pub use info::{GroupInfo, IntervalInfo, ReplyValue};
