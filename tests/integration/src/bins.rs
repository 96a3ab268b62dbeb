//! The workspace's binaries (`ecl`, `ecl_reader`, ...), run as a user would.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A binary of the workspace (`ecl`, `ecl_reader`, ...): `ECL_BIN_DIR`, else
/// the debug build (run `cargo build --workspace` or `make build` first).
pub fn bin_path(name: &str) -> PathBuf {
    let dir = match std::env::var_os("ECL_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug"),
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build the workspace first",
        path.display()
    );
    path
}

/// Output of a finished command: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs a workspace binary with arguments and environment variables.
pub fn run_bin(name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    Command::new(bin_path(name))
        .args(args)
        .env_remove("ECL_REDIS_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run the binary")
        .into()
}

/// A real tool the tests check output with (`promtool`): on `PATH`, or in
/// `ECL_TOOLS` (where `make tools` puts what it could fetch). `None`, with
/// the reason printed, where this machine has none.
pub fn real_tool(name: &str) -> Option<PathBuf> {
    let in_tools = std::env::var_os("ECL_TOOLS").map(|d| Path::new(&d).join(name));
    if let Some(path) = in_tools.filter(|p| p.exists()) {
        return Some(path);
    }
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if on_path.is_none() {
        println!("skipped: {name} is not installed here (make tools fetches it where it can)");
    }
    on_path
}
