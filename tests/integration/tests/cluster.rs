//! Redis Cluster: three masters with the module, created with
//! `redis-cli --cluster create`. Groups spread over the shards, each shard
//! rotates its own groups, and moving a live group's slot keeps every count.

use ecl_client::EclClient;
use ecl_integration::*;
use redis::cluster::{ClusterClient, ClusterConnection};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// With the slots `redis-cli --cluster create` hands out to three masters,
/// these groups land on all three (the tests check it with CLUSTER KEYSLOT).
/// Clients see two cached groups and two direct ones; the module ignores
/// the `sync_*` keys.
const CONFIG: &str = "\
groups:
  logins:
    events: [ok, failed]
    intervals: [1s, 1h]
    sync_interval: 0.1
  requests:
    events: [req1, req2]
    intervals: [1s, 1h]
  errors:
    events: [e500, e503]
    intervals: [1s, 1h]
  api:
    auto_declare_events: true
    intervals: [1s, 1h]
    sync_interval: 0.1
    sync_limit: 50
";

const GROUPS: [&str; 4] = ["logins", "requests", "errors", "api"];

/// A client config file pointing at the cluster (`redis.cluster`).
fn client_config(cluster: &Cluster) -> std::path::PathBuf {
    let nodes: Vec<String> = cluster.seeds().iter().map(|s| format!("'{s}'")).collect();
    let path = cluster.nodes[0].dir.join("client.yml");
    std::fs::write(
        &path,
        format!("redis:\n  cluster: [{}]\n{CONFIG}", nodes.join(", ")),
    )
    .unwrap();
    path
}

fn sum(counts: &[(String, u64)]) -> u64 {
    counts.iter().map(|p| p.1).sum()
}

fn cluster_connection(cluster: &Cluster) -> ClusterConnection {
    ClusterClient::builder(
        cluster
            .seeds()
            .iter()
            .map(|s| format!("redis://{s}"))
            .collect::<Vec<_>>(),
    )
    // TRYAGAIN while a slot moves: retry soon, not after a second.
    .min_retry_wait(5)
    .max_retry_wait(200)
    .retries(30)
    .build()
    .unwrap()
    .get_connection()
    .unwrap()
}

fn get(c: &mut ClusterConnection, args: &[&str]) -> Counts {
    cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Whether the node holds any key in the slot (asked locally: a plain
/// `EXISTS` would be redirected).
fn keys_in_slot(node: &Server, slot: u16) -> bool {
    let n: u64 = cmd(&["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()])
        .query(&mut node.conn())
        .unwrap();
    n > 0
}

#[test]
fn groups_spread_over_the_shards_and_each_shard_rotates_its_own() {
    let cluster = Cluster::start(CONFIG, 3);
    // Reads the current hour window of each group.
    clear_of_boundary(&mut cluster.nodes[0].conn(), HOUR_MS, HOUR_MARGIN_MS);
    let mut c = cluster_connection(&cluster);

    // The server's slot for the group name is the slot of its key.
    let mut owners = Vec::new();
    for group in GROUPS {
        let slot = cluster.key_slot(group);
        assert_eq!(slot, cluster.key_slot(&format!("ecl:{{{group}}}")));
        owners.push(cluster.owner_of_slot(slot).port);
    }
    let mut distinct = owners.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "groups should land on all three shards");

    for (n, group) in GROUPS.iter().enumerate() {
        let event = if *group == "api" {
            "GET /x"
        } else {
            ["ok", "req1", "e500"][n]
        };
        let _: () = cmd(&["ECL.LOG", group, event, &(n + 1).to_string()])
            .query(&mut c)
            .unwrap();
        // Each group's key is on its owner and nowhere else.
        for node in &cluster.nodes {
            let held = keys_in_slot(node, cluster.key_slot(group));
            assert_eq!(held, node.port == owners[n], "{group} on {}", node.port);
        }
        let hour = get(&mut c, &["ECL.GET", group, "1h", "CURRENT"]);
        assert!(
            hour.contains(&(event.to_string(), n as u64 + 1)),
            "{hour:?}"
        );
        assert_eq!(hour.iter().map(|p| p.1).sum::<u64>(), n as u64 + 1);
    }

    // After a 1 s boundary the windows have moved on every shard (reads are
    // exact without a timer; `operations.rs` checks each timer's own work).
    std::thread::sleep(Duration::from_millis(1200));
    for (n, group) in GROUPS.iter().enumerate() {
        // Rotation moved nothing out of the hour window.
        let hour = get(&mut c, &["ECL.GET", group, "1h", "CURRENT"]);
        let last_hour = get(&mut c, &["ECL.GET", group, "1h", "LAST"]);
        assert_eq!(sum(&hour) + sum(&last_hour), n as u64 + 1, "{group}");
    }
}

#[test]
fn moving_a_live_groups_slot_keeps_every_count() {
    let cluster = Cluster::start(CONFIG, 3);
    let group = "requests";
    let slot = cluster.key_slot(group);
    let from_port = cluster.owner_of_slot(slot).port;
    let to = cluster.nodes.iter().find(|n| n.port != from_port).unwrap();

    // Writers log through the cluster client all along; each counts what
    // the server acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut c = cluster_connection(&cluster);
            let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                let event = ["req1", "req2"][w];
                while !stop.load(Ordering::Relaxed) {
                    match cmd(&["ECL.LOG", group, event, "3"]).query::<()>(&mut c) {
                        Ok(()) => {
                            acknowledged.fetch_add(3, Ordering::Relaxed);
                        }
                        Err(e) => panic!("ECL.LOG during the move: {e}"),
                    }
                }
            })
        })
        .collect();
    let wait_for_progress = || {
        let seen = acknowledged.load(Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        while acknowledged.load(Ordering::Relaxed) < seen + 300 {
            assert!(Instant::now() < deadline, "writers are stuck");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for_progress();
    cluster.move_slot(slot, to, |step| {
        // Keep the slot open a while in each state, with writes going on.
        let _ = step;
        std::thread::sleep(Duration::from_millis(300));
    });
    wait_for_progress();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }

    assert_eq!(cluster.owner_of_slot(slot).port, to.port);
    let from = cluster.nodes.iter().find(|n| n.port == from_port).unwrap();
    assert!(
        keys_in_slot(to, slot) && !keys_in_slot(from, slot),
        "the key moved whole"
    );
    let mut c = cluster_connection(&cluster);
    let totals = get(&mut c, &["ECL.TOTALS", group]);
    let counted: u64 = totals.iter().map(|p| p.1).sum();
    assert_eq!(counted, acknowledged.load(Ordering::Relaxed), "{totals:?}");
    // The hour windows (current and last) hold every count too.
    let hour: u64 = ["CURRENT", "LAST"]
        .iter()
        .flat_map(|kind| get(&mut c, &["ECL.GET", group, "1h", kind]))
        .map(|p| p.1)
        .sum();
    assert_eq!(hour, counted);
}

#[test]
fn client_cli_and_exporter_work_against_the_cluster() {
    let cluster = Cluster::start(CONFIG, 3);
    let config = client_config(&cluster);
    let config_arg = config.to_str().unwrap();
    let ecl = EclClient::from_config_file(&config).unwrap();

    // Threads log into every group, cached and direct, through one client.
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let ecl = ecl.clone();
            std::thread::spawn(move || {
                for i in 0..250u64 {
                    ecl.group("logins")
                        .log(["ok", "failed"][(i % 2) as usize])
                        .unwrap();
                    ecl.group("api")
                        .log_n(format!("GET /{}", i % 5), t + 1)
                        .unwrap();
                    if i % 10 == 0 {
                        ecl.group("requests").log("req1").unwrap();
                        ecl.group("errors").log_n("e503", 2).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    ecl.flush().unwrap();
    let expected = [
        ("logins", 1000),
        ("requests", 100),
        ("errors", 200),
        ("api", 250 * (1 + 2 + 3 + 4)),
    ];
    let mut c = cluster_connection(&cluster);
    for (group, total) in expected {
        assert_eq!(sum(&get(&mut c, &["ECL.TOTALS", group])), total, "{group}");
        assert_eq!(sum(&ecl.group(group).totals().unwrap()), total, "{group}");
        let hour = ecl.group(group).current_counts(Some("1h")).unwrap();
        let last_hour = ecl.group(group).last_counts(Some("1h")).unwrap();
        assert_eq!(sum(&hour) + sum(&last_hour), total, "{group}");
    }
    assert_eq!(ecl.stats().rejected_counts, 0);

    // The CLI logs and reads through the cluster too.
    let logged = run_bin("ecl", &["log", config_arg, "errors", "e500", "7"], &[]);
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    let totals = run_bin("ecl", &["totals", config_arg, "-g", "errors"], &[]);
    assert_eq!(totals.code, 0, "{}", totals.stderr);
    assert_eq!(totals.stdout, "e500:7\ne503:200\n");
    let reader = run_bin(
        "ecl_reader",
        &[config_arg, "-g", "requests", "-i", "1h"],
        &[],
    );
    assert_eq!(reader.code, 0, "{}", reader.stderr);

    // The exporter reports every group, whichever shard holds it.
    let exporter = Exporter::start(config_arg);
    let (_, body) = exporter.get("/metrics");
    let totals = samples(&body, "ecl_events_total");
    for (group, total) in [("logins", 1000), ("requests", 100), ("errors", 207)] {
        let exported: u64 = totals
            .iter()
            .filter(|(labels, _)| labels.contains(&format!("group=\"{group}\"")))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(exported, total, "{group}: {body}");
    }
    assert!(body.contains("ecl_up 1"), "{body}");
}

#[test]
fn the_client_keeps_every_count_while_a_slot_moves() {
    let cluster = Cluster::start(CONFIG, 3);
    let ecl = EclClient::from_config_file(client_config(&cluster)).unwrap();
    // A cached and a direct group; each one's slot moves to another shard.
    let (cached, direct) = ("logins", "requests");
    let stop = Arc::new(AtomicBool::new(false));
    let logged = Arc::new(AtomicU64::new(0));
    let writer = {
        let (ecl, stop, logged) = (ecl.clone(), stop.clone(), logged.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                ecl.group(cached).log("ok").unwrap();
                ecl.group(direct).log("req2").unwrap();
                logged.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    for group in [cached, direct] {
        let slot = cluster.key_slot(group);
        let from = cluster.owner_of_slot(slot).port;
        let to = cluster.nodes.iter().find(|n| n.port != from).unwrap();
        cluster.move_slot(slot, to, |_| std::thread::sleep(Duration::from_millis(300)));
        assert_eq!(cluster.owner_of_slot(slot).port, to.port);
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    ecl.flush().unwrap();
    let n = logged.load(Ordering::Relaxed);
    assert!(n > 100, "the writer made progress: {n}");
    let mut c = cluster_connection(&cluster);
    assert_eq!(sum(&get(&mut c, &["ECL.TOTALS", cached])), n);
    assert_eq!(sum(&get(&mut c, &["ECL.TOTALS", direct])), n);
    assert_eq!(ecl.stats().rejected_counts, 0);
}

#[test]
fn redis_cli_reshard_under_load_keeps_every_count() {
    let cluster = Cluster::start(CONFIG, 3);
    let group = "logins";
    let slot = cluster.key_slot(group);
    let from = cluster.owner_of_slot(slot);
    let to = cluster.nodes.iter().find(|n| n.port != from.port).unwrap();
    let id = |s: &Server| -> String { cmd(&["CLUSTER", "MYID"]).query(&mut s.conn()).unwrap() };
    // `reshard` takes the source's slots from its first one on: ask for
    // enough of them that the group's slot is among them.
    let first_slot = slot_owners(&mut from.conn())
        .into_iter()
        .find(|(first, last, _)| (*first..=*last).contains(&slot))
        .map(|(first, _, _)| first)
        .unwrap();
    let count = (slot - first_slot + 1).to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writer = {
        let mut c = cluster_connection(&cluster);
        let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                cmd(&["ECL.MLOG", group, "ok", "2", "failed", "1"])
                    .query::<()>(&mut c)
                    .unwrap_or_else(|e| panic!("ECL.MLOG during the reshard: {e}"));
                acknowledged.fetch_add(3, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let out = std::process::Command::new("redis-cli")
        .args(["--cluster", "reshard", &format!("127.0.0.1:{}", from.port)])
        .args(["--cluster-from", &id(from), "--cluster-to", &id(to)])
        .args(["--cluster-slots", &count, "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reshard failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    cluster.wait_until_stable();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();

    assert_eq!(cluster.owner_of_slot(slot).port, to.port, "the slot moved");
    let mut c = cluster_connection(&cluster);
    let totals = get(&mut c, &["ECL.TOTALS", group]);
    assert_eq!(
        sum(&totals),
        acknowledged.load(Ordering::Relaxed),
        "{totals:?}"
    );
}

/// Makes every node report `port` for `node` (`cluster-announce-port`), so
/// clients reach it through a proxy; waits until all of them agree.
fn announce_through(cluster: &Cluster, node: &Server, port: u16, slot: u16) {
    let _: () = cmd(&["CONFIG", "SET", "cluster-announce-port", &port.to_string()])
        .query(&mut node.conn())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster
        .nodes
        .iter()
        .any(|n| cluster_slot_port(n, slot) != port)
    {
        assert!(Instant::now() < deadline, "the new port never spread");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The port `CLUSTER SLOTS` on `node` gives for the master of `slot`.
fn cluster_slot_port(node: &Server, slot: u16) -> u16 {
    slot_owners(&mut node.conn())
        .into_iter()
        .find(|(first, last, _)| (*first..=*last).contains(&slot))
        .map(|(_, _, port)| port)
        .expect("every slot is served")
}

#[test]
fn a_direct_log_whose_reply_was_lost_counts_once_through_the_cluster() {
    let cluster = Cluster::start(CONFIG, 3);
    let group = "errors"; // a direct group
    let slot = cluster.key_slot(group);
    let owner = cluster.owner_of_slot(slot);
    // Every client of the owner goes through a proxy that can lose a reply.
    let mlog_proxy = LosingProxy::start(owner.port, b"ECL.MLOG");
    announce_through(&cluster, owner, mlog_proxy.port, slot);

    let ecl = EclClient::from_config_file(client_config(&cluster)).unwrap();
    let errors = ecl.group(group);
    for _ in 0..3 {
        errors.log("e500").unwrap();
    }
    // The server applies this one, the reply is lost, the cluster
    // connection reconnects and sends it again: counted once.
    mlog_proxy.armed.store(true, Ordering::SeqCst);
    errors.log_n("e500", 10).unwrap();
    assert!(!mlog_proxy.armed.load(Ordering::SeqCst), "a reply was cut");
    let mut c = cluster_connection(&cluster);
    assert_eq!(
        get(&mut c, &["ECL.TOTALS", group]),
        pairs(&[("e500", 13), ("e503", 0)])
    );

    // Why the ID matters: a plain ECL.LOG resent the same way counts twice.
    let log_proxy = LosingProxy::start(owner.port, b"ECL.LOG");
    announce_through(&cluster, owner, log_proxy.port, slot);
    let mut plain = cluster_connection(&cluster);
    log_proxy.armed.store(true, Ordering::SeqCst);
    let _: () = cmd(&["ECL.LOG", group, "e503", "5"])
        .query(&mut plain)
        .unwrap();
    assert!(!log_proxy.armed.load(Ordering::SeqCst), "a reply was cut");
    assert_eq!(
        get(&mut c, &["ECL.TOTALS", group]),
        pairs(&[("e500", 13), ("e503", 10)])
    );
}

#[test]
fn cluster_failover_under_load_keeps_every_count_and_the_old_master_alive() {
    let cluster = Cluster::start_with_replicas(CONFIG, 3, 1);
    let slot = cluster.key_slot("api");
    let master = cluster.owner_of_slot(slot);
    let master_id: String = cmd(&["CLUSTER", "MYID"]).query(&mut master.conn()).unwrap();
    let replica = cluster
        .nodes
        .iter()
        .find(|n| {
            let info: String = cmd(&["INFO", "replication"]).query(&mut n.conn()).unwrap();
            let nodes: String = cmd(&["CLUSTER", "NODES"]).query(&mut n.conn()).unwrap();
            info.contains("role:slave")
                && nodes
                    .lines()
                    .any(|l| l.contains("myself") && l.contains(&master_id))
        })
        .expect("the group's master has a replica");
    // Load on the master: new auto-declared events every few ms, so the
    // timer has work at every 1 s boundary, and plain logs we count.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let load = {
        let (stop, acked, port) = (stop.clone(), acked.clone(), master.port);
        std::thread::spawn(move || {
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
            let mut c = client.get_connection().unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let event = format!("e{}", i % 7);
                let _ = cmd(&["ECL.MLOG", "api", &event, "1"]).query::<()>(&mut c);
                if cmd(&["ECL.LOG", "api", "counted"])
                    .query::<()>(&mut c)
                    .is_ok()
                {
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    let mut r = replica.conn();
    // The cluster agrees on every node's role (`Cluster::start_with_replicas`
    // waits for it), so the first request normally succeeds. Should an
    // election still fail, the masters vote for this master's replicas
    // again only after twice the node timeout (10 s): ask again after that.
    let promoted = |r: &mut redis::Connection| {
        let info: String = cmd(&["INFO", "replication"]).query(r).unwrap();
        info.contains("role:master")
    };
    'failover: for _attempt in 0..3 {
        let _: () = cmd(&["CLUSTER", "FAILOVER"]).query(&mut r).unwrap();
        let deadline = Instant::now() + Duration::from_secs(11);
        while Instant::now() < deadline {
            if promoted(&mut r) {
                break 'failover;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(
        promoted(&mut r),
        "CLUSTER FAILOVER did not finish\n--- replica log:\n{}\n--- master log:\n{}",
        replica.log(),
        master.log()
    );
    // Boundaries pass with the old master demoted.
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let pong: String = cmd(&["PING"])
        .query(&mut master.conn())
        .expect("the old master is alive");
    assert_eq!(pong, "PONG");
    let totals = counts(&mut r, &["ECL.TOTALS", "api"]);
    let counted = totals
        .iter()
        .find(|(e, _)| e == "counted")
        .map_or(0, |p| p.1);
    // The "counted" event lives in the 1 h window, so its total is kept.
    assert_eq!(counted, acked.load(Ordering::Relaxed));
}

/// A group created and altered at runtime through the cluster (routed by its
/// slot) keeps its schema and counts when its slot moves.
#[test]
fn a_group_created_at_runtime_moves_with_its_schema() {
    let cluster = Cluster::start(CONFIG, 3);
    let mut c = cluster_connection(&cluster);
    let ok = |c: &mut ClusterConnection, args: &[&str]| {
        cmd(args)
            .query::<()>(c)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    ok(
        &mut c,
        &[
            "ECL.CREATE",
            "runtime",
            "INTERVALS",
            "1h",
            "1d",
            "EVENTS",
            "a",
        ],
    );
    ok(&mut c, &["ECL.LOG", "runtime", "a", "5"]);
    let slot = cluster.key_slot("runtime");
    let from_port = cluster.owner_of_slot(slot).port;
    let to = cluster.nodes.iter().find(|n| n.port != from_port).unwrap();
    cluster.move_slot(slot, to, |_| {});
    // The new owner has the schema: it takes the declared event and refuses others.
    ok(&mut c, &["ECL.LOG", "runtime", "a", "2"]);
    let refused = cmd(&["ECL.LOG", "runtime", "b"]).query::<()>(&mut c);
    assert!(refused.is_err(), "b is not declared there either");
    ok(&mut c, &["ECL.ALTER", "runtime", "EVENTS", "a", "b"]);
    ok(&mut c, &["ECL.LOG", "runtime", "b"]);
    assert_eq!(
        get(&mut c, &["ECL.TOTALS", "runtime"]),
        pairs(&[("a", 7), ("b", 1)])
    );
    let groups: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut to.conn()).unwrap();
    assert!(groups.contains(&"runtime".to_string()), "{groups:?}");
}
