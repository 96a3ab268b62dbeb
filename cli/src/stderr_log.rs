//! The client's warnings and errors (a refused batch, Redis unreachable)
//! as one line each on stderr, where a command line user or munin-node's
//! log sees them. In a Python process the package installs its own logger
//! first (to `logging`), and this one stands aside.

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{}", record.args());
        }
    }

    fn flush(&self) {}
}

static STDERR: Stderr = Stderr;

/// Installs the stderr logger unless a logger is installed already.
pub fn install() {
    if log::set_logger(&STDERR).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
