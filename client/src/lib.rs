//! # ecl-client
//!
//! The application side of ECL: count events in a group, and the ECL Redis
//! module keeps exact per-window counts for everyone to read.
//!
//! - **Direct mode** (a group without `sync_interval`/`sync_limit`): each
//!   `log` is one `ECL.LOG` round trip.
//! - **Cached mode**: `log` touches only process memory (no I/O, no global
//!   lock, no clock read). A background flusher sends `ECL.MLOG` batches every
//!   `sync_interval` seconds or as soon as a local count reaches `sync_limit`.
//!   Batches never span a window boundary and carry `AT`, so counts land in
//!   the window they were logged in; they carry `ID producer seq`, so a batch
//!   resent after a lost reply is counted once. While Redis is unreachable,
//!   counts stay aggregated in memory and go out when it is back.
//!   [`EclClient::flush`] and dropping the last client handle deliver everything.
//!
//! ```no_run
//! use ecl_client::EclClient;
//!
//! let ecl = EclClient::from_config_file("example_config.yml")?;
//! let group = ecl.group("group1");
//! group.log("event1")?;           // by name
//! let event2 = group.event("event2")?;
//! event2.inc();                   // by handle: no lookup, no atomic read-modify-write
//! ecl.flush()?;
//! println!("{:?}", group.current_counts(Some("10s"))?);
//! # Ok::<(), ecl_client::ClientError>(())
//! ```

#![warn(missing_docs)]

mod bank_schedule;
mod cached;
mod client;
mod connection;
mod error;
mod flusher;
mod fork;
mod group;
mod inner;
mod parked;
mod shutdown;
mod sink;
mod thread_slot;
mod wake;

pub use client::{ClientBuilder, EclClient};
pub use ecl_core::{Config, EclError, GroupConfig, RedisSettings};
pub use error::ClientError;
pub use flusher::FlushStats;
pub use fork::generation as fork_generation;
pub use group::{
    Counts, EventHandle, Group, GroupInfo, GroupSnapshot, IntervalCounts, IntervalInfo,
    LocalEventHandle, TopWindow, Window,
};
pub use thread_slot::after_fork_in_child;
