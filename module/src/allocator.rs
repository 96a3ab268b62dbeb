//! The module's global allocator: Redis's own, so `INFO memory`,
//! `maxmemory` and `MEMORY USAGE` see what ECL holds.
//!
//! `redis-module`'s allocator has no zeroed allocation, so Rust's default
//! allocates and then writes zeros over the whole block. For the large
//! tables a group grows into (a million-event index is 8 MB) that write,
//! and the page faults it brings all at once, land in the one command that
//! grows it. `RedisModule_Calloc` takes fresh pages already zero from the
//! kernel, faulted in later as they are used.

use redis_module::alloc::RedisAlloc;
use redis_module::raw;
use std::alloc::{GlobalAlloc, Layout};

/// Alignment every Redis allocation has (jemalloc's smallest size class
/// alignment on 64-bit systems); larger alignments take the default path.
const REDIS_MIN_ALIGN: usize = 16;

#[derive(Default, Debug, Clone, Copy)]
pub struct ServerAlloc;

// SAFETY: every call is forwarded to Redis's allocator (through
// `RedisAlloc`, or `RedisModule_Calloc`, which returns memory that
// `RedisModule_Free` releases), with a size rounded up to the alignment as
// `RedisAlloc` does.
unsafe impl GlobalAlloc for ServerAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout`, passed on.
        unsafe { RedisAlloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from Redis's.
        unsafe { RedisAlloc.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: reading an API pointer Redis set at load (or None).
        let calloc = unsafe { raw::RedisModule_Calloc };
        match calloc {
            Some(calloc) if layout.align() <= REDIS_MIN_ALIGN => {
                let size = layout.size().next_multiple_of(layout.align());
                // SAFETY: a plain allocation of `size` zeroed bytes; Redis
                // aborts rather than return null on out-of-memory.
                unsafe { calloc(1, size).cast() }
            }
            // SAFETY: the caller's contract for `layout`, passed on.
            _ => unsafe { RedisAlloc.alloc_zeroed(layout) },
        }
    }
}
