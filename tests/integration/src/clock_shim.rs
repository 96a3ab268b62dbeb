//! A wall clock under the test's control for a `redis-server`: the small C
//! preload library in `shim/clock_offset.c`, built here with the system C
//! compiler, adds an offset read from a file to `CLOCK_REALTIME`,
//! `gettimeofday` and `time`. (libfaketime hangs redis-server at start-up.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The built preload library (built once per test process).
fn library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("shim/clock_offset.c");
        let out = std::env::temp_dir().join(format!("ecl-clock-shim-{}.so", std::process::id()));
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&out)
            .arg(&source)
            .arg("-ldl")
            .status()
            .expect("run cc to build the clock shim");
        assert!(status.success(), "building {} failed", source.display());
        out
    })
}

/// The offset file of one server's clock.
pub struct ClockShim {
    offset_file: PathBuf,
}

impl ClockShim {
    /// A clock starting `offset_ms` off the real one, its file in `dir`.
    pub fn new(dir: &Path, offset_ms: i64) -> ClockShim {
        let shim = ClockShim {
            offset_file: dir.join("clock_offset_ms"),
        };
        shim.set_offset_ms(offset_ms);
        shim
    }

    /// Steps the clock: from now on it reads real time plus `offset_ms`
    /// (within the shim's 10 ms re-read).
    pub fn set_offset_ms(&self, offset_ms: i64) {
        let tmp = self.offset_file.with_extension("tmp");
        std::fs::write(&tmp, offset_ms.to_string()).unwrap();
        std::fs::rename(&tmp, &self.offset_file).unwrap();
    }

    /// The environment a server needs to run by this clock.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LD_PRELOAD".into(), library().display().to_string()),
            (
                "ECL_CLOCK_OFFSET_FILE".into(),
                self.offset_file.display().to_string(),
            ),
        ]
    }
}
