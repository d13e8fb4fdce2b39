//! Criterion benchmarks of the core: loading a busy dealer document, recording a visit, merging offline work.

mod fixtures;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fieldsync_core::automerge::ActorId;
use fieldsync_core::doc::Document;
use fieldsync_core::ids::VisitId;
use fieldsync_core::model::{DealerKind, DealerProfile, DealerStatus};
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

/// What the server's checks cost: one pushed visit to a dealer with 500 visits,
/// decided by `ingest` (decode, fork, apply, schema), and the schema's part alone.
fn push(c: &mut Criterion) {
    use fieldsync_core::schema::{self, Author, DocKind, Role};
    use fieldsync_core::sync::{ChangeBytes, DocChanges, Limits, Principal, ingest};
    let mut stored = dealer_with_visits(500);
    let mut device = stored.fork();
    let st = stamp("m1", 99_000_000);
    device
        .insert(&"v-new".parse::<VisitId>().unwrap(), &visit("m1", 501), &st)
        .unwrap();
    let fresh = device.changes_since(&stored.heads());
    let push = DocChanges {
        doc: stored.id().clone(),
        changes: fresh
            .iter()
            .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
            .collect(),
    };
    let principal = Principal {
        user: "m1".parse().unwrap(),
        role: Role::Manager,
        territories: ["t-north".parse().unwrap()].into_iter().collect(),
    };
    c.bench_function("ingest one pushed visit (dealer with 500 visits)", |b| {
        b.iter(|| ingest(Some(&mut stored), &push, &principal, Limits::default()).unwrap())
    });
    let held = stored.automerge().clone();
    let mut merged = stored.fork();
    merged.apply(fresh.clone()).unwrap();
    let am = merged.automerge().clone();
    let user = principal.user.clone();
    let author = Author {
        user: &user,
        role: Some(Role::Manager),
        limit: None,
        authority: None,
        incoming: None,
    };
    c.bench_function(
        "schema check of one pushed visit, own view only (dealer with 500 visits)",
        |b| {
            b.iter_batched(
                || am.clone(),
                |mut am| {
                    schema::check_change(&mut am, &fresh[0], DocKind::Dealer, &author).unwrap()
                },
                BatchSize::LargeInput,
            )
        },
    );
    c.bench_function(
        "schema check of one pushed visit (dealer with 500 visits)",
        |b| {
            // A fresh copy each time: Automerge caches the last diff.
            b.iter_batched(
                || am.clone(),
                |mut am| {
                    // As the server runs it: own view, then against the stored document.
                    schema::check_pushed(&mut am, &fresh[0], DocKind::Dealer, &author, Some(&held))
                        .unwrap()
                },
                BatchSize::LargeInput,
            )
        },
    );
}

/// The device's side of a re-sync (loadgen's re-sync scenario): a replica holding
/// 500 dealers takes in a response carrying one new visit on 5 of them (the JSON
/// read included), and builds the next request.
fn resync(c: &mut Criterion) {
    use fieldsync_core::sync::{
        ChangeBytes, Cursor, DocChanges, PROTOCOL_VERSION, Replica, SyncResponse,
    };
    let mut base: Vec<Document> = (0..500)
        .map(|i| {
            let profile = DealerProfile::new(
                format!("經銷商 {i}"),
                DealerKind::Retailer,
                2,
                DealerStatus::Active,
            );
            let mut d = Document::create_dealer(
                format!("d-{i:04}").parse().unwrap(),
                "t-north".parse().unwrap(),
                &profile,
                &stamp("m1", 0),
                ActorId::from(b"bench-a".to_vec()),
            )
            .unwrap();
            d.insert(
                &format!("v{i:05}").parse::<VisitId>().unwrap(),
                &visit("m1", i),
                &stamp("m1", i as i64),
            )
            .unwrap();
            d
        })
        .collect();
    let saved: Vec<Vec<u8>> = base.iter_mut().map(|d| d.save()).collect();
    let changes: Vec<DocChanges> = base
        .iter_mut()
        .take(5)
        .enumerate()
        .map(|(i, d)| {
            let mut other = Document::load(&saved[i], ActorId::from(b"bench-b".to_vec())).unwrap();
            other
                .insert(
                    &format!("w{i:05}").parse::<VisitId>().unwrap(),
                    &visit("m1", 600 + i),
                    &stamp("m1", 1_000_000),
                )
                .unwrap();
            DocChanges {
                doc: d.id().clone(),
                changes: other
                    .changes_since(&d.heads())
                    .iter()
                    .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                    .collect(),
            }
        })
        .collect();
    let resp = SyncResponse {
        protocol: PROTOCOL_VERSION,
        accepted: Vec::new(),
        rejected: Vec::new(),
        snapshots: Vec::new(),
        changes,
        cursor: Cursor::default(),
        more: false,
        reset: false,
        limits: None,
        revoked: Vec::new(),
    };
    let json = serde_json::to_vec(&resp).unwrap();
    c.bench_function(
        "a device of 500 dealers takes in 5 pulled visits and asks again",
        |b| {
            b.iter_batched(
                || {
                    let mut r = Replica::with_actor(ActorId::from(b"bench-phone".to_vec()));
                    for bytes in &saved {
                        r.adopt(bytes, &Cursor::default()).unwrap();
                    }
                    r
                },
                |mut r| {
                    let resp: SyncResponse = serde_json::from_slice(&json).unwrap();
                    let report = r.apply_response(&resp).unwrap();
                    assert_eq!(report.updated.len(), 5);
                    let next = serde_json::to_vec(&r.sync_request()).unwrap();
                    (r, next) // dropped outside the timing
                },
                BatchSize::LargeInput,
            )
        },
    );
}

criterion_group!(benches, load, record_visit, merge, push, resync);
criterion_main!(benches);
