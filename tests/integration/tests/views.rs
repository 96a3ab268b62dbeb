//! The live views (SPEC §6): `ecl serve` (its page in a real browser, its
//! JSON API, `/metrics`) and `ecl top` in a real terminal (tmux).

use ecl_integration::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MINUTE: u64 = 60_000;
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// A server with group `web` (1m windows, 10m of history) whose last
/// window counted hit 5 and miss 2, and group `dyn` with a hostile ID.
fn counted_server() -> Server {
    let s = Server::start_without_config(&[]);
    let mut c = s.conn();
    cmd(&[
        "ECL.CREATE",
        "web",
        "HISTORY",
        "10m",
        "INTERVALS",
        "1m",
        "EVENTS",
        "hit",
        "miss",
    ])
    .query::<()>(&mut c)
    .unwrap();
    cmd(&["ECL.CREATE", "dyn", "AUTO_DECLARE", "INTERVALS", "1m"])
        .query::<()>(&mut c)
        .unwrap();
    let now = clear_of_boundary(&mut c, MINUTE, 30_000);
    let last = (now - MINUTE).to_string();
    cmd(&["ECL.MLOG", "web", "AT", &last, "hit", "5", "miss", "2"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.MLOG", "dyn", "AT", &last, HOSTILE, "3"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.LOG", "web", "hit", "1"])
        .query::<()>(&mut c)
        .unwrap();
    s
}

struct Serve {
    child: Child,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(s: &Server) -> Serve {
    let port = free_port();
    let child = Command::new(bin_path("ecl"))
        .args(["serve", "--url", &format!("redis://127.0.0.1:{}/0", s.port)])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--timeout", "2"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "ecl serve did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Serve { child, port }
}

fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn serve_answers_its_page_api_and_metrics_and_says_when_redis_hangs() {
    let s = counted_server();
    let web = serve(&s);
    let page = get(web.port, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("Content-Security-Policy: default-src 'self'"),
        "{page}"
    );
    for asset in ["/", "/app.js", "/app.css"] {
        let text = body(&get(web.port, asset)).replace("http://www.w3.org/2000/svg", "");
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{asset} names another host"
        );
    }
    let groups: serde_json::Value =
        serde_json::from_str(body(&get(web.port, "/api/groups"))).unwrap();
    assert_eq!(groups["up"], true, "{groups}");
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dyn", "web"]);
    let range: serde_json::Value =
        serde_json::from_str(body(&get(web.port, "/api/range?group=web&interval=1m"))).unwrap();
    let windows = range["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 10, "{range}");
    assert_eq!(windows[9]["counts"]["hit"], 5);
    assert_eq!(range["current"]["counts"]["hit"], 1);
    let metrics = get(web.port, "/metrics");
    assert!(metrics.contains("ecl_up 1"), "{metrics}");
    // Redis hangs: every answer within the deadline, saying so.
    s.freeze();
    let started = Instant::now();
    let groups = get(web.port, "/api/groups");
    let metrics = get(web.port, "/metrics");
    s.thaw();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(body(&groups).contains("\"up\":false"), "{groups}");
    assert!(metrics.contains("ecl_up 0"), "{metrics}");
}

/// Headless Chromium, as the page's users run a browser, where it is here.
fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
fn the_page_shows_the_counts_in_a_real_browser_and_ids_as_text() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium here (make test installs Debian's chromium where apt can)");
        return;
    };
    let s = counted_server();
    let web = serve(&s);
    let profile = s.dir.join("chromium-profile");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("http://127.0.0.1:{}/", web.port);
    let browse = |extra: &[&str]| {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                // Any host but this server fails: the page must need none.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--virtual-time-budget=8000",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = String::from_utf8_lossy(&browse(&["--dump-dom"]).stdout).into_owned();
    assert!(dom.contains("Redis up"), "{dom}");
    assert!(dom.contains("<td>hit</td><td class=\"n\">5</td>"), "{dom}");
    assert!(dom.contains("<td>miss</td><td class=\"n\">2</td>"), "{dom}");
    // The hostile ID is text, and nothing it says was run.
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
    assert!(!dom.contains("<img src=\"x\""), "{dom}");
    let shot = shots.join("ecl-serve.png");
    let out = browse(&[&format!("--screenshot={}", shot.display())]);
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ecl_top_runs_in_a_real_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: no tmux here");
        return;
    }
    let s = counted_server();
    let session = format!("ecl-top-{}", std::process::id());
    let socket = s.dir.join("tmux.sock");
    let socket = socket.to_str().unwrap();
    let top = format!(
        "{} top --url redis://127.0.0.1:{}/0 -g web -i 1m",
        bin_path("ecl").display(),
        s.port
    );
    let t = |args: &[&str]| {
        let mut all = vec!["-S", socket];
        all.extend_from_slice(args);
        tmux(&all)
    };
    t(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "24",
        &top,
    ]);
    t(&["set-option", "-t", &session, "remain-on-exit", "on"]);
    let capture = |what: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = t(&["capture-pane", "-p", "-t", &session]);
            if screen.contains(what) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "'{what}' never showed:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let screen = capture("hit");
    let hit = screen.lines().find(|l| l.starts_with("hit")).unwrap();
    let numbers: Vec<&str> = hit.split_whitespace().collect();
    assert_eq!(
        &numbers[1..3],
        ["1", "5"],
        "current and last of hit: {screen}"
    );
    assert!(screen.lines().all(|l| l.chars().count() <= 80));
    t(&["send-keys", "-t", &session, "s"]);
    capture("sort by last");
    s.freeze();
    capture("Redis not answering");
    s.thaw();
    capture("Redis answering");
    t(&["send-keys", "-t", &session, "q"]);
    // Gone from the screen: the terminal is back to its own.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let screen = t(&["capture-pane", "-p", "-t", &session]);
        if !screen.contains("KEPT WINDOWS") {
            break;
        }
        assert!(Instant::now() < deadline, "the view stayed:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    t(&["kill-server"]);
}
