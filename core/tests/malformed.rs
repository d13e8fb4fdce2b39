//! Random, truncated and bit-flipped bytes fed to every core entry point that
//! loads documents or applies changes: each returns an error, none panics.

mod common;

use std::cell::Cell;

use common::*;
use fieldsync_core::automerge::ActorId;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::*;
use fieldsync_core::model::*;
use fieldsync_core::sync::*;
use proptest::prelude::*;

thread_local! {
    /// Panics on this thread, caught or not.
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

/// Counts every panic (even one caught by a `catch_unwind` guard) and returns
/// how many there have been on this thread so far.
fn panics() -> usize {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            default(info);
        }));
    });
    PANICS.with(Cell::get)
}

/// A realistic document and its changes, to mutate.
fn sample() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut doc = Document::create_dealer(
        "d1".parse().unwrap(),
        territory(),
        &profile("林記"),
        &stamp("m1", 0),
        ActorId::from(b"dev1".to_vec()),
    )
    .unwrap();
    let mut v = Visit::new(user("m1"), Timestamp(T0));
    v.summary = "店面陳列 display check".into();
    doc.insert(&"v1".parse::<VisitId>().unwrap(), &v, &stamp("m1", 1))
        .unwrap();
    let changes = doc
        .changes_since(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    (doc.save(), changes)
}

#[derive(Debug, Clone)]
enum Mutation {
    Random(Vec<u8>),
    Truncate(usize),
    Flip(usize, u8),
    Splice(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Mutation::Random),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Splice(i, b)),
    ]
}

fn apply(m: &Mutation, base: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    match m {
        Mutation::Random(r) => return r.clone(),
        Mutation::Truncate(n) => out.truncate(n % (base.len() + 1)),
        Mutation::Flip(i, b) if !out.is_empty() => {
            let i = i % out.len();
            out[i] ^= b;
        }
        Mutation::Splice(i, bytes) => {
            let i = i % (out.len() + 1);
            out.splice(i..i, bytes.iter().copied());
        }
        Mutation::Flip(..) => {}
    }
    out
}

fn feed_everything(doc_bytes: &[u8], change_bytes: &[u8], intact_changes: &[Vec<u8>]) {
    let actor = ActorId::from(b"fuzz".to_vec());
    let id: DocId = "dealer:d1".parse().unwrap();
    // Loading a saved document.
    let _ = Document::load(doc_bytes, actor.clone());
    // Restoring a replica from saved state.
    // Kept-aside bytes are untrusted too: taking them back in must not panic.
    let undelivered = Undelivered {
        doc: id.clone(),
        territory: "t-north".parse().unwrap(),
        name: None,
        changes: 1,
        records: Default::default(),
        bytes: ChangeBytes(doc_bytes.to_vec()),
    };
    let meta = ReplicaMeta {
        actor: "fuzz".into(),
        past_actors: vec![],
        device: None,
        cursor: "t-north:1".parse().unwrap(),
        docs: Default::default(),
        rejections: vec![],
        undelivered: vec![undelivered],
    };
    if let Ok(mut r) = Replica::restore(meta, [doc_bytes.to_vec()]) {
        let resp = SyncResponse {
            protocol: PROTOCOL_VERSION,
            snapshots: Vec::new(),
            accepted: vec![],
            rejected: vec![],
            changes: vec![],
            cursor: "t-north:1".parse().unwrap(),
            more: false,
            reset: false,
            limits: None,
            revoked: vec![],
        };
        let _ = r.apply_response(&resp);
        let _ = r.sync_request();
    }
    // Decoding and applying changes onto a good document.
    let mut good = Document::from_changes(
        fieldsync_core::sync::ingest::decode_changes(
            &id,
            &intact_changes
                .iter()
                .cloned()
                .map(ChangeBytes)
                .collect::<Vec<_>>(),
            Limits::default(),
        )
        .unwrap(),
        actor.clone(),
    )
    .unwrap();
    let before = good.heads();
    let mut raw: Vec<ChangeBytes> = intact_changes
        .iter()
        .take(1)
        .cloned()
        .map(ChangeBytes)
        .collect();
    raw.push(ChangeBytes(change_bytes.to_vec()));
    if let Ok(changes) = fieldsync_core::sync::ingest::decode_changes(&id, &raw, Limits::default())
    {
        if good.apply(changes.clone()).is_err() {
            assert_eq!(good.heads(), before, "a failed apply changes nothing");
        }
        let _ = Document::from_changes(changes, actor.clone());
    }
    // The server's decision on the same bytes.
    let push = DocChanges {
        doc: id.clone(),
        changes: raw.clone(),
    };
    let _ = ingest(None, &push, &manager("m1"), Limits::default());
    let _ = ingest(Some(&mut good), &push, &manager("m1"), Limits::default());
    // A device receiving them from the server.
    let mut replica = Replica::new().unwrap();
    let resp = SyncResponse {
        protocol: PROTOCOL_VERSION,
        snapshots: Vec::new(),
        accepted: vec![],
        rejected: vec![],
        changes: vec![push],
        cursor: "t-north:3".parse().unwrap(),
        more: false,
        reset: false,
        limits: None,
        revoked: vec!["t-south".parse().unwrap()],
    };
    if let Ok(report) = replica.apply_response(&resp)
        && !report.errors.is_empty()
    {
        assert_eq!(
            replica.cursor(),
            &resp.cursor,
            "what failed is reported; the feed moves on for the territory's other documents"
        );
    }
    // Wire messages as JSON text.
    let text = String::from_utf8_lossy(change_bytes);
    let _ = serde_json::from_str::<SyncRequest>(&text);
    let _ = serde_json::from_str::<SyncResponse>(&text);
    let _ = text.parse::<Cursor>();
    let _ = text.parse::<DocId>();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn malformed_bytes_give_errors_never_panics(m in mutation(), which in 0usize..3) {
        let before = panics();
        let (doc, changes) = sample();
        let bad_doc = apply(&m, &doc);
        let bad_change = apply(&m, &changes[which % changes.len()]);
        feed_everything(&bad_doc, &bad_change, &changes);
        prop_assert_eq!(panics(), before, "something panicked (even if caught)");
    }
}

#[test]
fn every_truncation_of_a_document_and_a_change_is_an_error_or_a_valid_prefix() {
    let before = panics();
    let (doc, changes) = sample();
    for n in 0..doc.len() {
        let _ = Document::load(&doc[..n], ActorId::from(b"t".to_vec()));
    }
    for c in &changes {
        for n in 0..c.len() {
            feed_everything(&doc[..n.min(doc.len())], &c[..n], &changes);
        }
    }
    assert_eq!(panics(), before, "something panicked (even if caught)");
}
