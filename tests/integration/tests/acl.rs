//! ECL as Redis's conventions want a module (SPEC §4.7): command docs and
//! exact key specs, ACL key permissions on the group name, `ECL.GROUPS`
//! filtered by them, ACL categories where the server has them (7.2+, the
//! `ecl` category on 7.4), `INFO ecl` and the release in `INFO modules`.

use ecl_integration::*;

/// `(flags of the first key spec, summary)` of a command.
fn key_flags(c: &mut redis::Connection, command: &str) -> Vec<String> {
    let info: redis::Value = cmd(&["COMMAND", "INFO", command]).query(c).unwrap();
    let text = format!("{info:?}");
    [
        "RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
    ]
    .iter()
    .filter(|f| text.contains(&format!("\"{f}\"")) || text.contains(&format!("{f}\")")))
    .map(|f| f.to_string())
    .collect()
}

fn docs(c: &mut redis::Connection, command: &str) -> String {
    let docs: redis::Value = cmd(&["COMMAND", "DOCS", command]).query(c).unwrap();
    format!("{docs:?}")
}

fn user(port: u16, name: &str) -> redis::Connection {
    redis::Client::open(format!("redis://{name}:pw@127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// User `reader` reads group `web`, not `secret`, and cannot write `web`.
fn reads_web_only(port: u16) -> redis::Connection {
    let mut r = user(port, "reader");
    let totals: Vec<(String, u64)> = cmd(&["ECL.TOTALS", "web"]).query(&mut r).unwrap();
    assert_eq!(totals, [("hit".to_string(), 1)]);
    assert!(error_of(&mut r, &["ECL.TOTALS", "secret"]).starts_with("NOPERM"));
    assert!(error_of(&mut r, &["ECL.LOG", "web", "hit"]).starts_with("NOPERM"));
    r
}

fn setup(s: &Server) -> redis::Connection {
    let mut c = s.conn();
    for g in ["web", "secret"] {
        cmd(&["ECL.CREATE", g, "INTERVALS", "1m", "EVENTS", "hit"])
            .query::<()>(&mut c)
            .unwrap();
        cmd(&["ECL.LOG", g, "hit"]).query::<()>(&mut c).unwrap();
    }
    c
}

#[test]
fn commands_declare_docs_key_specs_and_the_release() {
    let s = Server::start_without_config(&[]);
    let mut c = setup(&s);
    for (command, flags) in [
        ("ecl.get", ["RO", "access"]),
        ("ecl.totals", ["RO", "access"]),
        ("ecl.range", ["RO", "access"]),
        ("ecl.top", ["RO", "access"]),
        ("ecl.info", ["RO", "access"]),
        ("ecl.log", ["RW", "update"]),
        ("ecl.mlog", ["RW", "update"]),
        ("ecl.create", ["RW", "insert"]),
        ("ecl.drop", ["RM", "delete"]),
        ("ecl.restore", ["OW", "update"]),
    ] {
        let found = key_flags(&mut c, command);
        for f in flags {
            assert!(found.contains(&f.to_string()), "{command}: {found:?}");
        }
        assert!(docs(&mut c, command).contains("summary"), "{command}");
    }
    let arity: redis::Value = cmd(&["COMMAND", "INFO", "ecl.log"]).query(&mut c).unwrap();
    assert!(format!("{arity:?}").contains("int(-3)"), "{arity:?}");
    let modules: String = cmd(&["INFO", "modules"]).query(&mut c).unwrap();
    let version = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap())
        .fold(0, |v, p| v * 100 + p);
    assert!(
        modules.contains(&format!("name=ecl,ver={version},")),
        "{modules}"
    );
    let info: String = cmd(&["INFO", "ecl"]).query(&mut c).unwrap();
    for field in [
        "ecl_version:",
        "ecl_groups:2",
        "ecl_timer_max_tick_us:",
        "ecl_timer_max_tick_cpu_us:",
        "ecl_clock_steps_seen:",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
}

#[test]
fn key_permissions_apply_to_group_names_and_filter_the_group_list() {
    let s = Server::start_without_config(&[]);
    let mut c = setup(&s);
    cmd(&[
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">pw",
        "%R~web",
        "+ecl.get",
        "+ecl.totals",
        "+ecl.info",
        "+ecl.groups",
        "+ecl.log",
    ])
    .query::<()>(&mut c)
    .unwrap();
    // Read-only key access: no write, even with the command allowed.
    let mut r = reads_web_only(s.port);
    let listed: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut r).unwrap();
    assert_eq!(listed, ["web"]);
    let all: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut c).unwrap();
    assert_eq!(all, ["secret", "web"]);
}

#[test]
fn on_redis_7_4_commands_are_in_categories_and_in_ecl() {
    let s = match Server::start_redis74(&[], &[]) {
        Ok(s) => s,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let mut c = setup(&s);
    let in_category = |c: &mut redis::Connection, category: &str| -> Vec<String> {
        let mut names: Vec<String> = cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", category])
            .query::<Vec<String>>(c)
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with("ecl."))
            .collect();
        names.sort();
        names
    };
    assert_eq!(in_category(&mut c, "ecl").len(), 14);
    assert_eq!(
        in_category(&mut c, "read"),
        [
            "ecl.get",
            "ecl.groups",
            "ecl.info",
            "ecl.range",
            "ecl.top",
            "ecl.totals"
        ]
    );
    assert!(in_category(&mut c, "write").contains(&"ecl.log".to_string()));
    assert_eq!(
        in_category(&mut c, "dangerous"),
        ["ecl.alter", "ecl.drop", "ecl.restore"]
    );
    // A reader by category: reads web and nothing else, and cannot write.
    cmd(&["ACL", "SETUSER", "reader", "on", ">pw", "%R~web", "+@read"])
        .query::<()>(&mut c)
        .unwrap();
    reads_web_only(s.port);
    // A user without write and dangerous commands cannot change or drop.
    cmd(&[
        "ACL",
        "SETUSER",
        "safe",
        "on",
        ">pw",
        "~*",
        "+@all",
        "-@write",
        "-@dangerous",
    ])
    .query::<()>(&mut c)
    .unwrap();
    let mut safe = user(s.port, "safe");
    for args in [
        vec!["ECL.LOG", "web", "hit"],
        vec!["ECL.ALTER", "web", "EVENTS", "x"],
        vec!["ECL.DROP", "secret"],
    ] {
        assert!(error_of(&mut safe, &args).starts_with("NOPERM"), "{args:?}");
    }
    let all: Vec<String> = cmd(&["ECL.GROUPS"]).query(&mut c).unwrap();
    assert_eq!(all, ["secret", "web"]);
}

#[test]
fn the_group_cap_is_a_module_config() {
    let s = Server::start_with_module_args(&["MAX_GROUPS", "3"], &[]);
    let mut c = s.conn();
    let got: Vec<String> = cmd(&["CONFIG", "GET", "ecl.*"]).query(&mut c).unwrap();
    assert_eq!(got, ["ecl.max-groups", "3"]);
    cmd(&["CONFIG", "SET", "ecl.max-groups", "1"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.CREATE", "a", "INTERVALS", "1m"])
        .query::<()>(&mut c)
        .unwrap();
    let e = error_of(&mut c, &["ECL.CREATE", "b", "INTERVALS", "1m"]);
    assert!(e.contains("ecl.max-groups"), "{e}");
    assert!(error_of(&mut c, &["CONFIG", "SET", "ecl.max-groups", "0"]).starts_with("ERR"));
    let info: String = cmd(&["INFO", "ecl"]).query(&mut c).unwrap();
    assert!(info.contains("ecl_max_groups_per_db:1"), "{info}");
}
