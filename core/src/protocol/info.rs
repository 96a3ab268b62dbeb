//! The fields of `ECL.INFO`'s reply, defined once. The module fills a
//! [`GroupInfo`] and writes [`GroupInfo::to_reply`]; clients read it back
//! with [`GroupInfo::from_reply`], which refuses a reply missing a field;
//! the CLI prints it (JSON through serde). Adding a field: a struct field,
//! one line in each of `to_reply` and `from_reply`, and its value in the
//! module.

use serde::{Deserialize, Serialize};

/// What `ECL.INFO` says of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupInfo {
    pub group: String,
    /// One entry per interval, in schema order.
    pub intervals: Vec<IntervalInfo>,
    /// Events in the schema.
    pub declared_events: u64,
    /// Auto-declared events with a count in a kept window.
    pub auto_declared_events: u64,
    /// Whether events outside the schema are counted.
    pub auto_declare_events: bool,
    /// Cap on live auto-declared events.
    pub max_events: u64,
    /// Counts sent to `@overflow` because of the cap.
    pub overflowed: u64,
    /// Counts too old for a kept window (they reached the totals only).
    pub late_dropped: u64,
    /// Times the clock was found behind the group by more than a window.
    pub clock_steps: u64,
    /// Producers in the exactly-once table.
    pub producers: u64,
    /// Memory the group's key uses on the server.
    pub memory_bytes: u64,
    /// The server's `maxmemory-policy` may evict the group's key.
    pub eviction_policy_risk: bool,
    /// The server's timer: the last tick that did work, and the longest (µs).
    pub timer_last_tick_us: u64,
    pub timer_max_tick_us: u64,
    /// The schema's `history` in ms (0: the last window only).
    pub history_ms: u64,
}

/// One interval of [`GroupInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IntervalInfo {
    /// As written in the schema (`5m`).
    pub name: String,
    pub length_ms: u64,
    /// The length the way a person writes it (`300s` is `5m`).
    pub normalized: String,
    /// Start (Unix ms) of the window in progress.
    pub current_start_ms: u64,
    /// Start (Unix ms) of the last complete window.
    pub last_start_ms: u64,
    /// Closed windows kept (1 without history).
    pub kept_windows: u64,
}

/// A reply value, whatever the wire library: integers, text, and lists of
/// maps (the intervals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyValue {
    Int(u64),
    Text(String),
    Maps(Vec<Vec<(String, ReplyValue)>>),
}

/// Reply fields in order.
pub type ReplyFields = Vec<(String, ReplyValue)>;

fn int(n: u64) -> ReplyValue {
    ReplyValue::Int(n)
}

fn text(s: &str) -> ReplyValue {
    ReplyValue::Text(s.to_string())
}

/// Fields of a reply by name, each taken once.
struct Fields<'a>(&'a [(String, ReplyValue)]);

impl Fields<'_> {
    fn get(&self, name: &str) -> Result<&ReplyValue, String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("ECL.INFO reply has no '{name}'"))
    }

    fn int(&self, name: &str) -> Result<u64, String> {
        match self.get(name)? {
            ReplyValue::Int(n) => Ok(*n),
            ReplyValue::Text(t) => t
                .parse()
                .map_err(|_| format!("ECL.INFO '{name}' is not a number: {t}")),
            ReplyValue::Maps(_) => Err(format!("ECL.INFO '{name}' is not a number")),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, String> {
        match self.int(name)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(format!("ECL.INFO '{name}' is {n}, not 0 or 1")),
        }
    }

    fn text(&self, name: &str) -> Result<String, String> {
        match self.get(name)? {
            ReplyValue::Text(t) => Ok(t.clone()),
            ReplyValue::Int(n) => Ok(n.to_string()),
            ReplyValue::Maps(_) => Err(format!("ECL.INFO '{name}' is not text")),
        }
    }
}

impl IntervalInfo {
    fn to_reply(&self) -> ReplyFields {
        vec![
            ("name".into(), text(&self.name)),
            ("length_ms".into(), int(self.length_ms)),
            ("normalized".into(), text(&self.normalized)),
            ("current_start_ms".into(), int(self.current_start_ms)),
            ("last_start_ms".into(), int(self.last_start_ms)),
            ("kept_windows".into(), int(self.kept_windows)),
        ]
    }

    fn from_reply(fields: &[(String, ReplyValue)]) -> Result<IntervalInfo, String> {
        let f = Fields(fields);
        Ok(IntervalInfo {
            name: f.text("name")?,
            length_ms: f.int("length_ms")?,
            normalized: f.text("normalized")?,
            current_start_ms: f.int("current_start_ms")?,
            last_start_ms: f.int("last_start_ms")?,
            // Added with history: a module without it keeps the last window.
            kept_windows: f.int("kept_windows").unwrap_or(1),
        })
    }
}

impl GroupInfo {
    /// The reply's fields, in the order they are written.
    pub fn to_reply(&self) -> ReplyFields {
        vec![
            ("group".into(), text(&self.group)),
            (
                "intervals".into(),
                ReplyValue::Maps(self.intervals.iter().map(IntervalInfo::to_reply).collect()),
            ),
            ("declared_events".into(), int(self.declared_events)),
            (
                "auto_declared_events".into(),
                int(self.auto_declared_events),
            ),
            (
                "auto_declare_events".into(),
                int(u64::from(self.auto_declare_events)),
            ),
            ("max_events".into(), int(self.max_events)),
            ("overflowed".into(), int(self.overflowed)),
            ("late_dropped".into(), int(self.late_dropped)),
            ("clock_steps".into(), int(self.clock_steps)),
            ("producers".into(), int(self.producers)),
            ("memory_bytes".into(), int(self.memory_bytes)),
            (
                "eviction_policy_risk".into(),
                int(u64::from(self.eviction_policy_risk)),
            ),
            ("timer_last_tick_us".into(), int(self.timer_last_tick_us)),
            ("timer_max_tick_us".into(), int(self.timer_max_tick_us)),
            ("history_ms".into(), int(self.history_ms)),
        ]
    }

    /// Reads a reply back; a missing or mistyped field is an error.
    pub fn from_reply(fields: &[(String, ReplyValue)]) -> Result<GroupInfo, String> {
        let f = Fields(fields);
        let intervals = match f.get("intervals")? {
            ReplyValue::Maps(maps) => maps
                .iter()
                .map(|m| IntervalInfo::from_reply(m))
                .collect::<Result<_, _>>()?,
            _ => return Err("ECL.INFO 'intervals' is not a list".into()),
        };
        Ok(GroupInfo {
            group: f.text("group")?,
            intervals,
            declared_events: f.int("declared_events")?,
            auto_declared_events: f.int("auto_declared_events")?,
            auto_declare_events: f.flag("auto_declare_events")?,
            max_events: f.int("max_events")?,
            overflowed: f.int("overflowed")?,
            late_dropped: f.int("late_dropped")?,
            clock_steps: f.int("clock_steps")?,
            producers: f.int("producers")?,
            memory_bytes: f.int("memory_bytes")?,
            eviction_policy_risk: f.flag("eviction_policy_risk")?,
            timer_last_tick_us: f.int("timer_last_tick_us")?,
            timer_max_tick_us: f.int("timer_max_tick_us")?,
            // Added with history: a module without it has none.
            history_ms: f.int("history_ms").unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GroupInfo {
        GroupInfo {
            group: "g".into(),
            intervals: vec![IntervalInfo {
                name: "300s".into(),
                length_ms: 300_000,
                normalized: "5m".into(),
                current_start_ms: 600_000,
                last_start_ms: 300_000,
                kept_windows: 288,
            }],
            declared_events: 2,
            auto_declare_events: true,
            max_events: u64::MAX,
            eviction_policy_risk: true,
            ..GroupInfo::default()
        }
    }

    #[test]
    fn a_reply_reads_back_as_written() {
        let info = sample();
        assert_eq!(GroupInfo::from_reply(&info.to_reply()), Ok(info));
    }

    #[test]
    fn a_missing_field_is_an_error_not_a_zero() {
        let mut reply = sample().to_reply();
        reply.retain(|(k, _)| k != "overflowed");
        assert!(GroupInfo::from_reply(&reply)
            .unwrap_err()
            .contains("overflowed"));
    }
}
