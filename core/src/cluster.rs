//! Redis Cluster arithmetic the module needs: which hash slot a group is
//! in, and whether this node is moving that slot right now (read off its
//! own line of `CLUSTER NODES`).

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// The hash slot of `key`, as `CLUSTER KEYSLOT` computes it: CRC16 (XMODEM)
/// of the key, or of its hash tag — the bytes between the first `{` and the
/// next `}` — when that is non-empty.
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16_xmodem(hashed) % SLOTS
}

/// CRC16, polynomial 0x1021, initial value 0, no reflection (the variant
/// Redis Cluster uses).
fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Whether this node is importing or migrating `slot`, from the output of
/// `CLUSTER NODES`. Its own line (flag `myself`) lists open slots as
/// `[slot->-target-id]` (migrating) and `[slot-<-source-id]` (importing).
pub fn slot_is_moving(cluster_nodes: &str, slot: u16) -> bool {
    let Some(own_line) = cluster_nodes.lines().find(|line| {
        line.split(' ')
            .nth(2)
            .is_some_and(|flags| flags.split(',').any(|f| f == "myself"))
    }) else {
        return false;
    };
    let migrating = format!("[{slot}->-");
    let importing = format!("[{slot}-<-");
    own_line
        .split(' ')
        .skip(8) // id addr flags master ping pong epoch link-state
        .any(|entry| entry.starts_with(&migrating) || entry.starts_with(&importing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_the_redis_cluster_specification() {
        // Reference values from the Redis Cluster specification and
        // `CLUSTER KEYSLOT` (the integration tests compare against a server).
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"bar"), 5061);
    }

    #[test]
    fn hash_tags_follow_the_first_brace_pair() {
        assert_eq!(key_hash_slot(b"ecl:{requests}"), key_hash_slot(b"requests"));
        assert_eq!(key_hash_slot(b"a{b}{c}"), key_hash_slot(b"b"));
        // An empty tag or an unclosed brace hashes the whole key.
        assert_ne!(key_hash_slot(b"a{}b"), key_hash_slot(b""));
        assert_eq!(key_hash_slot(b"a{}b"), crc16_xmodem(b"a{}b") % SLOTS);
        assert_eq!(key_hash_slot(b"a{b"), crc16_xmodem(b"a{b") % SLOTS);
    }

    const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [5462-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 myself,master - 0 1426238318243 3 connected 10923-16383 [93->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca] [200-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master - 0 0 1 connected 0-5460
";

    #[test]
    fn open_slots_are_read_from_the_own_line_only() {
        assert!(slot_is_moving(NODES, 93), "migrating");
        assert!(slot_is_moving(NODES, 200), "importing");
        assert!(!slot_is_moving(NODES, 9), "prefix of 93 is another slot");
        assert!(!slot_is_moving(NODES, 5462), "another node's import");
        assert!(!slot_is_moving(NODES, 11000), "owned and stable");
        assert!(!slot_is_moving("", 93));
    }
}
