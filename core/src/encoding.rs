//! The versioned binary encoding of a group's store, used for RDB, AOF
//! rewrite (`ECL.RESTORE`) and `DEBUG DIGEST-VALUE`.
//!
//! Canonical: the same logical state always encodes to the same bytes
//! (events and producers sorted by ID, dead events left out), so master and
//! replica digests compare equal. Unsigned LEB128 varints keep it compact.
//!
//! Version 1 layout (all integers varints, byte strings length-prefixed):
//! magic `ECL` + version byte, group name, interval count, per interval
//! `len_ms cur_window`, auto_declare (0/1), max_events, declared count and
//! IDs, event count and per event `id total (cur last)*intervals`,
//! overflowed, late_dropped, producer count and per producer `id seq seen_ms`.
//!
//! Version 2: version 1 followed by `clock_steps`.
//!
//! Version 3: version 2 followed by `history_ms` and, per interval, its
//! closed windows before the last that have a count: their number, then per
//! window (newest first) `window_index entry_count (event_index count)*`,
//! `event_index` the event's position in the sorted event list above.
//!
//! Every decoded state passes the store's invariants (`StoreParts::validate`)
//! before it is accepted, so what loads can be written to and saved again.

use crate::event_id::{check_client_event_id, MAX_EVENT_ID_LEN, OVERFLOW_EVENT};
use crate::interval::MIN_INTERVAL_MS;
use crate::limits;
use crate::store::{
    GroupStore, ProducerState, StoreParts, StoredEvent, Tallies, MAX_PRODUCER_ID_LEN,
};
use std::collections::HashSet;

const MAGIC: &[u8; 3] = b"ECL";
/// Version written by this build.
pub const ENCODING_VERSION: u8 = 3;
/// Events a payload may hold: the declared ones, up to `max_events`
/// auto-declared ones, and as many again that outlived a lower `max_events`
/// or their declaration (`ECL.ALTER`) while they still had counts.
const MAX_STORED_EVENTS: u64 =
    limits::DECLARED_EVENTS_PER_GROUP as u64 + 2 * limits::MAX_EVENTS + 1;

/// Encodes a store.
pub fn encode(store: &GroupStore) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(64 + store.memory_bytes() / 4));
    out.0.extend_from_slice(MAGIC);
    out.0.push(ENCODING_VERSION);
    out.bytes(store.name().as_bytes());
    out.varint(store.intervals().len() as u64);
    for interval in store.intervals() {
        out.varint(interval.len_ms);
        out.varint(interval.cur_window());
    }
    out.varint(u64::from(store.auto_declare()));
    out.varint(store.max_events());
    let mut events: Vec<_> = store.stored_events().collect();
    let declared = store.declared_count();
    out.varint(declared as u64);
    for (_, id, _, _) in &events[..declared] {
        out.bytes(id);
    }
    events.sort_unstable_by(|a, b| a.1.cmp(b.1));
    // Slot -> position in the sorted list, for the closed windows.
    let mut position = vec![usize::MAX; store.slot_count()];
    for (i, (slot, ..)) in events.iter().enumerate() {
        position[*slot] = i;
    }
    out.varint(events.len() as u64);
    for (_, id, total, windows) in &events {
        out.bytes(id);
        out.varint(*total);
        for &(cur, last) in windows {
            out.varint(cur);
            out.varint(last);
        }
    }
    let tallies = store.tallies();
    out.varint(tallies.overflowed);
    out.varint(tallies.late_dropped);
    let producers = store.producers().sorted();
    out.varint(producers.len() as u64);
    for (id, state) in producers {
        out.bytes(id);
        out.varint(state.seq);
        out.varint(state.seen_ms);
    }
    out.varint(tallies.clock_steps);
    out.varint(store.history_ms());
    for older in store.older_windows() {
        out.varint(older.len() as u64);
        for (k, entries) in older {
            // Only events the encoding keeps (a closed window never counts
            // a dead event: its slot was freed once no kept window did).
            let entries: Vec<(usize, u64)> = entries
                .into_iter()
                .filter_map(|(slot, n)| {
                    let i = *position.get(slot)?;
                    (i != usize::MAX).then_some((i, n))
                })
                .collect();
            out.varint(k);
            out.varint(entries.len() as u64);
            for (i, n) in entries {
                out.varint(i as u64);
                out.varint(n);
            }
        }
    }
    out.0
}

/// Decodes a payload of any supported version. Never panics; a payload that
/// is truncated, inconsistent or of an unknown version is an error.
pub fn decode(payload: &[u8]) -> Result<GroupStore, String> {
    decode_versioned(payload).map(|(store, _)| store)
}

/// [`decode`], also telling the payload's version: version 1 payloads were
/// written when the config decided a group's schema, so their loader gives
/// them the config's (SPEC §4.1); from version 2 on the schema stored is
/// the group's.
pub fn decode_versioned(payload: &[u8]) -> Result<(GroupStore, u8), String> {
    let mut r = Reader {
        data: payload,
        pos: 0,
    };
    if r.take(3)? != MAGIC {
        return Err("not an ECL payload".into());
    }
    let version = r.take(1)?[0];
    let parts = match version {
        1 => decode_v1(&mut r)?,
        2 => {
            let mut parts = decode_v1(&mut r)?;
            parts.tallies.clock_steps = r.varint()?;
            parts
        }
        3 => {
            let mut parts = decode_v1(&mut r)?;
            parts.tallies.clock_steps = r.varint()?;
            parts.history_ms = r.varint()?;
            let events = parts.events.len() as u64;
            for older in &mut parts.older {
                let windows = r.count(limits::KEPT_WINDOWS_PER_INTERVAL, 2)?;
                for _ in 0..windows {
                    let k = r.varint()?;
                    let entries = r.count(events, 2)?;
                    let mut counts = Vec::with_capacity(entries);
                    for _ in 0..entries {
                        let event = r.varint()?;
                        if event >= events {
                            return Err(format!("closed window {k}: event {event} of {events}"));
                        }
                        counts.push((event as usize, r.varint()?));
                    }
                    older.push((k, counts));
                }
            }
            parts
        }
        v => {
            return Err(format!(
                "encoding version {v} is newer than this build understands ({ENCODING_VERSION})"
            ))
        }
    };
    if r.pos != payload.len() {
        return Err(format!("{} trailing bytes", payload.len() - r.pos));
    }
    Ok((GroupStore::from_parts(parts)?, version))
}

fn decode_v1(r: &mut Reader<'_>) -> Result<StoreParts, String> {
    let name = String::from_utf8(r.bytes(limits::GROUP_NAME_BYTES)?.to_vec())
        .map_err(|_| "group name is not UTF-8".to_string())?;
    crate::config::check_group_name(&name)?;
    let interval_count = r.count(limits::INTERVALS_PER_GROUP as u64, 2)?;
    let mut intervals = Vec::with_capacity(interval_count);
    for _ in 0..interval_count {
        let len_ms = r.varint()?;
        let cur_window = r.varint()?;
        if len_ms < MIN_INTERVAL_MS
            || cur_window
                .checked_add(2)
                .and_then(|k| k.checked_mul(len_ms))
                .is_none()
        {
            return Err(format!("bad interval {len_ms} ms at window {cur_window}"));
        }
        if intervals.iter().any(|&(l, _)| l == len_ms) {
            return Err(format!("interval {len_ms} ms stored twice"));
        }
        intervals.push((len_ms, cur_window));
    }
    if intervals.is_empty() {
        return Err("no interval".into());
    }
    let auto_declare = match r.varint()? {
        0 => false,
        1 => true,
        other => return Err(format!("bad auto_declare flag {other}")),
    };
    let max_events = r.varint()?;
    let declared_count = r.count(limits::DECLARED_EVENTS_PER_GROUP as u64, 2)?;
    let mut declared = Vec::with_capacity(declared_count);
    let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(declared_count);
    for _ in 0..declared_count {
        let id = r.bytes(MAX_EVENT_ID_LEN)?.to_vec();
        check_client_event_id(&id).map_err(|e| format!("declared event: {e}"))?;
        if !seen.insert(id.clone()) {
            return Err("declared event stored twice".into());
        }
        declared.push(id);
    }
    let event_count = r.count(MAX_STORED_EVENTS, 2 + 2 * interval_count)?;
    let mut events = Vec::with_capacity(event_count);
    let mut stored: HashSet<Vec<u8>> = HashSet::with_capacity(event_count);
    for _ in 0..event_count {
        let id = r.bytes(MAX_EVENT_ID_LEN)?.to_vec();
        if id != OVERFLOW_EVENT {
            check_client_event_id(&id).map_err(|e| format!("event: {e}"))?;
        }
        let total = r.varint()?;
        let mut windows = Vec::with_capacity(interval_count);
        for _ in 0..interval_count {
            windows.push((r.varint()?, r.varint()?));
        }
        if !stored.insert(id.clone()) {
            return Err("event stored twice".into());
        }
        events.push(StoredEvent { id, total, windows });
    }
    if declared.iter().any(|d| !stored.contains(d)) {
        return Err("declared event without counts".into());
    }
    let tallies = Tallies {
        overflowed: r.varint()?,
        late_dropped: r.varint()?,
        clock_steps: 0,
    };
    let producer_count = r.count(crate::store::MAX_PRODUCERS as u64, 3)?;
    let mut producers = Vec::with_capacity(producer_count);
    for _ in 0..producer_count {
        let id = r.bytes(MAX_PRODUCER_ID_LEN)?.to_vec();
        let state = ProducerState {
            seq: r.varint()?,
            seen_ms: r.varint()?,
        };
        producers.push((id, state));
    }
    let older = vec![Vec::new(); intervals.len()];
    Ok(StoreParts {
        name,
        intervals,
        declared,
        auto_declare,
        max_events,
        events,
        tallies,
        producers,
        history_ms: 0,
        older,
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or("truncated")?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err("varint overflows 64 bits".into());
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn bytes(&mut self, max_len: usize) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        if len > max_len as u64 {
            return Err(format!("string of {len} bytes exceeds {max_len}"));
        }
        self.take(len as usize)
    }

    /// An element count, bounded by `max` and by what the rest of the payload
    /// could hold at `min_bytes` each (so a hostile count cannot make us
    /// allocate gigabytes).
    fn count(&mut self, max: u64, min_bytes: usize) -> Result<usize, String> {
        let n = self.varint()?;
        let room = (self.data.len() - self.pos) / min_bytes.max(1);
        if n > max || n > room as u64 {
            return Err(format!("count {n} is larger than the payload allows"));
        }
        Ok(n as usize)
    }
}
