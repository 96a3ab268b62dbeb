//! A small number for each thread that counts, so cached groups can give
//! every thread counter cells of its own (see `cached::ThreadCells`).
//!
//! Slots are handed out lowest first and given back when the thread exits,
//! so their range stays as small as the number of live counting threads.
//! A slot's next owner sees everything its last owner wrote: the release and
//! the next take go through the same mutex.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, TryLockError};

/// No slot yet: the next `current()` takes one.
const UNASSIGNED: usize = usize::MAX;
/// The thread is exiting (or could not register its exit): it has no slot
/// any more, and callers fall back to shared counters.
pub(crate) const NO_SLOT: usize = usize::MAX - 1;

/// Slots given back by exited threads, and the next never-used one.
struct SlotPool {
    free: Vec<usize>,
    next: usize,
}

static POOL: Mutex<SlotPool> = Mutex::new(SlotPool {
    free: Vec::new(),
    next: 0,
});

/// Set in a forked child whose parent forked while another thread held the
/// pool's lock: that thread does not exist in the child, so the lock stays
/// held, and every thread counts through the shared counters instead.
static SLOTS_OFF: AtomicBool = AtomicBool::new(false);

/// To call in the child right after `fork()` (the Python package does, from
/// `os.register_at_fork`): only the forking thread runs there.
pub fn after_fork_in_child() {
    if matches!(POOL.try_lock(), Err(TryLockError::WouldBlock)) {
        SLOTS_OFF.store(true, Ordering::Relaxed);
    }
}

thread_local! {
    // No destructor, so reading it costs a plain thread-local load.
    static SLOT: Cell<usize> = const { Cell::new(UNASSIGNED) };
    // Its destructor gives the slot back when the thread exits.
    static RELEASE_ON_EXIT: SlotRelease = const { SlotRelease };
}

struct SlotRelease;

impl Drop for SlotRelease {
    fn drop(&mut self) {
        let slot = SLOT.with(|s| s.replace(NO_SLOT));
        if slot < NO_SLOT && !SLOTS_OFF.load(Ordering::Relaxed) {
            lock_pool().free.push(slot);
        }
    }
}

fn lock_pool() -> std::sync::MutexGuard<'static, SlotPool> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The calling thread's slot (taken on first use), or [`NO_SLOT`] while the
/// thread is exiting.
#[inline]
pub(crate) fn current() -> usize {
    let slot = SLOT.with(Cell::get);
    if slot != UNASSIGNED {
        return slot;
    }
    assign()
}

#[cold]
fn assign() -> usize {
    if SLOTS_OFF.load(Ordering::Relaxed) {
        return NO_SLOT;
    }
    let slot = {
        let mut pool = lock_pool();
        // Lowest free slot first, so the slots in use stay dense.
        match (0..pool.free.len()).min_by_key(|&i| pool.free[i]) {
            Some(i) => pool.free.swap_remove(i),
            None => {
                pool.next += 1;
                pool.next - 1
            }
        }
    };
    // Registers the release; fails only while the thread's locals are
    // being destroyed, when the slot goes straight back.
    if RELEASE_ON_EXIT.try_with(|_| ()).is_err() {
        lock_pool().free.push(slot);
        SLOT.with(|s| s.set(NO_SLOT));
        return NO_SLOT;
    }
    SLOT.with(|s| s.set(slot));
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_slot_and_an_exited_threads_slot_is_reused() {
        let first = std::thread::spawn(|| (current(), current()))
            .join()
            .unwrap();
        assert_eq!(first.0, first.1, "a thread keeps its slot");
        assert!(first.0 < NO_SLOT);
        // Two live threads never share a slot.
        let (tx, rx) = std::sync::mpsc::channel();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (tx, barrier) = (tx.clone(), barrier.clone());
                std::thread::spawn(move || {
                    tx.send(current()).unwrap();
                    barrier.wait(); // both alive at once
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let (a, b) = (rx.recv().unwrap(), rx.recv().unwrap());
        assert_ne!(a, b);
        // Slots are given back: a thousand short-lived threads in turn do not
        // use a thousand slots.
        let most = (0..1000)
            .map(|_| std::thread::spawn(current).join().unwrap())
            .max()
            .unwrap();
        assert!(most < 64, "slots are reused, got {most}");
    }
}
