//! Criterion benchmarks of the core: loading a busy dealer document, recording a visit, merging offline work.

mod fixtures;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fieldsync_core::automerge::ActorId;
use fieldsync_core::doc::Document;
use fieldsync_core::ids::VisitId;
use fixtures::*;

fn load(c: &mut Criterion) {
    let bytes = dealer_with_visits(500).save();
    println!(
        "dealer document with 500 visits: {} bytes saved",
        bytes.len()
    );
    c.bench_function("load dealer doc with 500 visits", |b| {
        b.iter(|| Document::load(&bytes, ActorId::from(b"reader".to_vec())).unwrap())
    });
    let doc = Document::load(&bytes, ActorId::from(b"reader".to_vec())).unwrap();
    c.bench_function("read typed state of dealer doc with 500 visits", |b| {
        b.iter(|| doc.dealer_state().unwrap())
    });
}

fn record_visit(c: &mut Criterion) {
    let mut doc = dealer_with_visits(500);
    let mut i = 0usize;
    c.bench_function("record one visit (doc with 500 visits)", |b| {
        b.iter(|| {
            i += 1;
            let id: VisitId = format!("bench-{i}").parse().unwrap();
            doc.insert(&id, &visit("m1", i), &stamp("m1", i as i64))
                .unwrap();
        })
    });
}

fn merge(c: &mut Criterion) {
    let mut base = dealer_with_visits(50);
    let mut a = offline_edits(&mut base, "dev-a", "m1", 100);
    let mut b = offline_edits(&mut base, "dev-b", "m2", 100);
    let from_a = a.changes_since(&base.heads());
    let from_b = b.changes_since(&base.heads());
    c.bench_function("merge two replicas with 100 offline edits each", |bench| {
        bench.iter_batched(
            || (a.fork(), b.fork()),
            |(mut x, mut y)| {
                x.apply(from_b.clone()).unwrap();
                y.apply(from_a.clone()).unwrap();
                assert_eq!(x.heads(), y.heads());
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, load, record_visit, merge);
criterion_main!(benches);
