//! The client's warnings and errors (a refused batch, an outage with counts
//! kept, counts undelivered at shutdown, a direct log kept for later) go to
//! Python's `logging`, logger `ecl`.
//!
//! Whoever logs never waits for the GIL: messages go through a bounded
//! channel to a thread of their own, which takes the GIL to hand them to
//! `logging`. (The flusher logs while a Python thread may hold the GIL and
//! wait for it, at shutdown; waiting for the GIL there would deadlock.) A
//! forked child gets a thread of its own at its first message.

use pyo3::prelude::*;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Mutex, TryLockError};

/// Messages waiting for the GIL at most; beyond, they go to stderr.
const QUEUE: usize = 1024;

/// A message: Python's logging level and the text.
type Message = (u8, String);

struct Bridge {
    /// The process whose forwarding thread the sender feeds.
    sender: Mutex<Option<(u32, SyncSender<Message>)>>,
}

static BRIDGE: Bridge = Bridge {
    sender: Mutex::new(None),
};

/// Installs the bridge as the `log` crate's logger (once per process).
pub fn install() {
    if log::set_logger(&BRIDGE).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

fn python_level(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 40,
        log::Level::Warn => 30,
        log::Level::Info => 20,
        log::Level::Debug | log::Level::Trace => 10,
    }
}

fn forward(receiver: std::sync::mpsc::Receiver<Message>) {
    for (level, message) in receiver {
        Python::attach(|py| {
            let sent = py
                .import("logging")
                .and_then(|logging| logging.call_method1("getLogger", ("ecl",)))
                .and_then(|logger| logger.call_method1("log", (level, message.as_str())));
            if sent.is_err() {
                eprintln!("{message}");
            }
        });
    }
}

impl Bridge {
    fn sender(&self) -> Option<SyncSender<Message>> {
        let mut slot = match self.sender.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            // Held by a thread that is not in this (forked) process.
            Err(TryLockError::WouldBlock) => return None,
        };
        let pid = std::process::id();
        if let Some((owner, sender)) = slot.as_ref() {
            if *owner == pid {
                return Some(sender.clone());
            }
        }
        let (sender, receiver) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("ecl-logging".into())
            .spawn(move || forward(receiver))
            .ok()?;
        *slot = Some((pid, sender.clone()));
        Some(sender)
    }
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let level = python_level(record.level());
        match self.sender() {
            Some(sender) => match sender.try_send((level, message)) {
                Ok(()) => {}
                Err(
                    TrySendError::Full((_, message)) | TrySendError::Disconnected((_, message)),
                ) => {
                    eprintln!("{message}")
                }
            },
            None => eprintln!("{message}"),
        }
    }

    fn flush(&self) {}
}
