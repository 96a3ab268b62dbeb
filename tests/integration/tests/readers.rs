//! Readers never write (SPEC §5): reading counts sends no declaration and
//! no other write, so readers change nothing on a production server and
//! work with a read-only ACL user and against a replica.

use ecl_integration::*;

const CLIENT_GROUPS: &str = "groups:\n  req:\n    events: [a, b, c]\n    intervals: [1m, 5m]\n  other:\n    events: [x]\n    intervals: [1h]\n";

fn client_config(dir: &std::path::Path, port: u16, user: Option<(&str, &str)>) -> String {
    let auth = user.map_or(String::new(), |(u, p)| {
        format!("  username: {u}\n  password: {p}\n")
    });
    let path = dir.join(format!("reader-{port}-{}.yml", user.is_some()));
    std::fs::write(
        &path,
        format!("redis:\n  host: 127.0.0.1\n  port: {port}\n{auth}{CLIENT_GROUPS}"),
    )
    .unwrap();
    path.display().to_string()
}

/// Every command line reader of group `req`: all must succeed.
fn read_everything(dir: &std::path::Path, config: &str) -> Vec<String> {
    let mut outputs = Vec::new();
    for (bin, args) in [
        ("ecl_reader", vec![config, "-g", "req", "-i", "1m"]),
        (
            "ecl",
            vec!["read", config, "-g", "req", "-i", "1m", "--both"],
        ),
        ("ecl", vec!["totals", config, "-g", "req"]),
        ("ecl", vec!["info", config, "-g", "req"]),
    ] {
        let run = run_bin(bin, &args, &[]);
        assert_eq!(run.code, 0, "{bin} {args:?}: {}", run.stderr);
        outputs.push(run.stdout);
    }
    let link = dir.join("ecl_req_1m");
    let _ = std::os::unix::fs::symlink(bin_path("ecl"), &link);
    let run: Run = std::process::Command::new(&link)
        .env("config", config)
        .env("MUNIN_PLUGSTATE", dir)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "munin plugin: {}", run.stderr);
    outputs.push(run.stdout);
    outputs
}

#[test]
fn readers_change_nothing_and_need_only_read_access() {
    let master = Server::start_without_config(&[]);
    let mut m = master.conn();
    cmd(&["ECL.CREATE", "req", "INTERVALS", "1m", "EVENTS", "a", "b"])
        .query::<()>(&mut m)
        .unwrap();
    cmd(&["ECL.LOG", "req", "a", "4"])
        .query::<()>(&mut m)
        .unwrap();
    let before = (digest(&mut m, "ecl:{req}"), groups(&mut m));
    let config = client_config(&master.dir, master.port, None);
    read_everything(&master.dir, &config);
    // Nothing the config adds (event c, interval 5m, group other) reached
    // the server.
    assert_eq!((digest(&mut m, "ecl:{req}"), groups(&mut m)), before);

    // A user who may only read ECL.
    cmd(&[
        "ACL",
        "SETUSER",
        "ro",
        "on",
        ">pw",
        "~*",
        "+ping",
        "+ecl.get",
        "+ecl.totals",
        "+ecl.info",
        "+ecl.groups",
    ])
    .query::<()>(&mut m)
    .unwrap();
    let ro = client_config(&master.dir, master.port, Some(("ro", "pw")));
    read_everything(&master.dir, &ro);

    // A replica answers every reader.
    let port = master.port.to_string();
    let replica = Server::start_without_config(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_replica_synced(&mut m, &mut r);
    let on_replica = client_config(&replica.dir, replica.port, None);
    read_everything(&replica.dir, &on_replica);
    assert_eq!((digest(&mut m, "ecl:{req}"), groups(&mut m)), before);
}

#[test]
fn a_configured_group_nobody_wrote_reads_as_zeros_without_being_made() {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    let config = client_config(&s.dir, s.port, None);
    let run = run_bin("ecl_reader", &[&config, "-g", "other", "-i", "1h"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains('x'), "{}", run.stdout);
    assert_eq!(groups(&mut c), Vec::<String>::new());
    // The first write declares the configured groups.
    let run = run_bin("ecl", &["log", &config, "other", "x"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(groups(&mut c), ["other", "req"]);
}

fn groups(c: &mut redis::Connection) -> Vec<String> {
    cmd(&["ECL.GROUPS"]).query(c).unwrap()
}
