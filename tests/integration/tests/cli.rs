//! The real `ecl`, `ecl_reader` and `ecl_log_event` binaries against a real server.

use ecl_integration::*;

const GROUPS: &str = "\
groups:
  requests:
    events: [req1, req2, error]
    intervals: [1h, 1d]
    sync_interval: 2
  dyn:
    auto_declare_events: true
    intervals: [1h]
";

/// A server and a client config pointing at it.
fn setup() -> (Server, String) {
    let s = Server::start(GROUPS, &[]);
    // The tests read hour windows and compare reads taken apart.
    clear_of_boundary(&mut s.conn(), HOUR_MS, HOUR_MARGIN_MS);
    let path = s.dir.join("client.yml");
    std::fs::write(
        &path,
        format!("redis:\n  host: 127.0.0.1\n  port: {}\n{GROUPS}", s.port),
    )
    .unwrap();
    let path = path.to_string_lossy().into_owned();
    (s, path)
}

fn ok(run: Run) -> String {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout
}

#[test]
fn ecl_reader_prints_exactly_what_the_original_printed() {
    let (s, config) = setup();
    let mut c = s.conn();
    let hour_ago = (server_ms(&mut c) - 3_600_000).to_string();
    cmd(&["ECL.MLOG", "requests", "req2", "5", "req1", "3"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "requests", "error", "2", "AT", &hour_ago])
        .query::<()>(&mut c)
        .unwrap();
    let read = |extra: &[&str]| {
        let mut args = vec![config.as_str(), "-g", "requests", "-i", "1h"];
        args.extend(extra);
        ok(run_bin("ecl_reader", &args, &[]))
    };
    assert_eq!(read(&[]), "error:2\nreq1:0\nreq2:0\n");
    assert_eq!(read(&["--last"]), "error:2\nreq1:0\nreq2:0\n");
    assert_eq!(read(&["--current"]), "error:0\nreq1:3\nreq2:5\n");
    assert_eq!(
        read(&["--both"]),
        "Last:\nerror:2\nreq1:0\nreq2:0\nCurrent:\nerror:0\nreq1:3\nreq2:5\n"
    );
    // The same through `ecl read`, and the interval may be omitted with one interval.
    assert_eq!(
        ok(run_bin(
            "ecl",
            &["read", &config, "-g", "requests", "-i", "60m", "--both"],
            &[]
        )),
        read(&["--both"])
    );
    cmd(&["ECL.LOG", "dyn", "x", "4"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        ok(run_bin(
            "ecl_reader",
            &[&config, "-g", "dyn", "--current"],
            &[]
        )),
        "x:4\n"
    );
    assert_eq!(ok(run_bin("ecl_reader", &[&config, "-g", "dyn"], &[])), "");
}

#[test]
fn logging_from_the_command_line() {
    let (s, config) = setup();
    ok(run_bin(
        "ecl_log_event",
        &[&config, "requests", "req1"],
        &[],
    ));
    ok(run_bin(
        "ecl_log_event",
        &[&config, "requests", "req1", "4"],
        &[],
    ));
    ok(run_bin(
        "ecl",
        &["log", &config, "dyn", "new-event", "2"],
        &[],
    ));
    let mut c = s.conn();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "requests"]),
        pairs(&[("error", 0), ("req1", 5), ("req2", 0)])
    );
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "dyn"]),
        pairs(&[("new-event", 2)])
    );
    assert_eq!(
        ok(run_bin("ecl", &["totals", &config, "-g", "requests"], &[])),
        "error:0\nreq1:5\nreq2:0\n"
    );
}

#[test]
fn json_output() {
    let (s, config) = setup();
    let mut c = s.conn();
    cmd(&["ECL.LOG", "requests", "req1", "3"])
        .query::<()>(&mut c)
        .unwrap();
    let out = ok(run_bin(
        "ecl",
        &[
            "read", &config, "-g", "requests", "-i", "1h", "--both", "--format", "json",
        ],
        &[],
    ));
    assert_eq!(
        out,
        "{\"current\":{\"error\":0,\"req1\":3,\"req2\":0},\"group\":\"requests\",\"interval\":\"1h\",\"last\":{\"error\":0,\"req1\":0,\"req2\":0}}\n"
    );
    let out = ok(run_bin(
        "ecl",
        &["totals", &config, "-g", "requests", "--format", "json"],
        &[],
    ));
    assert_eq!(
        out,
        "{\"group\":\"requests\",\"totals\":{\"error\":0,\"req1\":3,\"req2\":0}}\n"
    );
    let out = ok(run_bin("ecl", &["info", &config, "--format", "json"], &[]));
    assert!(
        out.starts_with("[{")
            && out.contains("\"group\":\"requests\"")
            && out.contains("\"group\":\"dyn\""),
        "{out}"
    );
    assert!(out.contains("\"length_ms\":3600000"), "{out}");
    let text = ok(run_bin("ecl", &["info", &config, "-g", "dyn"], &[]));
    assert!(
        text.starts_with("group dyn\n  interval 1h (3600000 ms)"),
        "{text}"
    );
}

#[test]
fn url_overrides_the_config() {
    let (s, _) = setup();
    let wrong = s.dir.join("wrong.yml");
    std::fs::write(&wrong, format!("redis:\n  port: {}\n{GROUPS}", free_port())).unwrap();
    let wrong = wrong.to_string_lossy().into_owned();
    let url = format!("redis://127.0.0.1:{}/0", s.port);
    assert_eq!(
        run_bin("ecl", &["totals", &wrong, "-g", "dyn"], &[]).code,
        1
    );
    ok(run_bin(
        "ecl",
        &["totals", &wrong, "-g", "dyn", "--url", &url],
        &[],
    ));
    ok(run_bin(
        "ecl",
        &["totals", &wrong, "-g", "dyn"],
        &[("ECL_REDIS_URL", &url)],
    ));
}

#[test]
fn failures_exit_with_one_clear_line() {
    let (s, config) = setup();
    let bad = s.dir.join("bad.yml");
    std::fs::write(&bad, "groups:\n  g:\n    intervals: [5x]\n").unwrap();
    let bad = bad.to_string_lossy().into_owned();
    let down = s.dir.join("down.yml");
    std::fs::write(&down, format!("redis:\n  port: {}\n{GROUPS}", free_port())).unwrap();
    let down = down.to_string_lossy().into_owned();
    // ecl_reader and ecl_log_event exit as the original scripts did: 1 for
    // every failure after argument parsing.
    let cases: Vec<(&str, Vec<&str>, i32, &str)> = vec![
        (
            "ecl_reader",
            vec!["/no/such/config.yml", "-g", "requests"],
            1,
            "cannot read",
        ),
        (
            "ecl_reader",
            vec![&bad, "-g", "g"],
            1,
            "key 'intervals': '5x' is not an interval",
        ),
        (
            "ecl_reader",
            vec![&config, "-g", "nope"],
            1,
            "group 'nope' is not in the config",
        ),
        (
            "ecl_reader",
            vec![&config, "-g", "requests", "-i", "5m"],
            1,
            "unknown interval '5m'",
        ),
        (
            "ecl_reader",
            vec![&config, "-g", "requests"],
            1,
            "several intervals (1h, 1d): name one",
        ),
        (
            "ecl_reader",
            vec![&down, "-g", "requests", "-i", "1h"],
            1,
            "Connection refused",
        ),
        (
            "ecl_log_event",
            vec![&config, "requests", "nope"],
            1,
            "event 'nope' is not declared",
        ),
        (
            "ecl_log_event",
            vec![&down, "requests", "req1"],
            1,
            "Connection refused",
        ),
        (
            "ecl",
            vec!["log", &config, "nope", "x"],
            2,
            "group 'nope' is not in the config",
        ),
        ("ecl", vec!["read", &config], 2, "--group"),
        (
            "ecl",
            vec!["read", "--url", "notaurl", &config, "-g", "requests"],
            2,
            "bad Redis URL 'notaurl'",
        ),
    ];
    for (bin, args, code, needle) in cases {
        let run = run_bin(bin, &args, &[]);
        assert_eq!(run.code, code, "{bin} {args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{bin} {args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains(needle),
            "{bin} {args:?}: {}",
            run.stderr
        );
        if bin != "ecl" || args[0] != "read" {
            assert_eq!(
                run.stderr.trim_end().lines().count(),
                1,
                "{bin} {args:?}: {}",
                run.stderr
            );
        }
    }
}

/// Runs the `ecl` binary through a Munin-style link `ecl_<suffix>`.
fn plugin(s: &Server, config: &str, suffix: &str, action: Option<&str>) -> Run {
    let link = s.dir.join(format!("ecl_{suffix}"));
    if !link.exists() {
        std::os::unix::fs::symlink(bin_path("ecl"), &link).unwrap();
    }
    let state = s.dir.join("plugstate");
    std::fs::create_dir_all(&state).unwrap();
    let mut cmd = std::process::Command::new(&link);
    cmd.args(action)
        .env("config", config)
        .env("MUNIN_PLUGSTATE", &state)
        .env_remove("ECL_REDIS_URL");
    cmd.output().unwrap().into()
}

#[test]
fn munin_plugin_protocol() {
    let (s, config) = setup();
    let mut c = s.conn();
    let hour_ago = (server_ms(&mut c) - 3_600_000).to_string();
    cmd(&[
        "ECL.MLOG", "dyn", "AT", &hour_ago, "ok", "5", "a-b", "2", "a.b", "3", "404", "1",
    ])
    .query::<()>(&mut c)
    .unwrap();
    cmd(&["ECL.LOG", "requests", "req1", "7", "AT", &hour_ago])
        .query::<()>(&mut c)
        .unwrap();

    assert_eq!(ok(plugin(&s, &config, "dyn", Some("autoconf"))), "yes\n");
    assert_eq!(
        ok(plugin(&s, &config, "dyn", Some("suggest"))),
        "requests_1h\nrequests_1d\ndyn\n"
    );

    let conf = ok(plugin(&s, &config, "dyn", Some("config")));
    assert!(
        conf.starts_with("graph_title ECL events: dyn per 1h\ngraph_category ecl\n"),
        "{conf}"
    );
    let fields: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.strip_suffix(".type GAUGE"))
        .collect();
    assert_eq!(fields.len(), 4, "{conf}");
    for field in &fields {
        assert!(
            field
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_'),
            "{field}"
        );
        assert!(
            !field.starts_with(|ch: char| ch.is_ascii_digit()),
            "{field}"
        );
        assert!(
            conf.contains(&format!("{field}.label ")),
            "every field has a label: {field}"
        );
    }
    assert!(
        conf.contains(".label a-b\n")
            && conf.contains(".label a.b\n")
            && conf.contains("ok.label ok\n")
    );

    let fetch = ok(plugin(&s, &config, "dyn", None));
    // Each value with its own window's time: the last hour window's start.
    let last_window_s = (server_ms(&mut s.conn()) / HOUR_MS - 1) * HOUR_MS / 1000;
    assert!(
        fetch.contains(&format!("ok.value {last_window_s}:5\n")),
        "{fetch}"
    );
    let values: u64 = fetch
        .lines()
        .map(|l| l.rsplit(':').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(values, 11);

    // The dynamic events are remembered: after they leave every window
    // (a group with nothing counted any more), they still graph as 0.
    cmd(&["DEL", "ecl:{dyn}"]).query::<()>(&mut c).unwrap();
    let fetch = ok(plugin(&s, &config, "dyn", None));
    assert_eq!(fetch.lines().count(), 4, "{fetch}");
    assert!(fetch.lines().all(|l| l.ends_with(":0")), "{fetch}");

    // A multi-interval group through ecl_<group>_<interval>.
    let fetch = ok(plugin(&s, &config, "requests_1h", None));
    let t = last_window_s;
    assert_eq!(
        fetch,
        format!("error.value {t}:0\nreq1.value {t}:7\nreq2.value {t}:0\n")
    );

    // autoconf says no, with a reason, and still exits 0.
    let down = s.dir.join("down.yml");
    std::fs::write(&down, format!("redis:\n  port: {}\n{GROUPS}", free_port())).unwrap();
    let run = plugin(&s, down.to_str().unwrap(), "dyn", Some("autoconf"));
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("no (") && run.stdout.contains("refused"),
        "{}",
        run.stdout
    );
}

#[test]
fn prometheus_exporter_matches_the_server() {
    let (s, config) = setup();
    let mut c = s.conn();
    let hour_ago = (server_ms(&mut c) - 3_600_000).to_string();
    cmd(&[
        "ECL.MLOG", "requests", "AT", &hour_ago, "req1", "4", "error", "1",
    ])
    .query::<()>(&mut c)
    .unwrap();
    cmd(&["ECL.MLOG", "dyn", "say \"hi\"\\", "2"])
        .query::<()>(&mut c)
        .unwrap();
    let exporter = Exporter::start(&config);
    let (head, body) = exporter.get("/metrics");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    assert!(body.contains("# TYPE ecl_events_total counter\n"), "{body}");
    assert!(body.contains("\necl_up 1\n"), "{body}");
    for (event, total) in counts(&mut c, &["ECL.TOTALS", "requests"]) {
        let labels = format!("{{group=\"requests\",event=\"{event}\"}}");
        assert!(
            samples(&body, "ecl_events_total").contains(&(labels.as_str(), total)),
            "{labels} {total}\n{body}"
        );
    }
    for (event, n) in counts(&mut c, &["ECL.GET", "requests", "1h", "LAST"]) {
        let labels = format!("{{group=\"requests\",interval=\"1h\",event=\"{event}\"}}");
        assert!(
            samples(&body, "ecl_events_last_window").contains(&(labels.as_str(), n)),
            "{labels}\n{body}"
        );
    }
    // The ID's one escaped form (a backslash doubled), then the exposition
    // format's own escaping of quotes and backslashes.
    assert!(
        body.contains(r#"ecl_events_total{group="dyn",event="say \"hi\"\\\\"} 2"#),
        "{body}"
    );
    let now_s = server_ms(&mut c) / 1000;
    let starts = samples(&body, "ecl_window_start_seconds");
    assert!(
        starts.contains(&(
            r#"{group="requests",interval="1h",window="current"}"#,
            now_s / 3600 * 3600
        )),
        "{body}"
    );
    let (head, landing) = exporter.get("/");
    assert!(head.contains("200") && landing.contains("/metrics"));
    assert!(exporter.get("/nope").0.contains("404"));

    // Redis gone: still an answer, with ecl_up 0.
    drop(s);
    let (head, body) = exporter.get("/metrics");
    assert!(head.contains("200"), "{head}");
    assert!(body.contains("\necl_up 0\n"), "{body}");
    assert!(
        !body.contains("ecl_events_total{"),
        "no stale samples: {body}"
    );
}

/// IDs that are not UTF-8, hold control characters, are 300 bytes long, or
/// differ only in a byte that is not UTF-8: one reversible escaped form in
/// every output, two IDs never alike, Munin fields short enough for RRD
/// file names, every ID remembered by the plugin.
#[test]
fn awkward_ids_stay_apart_in_every_output() {
    let (s, config) = setup();
    let mut c = s.conn();
    let long = "x".repeat(300);
    let ids: Vec<Vec<u8>> = vec![
        b"bin\0\xff".to_vec(),
        b"bin\0\xfe".to_vec(),
        b"line\nbreak".to_vec(),
        long.clone().into_bytes(),
    ];
    // In the last hour window, which the Munin plugin reads.
    let hour_ago = server_ms(&mut c) - 3_600_000;
    let mut log = redis::cmd("ECL.MLOG");
    log.arg("dyn").arg("AT").arg(hour_ago);
    for (n, id) in ids.iter().enumerate() {
        log.arg(&id[..]).arg(n + 1);
    }
    log.query::<()>(&mut c).unwrap();
    let shown = [
        r"bin\x00\xff",
        r"bin\x00\xfe",
        r"line\x0abreak",
        long.as_str(),
    ];

    let text = ok(run_bin("ecl", &["read", &config, "-g", "dyn"], &[]));
    for (n, id) in shown.iter().enumerate() {
        assert!(text.contains(&format!("{id}:{}\n", n + 1)), "{text}");
    }
    let json = ok(run_bin(
        "ecl",
        &["read", &config, "-g", "dyn", "--format", "json"],
        &[],
    ));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["last"].as_object().unwrap().len(), 4, "{json}");

    let exporter = Exporter::start(&config);
    let (_, body) = exporter.get("/metrics");
    let totals = samples(&body, "ecl_events_total");
    let dyn_series: Vec<_> = totals
        .iter()
        .filter(|(l, _)| l.contains("\"dyn\""))
        .collect();
    assert_eq!(dyn_series.len(), 4, "{body}");
    assert!(body.contains(r#"event="bin\\x00\\xff"} 1"#), "{body}");

    // Munin: a fetch remembers them all; config lists them.
    let _ = plugin(&s, &config, "dyn", None);
    let state = std::fs::read_to_string(s.dir.join("plugstate/ecl_dyn_1h.events")).unwrap();
    for id in &shown {
        assert!(
            state.lines().any(|l| l == *id),
            "{id} remembered: {state:?}"
        );
    }
    let munin_config = ok(plugin(&s, &config, "dyn", Some("config")));
    let fields: Vec<&str> = munin_config
        .lines()
        .filter_map(|l| l.strip_suffix(".type GAUGE"))
        .collect();
    assert_eq!(fields.len(), 4, "{munin_config}");
    assert!(fields.iter().all(|f| f.len() <= 48), "{fields:?}");
    let mut distinct = fields.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 4);
    assert!(!munin_config.contains('\0'));
}

/// Prometheus' own checker accepts the exporter's output, awkward IDs and
/// the error counter included.
#[test]
fn promtool_accepts_the_exposition() {
    let Some(promtool) = real_tool("promtool") else {
        return;
    };
    let (s, config) = setup();
    let mut c = s.conn();
    redis::cmd("ECL.MLOG")
        .arg("dyn")
        .arg(&b"bin\0\xff"[..])
        .arg(1)
        .arg("say \"hi\"\\")
        .arg(2)
        .query::<()>(&mut c)
        .unwrap();
    // A group Redis refuses (its key holds something else): the error counter.
    cmd(&["SET", "ecl:{extra}", "not a group"])
        .query::<()>(&mut c)
        .unwrap();
    let with_extra = format!(
        "{}\n  extra:\n    intervals: [1m]\n",
        std::fs::read_to_string(&config).unwrap().trim_end()
    );
    let extra_path = s.dir.join("extra.yml");
    std::fs::write(&extra_path, with_extra).unwrap();
    let exporter = Exporter::start(&extra_path.display().to_string());
    let (_, body) = exporter.get("/metrics");
    assert!(
        body.contains("ecl_scrape_errors_total{group=\"extra\"}"),
        "{body}"
    );
    let mut check = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `munin-run`, as munin-node runs plugins: config (with and without
/// dirtyconfig) and fetch of the plugin linked into a service directory.
#[test]
fn munin_run_drives_the_plugin() {
    let Some(munin_run) = real_tool("munin-run") else {
        return;
    };
    let (s, config) = setup();
    let mut c = s.conn();
    let hour_ago = (server_ms(&mut c) - 3_600_000).to_string();
    cmd(&["ECL.MLOG", "dyn", "AT", &hour_ago, "GET /x", "3", "ok", "2"])
        .query::<()>(&mut c)
        .unwrap();
    let services = s.dir.join("munin-plugins");
    let sconf = s.dir.join("munin-conf");
    let state = s.dir.join("munin-state");
    for dir in [&services, &sconf, &state] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::os::unix::fs::symlink(bin_path("ecl"), services.join("ecl_dyn_1h")).unwrap();
    // munin-node runs plugins as nobody unless told otherwise; a test
    // running as root keeps root so the build directory stays readable.
    let user = if std::env::var("USER").as_deref() == Ok("root") || is_root() {
        "user root\n"
    } else {
        ""
    };
    std::fs::write(
        sconf.join("ecl"),
        format!(
            "[ecl_*]\n{user}env.config {config}\nenv.MUNIN_PLUGSTATE {}\n",
            state.display()
        ),
    )
    .unwrap();
    let run = |action: Option<&str>, dirty: bool| -> String {
        let mut cmd = std::process::Command::new(&munin_run);
        cmd.arg("--servicedir")
            .arg(&services)
            .arg("--sconfdir")
            .arg(&sconf)
            .arg("ecl_dyn_1h")
            .args(action)
            .env_remove("ECL_REDIS_URL");
        if dirty {
            cmd.env("MUNIN_CAP_DIRTYCONFIG", "1");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let fetch = run(None, false);
    let field = ecl_cli::munin::field_name("GET /x");
    let t = (server_ms(&mut s.conn()) / HOUR_MS - 1) * HOUR_MS / 1000;
    assert!(fetch.contains(&format!("{field}.value {t}:3\n")), "{fetch}");
    assert!(fetch.contains(&format!("ok.value {t}:2\n")), "{fetch}");
    let config_out = run(Some("config"), false);
    assert!(
        config_out.contains(&format!("{field}.label GET /x\n")),
        "{config_out}"
    );
    assert!(!config_out.contains(".value"), "{config_out}");
    let dirty = run(Some("config"), true);
    assert!(dirty.contains(&format!("{field}.value {t}:3\n")), "{dirty}");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
