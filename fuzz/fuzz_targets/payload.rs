//! The RDB/AOF payload decoder: never a panic on any bytes; what it
//! accepts encodes canonically (decode . encode is the identity on it) and
//! answers every read.
#![no_main]

use ecl_core::encoding::{decode, encode};
use ecl_core::WindowKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(store) = decode(data) else {
        return;
    };
    let encoded = encode(&store);
    let again = decode(&encoded).expect("an accepted payload encodes to a valid one");
    assert_eq!(encode(&again), encoded, "the encoding is canonical");
    let now = store.position_ms();
    for i in 0..store.intervals().len() {
        for kind in [WindowKind::Last, WindowKind::Current] {
            assert_eq!(
                store.window_counts(i, kind, now),
                again.window_counts(i, kind, now)
            );
        }
    }
    assert_eq!(store.totals(now), again.totals(now));
});
