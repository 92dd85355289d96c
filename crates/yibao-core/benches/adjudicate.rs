//! Criterion benchmark: the engine on generated claims of 20–300 lines against a catalog of
//! 50,000 entries, with the full trace. Reports line items per second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yibao_core::adjudicate::{synthetic, Engine, YearToDate};

fn adjudicate(c: &mut Criterion) {
    let (policies, catalogs, claims) = synthetic::workload(500, 50_000, synthetic::Mix::Skewed, 20_260_301);
    let lines: usize = claims.iter().map(|c| c.feedetail.len()).sum();
    let ytd = YearToDate::default();
    let mut group = c.benchmark_group("adjudicate");
    group.throughput(Throughput::Elements(lines as u64));
    group.sample_size(20);
    group.bench_function("500 claims, full trace", |b| {
        let mut engine = Engine::default();
        b.iter(|| {
            for claim in &claims {
                std::hint::black_box(engine.run(claim, &policies, &catalogs, &ytd).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, adjudicate);
criterion_main!(benches);
