//! TLS (SPEC §5): a `redis-server` with a TLS port and certificates the test
//! makes; the CLI (through the client) reaches it with redis-py's settings
//! (`ssl`, `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`, `ssl_cert_reqs`)
//! and with a `rediss://` URL.

use ecl_integration::*;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a server and a client certificate it signed (the server's for
/// localhost and 127.0.0.1).
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=ecl-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    for name in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.cnf",
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

#[test]
fn the_cli_counts_and_reads_over_tls() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: no openssl here to make certificates");
        return;
    }
    let certs = std::env::temp_dir().join(format!("ecl-tls-{}", std::process::id()));
    std::fs::create_dir_all(&certs).unwrap();
    make_certificates(&certs);
    let path = |f: &str| certs.join(f).display().to_string();
    let tls_port = free_port();
    let tls_port_text = tls_port.to_string();
    let (cert, key, ca) = (path("server.crt"), path("server.key"), path("ca.crt"));
    let s = Server::start_without_config(&[
        "--tls-port",
        &tls_port_text,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "optional",
    ]);
    let groups = "groups:\n  web:\n    events: [hit]\n    intervals: [1h]\n";
    let configs = [
        format!("redis:\n  host: localhost\n  port: {tls_port}\n  ssl: true\n  ssl_ca_certs: {ca}\n{groups}"),
        format!("redis:\n  url: rediss://localhost:{tls_port}/0\n  ssl_ca_certs: {ca}\n{groups}"),
        format!(
            "redis:\n  host: 127.0.0.1\n  port: {tls_port}\n  ssl: true\n  ssl_ca_certs: {ca}\n  ssl_certfile: {}\n  ssl_keyfile: {}\n{groups}",
            path("client.crt"),
            path("client.key")
        ),
        format!("redis:\n  host: localhost\n  port: {tls_port}\n  ssl: true\n  ssl_cert_reqs: none\n{groups}"),
    ];
    for (i, text) in configs.iter().enumerate() {
        let config = certs.join(format!("tls{i}.yml"));
        std::fs::write(&config, text).unwrap();
        let config = config.display().to_string();
        let run = run_bin("ecl", &["log", &config, "web", "hit"], &[]);
        assert_eq!(run.code, 0, "config {i}: {}", run.stderr);
        let run = run_bin("ecl", &["totals", &config, "-g", "web"], &[]);
        assert_eq!(run.code, 0, "config {i}: {}", run.stderr);
    }
    let mut c = s.conn();
    assert_eq!(counts(&mut c, &["ECL.TOTALS", "web"]), pairs(&[("hit", 4)]));
    // Without the CA, the server's certificate is refused: nothing counted.
    let config = certs.join("untrusted.yml");
    std::fs::write(
        &config,
        format!("redis:\n  host: localhost\n  port: {tls_port}\n  ssl: true\n{groups}"),
    )
    .unwrap();
    let run = run_bin(
        "ecl",
        &["log", &config.display().to_string(), "web", "hit"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(counts(&mut c, &["ECL.TOTALS", "web"]), pairs(&[("hit", 4)]));
    let _ = std::fs::remove_dir_all(&certs);
}
