//! What the module sends to replicas and the AOF, in one place. When to
//! send what is core's rule (`ecl_core::replication`); every argument list
//! is built by core's protocol (`ecl_core::protocol`, `ecl_core::schema`),
//! so a replica and the AOF parse exactly what the master meant.

use crate::ffi;
use ecl_core::protocol::{mlog_args, rotate_args, MlogArgs};
use ecl_core::schema::SchemaArgs;
use ecl_core::GroupShape;
use redis_module::Context;

/// The command as the client sent it (what acts the same everywhere).
#[inline]
pub fn verbatim(ctx: &Context) {
    ffi::replicate_verbatim(ctx);
}

/// A batch with the master's resolved times (`ECL.MLOG ... AT t NOW t`).
pub fn batch(ctx: &Context, args: &MlogArgs<'_>) {
    if let (None, [(event, count)], Some(at), Some(now)) =
        (args.producer, args.events, args.at_ms, args.now_ms)
    {
        if !ecl_core::command::reads_as_option(event) {
            return one(ctx, args.group, event, *count, at, now);
        }
    }
    send(ctx, "ECL.MLOG", &mlog_args(args));
}

/// The common one-event write, with numbers formatted on the stack: the
/// same arguments `mlog_args` builds, without allocating.
fn one(ctx: &Context, group: &[u8], event: &[u8], count: u64, at: u64, now: u64) {
    let (mut at_buf, mut now_buf, mut count_buf) = ([0u8; 20], [0u8; 20], [0u8; 20]);
    ffi::replicate_seven(
        ctx,
        c"ECL.MLOG",
        [
            group,
            b"AT",
            decimal(at, &mut at_buf),
            b"NOW",
            decimal(now, &mut now_buf),
            event,
            decimal(count, &mut count_buf),
        ],
    );
}

/// A schema change as the full schema at the master's time:
/// `ECL.CREATE group NOW t ...` for a new group, `ECL.ALTER group NOW t ...`
/// for a changed one, so replicas and the AOF end with exactly `shape`.
pub fn schema(ctx: &Context, created: bool, shape: &GroupShape, now: u64) {
    let args = SchemaArgs::full(shape, !created, Some(now));
    send(ctx, if created { "ECL.CREATE" } else { "ECL.ALTER" }, &args);
}

/// A tick's (or a command's) sweep steps on a group at `now`.
pub fn rotate(ctx: &Context, group: &[u8], now: u64, steps: u64) {
    send(ctx, "ECL.ROTATE", &rotate_args(group, now, steps));
}

fn send(ctx: &Context, command: &str, args: &[Vec<u8>]) {
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    ctx.replicate(command, args.as_slice());
}

/// Formats `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn numbers_are_formatted_as_core_formats_them() {
        for n in [0, 7, 10, 1_000_000, u64::MAX] {
            let mut buf = [0u8; 20];
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }
}
