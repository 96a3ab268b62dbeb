//! A Redis Cluster on loopback, every node a [`Server`] with the module.

use crate::server::port_was_taken;
use crate::{free_port, Server};
use std::process::Command;
use std::time::{Duration, Instant};

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
    /// slot owners and on which node replicates which. (A master that
    /// still sees a new replica as a master denies it its vote, and then
    /// votes for that master's replicas again only after twice the node
    /// timeout: a `CLUSTER FAILOVER` asked before gossip settled fails.)
    pub fn wait_until_stable(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let views: Vec<Option<ClusterView>> = self
                .nodes
                .iter()
                .map(|n| {
                    let mut c = n.conn();
                    let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut c).ok()?;
                    if !info.contains("cluster_state:ok") {
                        return None;
                    }
                    Some((slot_owners(&mut c), roles(&mut c)))
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
/// What a node believes: slot ranges with their owner's port, and every
/// node's role.
type ClusterView = (Vec<(u16, u16, u16)>, Vec<(String, String)>);

/// Every node a node knows, by ID, with the ID of its master (`-` for a
/// master), sorted.
fn roles(c: &mut redis::Connection) -> Vec<(String, String)> {
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(c).unwrap();
    let mut roles: Vec<(String, String)> = nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            Some((fields.first()?.to_string(), fields.get(3)?.to_string()))
        })
        .collect();
    roles.sort_unstable();
    roles
}

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
