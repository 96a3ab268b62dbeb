//! The clock commands run by (SPEC §4.3: "the master's clock decides").
//!
//! A master uses its own clock. A replica whose link is up reads at the
//! master's time: every write the master replicates with `NOW` tells it the
//! master's clock, and the replica adds the time elapsed since (on its
//! monotonic clock, which no wall-clock step moves). So a replica whose
//! clock is off answers reads as its master does.

use redis_module::{Context, ContextFlags};
use std::sync::Mutex;
use std::time::Instant;

/// The server's wall clock in Unix milliseconds (Redis's own reading of
/// it, cheaper from here than the standard library's).
pub use crate::ffi::server_milliseconds as server_clock_ms;

/// The server's clock as a write command reads it: the time Redis took for
/// the command where it gives one (7.2+), else [`server_clock_ms`].
pub use crate::ffi::command_milliseconds as command_clock_ms;

/// The master's clock as last heard, and when (on this server's
/// monotonic clock).
static MASTER_CLOCK: Mutex<Option<(u64, Instant)>> = Mutex::new(None);

/// Notes the master's clock from a replicated `NOW`.
pub fn heard_master_clock(now_ms: u64) {
    if let Ok(mut sample) = MASTER_CLOCK.lock() {
        *sample = Some((now_ms, Instant::now()));
    }
}

/// Forgets the master's clock (this server became a master, or its master
/// changed): its own clock decides from now on.
pub fn forget_master_clock() {
    if let Ok(mut sample) = MASTER_CLOCK.lock() {
        *sample = None;
    }
}

/// The master's clock now, estimated from the last sample.
fn master_clock_ms() -> Option<u64> {
    let sample = *MASTER_CLOCK.lock().ok()?;
    sample.map(|(ms, at)| ms.saturating_add(at.elapsed().as_millis() as u64))
}

/// The time a read acts at: the master's clock on a replica whose link is
/// up and that has heard it, else this server's clock.
pub fn read_clock_ms(ctx: &Context) -> u64 {
    let flags = ctx.get_flags();
    if flags.contains(ContextFlags::SLAVE) && flags.contains(ContextFlags::REPLICA_IS_ONLINE) {
        if let Some(ms) = master_clock_ms() {
            return ms;
        }
    }
    server_clock_ms()
}
