//! A group's schema (SPEC §2, §4.2): its intervals, declared events,
//! `auto_declare_events` and `max_events`. It lives in the group's key; the
//! schema commands (`ECL.CREATE`, `ECL.DECLARE`, `ECL.ALTER`) and the YAML
//! config describe it with the same rules, checked here and in `config`.
//!
//! Declarations only add ([`GroupShape::merged_with`]); `ECL.ALTER`
//! replaces the parts it names ([`GroupShape::altered`]).

use crate::command::parse_u64;
use crate::config::{check_group_name, IntervalSpec, DEFAULT_MAX_EVENTS};
use crate::error::EclError;
use crate::event_id::{check_client_event_id, display_id};
use crate::interval::{parse_interval_ms, IntervalMs};
use crate::limits;
use crate::store::GroupShape;
use std::collections::HashSet;

/// What a schema command names; `None`: not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaArgs {
    pub auto_declare: Option<bool>,
    pub max_events: Option<u64>,
    /// Interval lengths in ms, in the order given.
    pub intervals: Option<Vec<u64>>,
    pub events: Option<Vec<Vec<u8>>>,
    /// `HISTORY duration` (ms).
    pub history_ms: Option<u64>,
    /// The master's clock (replication and the AOF only).
    pub now_ms: Option<u64>,
}

fn is_keyword(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

fn syntax(message: impl Into<String>) -> EclError {
    EclError::Syntax(message.into())
}

/// `[AUTO_DECLARE [0|1]] [MAX_EVENTS n] [NOW t] [INTERVALS i ...] [EVENTS e ...]`,
/// the arguments after the group name. With `alter`, `AUTO_DECLARE` takes
/// 0 or 1; otherwise it is a flag. `EVENTS` takes the rest of the arguments.
pub fn parse_schema(args: &[&[u8]], alter: bool) -> Result<SchemaArgs, EclError> {
    let mut out = SchemaArgs::default();
    let mut i = 0;
    while let Some(&arg) = args.get(i) {
        i += 1;
        if is_keyword(arg, "AUTO_DECLARE") && out.auto_declare.is_none() {
            if alter {
                let value = args
                    .get(i)
                    .ok_or_else(|| syntax("AUTO_DECLARE needs 0 or 1"))?;
                i += 1;
                out.auto_declare = Some(match *value {
                    b"0" => false,
                    b"1" => true,
                    _ => return Err(syntax("AUTO_DECLARE takes 0 or 1")),
                });
            } else {
                out.auto_declare = Some(true);
            }
        } else if is_keyword(arg, "MAX_EVENTS") && out.max_events.is_none() {
            let value = args
                .get(i)
                .ok_or_else(|| syntax("MAX_EVENTS needs a value"))?;
            i += 1;
            out.max_events = Some(parse_u64(value).ok_or_else(|| EclError::BadInteger {
                what: "MAX_EVENTS",
                value: value.to_vec(),
            })?);
        } else if is_keyword(arg, "HISTORY") && out.history_ms.is_none() {
            let value = args
                .get(i)
                .ok_or_else(|| syntax("HISTORY needs a duration such as 24h"))?;
            i += 1;
            let ms = std::str::from_utf8(value)
                .map_err(|_| syntax(format!("bad HISTORY '{}'", display_id(value))))
                .and_then(|t| parse_interval_ms(t).map_err(|e| syntax(format!("HISTORY: {e}"))))?;
            out.history_ms = Some(ms);
        } else if is_keyword(arg, "NOW") && out.now_ms.is_none() {
            let value = args.get(i).ok_or_else(|| syntax("NOW needs a value"))?;
            i += 1;
            out.now_ms = Some(parse_u64(value).ok_or_else(|| EclError::BadInteger {
                what: "NOW",
                value: value.to_vec(),
            })?);
        } else if is_keyword(arg, "INTERVALS") && out.intervals.is_none() {
            let mut lengths = Vec::new();
            while let Some(&text) = args.get(i) {
                if is_keyword(text, "EVENTS") {
                    break;
                }
                i += 1;
                limits::within("intervals", lengths.len() + 1, limits::INTERVALS_PER_GROUP)?;
                let ms = std::str::from_utf8(text)
                    .map_err(|_| syntax(format!("bad interval '{}'", display_id(text))))
                    .and_then(|t| parse_interval_ms(t).map_err(|e| syntax(e.to_string())))?;
                if lengths.contains(&ms) {
                    return Err(syntax(format!(
                        "interval '{}' given twice ({})",
                        display_id(text),
                        IntervalMs(ms)
                    )));
                }
                lengths.push(ms);
            }
            if lengths.is_empty() {
                return Err(syntax("INTERVALS needs at least one interval"));
            }
            out.intervals = Some(lengths);
        } else if is_keyword(arg, "EVENTS") && out.events.is_none() {
            let ids = &args[i..];
            limits::within(
                "declared events",
                ids.len(),
                limits::DECLARED_EVENTS_PER_GROUP,
            )?;
            let mut seen: HashSet<&[u8]> = HashSet::with_capacity(ids.len());
            let mut events: Vec<Vec<u8>> = Vec::with_capacity(ids.len());
            for &id in ids {
                check_client_event_id(id).map_err(|reason| EclError::BadEventId {
                    event: id.to_vec(),
                    reason,
                })?;
                if !seen.insert(id) {
                    return Err(syntax(format!("event '{}' given twice", display_id(id))));
                }
                events.push(id.to_vec());
            }
            i = args.len();
            out.events = Some(events);
        } else {
            return Err(syntax(format!(
                "unexpected argument '{}' (usage: group [AUTO_DECLARE{}] [MAX_EVENTS n] [HISTORY duration] INTERVALS interval ... [EVENTS event ...])",
                display_id(arg),
                if alter { " 0|1" } else { "" }
            )));
        }
    }
    Ok(out)
}

/// The group name of a schema command, checked as the config checks it.
pub fn group_name(arg: &[u8]) -> Result<String, EclError> {
    let name = std::str::from_utf8(arg)
        .map_err(|_| syntax("group name must be UTF-8"))?
        .to_string();
    check_group_name(&name).map_err(EclError::Syntax)?;
    Ok(name)
}

impl SchemaArgs {
    /// The schema of `ECL.CREATE`/`ECL.DECLARE` for a new group, within
    /// the limits.
    pub fn new_shape(&self, name: &str) -> Result<GroupShape, EclError> {
        let intervals = self
            .intervals
            .clone()
            .ok_or_else(|| syntax("INTERVALS is required to create a group"))?;
        let shape = GroupShape {
            name: name.to_string(),
            intervals,
            declared: self.events.clone().unwrap_or_default(),
            auto_declare: self.auto_declare.unwrap_or(false),
            max_events: self.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
            history_ms: self.history_ms.unwrap_or(0),
        };
        shape.check_limits(0)?;
        Ok(shape)
    }

    /// What `ECL.DECLARE` adds to an existing group: only what it names.
    pub fn declared_shape(&self, name: &str) -> GroupShape {
        GroupShape {
            name: name.to_string(),
            intervals: self.intervals.clone().unwrap_or_default(),
            declared: self.events.clone().unwrap_or_default(),
            auto_declare: self.auto_declare.unwrap_or(false),
            max_events: self.max_events.unwrap_or(0),
            history_ms: self.history_ms.unwrap_or(0),
        }
    }

    /// The arguments that give a group exactly `shape` (the full schema, as
    /// `ECL.ALTER` and `ECL.CREATE` take it; `NOW` first when given).
    pub fn full(shape: &GroupShape, alter: bool, now_ms: Option<u64>) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = vec![shape.name.as_bytes().to_vec()];
        if let Some(now) = now_ms {
            out.push(b"NOW".to_vec());
            out.push(now.to_string().into_bytes());
        }
        if alter {
            out.push(b"AUTO_DECLARE".to_vec());
            out.push(if shape.auto_declare {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            });
        } else if shape.auto_declare {
            out.push(b"AUTO_DECLARE".to_vec());
        }
        out.push(b"MAX_EVENTS".to_vec());
        out.push(shape.max_events.to_string().into_bytes());
        if shape.history_ms > 0 {
            out.push(b"HISTORY".to_vec());
            out.push(IntervalMs(shape.history_ms).to_string().into_bytes());
        }
        out.push(b"INTERVALS".to_vec());
        out.extend(
            shape
                .intervals
                .iter()
                .map(|&ms| IntervalMs(ms).to_string().into_bytes()),
        );
        out.push(b"EVENTS".to_vec());
        out.extend(shape.declared.iter().cloned());
        out
    }
}

impl GroupShape {
    /// This schema with what `declared` adds: intervals and events it
    /// lacks, auto-declaring turned on, a higher `max_events`. Never removes.
    pub fn merged_with(&self, declared: &GroupShape) -> GroupShape {
        let mut merged = self.clone();
        for &ms in &declared.intervals {
            if !merged.intervals.contains(&ms) {
                merged.intervals.push(ms);
            }
        }
        let known: HashSet<&[u8]> = self.declared.iter().map(Vec::as_slice).collect();
        for id in &declared.declared {
            if !known.contains(id.as_slice()) {
                merged.declared.push(id.clone());
            }
        }
        merged.auto_declare |= declared.auto_declare;
        merged.max_events = merged.max_events.max(declared.max_events);
        merged.history_ms = merged.history_ms.max(declared.history_ms);
        merged
    }

    /// This schema with the parts `args` names replaced.
    pub fn altered(&self, args: &SchemaArgs) -> GroupShape {
        GroupShape {
            name: self.name.clone(),
            intervals: args
                .intervals
                .clone()
                .unwrap_or_else(|| self.intervals.clone()),
            declared: args.events.clone().unwrap_or_else(|| self.declared.clone()),
            auto_declare: args.auto_declare.unwrap_or(self.auto_declare),
            max_events: args.max_events.unwrap_or(self.max_events),
            history_ms: args.history_ms.unwrap_or(self.history_ms),
        }
    }

    /// Whether two schemas are the same, whatever the order their intervals
    /// and events were given in.
    pub fn same_as(&self, other: &GroupShape) -> bool {
        fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
            let mut items = items.to_vec();
            items.sort_unstable();
            items
        }
        self.name == other.name
            && self.auto_declare == other.auto_declare
            && self.max_events == other.max_events
            && self.history_ms == other.history_ms
            && sorted(&self.intervals) == sorted(&other.intervals)
            && sorted(&self.declared) == sorted(&other.declared)
    }

    /// The intervals with names to show: the config's name for a length it
    /// lists (`300s` stays `300s`), the normalised one otherwise.
    pub fn interval_specs(&self, named: &[IntervalSpec]) -> Vec<IntervalSpec> {
        self.intervals
            .iter()
            .map(|&ms| IntervalSpec {
                name: named
                    .iter()
                    .find(|i| i.ms == ms)
                    .map_or_else(|| IntervalMs(ms).to_string(), |i| i.name.clone()),
                ms,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&[u8]> {
        text.split_whitespace().map(str::as_bytes).collect()
    }

    #[test]
    fn create_arguments_give_a_schema() {
        let args = parse_schema(
            &words("AUTO_DECLARE MAX_EVENTS 5 INTERVALS 1s 5m EVENTS a b"),
            false,
        )
        .unwrap();
        let shape = args.new_shape("g").unwrap();
        assert_eq!(shape.intervals, [1000, 300_000]);
        assert_eq!(shape.declared, [b"a".to_vec(), b"b".to_vec()]);
        assert!(shape.auto_declare);
        assert_eq!(shape.max_events, 5);
        // The full form parses back to the same schema.
        let full = SchemaArgs::full(&shape, false, None);
        let refs: Vec<&[u8]> = full.iter().map(Vec::as_slice).collect();
        assert_eq!(
            parse_schema(&refs[1..], false)
                .unwrap()
                .new_shape("g")
                .unwrap(),
            shape
        );
        let full = SchemaArgs::full(&shape, true, Some(7));
        let refs: Vec<&[u8]> = full.iter().map(Vec::as_slice).collect();
        let parsed = parse_schema(&refs[1..], true).unwrap();
        assert_eq!(parsed.now_ms, Some(7));
        assert_eq!(shape.altered(&parsed), shape);
    }

    #[test]
    fn the_config_rules_refuse_bad_schemas() {
        for bad in [
            "INTERVALS 5x",
            "INTERVALS 1s 1000ms",
            "INTERVALS 50ms",
            "INTERVALS",
            "INTERVALS 1s EVENTS a a",
            "INTERVALS 1s EVENTS @x",
            "MAX_EVENTS -1 INTERVALS 1s",
            "COLOUR red",
        ] {
            assert!(parse_schema(&words(bad), false).is_err(), "{bad}");
        }
        assert!(parse_schema(&words("EVENTS a"), false)
            .unwrap()
            .new_shape("g")
            .is_err());
        assert!(
            group_name(b"a b").is_err() && group_name(b"x{y}").is_err() && group_name(b"").is_err()
        );
    }

    #[test]
    fn declaring_only_adds_and_altering_replaces() {
        let base = parse_schema(&words("INTERVALS 1s EVENTS a"), false)
            .unwrap()
            .new_shape("g")
            .unwrap();
        let declared = parse_schema(
            &words("AUTO_DECLARE MAX_EVENTS 3 INTERVALS 1m EVENTS b"),
            false,
        )
        .unwrap()
        .new_shape("g")
        .unwrap();
        let merged = base.merged_with(&declared);
        assert_eq!(merged.intervals, [1000, 60_000]);
        assert_eq!(merged.declared, [b"a".to_vec(), b"b".to_vec()]);
        assert!(merged.auto_declare);
        assert_eq!(merged.max_events, DEFAULT_MAX_EVENTS, "never lowered");
        assert_eq!(merged.merged_with(&base), merged);
        let altered =
            merged.altered(&parse_schema(&words("AUTO_DECLARE 0 EVENTS b"), true).unwrap());
        assert_eq!(altered.declared, [b"b".to_vec()]);
        assert!(!altered.auto_declare);
        assert_eq!(altered.intervals, merged.intervals);
    }
}
