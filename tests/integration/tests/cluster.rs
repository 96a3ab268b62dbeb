//! Redis Cluster: three masters with the module, created with
//! `redis-cli --cluster create`. Groups spread over the shards, each shard
//! rotates its own groups, and moving a live group's slot keeps every count.

use ecl_integration::*;
use redis::cluster::{ClusterClient, ClusterConnection};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// With the slots `redis-cli --cluster create` hands out to three masters,
/// these groups land on all three (the tests check it with CLUSTER KEYSLOT).
const CONFIG: &str = "\
groups:
  logins:
    events: [ok, failed]
    intervals: [1s, 1h]
  requests:
    events: [req1, req2]
    intervals: [1s, 1h]
  errors:
    events: [e500, e503]
    intervals: [1s, 1h]
  api:
    auto_declare_events: true
    intervals: [1s, 1h]
";

const GROUPS: [&str; 4] = ["logins", "requests", "errors", "api"];

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

/// A numeric field of `ECL.INFO group` (a flat field/value list in RESP2).
fn info_field(c: &mut redis::Connection, group: &str, field: &str) -> u64 {
    let flat: Vec<redis::Value> = cmd(&["ECL.INFO", group]).query(c).unwrap();
    let at = flat
        .iter()
        .position(|v| redis::from_redis_value::<String>(v).is_ok_and(|s| s == field))
        .unwrap_or_else(|| panic!("ECL.INFO has no {field}: {flat:?}"));
    redis::from_redis_value(&flat[at + 1]).unwrap()
}

#[test]
fn groups_spread_over_the_shards_and_each_shard_rotates_its_own() {
    let cluster = Cluster::start(CONFIG, 3);
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

    // After a 1 s boundary every owner's timer has rotated its groups on
    // its own: the window shows the count as the last one, and the
    // timer's tick statistics on each node are set.
    std::thread::sleep(Duration::from_millis(1200));
    for (n, group) in GROUPS.iter().enumerate() {
        let owner = cluster.nodes.iter().find(|s| s.port == owners[n]).unwrap();
        let tick = info_field(&mut owner.conn(), group, "timer_last_tick_us");
        assert!(
            tick > 0,
            "the timer of {} never rotated {group}",
            owner.port
        );
        let last = get(&mut c, &["ECL.GET", group, "1s", "LAST"]);
        let current = get(&mut c, &["ECL.GET", group, "1s", "CURRENT"]);
        assert_eq!(
            last.iter().map(|p| p.1).sum::<u64>() + current.iter().map(|p| p.1).sum::<u64>(),
            n as u64 + 1
        );
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
