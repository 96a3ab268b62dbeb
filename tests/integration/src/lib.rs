//! Test harness: real `redis-server`s with the built ECL module (each on a
//! free port, in a directory of its own, stopped by pid when dropped, also
//! when a test panics), clusters of them, the workspace's binaries, and the
//! helpers tests share. One module per job:
//!
//! - `server`: starting, restarting and stopping a server;
//! - `cluster`: a Redis Cluster of such servers;
//! - `clock_shim`: a wall clock the test controls (`LD_PRELOAD`);
//! - `timing`: server time and window boundaries;
//! - `replies`: commands from words, replies as values, replicas in sync;
//! - `bins`: running `ecl`, `ecl_reader`, ...;
//! - `exporter`: the Prometheus exporter as a process;
//! - `proxy`: a proxy that loses a reply.

pub use redis;

mod bins;
mod clock_shim;
mod cluster;
mod exporter;
mod proxy;
mod replies;
mod server;
mod timing;

pub use bins::*;
pub use clock_shim::ClockShim;
pub use cluster::*;
pub use exporter::*;
pub use proxy::*;
pub use replies::*;
pub use server::*;
pub use timing::*;
