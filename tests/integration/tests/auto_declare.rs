//! Auto-declared events, the `max_events` cap, `@overflow`, and `ID` retries.

use ecl_integration::*;

const CONFIG: &str = "\
groups:
  dyn:
    events: [fixed]
    auto_declare_events: true
    intervals: [1h]
    max_events: 3
";

#[test]
fn new_events_appear_and_the_cap_sends_the_rest_to_overflow() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    cmd(&["ECL.LOG", "dyn", "x"]).query::<()>(&mut c).unwrap();
    cmd(&["ECL.LOG", "dyn", "zero", "0"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "dyn", "CURRENT"]),
        pairs(&[("fixed", 0), ("x", 1)])
    );
    cmd(&[
        "ECL.MLOG", "dyn", "y", "2", "z", "3", "w", "4", "v", "5", "x", "1",
    ])
    .query::<()>(&mut c)
    .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.GET", "dyn", "CURRENT"]),
        pairs(&[("@overflow", 9), ("fixed", 0), ("x", 2), ("y", 2), ("z", 3)])
    );
    let sum: u64 = counts(&mut c, &["ECL.TOTALS", "dyn"])
        .iter()
        .map(|p| p.1)
        .sum();
    assert_eq!(sum, 1 + 2 + 3 + 4 + 5 + 1, "nothing is lost");
}

#[test]
fn a_retried_batch_counts_once() {
    let s = Server::start(CONFIG, &[]);
    let mut c = s.conn();
    clear_of_boundary(&mut c, HOUR_MS, HOUR_MARGIN_MS);
    for _ in 0..3 {
        cmd(&["ECL.MLOG", "dyn", "ID", "proc-1", "1", "fixed", "5"])
            .query::<()>(&mut c)
            .unwrap();
    }
    cmd(&["ECL.MLOG", "dyn", "ID", "proc-2", "1", "fixed", "1"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.MLOG", "dyn", "ID", "proc-1", "2", "fixed", "10"])
        .query::<()>(&mut c)
        .unwrap();
    cmd(&["ECL.MLOG", "dyn", "ID", "proc-1", "1", "fixed", "100"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "dyn"]),
        pairs(&[("fixed", 16)])
    );
    // A refused batch does not use up its sequence number.
    let e = error_of(
        &mut c,
        &["ECL.MLOG", "dyn", "ID", "proc-1", "3", "fixed", "-1"],
    );
    assert!(e.starts_with("ERR count"), "{e}");
    cmd(&["ECL.MLOG", "dyn", "ID", "proc-1", "3", "fixed", "1"])
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        counts(&mut c, &["ECL.TOTALS", "dyn"]),
        pairs(&[("fixed", 17)])
    );
}
