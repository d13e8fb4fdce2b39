//! Criterion benchmarks of the server's decision on an upload of new dealers (issue 8): 50 dealers × 20 visits and 1,000 dealers × 1 visit.
//!
//! Each scenario is one device's first upload after recording offline: every
//! dealer document is new to the server (genesis, profile, visits, one change
//! each, a chain by one device), and the territory document the server already
//! holds gains one dealer-index entry per dealer. What is timed is the core's
//! decision (`ingest_from`) on every document of the push, as the server runs
//! it, without the server's loading, materialising or storing.
//!
//! `cargo bench -p fieldsync-core --bench ingest`; for instruction counts run
//! the bench binary under callgrind with `FIELDSYNC_BENCH_ONCE=a` (the 50-dealer
//! upload), `b` (1,000 dealers), `c` (5,000 dealers × 1 visit), `ta`/`tb`/`tc` (only
//! their territory push), or `da`/`db`/`dc` (only their dealer pushes): it then
//! decides that push once, without criterion.

mod fixtures;

use criterion::{BatchSize, Criterion, criterion_group};
use fieldsync_core::automerge::ActorId;
use fieldsync_core::doc::Document;
use fieldsync_core::ids::{DealerId, TerritoryId, VisitId};
use fieldsync_core::model::{DealerEntry, DealerKind, DealerProfile, DealerStatus, Territory};
use fieldsync_core::schema::{ApprovalLimits, Role};
use fieldsync_core::sync::{ChangeBytes, Context, DocChanges, Limits, Principal, ingest_from};
use fixtures::*;

/// One device's upload: its pushes of new dealers, its push of the territory's
/// index entries, and the territory as the server holds it before.
struct Upload {
    dealers: Vec<DocChanges>,
    territory: DocChanges,
    stored_territory: Vec<u8>,
}

fn push_of(doc: &mut Document, since: &[fieldsync_core::automerge::ChangeHash]) -> DocChanges {
    DocChanges {
        doc: doc.id().clone(),
        changes: doc
            .changes_since(since)
            .iter()
            .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
            .collect(),
    }
}

/// `dealers` new dealers with `visits` visits each, recorded by m1 on one device.
fn upload(dealers: usize, visits: usize) -> Upload {
    let t: TerritoryId = "t-north".parse().unwrap();
    let info = Territory {
        name: "北區 North".to_owned(),
        region: "north".to_owned(),
        managers: ["m1".parse().unwrap()].into_iter().collect(),
        time_zone: None,
    };
    let mut server = Document::create_territory(
        t.clone(),
        &info,
        &stamp("admin", 0),
        ActorId::from(b"fieldsync-server".to_vec()),
    )
    .unwrap();
    let stored_territory = server.save();
    let base = server.heads();
    let device = ActorId::from(b"m1-phone-actor".to_vec());
    let mut index = Document::load(&stored_territory, device.clone()).unwrap();
    let mut pushes = Vec::new();
    for d in 0..dealers {
        let id: DealerId = format!("d{d:05}").parse().unwrap();
        let st = stamp("m1", d as i64);
        let profile = DealerProfile::new(
            format!("經銷商 Dealer {d:05}"),
            DealerKind::Retailer,
            2,
            DealerStatus::Active,
        );
        let mut doc =
            Document::create_dealer(id.clone(), t.clone(), &profile, &st, device.clone()).unwrap();
        index
            .insert(
                &id,
                &DealerEntry {
                    added_by: st.user.clone(),
                    added_at: st.at,
                },
                &st,
            )
            .unwrap();
        for v in 0..visits {
            let vid: VisitId = format!("v{d:05}-{v:03}").parse().unwrap();
            let i = d * visits + v;
            doc.insert(&vid, &visit("m1", i), &stamp("m1", 1_000_000 + i as i64))
                .unwrap();
        }
        pushes.push(push_of(&mut doc, &[]));
    }
    Upload {
        dealers: pushes,
        territory: push_of(&mut index, &base),
        stored_territory,
    }
}

fn principal() -> Principal {
    Principal {
        user: "m1".parse().unwrap(),
        role: Role::Manager,
        territories: ["t-north".parse().unwrap()].into_iter().collect(),
    }
}

const DEVICES: &[&str] = &["m1-phone"];

fn decide_dealers(up: &Upload, who: &Principal) -> usize {
    let approvals = ApprovalLimits::default();
    let ctx = Context::new(&approvals);
    let devices: Vec<String> = DEVICES.iter().map(|d| (*d).to_owned()).collect();
    up.dealers
        .iter()
        .map(|p| {
            ingest_from(None, p, who, &devices, Limits::default(), &ctx)
                .unwrap()
                .fresh
                .len()
        })
        .sum()
}

fn decide_territory(up: &Upload, stored: &mut Document, who: &Principal) -> usize {
    let approvals = ApprovalLimits::default();
    let ctx = Context::new(&approvals);
    let devices: Vec<String> = DEVICES.iter().map(|d| (*d).to_owned()).collect();
    ingest_from(
        Some(stored),
        &up.territory,
        who,
        &devices,
        Limits::default(),
        &ctx,
    )
    .unwrap()
    .fresh
    .len()
}

fn load_territory(up: &Upload) -> Document {
    Document::load(
        &up.stored_territory,
        ActorId::from(b"fieldsync-server".to_vec()),
    )
    .unwrap()
}

fn scenario(c: &mut Criterion, name: &str, dealers: usize, visits: usize) {
    let up = upload(dealers, visits);
    let who = principal();
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.bench_function("decide every dealer push", |b| {
        b.iter(|| decide_dealers(&up, &who))
    });
    g.bench_function("decide the territory push", |b| {
        b.iter_batched(
            || load_territory(&up),
            |mut stored| decide_territory(&up, &mut stored, &who),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn fifty(c: &mut Criterion) {
    scenario(c, "upload of 50 new dealers × 20 visits", 50, 20);
}

fn thousand(c: &mut Criterion) {
    scenario(c, "upload of 1,000 new dealers × 1 visit", 1_000, 1);
}

criterion_group!(benches, fifty, thousand);

/// Decides one push once (for callgrind), or runs criterion.
fn main() {
    let Ok(which) = std::env::var("FIELDSYNC_BENCH_ONCE") else {
        benches();
        Criterion::default().configure_from_args().final_summary();
        return;
    };
    let (dealers, visits) = match which.chars().last() {
        Some('a') => (50, 20),
        Some('c') => (5_000, 1),
        _ => (1_000, 1),
    };
    let up = upload(dealers, visits);
    let who = principal();
    let mut stored = load_territory(&up);
    let mut fresh = 0;
    if !which.starts_with('t') {
        fresh += decide_dealers(&up, &who);
    }
    if !which.starts_with('d') {
        fresh += decide_territory(&up, &mut stored, &who);
    }
    println!("{which}: {fresh} changes accepted");
}
