//! The Prometheus exporter as a process, and its samples.

use crate::{bin_path, free_port};

/// A running `ecl exporter`, killed when dropped.
pub struct Exporter {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    /// Starts `ecl exporter CONFIG` on a free port and waits until it listens.
    pub fn start(config: &str) -> Exporter {
        Exporter::start_with(config, &[])
    }

    /// The same with more arguments (`--timeout 2`).
    pub fn start_with(config: &str, extra: &[&str]) -> Exporter {
        let port = free_port();
        let child = std::process::Command::new(bin_path("ecl"))
            .args(["exporter", config, "--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env_remove("ECL_REDIS_URL")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let exporter = Exporter { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "exporter did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        exporter
    }

    /// Threads of the exporter's process.
    pub fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `raw` bytes as a request and returns the whole response.
    pub fn send_raw(&self, raw: &[u8]) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.write_all(raw).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    }

    /// `GET path`: the response head and body.
    pub fn get(&self, path: &str) -> (String, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (head.to_string(), body.to_string())
    }
}

/// `name{labels} value` samples of a metric, labels as written.
pub fn samples<'a>(body: &'a str, metric: &str) -> Vec<(&'a str, u64)> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .map(|l| {
            let (labels, value) = l.rsplit_once(' ').unwrap();
            (
                &labels[metric.len()..],
                value.parse::<f64>().unwrap() as u64,
            )
        })
        .collect()
}
