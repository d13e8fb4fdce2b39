//! Hostile changes against the real server, on SQLite and PostgreSQL: well-formed Automerge changes built with the `automerge` crate directly, one per schema rule.
//!
//! Each test: an attacker holding a valid token pushes a change an honest
//! fieldsync client would never make; the server refuses it with the rule's code,
//! stores nothing, keeps serving, and the honest device's next edit of the same
//! document is accepted.

mod common;

use common::*;
use fieldsync_core::automerge::transaction::{CommitOptions, Transactable};
use fieldsync_core::automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value,
};
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{ClaimId, CommitmentId, DealerId, DeviceId, NoteId, VisitId};
use fieldsync_core::model::{
    ClaimStage, Commitment, ExpenseCategory, ExpenseClaim, Territory, Visit,
};
use fieldsync_core::money::Money;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{
    ChangeBytes, DocChanges, PROTOCOL_VERSION, RejectCode, SyncRequest, SyncResponse,
};
use serde_json::Value as Json;

on_both_backends!(
    approval_skipped_requested_to_spent,
    self_approval_by_a_regional_manager,
    approval_by_a_manager,
    amount_raised_after_approval,
    deleting_a_visit,
    deleting_a_commitment,
    deleting_a_note,
    deleting_a_lifecycle_step,
    forged_made_by,
    forged_requested_by,
    forged_visit_manager,
    forged_step_by,
    unknown_field,
    deep_nesting_in_a_visit,
    an_old_view_cannot_change_a_reconciled_claims_spent_amount,
    an_old_view_cannot_re_create_another_managers_records,
    wrong_type,
    out_of_range,
    replaced,
    record_rule,
    a_manager_renaming_a_territory,
    a_manager_editing_a_territorys_managers,
    a_regional_manager_creating_a_territory,
    an_admin_approving_a_claim,
    self_rejection_by_a_regional_manager,
    forged_note_by,
    forged_dealer_index_added_by,
    a_stamp_naming_another_device,
    a_manager_deciding_between_concurrent_steps,
    a_decision_changed_afterwards,
    a_handover_review_by_someone_not_taking_over,
    a_handover_reason_without_flagging,
    keeping_a_commitment_above_authority_before_approval,
);

const T0: i64 = 1_767_225_600_000;

/// The scene: territory t-north with manager m1 and regional r1; m1 has created
/// dealer d with a visit (with a note), a commitment and a claim, all synced.
struct Scene {
    server: TestServer,
    ho: Device,
    m1: Device,
    m2: Device,
    r1: Device,
    /// The dealer document's heads right after m1 created it (before any record).
    created: Vec<ChangeHash>,
    dealer: DealerId,
    visit: VisitId,
    note: NoteId,
    commitment: CommitmentId,
    claim: ClaimId,
}

async fn scene(backend: Backend) -> Scene {
    let server = TestServer::start(backend).await;
    let mut ho = head_office_with_territories(&server, &[("t-north", &["m1", "m2"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let tr = server.user("r1", "regional", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    let mut m2 = server.device("m2", &t2);
    let mut r1 = server.device("r1", &tr);
    m1.sync().await;
    let dealer: DealerId = "d-lin".parse().unwrap();
    let (visit, note, commitment, claim): (VisitId, NoteId, CommitmentId, ClaimId) = (
        "v1".parse().unwrap(),
        "n1".parse().unwrap(),
        "k1".parse().unwrap(),
        "c1".parse().unwrap(),
    );
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dealer.clone(), &profile("林記商行"), &s)
        .unwrap();
    let created = m1
        .replica
        .doc_mut(&DocId::Dealer(dealer.clone()))
        .unwrap()
        .heads();
    let s = m1.stamp();
    let doc = m1.replica.dealer_mut(&dealer).unwrap();
    doc.insert(&visit, &Visit::new(s.user.clone(), s.at), &s)
        .unwrap();
    doc.add_note::<Visit>(&visit, &note, "老闆說下月進貨", &s)
        .unwrap();
    let due: Day = "2026-02-01".parse().unwrap();
    let c = Commitment::new("送試用品", "林老闆", s.user.clone(), s.at, due);
    doc.insert(&commitment, &c, &s).unwrap();
    let amount = Money::new(150_000, "TWD".parse().unwrap()).unwrap();
    let cl = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市",
        amount,
        s.user.clone(),
        s.at,
    );
    doc.insert(&claim, &cl, &s).unwrap();
    assert!(m1.sync().await.is_empty());
    r1.sync().await;
    m2.sync().await;
    ho.sync().await;
    Scene {
        server,
        ho,
        m1,
        m2,
        r1,
        created,
        dealer,
        visit,
        note,
        commitment,
        claim,
    }
}

/// An attacker's raw Automerge copy of a document a device holds, with its own actor.
fn raw_copy(dev: &Device, doc: &DocId) -> AutoCommit {
    let bytes = dev.replica.doc(doc).unwrap().automerge().clone().save();
    let mut raw = AutoCommit::load(&bytes).unwrap();
    let mut actor = [0u8; 16];
    getrandom::fill(&mut actor).unwrap();
    raw.set_actor(ActorId::from(actor.to_vec()));
    raw
}

fn map(raw: &AutoCommit, obj: &ObjId, key: &str) -> ObjId {
    match raw.get(obj, key).unwrap() {
        Some((Value::Object(ObjType::Map), id)) => id,
        other => panic!("no map at {key}: {other:?}"),
    }
}

fn at(raw: &AutoCommit, path: &[&str]) -> ObjId {
    path.iter().fold(ROOT, |obj, k| map(raw, &obj, k))
}

/// Commits what the attacker wrote, stamped honestly as `dev` (the token's user and device).
fn commit(raw: &mut AutoCommit, dev: &Device) {
    let stamp = Stamp::new(dev.user.clone(), dev.id.clone(), Timestamp(T0 + 50_000));
    raw.commit_with(CommitOptions::default().with_message(stamp.to_message()));
}

impl Scene {
    fn doc_id(&self) -> DocId {
        DocId::Dealer(self.dealer.clone())
    }

    fn territory_id(&self) -> DocId {
        DocId::Territory(tid("t-north"))
    }

    async fn stored_in(&self, doc: &DocId) -> Option<Vec<u8>> {
        self.server
            .store
            .load_doc(&doc.to_string())
            .await
            .unwrap()
            .map(|d| d.snapshot)
    }

    /// Pushes the attacker's new changes to the dealer document (see [`Scene::refused_in`]).
    async fn refused(&mut self, token: String, raw: &mut AutoCommit, code: RejectCode, rule: &str) {
        let doc = self.doc_id();
        self.refused_in(&doc, token, raw, code, rule).await;
    }

    /// Pushes what the attacker wrote in `doc` that the server lacks, with
    /// `token`; asserts the refusal's code and rule, that nothing was stored,
    /// that the server still serves, and that an honest edit of the same
    /// document is accepted afterwards (m1 adds a note to the dealer; head office
    /// renames the territory, or creates the territory the attacker tried to).
    async fn refused_in(
        &mut self,
        doc: &DocId,
        token: String,
        raw: &mut AutoCommit,
        code: RejectCode,
        rule: &str,
    ) {
        let before = self.stored_in(doc).await;
        // What the attacker wrote that the server does not hold (the copy may be an old one).
        let held = before.as_deref().map(|b| AutoCommit::load(b).unwrap());
        let changes = raw
            .get_changes(&[])
            .into_iter()
            .filter(|c| {
                held.as_ref()
                    .is_none_or(|h| h.get_change_by_hash(&c.hash()).is_none())
            })
            .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
            .collect::<Vec<_>>();
        assert!(!changes.is_empty(), "the attacker wrote nothing");
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            snapshots: false,
            replica: String::new(),
            cursor: Default::default(),
            push: vec![DocChanges {
                doc: doc.clone(),
                changes,
            }],
        };
        let r = self
            .server
            .http
            .post(format!("{}/v1/sync", self.server.base))
            .bearer_auth(&token)
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let resp: SyncResponse = r.json().await.unwrap();
        assert!(resp.accepted.is_empty(), "accepted: {:?}", resp.accepted);
        assert_eq!(resp.rejected.len(), 1, "{:?}", resp.rejected);
        let j = &resp.rejected[0];
        assert_eq!(j.code, code, "{j:?}");
        assert_eq!(j.rule.as_deref(), Some(rule), "{j:?}");
        assert_eq!(
            self.stored_in(doc).await,
            before,
            "a refused push stored something"
        );
        let health = self
            .server
            .http
            .get(format!("{}/health", self.server.base))
            .send()
            .await;
        assert_eq!(health.unwrap().status(), 200);
        // An honest device carries on with the same document.
        match doc {
            DocId::Dealer(d) => {
                let s = self.m1.stamp();
                let note = NoteId::random().unwrap();
                self.m1
                    .replica
                    .dealer_mut(d)
                    .unwrap()
                    .add_note::<Visit>(&self.visit, &note, "還好", &s)
                    .unwrap();
                assert!(self.m1.sync().await.is_empty());
            }
            DocId::Territory(t) if before.is_some() => {
                self.ho.sync().await;
                let s = self.ho.stamp();
                let name = format!("{t} 區 {}", s.at.0);
                self.ho
                    .replica
                    .doc_mut(doc)
                    .unwrap()
                    .update_profile(
                        &serde_json::json!({ "name": name }),
                        &s,
                        Territory::validate,
                    )
                    .unwrap();
                assert!(self.ho.sync().await.is_empty());
            }
            DocId::Territory(t) => {
                let s = self.ho.stamp();
                self.ho
                    .replica
                    .create_territory(t.clone(), &territory("新區", &["m1"]), &s)
                    .unwrap();
                assert!(self.ho.sync().await.is_empty());
            }
        }
        assert_ne!(self.stored_in(doc).await, before);
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

fn step(raw: &mut AutoCommit, status: &ObjId, stage: &str, by: &str) {
    let s = raw.put_object(status, stage, ObjType::Map).unwrap();
    raw.put(&s, "by", by).unwrap();
    raw.put(&s, "at", T0 + 40_000).unwrap();
}

async fn approval_skipped_requested_to_spent(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let claim = at(&raw, &["claims", sc.claim.as_str()]);
    let status = map(&raw, &claim, "status");
    step(&mut raw, &status, "spent", "m1");
    let spent = raw.put_object(&claim, "spent", ObjType::Map).unwrap();
    raw.put(&spent, "minor", 150_000_i64).unwrap();
    raw.put(&spent, "currency", "TWD").unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "transition")
        .await;
    sc.stop().await;
}

async fn self_approval_by_a_regional_manager(backend: Backend) {
    let mut sc = scene(backend).await;
    // The regional manager requests a claim of their own (honestly) …
    let own: ClaimId = "c-own".parse().unwrap();
    let s = sc.r1.stamp();
    let amount = Money::new(9_000, "TWD".parse().unwrap()).unwrap();
    let cl = ExpenseClaim::new(
        ExpenseCategory::Event,
        "聯誼會",
        amount,
        s.user.clone(),
        s.at,
    );
    sc.r1
        .replica
        .dealer_mut(&sc.dealer)
        .unwrap()
        .insert(&own, &cl, &s)
        .unwrap();
    assert!(sc.r1.sync().await.is_empty());
    sc.m1.sync().await;
    // … and approves it with a raw change.
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["claims", own.as_str(), "status"]);
    step(&mut raw, &status, "approved", "r1");
    commit(&mut raw, &sc.r1);
    let token = sc.r1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "self_approval")
        .await;
    sc.stop().await;
}

async fn approval_by_a_manager(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["claims", sc.claim.as_str(), "status"]);
    step(&mut raw, &status, "approved", "m1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "role")
        .await;
    sc.stop().await;
}

async fn amount_raised_after_approval(backend: Backend) {
    let mut sc = scene(backend).await;
    let s = sc.r1.stamp();
    sc.r1
        .replica
        .dealer_mut(&sc.dealer)
        .unwrap()
        .advance::<ExpenseClaim>(&sc.claim, ClaimStage::Approved, Json::Null, &s)
        .unwrap();
    assert!(sc.r1.sync().await.is_empty());
    sc.m1.sync().await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let amount = at(&raw, &["claims", sc.claim.as_str(), "amount"]);
    raw.put(&amount, "minor", 9_999_999_i64).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "immutable")
        .await;
    sc.stop().await;
}

async fn deleting_a_visit(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let visits = at(&raw, &["visits"]);
    raw.delete(&visits, sc.visit.as_str()).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "deleted")
        .await;
    sc.stop().await;
}

async fn deleting_a_commitment(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let all = at(&raw, &["commitments"]);
    raw.delete(&all, sc.commitment.as_str()).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "deleted")
        .await;
    sc.stop().await;
}

async fn deleting_a_note(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let notes = at(&raw, &["visits", sc.visit.as_str(), "notes"]);
    raw.delete(&notes, sc.note.as_str()).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "deleted")
        .await;
    sc.stop().await;
}

async fn deleting_a_lifecycle_step(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["commitments", sc.commitment.as_str(), "status"]);
    raw.delete(&status, "open").unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "deleted")
        .await;
    sc.stop().await;
}

/// A new record written raw as `body` (key → scalar) with a lifecycle step `start` by `by`.
fn raw_record(raw: &mut AutoCommit, collection: &str, id: &str, body: &[(&str, Json)]) -> ObjId {
    let coll = at(raw, &[collection]);
    let rec = raw.put_object(&coll, id, ObjType::Map).unwrap();
    for (k, v) in body {
        match v {
            Json::String(s) => raw.put(&rec, *k, s.as_str()).unwrap(),
            Json::Number(n) => raw.put(&rec, *k, n.as_i64().unwrap()).unwrap(),
            other => panic!("{other}"),
        }
    }
    rec
}

async fn forged_made_by(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let rec = raw_record(
        &mut raw,
        "commitments",
        "k-forged",
        &[
            ("what", "送冰箱".into()),
            ("to_whom", "林老闆".into()),
            ("made_by", "r1".into()),
            ("owner", "m1".into()),
            ("made_at", (T0 + 40_000).into()),
            ("due", "2026-03-01".into()),
        ],
    );
    let status = raw.put_object(&rec, "status", ObjType::Map).unwrap();
    step(&mut raw, &status, "open", "m1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "forged_author")
        .await;
    sc.stop().await;
}

async fn forged_requested_by(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let rec = raw_record(
        &mut raw,
        "claims",
        "c-forged",
        &[("category", "event".into()), ("purpose", "聯誼會".into())],
    );
    let amount = raw.put_object(&rec, "amount", ObjType::Map).unwrap();
    raw.put(&amount, "minor", 5_000_i64).unwrap();
    raw.put(&amount, "currency", "TWD").unwrap();
    let status = raw.put_object(&rec, "status", ObjType::Map).unwrap();
    step(&mut raw, &status, "requested", "r1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "forged_author")
        .await;
    sc.stop().await;
}

async fn forged_visit_manager(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    raw_record(
        &mut raw,
        "visits",
        "v-forged",
        &[("manager", "r1".into()), ("at", (T0 + 40_000).into())],
    );
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "forged_author")
        .await;
    sc.stop().await;
}

async fn forged_step_by(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["commitments", sc.commitment.as_str(), "status"]);
    step(&mut raw, &status, "kept", "r1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "forged_author")
        .await;
    sc.stop().await;
}

async fn unknown_field(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let visit = at(&raw, &["visits", sc.visit.as_str()]);
    raw.put(&visit, "x_hidden", "anything").unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "unknown_field")
        .await;
    sc.stop().await;
}

async fn deep_nesting_in_a_visit(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let mut obj = at(&raw, &["visits", sc.visit.as_str()]);
    // Within the depth limit, so the schema itself refuses it (1,000 levels are
    // refused before any of this by `sync::limits`: see hostile_limits.rs).
    for _ in 0..10 {
        obj = raw.put_object(&obj, "x", ObjType::Map).unwrap();
    }
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "unknown_field")
        .await;
    sc.stop().await;
}

/// Raises the attacker's op counter with harmless writes (an editable field put
/// `n` times), so that what they write next sorts after every honest op.
fn pad(raw: &mut AutoCommit, obj: &ObjId, key: &str, n: usize) {
    for i in 0..n {
        raw.put(obj, key, format!("pad {i}")).unwrap();
    }
}

fn spent_of(dev: &Device, dealer: &DealerId, claim: &ClaimId) -> Option<i64> {
    let state = dev.replica.dealer(dealer).unwrap().dealer_state().unwrap();
    state.claims[claim].spent.as_ref().map(|m| m.minor)
}

/// A claim is approved, spent (120,000) and reconciled by head office. Its
/// requester then pushes a change made on a copy from before the `spent` step:
/// a second `spent` step with another amount, padded so that it would win the
/// merge. Valid in its own view; refused against what the server holds.
async fn an_old_view_cannot_change_a_reconciled_claims_spent_amount(backend: Backend) {
    let mut sc = scene(backend).await;
    let s = sc.r1.stamp();
    sc.r1
        .replica
        .dealer_mut(&sc.dealer)
        .unwrap()
        .advance::<ExpenseClaim>(&sc.claim, ClaimStage::Approved, Json::Null, &s)
        .unwrap();
    assert!(sc.r1.sync().await.is_empty());
    sc.m1.sync().await;
    let mut old = raw_copy(&sc.m1, &sc.doc_id());
    let s = sc.m1.stamp();
    let spent = serde_json::json!({"spent": {"minor": 120_000, "currency": "TWD"}});
    sc.m1
        .replica
        .dealer_mut(&sc.dealer)
        .unwrap()
        .advance::<ExpenseClaim>(&sc.claim, ClaimStage::Spent, spent, &s)
        .unwrap();
    assert!(sc.m1.sync().await.is_empty());
    sc.ho.sync().await;
    let s = sc.ho.stamp();
    sc.ho
        .replica
        .dealer_mut(&sc.dealer)
        .unwrap()
        .advance::<ExpenseClaim>(&sc.claim, ClaimStage::Reconciled, Json::Null, &s)
        .unwrap();
    assert!(sc.ho.sync().await.is_empty());
    sc.m1.sync().await;

    let claim = at(&old, &["claims", sc.claim.as_str()]);
    pad(&mut old, &claim, "purpose", 60);
    let status = map(&old, &claim, "status");
    step(&mut old, &status, "spent", "m1");
    let amount = old.put_object(&claim, "spent", ObjType::Map).unwrap();
    old.put(&amount, "minor", 999_999_i64).unwrap();
    old.put(&amount, "currency", "TWD").unwrap();
    commit(&mut old, &sc.m1);
    // The attack would work: merged, the attacker's amount is what everyone sees.
    let mut merged = sc.m1.replica.doc(&sc.doc_id()).unwrap().automerge().clone();
    merged.merge(&mut old.clone()).unwrap();
    let spent_obj = at(&merged, &["claims", sc.claim.as_str(), "spent"]);
    let (minor, _) = merged.get(&spent_obj, "minor").unwrap().unwrap();
    assert_eq!(minor.as_scalar().and_then(|s| s.as_i64()), Some(999_999));
    let token = sc.m1.token.clone();
    sc.refused(token, &mut old, RejectCode::Invalid, "concurrent_write")
        .await;
    sc.ho.sync().await;
    assert_eq!(spent_of(&sc.ho, &sc.dealer, &sc.claim), Some(120_000));
    sc.stop().await;
}

/// m2 re-creates m1's visit and commitment at their ids on a copy of the
/// dealer from before they existed, naming themselves (padded to win the merge):
/// each change is valid in its own view, and would hide m1's record.
async fn an_old_view_cannot_re_create_another_managers_records(backend: Backend) {
    let mut sc = scene(backend).await;
    let created = sc.created.clone();
    let old_copy = |sc: &Scene| {
        let mut raw = raw_copy(&sc.m2, &sc.doc_id()).fork_at(&created).unwrap();
        let mut actor = [0u8; 16];
        getrandom::fill(&mut actor).unwrap();
        raw.set_actor(ActorId::from(actor.to_vec()));
        raw
    };

    let mut raw = old_copy(&sc);
    let profile = at(&raw, &["profile"]);
    pad(&mut raw, &profile, "address", 60);
    assert!(
        raw.get(at(&raw, &["visits"]), sc.visit.as_str())
            .unwrap()
            .is_none()
    );
    raw_record(
        &mut raw,
        "visits",
        sc.visit.as_str(),
        &[("manager", "m2".into()), ("at", (T0 + 40_000).into())],
    );
    commit(&mut raw, &sc.m2);
    let token = sc.m2.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "concurrent_write")
        .await;

    let mut raw = old_copy(&sc);
    let profile = at(&raw, &["profile"]);
    pad(&mut raw, &profile, "address", 60);
    let rec = raw_record(
        &mut raw,
        "commitments",
        sc.commitment.as_str(),
        &[
            ("what", "什麼都沒答應".into()),
            ("to_whom", "林老闆".into()),
            ("made_by", "m2".into()),
            ("owner", "m2".into()),
            ("made_at", (T0 + 40_000).into()),
            ("due", "2026-03-01".into()),
        ],
    );
    let status = raw.put_object(&rec, "status", ObjType::Map).unwrap();
    step(&mut raw, &status, "open", "m2");
    commit(&mut raw, &sc.m2);
    let token = sc.m2.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "concurrent_write")
        .await;

    sc.m2.sync().await;
    let state = sc
        .m2
        .replica
        .dealer(&sc.dealer)
        .unwrap()
        .dealer_state()
        .unwrap();
    assert_eq!(state.visits[&sc.visit].manager.as_str(), "m1");
    assert_eq!(state.commitments[&sc.commitment].made_by.as_str(), "m1");
    sc.stop().await;
}

async fn wrong_type(backend: Backend) {
    let mut sc = scene(backend).await;
    let token = sc.m1.token.clone();
    // A number where text belongs.
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let visit = at(&raw, &["visits", sc.visit.as_str()]);
    raw.put(&visit, "summary", 42_i64).unwrap();
    commit(&mut raw, &sc.m1);
    sc.refused(token.clone(), &mut raw, RejectCode::Invalid, "wrong_type")
        .await;
    // A list where a set (a map) belongs.
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let visit = at(&raw, &["visits", sc.visit.as_str()]);
    let list = raw.put_object(&visit, "attendees", ObjType::List).unwrap();
    raw.insert(&list, 0, "林老闆").unwrap();
    commit(&mut raw, &sc.m1);
    sc.refused(token, &mut raw, RejectCode::Invalid, "wrong_type")
        .await;
    sc.stop().await;
}

async fn out_of_range(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let profile = at(&raw, &["profile"]);
    raw.put(&profile, "tier", 9_i64).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "out_of_range")
        .await;
    sc.stop().await;
}

async fn replaced(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    // A new, empty `notes` map over the visit's notes would hide them all.
    let visit = at(&raw, &["visits", sc.visit.as_str()]);
    raw.put_object(&visit, "notes", ObjType::Map).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "replaced")
        .await;
    sc.stop().await;
}

async fn record_rule(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    // An activity that ends before it starts.
    let rec = raw_record(
        &mut raw,
        "activities",
        "a-backwards",
        &[
            ("kind", "promotion".into()),
            ("title", "週年慶".into()),
            ("description", "".into()),
            ("starts", "2026-03-10".into()),
            ("ends", "2026-03-01".into()),
        ],
    );
    let status = raw.put_object(&rec, "status", ObjType::Map).unwrap();
    step(&mut raw, &status, "planned", "m1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "record")
        .await;
    sc.stop().await;
}

async fn a_manager_renaming_a_territory(backend: Backend) {
    let mut sc = scene(backend).await;
    let doc = sc.territory_id();
    let mut raw = raw_copy(&sc.m1, &doc);
    let profile = at(&raw, &["profile"]);
    raw.put(&profile, "name", "我的地盤").unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused_in(&doc, token, &mut raw, RejectCode::Forbidden, "role")
        .await;
    sc.stop().await;
}

async fn a_manager_editing_a_territorys_managers(backend: Backend) {
    let mut sc = scene(backend).await;
    let doc = sc.territory_id();
    let token = sc.m1.token.clone();
    for (who, member) in [("m9", true), ("m2", false)] {
        let mut raw = raw_copy(&sc.m1, &doc);
        let managers = at(&raw, &["profile", "managers"]);
        raw.put(&managers, who, member).unwrap();
        commit(&mut raw, &sc.m1);
        sc.refused_in(&doc, token.clone(), &mut raw, RejectCode::Forbidden, "role")
            .await;
    }
    sc.stop().await;
}

async fn a_regional_manager_creating_a_territory(backend: Backend) {
    let mut sc = scene(backend).await;
    // Assigned t-east (so access is not what refuses it), but not head office.
    let token = sc.server.user("r2", "regional", &["t-east"]).await;
    let mut r2 = sc.server.device("r2", &token);
    r2.sync().await;
    let t = tid("t-east");
    let s = r2.stamp();
    let mut actor = [0u8; 16];
    getrandom::fill(&mut actor).unwrap();
    let mut made = Document::create_territory(
        t.clone(),
        &territory("東區", &["r2"]),
        &s,
        ActorId::from(actor.to_vec()),
    )
    .unwrap();
    let mut raw = AutoCommit::load(&made.save()).unwrap();
    sc.refused_in(
        &DocId::Territory(t),
        token,
        &mut raw,
        RejectCode::Forbidden,
        "role",
    )
    .await;
    sc.stop().await;
}

async fn an_admin_approving_a_claim(backend: Backend) {
    let mut sc = scene(backend).await;
    let token = sc.server.user("a1", "admin", &[]).await;
    let admin = sc.server.device("a1", &token);
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["claims", sc.claim.as_str(), "status"]);
    step(&mut raw, &status, "approved", "a1");
    commit(&mut raw, &admin);
    sc.refused(token, &mut raw, RejectCode::Forbidden, "role")
        .await;
    sc.stop().await;
}

async fn self_rejection_by_a_regional_manager(backend: Backend) {
    let mut sc = scene(backend).await;
    let own: ClaimId = "c-own".parse().unwrap();
    let s = sc.r1.stamp();
    let amount = Money::new(9_000, "TWD".parse().unwrap()).unwrap();
    let cl = ExpenseClaim::new(
        ExpenseCategory::Event,
        "聯誼會",
        amount,
        s.user.clone(),
        s.at,
    );
    sc.r1
        .replica
        .dealer_mut(&sc.dealer)
        .unwrap()
        .insert(&own, &cl, &s)
        .unwrap();
    assert!(sc.r1.sync().await.is_empty());
    sc.m1.sync().await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["claims", own.as_str(), "status"]);
    step(&mut raw, &status, "rejected", "r1");
    commit(&mut raw, &sc.r1);
    let token = sc.r1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "self_approval")
        .await;
    sc.stop().await;
}

async fn forged_note_by(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let notes = at(&raw, &["visits", sc.visit.as_str(), "notes"]);
    let note = raw.put_object(&notes, "n-forged", ObjType::Map).unwrap();
    raw.put(&note, "text", "區經理說可以").unwrap();
    raw.put(&note, "by", "r1").unwrap();
    raw.put(&note, "at", T0 + 40_000).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "forged_author")
        .await;
    sc.stop().await;
}

async fn forged_dealer_index_added_by(backend: Backend) {
    let mut sc = scene(backend).await;
    let doc = sc.territory_id();
    let mut raw = raw_copy(&sc.m1, &doc);
    let dealers = at(&raw, &["dealers"]);
    let entry = raw.put_object(&dealers, "d-forged", ObjType::Map).unwrap();
    raw.put(&entry, "added_by", "r1").unwrap();
    raw.put(&entry, "added_at", T0 + 40_000).unwrap();
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused_in(
        &doc,
        token,
        &mut raw,
        RejectCode::Forbidden,
        "forged_author",
    )
    .await;
    sc.stop().await;
}

/// m1 signs honestly as m1 but names another device in the stamp (to make the
/// edit look like it came from a colleague's shared phone, or an issued one).
async fn a_stamp_naming_another_device(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let visit = at(&raw, &["visits", sc.visit.as_str()]);
    raw.put(&visit, "summary", "改過的摘要").unwrap();
    for device in [sc.m2.id.clone(), DeviceId::random().unwrap()] {
        let mut raw = raw.clone();
        let stamp = Stamp::new(sc.m1.user.clone(), device, Timestamp(T0 + 50_000));
        raw.commit_with(CommitOptions::default().with_message(stamp.to_message()));
        let token = sc.m1.token.clone();
        sc.refused(token, &mut raw, RejectCode::Forbidden, "forged_device")
            .await;
    }
    sc.stop().await;
}

/// A decision between concurrent steps (`decided`), written raw by `by` in the commitment.
fn decision(raw: &mut AutoCommit, commitment: &str, step: &str, by: &str) -> ObjId {
    let rec = at(raw, &["commitments", commitment]);
    let all = match raw.get(&rec, "decided").unwrap() {
        Some((Value::Object(ObjType::Map), id)) => id,
        _ => raw.put_object(&rec, "decided", ObjType::Map).unwrap(),
    };
    let d = raw.put_object(&all, "broken+kept", ObjType::Map).unwrap();
    raw.put(&d, "step", step).unwrap();
    raw.put(&d, "by", by).unwrap();
    raw.put(&d, "at", T0 + 45_000).unwrap();
    d
}

async fn a_manager_deciding_between_concurrent_steps(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    decision(&mut raw, sc.commitment.as_str(), "kept", "m1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "role")
        .await;
    sc.stop().await;
}

async fn a_decision_changed_afterwards(backend: Backend) {
    let mut sc = scene(backend).await;
    // Head office's decision is accepted (the schema does not need the conflict to be there yet)…
    let mut raw = raw_copy(&sc.ho, &sc.doc_id());
    let d = decision(&mut raw, sc.commitment.as_str(), "kept", "ho");
    commit(&mut raw, &sc.ho);
    let changes: Vec<ChangeBytes> = raw
        .get_last_local_change()
        .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
        .into_iter()
        .collect();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Default::default(),
        push: vec![DocChanges {
            doc: sc.doc_id(),
            changes,
        }],
    };
    let resp: SyncResponse = sc.ho.post(&req).await.json().await.unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    // …and written once: changing it later is refused.
    raw.put(&d, "step", "broken").unwrap();
    commit(&mut raw, &sc.ho);
    let token = sc.ho.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "immutable")
        .await;
    sc.stop().await;
}

/// The `handover.{hid}` item of the commitment in the attacker's copy (created).
fn handover_item(raw: &mut AutoCommit, sc: &Scene, hid: &str) -> ObjId {
    let record = at(raw, &["commitments", sc.commitment.as_str()]);
    let map = raw.put_object(&record, "handover", ObjType::Map).unwrap();
    raw.put_object(&map, hid, ObjType::Map).unwrap()
}

async fn a_handover_review_by_someone_not_taking_over(backend: Backend) {
    let mut sc = scene(backend).await;
    // m2, a manager of the territory but incoming in no handover, accepts m1's commitment.
    let mut raw = raw_copy(&sc.m2, &sc.doc_id());
    let hid = fieldsync_core::ids::HandoverId::random().unwrap();
    let item = handover_item(&mut raw, &sc, hid.as_str());
    let review = raw.put_object(&item, "review", ObjType::Map).unwrap();
    step(&mut raw, &review, "reviewed", "m2");
    step(&mut raw, &review, "accepted", "m2");
    let record = at(&raw, &["commitments", sc.commitment.as_str()]);
    raw.put(&record, "owner", "m2").unwrap();
    commit(&mut raw, &sc.m2);
    let token = sc.m2.token.clone();
    sc.refused(token, &mut raw, RejectCode::Forbidden, "not_incoming")
        .await;
    sc.stop().await;
}

async fn a_handover_reason_without_flagging(backend: Backend) {
    let mut sc = scene(backend).await;
    let mut raw = raw_copy(&sc.m2, &sc.doc_id());
    let hid = fieldsync_core::ids::HandoverId::random().unwrap();
    let item = handover_item(&mut raw, &sc, hid.as_str());
    raw.put(&item, "reason", "不接").unwrap();
    commit(&mut raw, &sc.m2);
    let token = sc.m2.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "immutable")
        .await;
    sc.stop().await;
}

/// A commitment above the maker's authority (head office's `commitment` limit) is
/// pending approval: a crafted `kept` step before a supervisor approved it is
/// refused (`pending_approval`), and the commitment still waits for approval.
async fn keeping_a_commitment_above_authority_before_approval(backend: Backend) {
    let mut sc = scene(backend).await;
    let limits = serde_json::json!({"limits": [
        {"kind": "commitment", "role": "manager", "currency": "TWD", "max_minor": 100_000},
    ]});
    let r = approvers::put_limits(&sc.server, &sc.ho.token, &limits).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    // m1 honestly promises NT$5,000, above their NT$1,000: pending approval.
    let big: CommitmentId = "k-big".parse().unwrap();
    let s = sc.m1.stamp();
    let due: Day = "2026-03-01".parse().unwrap();
    let mut c = Commitment::new("送冰箱", "林老闆", s.user.clone(), s.at, due);
    c.amount = Some(Money::new(500_000, "TWD".parse().unwrap()).unwrap());
    let dealer = sc.dealer.clone();
    sc.m1
        .replica
        .dealer_mut(&dealer)
        .unwrap()
        .insert(&big, &c, &s)
        .unwrap();
    assert!(
        sc.m1.sync().await.is_empty(),
        "a pending commitment is taken"
    );
    // Then marks it kept with a crafted change, skipping the approval.
    let mut raw = raw_copy(&sc.m1, &sc.doc_id());
    let status = at(&raw, &["commitments", big.as_str(), "status"]);
    step(&mut raw, &status, "kept", "m1");
    commit(&mut raw, &sc.m1);
    let token = sc.m1.token.clone();
    sc.refused(token, &mut raw, RejectCode::Invalid, "pending_approval")
        .await;
    sc.stop().await;
}
