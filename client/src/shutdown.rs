//! Flushing before the process ends by a signal (SPEC §7, for Rust
//! services as for Python ones): supervisord, systemd, Docker and
//! Kubernetes stop a process with `SIGTERM`, whose default action ends it
//! without running any destructor, so cached counts since the last sync
//! would be lost.
//!
//! The signal handler only writes the signal's number to a pipe
//! (async-signal-safe); a thread of its own reads it, flushes every client
//! that asked, then puts back the disposition that was there before and
//! raises the signal again: the process ends (or goes on) as it would have.

use crate::inner::ClientInner;
use std::io;
use std::os::raw::c_int;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// How long the flush on a signal may take.
pub const SIGNAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Clients to flush on a signal.
static CLIENTS: Mutex<Vec<Weak<ClientInner>>> = Mutex::new(Vec::new());
/// The pipe's write end, for the handler.
static PIPE_WRITE: OnceLock<c_int> = OnceLock::new();
/// The dispositions the handlers replaced, by signal.
static PREVIOUS: Mutex<Vec<(c_int, libc::sigaction)>> = Mutex::new(Vec::new());

extern "C" fn on_signal(signal: c_int) {
    if let Some(&fd) = PIPE_WRITE.get() {
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; one byte from the stack.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// Flushes `client` (and every client registered before) on `SIGTERM` and
/// `SIGINT`, then lets the process end as it would have.
pub(crate) fn install(client: &Arc<ClientInner>) -> io::Result<()> {
    CLIENTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::downgrade(client));
    if PIPE_WRITE.get().is_some() {
        return Ok(());
    }
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    if PIPE_WRITE.set(write_end).is_err() {
        return Ok(()); // another thread installed them meanwhile
    }
    std::thread::Builder::new()
        .name("ecl-signals".into())
        .spawn(move || wait_for_signals(read_end))?;
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is a valid value to fill in; the
        // handler is a static function that only writes to a pipe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, &action, &mut previous) != 0 {
                return Err(io::Error::last_os_error());
            }
            PREVIOUS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((signal, previous));
        }
    }
    Ok(())
}

fn wait_for_signals(read_end: c_int) {
    loop {
        let mut byte = 0u8;
        // SAFETY: reads one byte into a local.
        let n = unsafe { libc::read(read_end, (&mut byte as *mut u8).cast(), 1) };
        if n != 1 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        let signal = c_int::from(byte);
        flush_all();
        let previous = PREVIOUS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(s, _)| *s == signal)
            .map(|(_, action)| *action);
        if let Some(previous) = previous {
            // SAFETY: puts back the disposition saved at install, then
            // raises the signal so that it acts as it would have.
            unsafe {
                libc::sigaction(signal, &previous, std::ptr::null_mut());
                libc::raise(signal);
            }
        }
    }
}

fn flush_all() {
    let clients: Vec<Arc<ClientInner>> = CLIENTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for client in clients {
        if let Some(flusher) = client.flusher.get() {
            if let Err(e) = flusher.flush(SIGNAL_FLUSH_TIMEOUT) {
                log::error!("ECL: counts not delivered before the signal ended the process: {e}");
            }
        }
    }
}
