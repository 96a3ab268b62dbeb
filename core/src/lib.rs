//! Pure logic shared by every part of ECL (the Redis module, the client and
//! the CLI): the config schema, interval parsing, event IDs, command
//! arguments, error texts, and the windowed counter store with its encoding.
//! Nothing here talks to Redis; time is always passed in.

pub mod bytes;
pub mod cluster;
pub mod command;
pub mod config;
pub mod encoding;
pub mod error;
pub mod event_id;
pub mod id_hash;
pub mod interval;
pub mod limits;
pub mod protocol;
pub mod replication;
pub mod schema;
pub mod store;
pub mod time;
pub mod window;

pub use config::{Config, ConfigError, GroupConfig, IntervalSpec, RedisSettings};
pub use error::EclError;
pub use store::{Batch, GroupShape, GroupStore, LogOutcome, LogReport, Tallies, WindowKind};
