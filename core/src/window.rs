//! Window arithmetic across a group's intervals. Window k of an interval of
//! `len` ms covers [k·len, (k+1)·len), aligned to the Unix epoch.
//!
//! A *span* is the stretch of time between two consecutive boundaries of any
//! of the group's intervals: every time in a span falls in the same window of
//! every interval, so counts gathered within one span can be sent as one batch
//! with `AT` = the span's start.

/// Start of the span containing `t`: the latest window start at or before `t`
/// over all intervals.
pub fn span_start(intervals_ms: &[u64], t: u64) -> u64 {
    intervals_ms
        .iter()
        .map(|&len| t / len * len)
        .max()
        .unwrap_or(0)
}

/// The first boundary of any interval strictly after `t`.
pub fn next_boundary(intervals_ms: &[u64], t: u64) -> Option<u64> {
    intervals_ms
        .iter()
        .map(|&len| (t / len + 1).saturating_mul(len))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cut_at_every_interval_boundary() {
        let lens = [1000, 1500];
        assert_eq!(span_start(&lens, 0), 0);
        assert_eq!(span_start(&lens, 999), 0);
        assert_eq!(span_start(&lens, 1000), 1000);
        assert_eq!(span_start(&lens, 1499), 1000);
        assert_eq!(span_start(&lens, 1500), 1500);
        assert_eq!(span_start(&lens, 2100), 2000);
        assert_eq!(next_boundary(&lens, 0), Some(1000));
        assert_eq!(next_boundary(&lens, 1000), Some(1500));
        assert_eq!(next_boundary(&lens, 1500), Some(2000));
        assert_eq!(next_boundary(&[], 5), None);
    }

    #[test]
    fn a_span_lies_in_one_window_of_every_interval() {
        let lens = [1000, 1500, 60_000];
        for t in (0..200_000).step_by(97) {
            let start = span_start(&lens, t);
            let end = next_boundary(&lens, t).unwrap();
            assert!(start <= t && t < end);
            for len in lens {
                assert_eq!(start / len, (end - 1) / len, "t={t} len={len}");
            }
        }
    }
}
