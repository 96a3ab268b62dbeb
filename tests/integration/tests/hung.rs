//! A Redis that hangs hangs nothing of ECL (SPEC §5, §6): every network
//! operation has a timeout, the CLI and the Munin plugin exit 1 within it,
//! and the exporter answers `ecl_up 0` within its deadline, also while
//! other scrapes wait, and recovers.

use ecl_integration::*;
use std::net::TcpListener;
use std::time::{Duration, Instant};

const GROUPS: &str = "groups:\n  g:\n    events: [e1]\n    intervals: [1s, 5m]\n";
/// More groups in the config, which a reader must not pay for.
const MORE_GROUPS: &str = "  h1:\n    intervals: [1m]\n  h2:\n    intervals: [1m]\n  h3:\n    intervals: [1m]\n  h4:\n    intervals: [1m]\n  h5:\n    intervals: [1m]\n";

/// A server that accepts connections and never answers.
fn silent_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepting = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in accepting.incoming().flatten() {
            held.push(stream); // never read, never answered
        }
    });
    (listener, port)
}

/// Every command line way of reaching Redis, with 1 s timeouts in a
/// config of six groups: each must fail with exit 1 within one deadline
/// for the whole run (connect + response timeout), whatever the number of
/// groups or round trips.
fn every_tool_gives_up(dir: &std::path::Path, port: u16) {
    let config = dir.join("hung.yml");
    std::fs::write(
        &config,
        format!(
            "redis:\n  port: {port}\n  socket_timeout: 1\n  socket_connect_timeout: 1\n{GROUPS}{MORE_GROUPS}"
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let runs: [(&str, Vec<&str>); 4] = [
        ("ecl", vec!["read", &config, "-g", "g", "-i", "1s"]),
        ("ecl", vec!["log", &config, "g", "e1"]),
        ("ecl_reader", vec![&config, "-g", "g", "-i", "1s"]),
        ("ecl_log_event", vec![&config, "g", "e1"]),
    ];
    for (bin, args) in runs {
        let started = Instant::now();
        let run = run_bin(bin, &args, &[]);
        let took = started.elapsed();
        assert_eq!(run.code, 1, "{bin} {args:?}: {}", run.stderr);
        assert!(
            took < Duration::from_millis(3000),
            "{bin} {args:?} took {took:?}"
        );
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "one clear line: {}",
            run.stderr
        );
    }
    // The Munin plugin, as munin-node runs it.
    let link = dir.join("ecl_g_1s");
    let _ = std::os::unix::fs::symlink(bin_path("ecl"), &link);
    let started = Instant::now();
    let run: Run = std::process::Command::new(&link)
        .env("config", &config)
        .env("MUNIN_PLUGSTATE", dir)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "plugin: {}", run.stderr);
    assert!(started.elapsed() < Duration::from_millis(3000));
}

#[test]
fn a_server_that_never_answers_hangs_no_tool() {
    let (_listener, port) = silent_server();
    let dir = std::env::temp_dir().join(format!("ecl-hung-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    every_tool_gives_up(&dir, port);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_frozen_redis_hangs_no_tool_and_the_exporter_says_so_in_time() {
    let server = Server::start(GROUPS, &[]);
    let mut c = server.conn();
    cmd(&["ECL.LOG", "g", "e1"]).query::<()>(&mut c).unwrap();
    let config = server.dir.join("exporter.yml");
    std::fs::write(
        &config,
        format!("redis:\n  port: {}\n{GROUPS}", server.port),
    )
    .unwrap();
    let exporter = Exporter::start_with(&config.display().to_string(), &["--timeout", "2"]);
    let (_, body) = exporter.get("/metrics");
    assert!(body.contains("ecl_up 1"), "{body}");

    server.freeze();
    every_tool_gives_up(&server.dir, server.port);
    // Three scrapes at once: each answers within the deadline, ecl_up 0.
    let started = Instant::now();
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let scrapes: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| exporter.get("/metrics").1))
            .collect();
        let (_, landing) = exporter.get("/");
        assert!(
            landing.contains("ECL exporter"),
            "the landing page answers meanwhile"
        );
        scrapes.into_iter().map(|s| s.join().unwrap()).collect()
    });
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    for body in bodies {
        assert!(body.contains("ecl_up 0"), "{body}");
    }
    server.thaw();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = exporter.get("/metrics");
        if body.contains("ecl_up 1") {
            // (The logs that timed out were still queued in the frozen
            // server's sockets: it may apply them once it runs again.)
            assert!(
                body.contains("ecl_events_total{group=\"g\",event=\"e1\"}"),
                "{body}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter did not recover: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn one_group_the_server_refuses_does_not_blank_the_exporter() {
    let server = Server::start(GROUPS, &[]);
    let mut c = server.conn();
    cmd(&["ECL.LOG", "g", "e1", "4"])
        .query::<()>(&mut c)
        .unwrap();
    // Something else holds the key the group 'extra' would live in: Redis
    // refuses that group (WRONGTYPE), whatever the exporter declares.
    cmd(&["SET", "ecl:{extra}", "not a group"])
        .query::<()>(&mut c)
        .unwrap();
    let config = server.dir.join("exporter.yml");
    std::fs::write(
        &config,
        format!(
            "redis:\n  port: {}\n{GROUPS}  extra:\n    events: [x]\n    intervals: [1m]\n",
            server.port
        ),
    )
    .unwrap();
    let exporter = Exporter::start(&config.display().to_string());
    let (_, body) = exporter.get("/metrics");
    assert!(body.contains("ecl_up 1"), "{body}");
    assert!(
        body.contains("ecl_events_total{group=\"g\",event=\"e1\"} 4"),
        "{body}"
    );
    assert!(
        body.contains("ecl_scrape_errors_total{group=\"extra\"} 1"),
        "{body}"
    );
}
