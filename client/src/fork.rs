//! Noticing that this process is a fork of the one that made a client,
//! whoever forked it: Python's `os.fork`, uWSGI's workers (forked in C, no
//! Python hook runs), `multiprocessing`, a C extension. A `pthread_atfork`
//! child handler counts forks; a client compares the count it was made at
//! with one atomic load.
//!
//! In the child, only the forking thread exists: the parent's flusher
//! thread, its connections (the same sockets as the parent's) and its
//! unsent counts (the parent sends them) must be left alone, and the child
//! counts through a client of its own.

use std::os::raw::c_int;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// Forks this process went through in a child's role.
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> c_int;
}

/// Runs in the child right after `fork()`, before anything else: only
/// async-signal-safe work (an atomic add, a `try_lock`).
extern "C" fn in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
    crate::thread_slot::after_fork_in_child();
}

/// Starts counting forks (once per process; what a client calls when made).
pub(crate) fn watch() {
    static WATCH: Once = Once::new();
    WATCH.call_once(|| {
        // SAFETY: registers a static function with the C library; it runs
        // in the child of every later fork and does only atomic work.
        let status = unsafe { pthread_atfork(None, None, Some(in_child)) };
        if status != 0 {
            log::warn!("ECL: cannot watch for fork() (error {status}); after a fork, make a new client in the child");
        }
    });
}

/// Forks so far: a client made at one generation and used at another is
/// its parent's.
pub fn generation() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forked_child_sees_a_new_generation() {
        watch();
        let before = generation();
        // SAFETY: the child only reads an atomic and exits without running
        // destructors or touching locks.
        let pid = unsafe { fork() };
        if pid == 0 {
            let code = if generation() == before + 1 { 0 } else { 1 };
            // SAFETY: ends the child at once.
            unsafe { _exit(code) };
        }
        assert!(pid > 0, "fork failed");
        let mut status: c_int = 0;
        // SAFETY: waits for the child just made.
        unsafe { waitpid(pid, &mut status, 0) };
        assert_eq!(status, 0, "the child saw the fork");
        assert_eq!(generation(), before, "the parent did not");
    }

    extern "C" {
        fn fork() -> c_int;
        fn _exit(code: c_int) -> !;
        fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    }
}
