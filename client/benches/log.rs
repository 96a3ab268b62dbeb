//! Cost of `log` in cached mode, by name, by handle and by thread-local
//! handle, on 1 and 2 threads.
//! Only process memory is touched: the client points at a port where no
//! server listens, and the flusher's retries happen on its own thread.
//!
//! `cargo bench -p ecl-client --bench log`

use criterion::{criterion_group, criterion_main, Criterion};
use ecl_client::EclClient;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn client() -> EclClient {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    EclClient::builder()
        .url(&format!("redis://127.0.0.1:{port}/"))
        .group_yaml(
            "bench",
            "events: [e0, e1, e2, e3]\nintervals: [1s, 1m, 1h]\nsync_interval: 3600",
        )
        .unwrap()
        .flush_timeout(Duration::from_millis(1))
        .build()
        .unwrap()
}

/// Runs `per_thread(iters)` on `threads` threads at once; the time of the slowest.
fn on_threads(threads: u64, iters: u64, per_thread: impl Fn(u64) + Sync) -> Duration {
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| per_thread(iters));
        }
    });
    // Per call on one thread: total calls = threads * iters in that time.
    started.elapsed() / threads as u32
}

fn bench(c: &mut Criterion) {
    let ecl = client();
    let group = ecl.group("bench");
    let handle = group.event("e1").unwrap();
    for threads in [1u64, 2] {
        c.bench_function(&format!("cached log by name, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, |n| {
                    for _ in 0..n {
                        group.log(black_box("e1")).unwrap();
                    }
                })
            })
        });
        c.bench_function(&format!("cached log by handle, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, |n| {
                    for _ in 0..n {
                        black_box(&handle).inc();
                    }
                })
            })
        });
        c.bench_function(
            &format!("cached log by thread-local handle, {threads} thread(s)"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, |n| {
                        let local = group.local_event("e1").unwrap();
                        for _ in 0..n {
                            black_box(&local).inc();
                        }
                    })
                })
            },
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
