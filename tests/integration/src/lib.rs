//! Test harness: starts a real `redis-server` with the built ECL module on a
//! free port, in a directory of its own, and stops it by pid when dropped —
//! also when the test panics.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use redis;

mod clock_shim;
pub use clock_shim::ClockShim;

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
fn port_was_taken(log: &str) -> bool {
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

    /// Tries to start a server that may refuse to load; returns its log on failure.
    pub fn try_start(config: &str) -> Result<Server, String> {
        Server::try_start_with(config, &[], |_| Vec::new())
    }

    fn try_start_with(
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
        let mut cmd = Command::new("redis-server");
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
            .arg(module_path())
            .arg(&self.config_path)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
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
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The server's clock in Unix ms (`TIME`).
pub fn server_ms(c: &mut redis::Connection) -> u64 {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query(c).unwrap();
    secs * 1000 + micros / 1000
}

/// Sleeps past the next boundary of `len_ms` windows when less than
/// `need_ms` is left before it, so that a test which reads the current
/// window, or compares state over time, is not cut by a rotation. Windows
/// of longer intervals that are multiples of `len_ms` (1 m, 1 h, 1 d of 5 s)
/// rotate only at such boundaries too. Returns the server's time after.
pub fn clear_of_boundary(c: &mut redis::Connection, len_ms: u64, need_ms: u64) -> u64 {
    let left = len_ms - server_ms(c) % len_ms;
    if left < need_ms {
        std::thread::sleep(Duration::from_millis(left + 20));
    }
    server_ms(c)
}

/// An hour, and the time the hour-window tests keep clear of its end.
pub const HOUR_MS: u64 = 3_600_000;
pub const HOUR_MARGIN_MS: u64 = 30_000;

/// Sleeps until the server's clock is at least `len_ms` into a window and at
/// most `len_ms - margin_ms` (so a few commands fit before the next boundary).
pub fn wait_for_window_start(c: &mut redis::Connection, len_ms: u64, margin_ms: u64) -> u64 {
    loop {
        let now = server_ms(c);
        let into = now % len_ms;
        if into + margin_ms < len_ms && into < 50 {
            return now;
        }
        std::thread::sleep(Duration::from_millis((len_ms - into + 5).min(len_ms)));
    }
}

/// `ECL.GET`-style reply as pairs.
pub type Counts = Vec<(String, u64)>;

/// Runs a command that replies `event, count, ...` and returns the pairs.
pub fn counts(c: &mut redis::Connection, args: &[&str]) -> Counts {
    let flat: Vec<(String, u64)> = cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    flat
}

/// Builds a command from words.
pub fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command expected to fail and returns the error text.
pub fn error_of(c: &mut redis::Connection, args: &[&str]) -> String {
    match cmd(args).query::<redis::Value>(c) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        // Rebuild the RESP error line: code, then message.
        Err(e) => format!(
            "{} {}",
            e.code().unwrap_or("?"),
            e.detail().unwrap_or_default()
        ),
    }
}

/// Waits until the replica's link to its master is up and it has
/// acknowledged everything the master wrote so far (`WAIT 1`).
pub fn wait_replica_synced(master: &mut redis::Connection, replica: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = cmd(&["INFO", "replication"]).query(replica).unwrap();
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(Instant::now() < deadline, "replica did not sync");
        std::thread::sleep(Duration::from_millis(50));
    }
    let acked: i64 = cmd(&["WAIT", "1", "5000"]).query(master).unwrap();
    assert_eq!(acked, 1, "the replica acknowledged the master's writes");
}

/// The server's `used_memory` (`INFO memory`), in bytes.
pub fn used_memory(c: &mut redis::Connection) -> u64 {
    let info: String = cmd(&["INFO", "memory"]).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .expect("INFO memory has used_memory")
        .trim()
        .parse()
        .unwrap()
}

/// A numeric field of `ECL.INFO group`.
pub fn info_field(c: &mut impl redis::ConnectionLike, group: &str, field: &str) -> u64 {
    let v: redis::Value = cmd(&["ECL.INFO", group]).query(c).unwrap();
    let map: std::collections::HashMap<String, redis::Value> =
        redis::from_redis_value(&v).unwrap_or_else(|e| panic!("ECL.INFO {group}: {e}: {v:?}"));
    let value = map
        .get(field)
        .unwrap_or_else(|| panic!("ECL.INFO {group} has no {field}: {v:?}"));
    redis::from_redis_value(value).unwrap()
}

/// `(event, count)` pairs from string slices, for comparisons.
pub fn pairs(list: &[(&str, u64)]) -> Counts {
    list.iter().map(|(e, c)| (e.to_string(), *c)).collect()
}

/// `DEBUG DIGEST-VALUE` of a key.
pub fn digest(c: &mut redis::Connection, key: &str) -> String {
    let v: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg(key)
        .query(c)
        .unwrap();
    v.into_iter().next().unwrap_or_default()
}

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

/// A Redis Cluster of masters on loopback, each a [`Server`] with the
/// module, joined with `redis-cli --cluster create`.
pub struct Cluster {
    pub nodes: Vec<Server>,
}

impl Cluster {
    /// Starts `masters` servers in cluster mode and creates the cluster.
    pub fn start(config: &str, masters: usize) -> Cluster {
        Cluster::start_with_replicas(config, masters, 0)
    }

    /// Starts `masters` masters with `replicas` replicas each.
    pub fn start_with_replicas(config: &str, masters: usize, replicas: usize) -> Cluster {
        let start_node = || {
            // The bus port is set: the default (port + 10000) may not exist.
            let bus = free_port().to_string();
            Server::try_start_with(
                config,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-port",
                    &bus,
                    "--cluster-node-timeout",
                    "5000",
                ],
                |_| Vec::new(),
            )
        };
        let nodes: Vec<Server> = (0..masters * (1 + replicas))
            .map(|_| {
                // A bus port taken meanwhile: another one.
                let mut started = start_node();
                for _ in 0..5 {
                    match &started {
                        Err(log) if port_was_taken(log) => started = start_node(),
                        _ => break,
                    }
                }
                started.unwrap_or_else(|log| panic!("cluster node did not start:\n{log}"))
            })
            .collect();
        let cluster = Cluster { nodes };
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(cluster.seeds())
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_stable();
        cluster
    }

    /// `host:port` of every node.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect()
    }

    /// Waits until every node reports `cluster_state:ok` and agrees on the
    /// slot owners.
    pub fn wait_until_stable(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let views: Vec<Option<Vec<(u16, u16, u16)>>> = self
                .nodes
                .iter()
                .map(|n| {
                    let mut c = n.conn();
                    let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut c).ok()?;
                    if !info.contains("cluster_state:ok") {
                        return None;
                    }
                    Some(slot_owners(&mut c))
                })
                .collect();
            let first = views[0].clone();
            if first.is_some() && views.iter().all(|v| *v == first) {
                return;
            }
            assert!(Instant::now() < deadline, "cluster did not become stable");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The node that owns `slot` now.
    pub fn owner_of_slot(&self, slot: u16) -> &Server {
        let owners = slot_owners(&mut self.nodes[0].conn());
        let port = owners
            .iter()
            .find(|(from, to, _)| (*from..=*to).contains(&slot))
            .map(|(_, _, port)| *port)
            .expect("every slot is served");
        self.nodes.iter().find(|n| n.port == port).unwrap()
    }

    /// The slot of a key, as the server computes it.
    pub fn key_slot(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.nodes[0].conn())
            .unwrap()
    }

    /// Moves `slot` from its owner to `to` the way `redis-cli --cluster
    /// reshard` does: IMPORTING / MIGRATING, MIGRATE every key, then NODE
    /// everywhere. `between` runs after each step, so a test can act while
    /// the slot is open.
    pub fn move_slot(&self, slot: u16, to: &Server, mut between: impl FnMut(&str)) {
        let from = self.owner_of_slot(slot);
        assert_ne!(from.port, to.port, "slot {slot} is already there");
        let id = |s: &Server| -> String {
            redis::cmd("CLUSTER")
                .arg("MYID")
                .query(&mut s.conn())
                .unwrap()
        };
        let (from_id, to_id) = (id(from), id(to));
        let setslot = |s: &Server, how: &str, node: &str| {
            let _: () = redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg(how)
                .arg(node)
                .query(&mut s.conn())
                .unwrap_or_else(|e| panic!("SETSLOT {slot} {how}: {e}"));
        };
        setslot(to, "IMPORTING", &from_id);
        setslot(from, "MIGRATING", &to_id);
        between("open");
        loop {
            let keys: Vec<String> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(100)
                .query(&mut from.conn())
                .unwrap();
            if keys.is_empty() {
                break;
            }
            let _: () = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(to.port)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut from.conn())
                .unwrap_or_else(|e| panic!("MIGRATE {keys:?}: {e}"));
        }
        between("migrated");
        setslot(to, "NODE", &to_id);
        setslot(from, "NODE", &to_id);
        for node in &self.nodes {
            if node.port != from.port && node.port != to.port {
                setslot(node, "NODE", &to_id);
            }
        }
        self.wait_until_stable();
    }
}

/// `(first slot, last slot, master port)` ranges from `CLUSTER SLOTS`, sorted.
pub fn slot_owners(c: &mut redis::Connection) -> Vec<(u16, u16, u16)> {
    let ranges: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(c).unwrap();
    let mut owners: Vec<(u16, u16, u16)> = ranges
        .iter()
        .map(|range| {
            let redis::Value::Array(items) = range else {
                panic!("CLUSTER SLOTS: {range:?}")
            };
            let int = |v: &redis::Value| -> u16 { redis::from_redis_value(v).unwrap() };
            let redis::Value::Array(master) = &items[2] else {
                panic!("CLUSTER SLOTS: {range:?}")
            };
            (int(&items[0]), int(&items[1]), int(&master[1]))
        })
        .collect();
    owners.sort_unstable();
    owners
}

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
        let port = free_port();
        let child = std::process::Command::new(bin_path("ecl"))
            .args(["exporter", config, "--listen", &format!("127.0.0.1:{port}")])
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

/// A TCP proxy that, once armed, forwards one command containing `needle`
/// (say `ECL.MLOG`) to the server and then cuts the connection instead of
/// returning the reply: the server applied it, the client never hears.
pub struct LosingProxy {
    pub port: u16,
    /// Set to cut the next matching command's reply; cleared when done.
    pub armed: Arc<AtomicBool>,
}

impl LosingProxy {
    pub fn start(server_port: u16, needle: &'static [u8]) -> LosingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let armed_for_thread = armed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let cut = Arc::new(AtomicBool::new(false));
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (armed, cut_up) = (armed_for_thread.clone(), cut.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = c_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if armed.load(Ordering::SeqCst)
                            && buf[..n].windows(needle.len()).any(|w| w == needle)
                        {
                            armed.store(false, Ordering::SeqCst);
                            cut_up.store(true, Ordering::SeqCst);
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = s_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if cut.load(Ordering::SeqCst) {
                            // The server applied the batch; the client never hears.
                            let _ = c_out.shutdown(Shutdown::Both);
                            let _ = s_in.shutdown(Shutdown::Both);
                            break;
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        LosingProxy { port, armed }
    }
}

/// A version 1 payload (what `ECL.RESTORE` takes) written by hand: one
/// group with intervals `(len, window)`
/// and one declared event `e1` counted once in the first interval's
/// current window.
pub fn v1_payload(group: &str, intervals: &[(u64, u64)]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = b"ECL\x01".to_vec();
    varint(&mut out, group.len() as u64);
    out.extend_from_slice(group.as_bytes());
    varint(&mut out, intervals.len() as u64);
    for &(len, window) in intervals {
        varint(&mut out, len);
        varint(&mut out, window);
    }
    varint(&mut out, 0); // auto_declare
    varint(&mut out, 10); // max_events
    varint(&mut out, 1); // declared
    varint(&mut out, 2);
    out.extend_from_slice(b"e1");
    varint(&mut out, 1); // events
    varint(&mut out, 2);
    out.extend_from_slice(b"e1");
    varint(&mut out, 1); // total
    for i in 0..intervals.len() {
        varint(&mut out, u64::from(i == 0)); // cur
        varint(&mut out, 0); // last
    }
    varint(&mut out, 0); // overflowed
    varint(&mut out, 0); // late_dropped
    varint(&mut out, 0); // producers
    out
}
