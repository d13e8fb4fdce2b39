//! The sync protocol over HTTP against the real server, on SQLite and on PostgreSQL, with core replicas acting as devices.

mod common;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{ClaimId, DealerId, VisitId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim, Visit};
use fieldsync_core::money::Money;
use fieldsync_core::sync::{
    ChangeBytes, DocChanges, PROTOCOL_VERSION, PushLimits, RejectCode, Rejection, SyncRequest,
    SyncResponse,
};
use serde_json::{Value, json};

on_both_backends!(
    two_managers_edit_one_dealer_offline_and_converge_in_either_order,
    a_retried_push_after_a_lost_response_stores_nothing_twice,
    a_manager_can_neither_read_nor_write_another_territory,
    malformed_and_oversized_payloads_get_a_4xx_and_change_nothing,
    one_refused_document_does_not_stop_the_others,
    only_supervisors_approve_claims,
    gaining_access_brings_history_and_losing_it_removes_the_territory,
    online_devices_are_told_to_pull,
    a_document_exports_as_automerge_bytes,
    revoked_tokens_and_missing_tokens_are_refused,
    the_same_push_racing_on_two_servers_is_stored_once,
    a_device_far_behind_pulls_in_bounded_pages,
    a_backlog_larger_than_the_limits_syncs_in_several_requests,
    a_change_too_large_for_any_request_is_refused_not_retried,
    an_upload_pulls_none_of_its_own_changes_back,
    a_backlog_that_takes_too_long_goes_up_in_smaller_requests_after_a_408,
);

async fn setup_north(server: &TestServer) -> (Device, Device, Device, DealerId) {
    let mut ho =
        head_office_with_territories(server, &[("t-north", &["m1", "m2"]), ("t-south", &["m3"])])
            .await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let (mut a, mut b) = (server.device("m1", &t1), server.device("m2", &t2));
    a.sync().await;
    b.sync().await;
    let d: DealerId = "d-lin".parse().unwrap();
    let s = a.stamp();
    a.replica
        .create_dealer(&tid("t-north"), d.clone(), &profile("林記商行"), &s)
        .unwrap();
    assert!(a.sync().await.is_empty());
    b.sync().await;
    ho.sync().await;
    (ho, a, b, d)
}

async fn two_managers_edit_one_dealer_offline_and_converge_in_either_order(backend: Backend) {
    for a_first in [true, false] {
        let server = TestServer::start(backend).await;
        let (mut ho, mut a, mut b, d) = setup_north(&server).await;
        let validate = |p: &fieldsync_core::model::DealerProfile| p.validate();
        // Offline: both rename the dealer; A also records a visit, B changes the tier.
        let s = a.stamp();
        a.replica
            .dealer_mut(&d)
            .unwrap()
            .update_profile(&json!({"name": "林記商行 (總店)"}), &s, validate)
            .unwrap();
        let v: VisitId = "v-a1".parse().unwrap();
        let s = a.stamp();
        let mut visit = Visit::new(a.user.clone(), s.at);
        visit.summary = "Trained two salesmen 培訓兩位業務".into();
        a.replica
            .dealer_mut(&d)
            .unwrap()
            .insert(&v, &visit, &s)
            .unwrap();
        let s = b.stamp();
        b.replica
            .dealer_mut(&d)
            .unwrap()
            .update_profile(&json!({"name": "Lin Trading", "tier": 1}), &s, validate)
            .unwrap();
        if a_first {
            assert!(a.sync().await.is_empty());
            assert!(b.sync().await.is_empty());
        } else {
            assert!(b.sync().await.is_empty());
            assert!(a.sync().await.is_empty());
        }
        a.sync().await;
        b.sync().await;
        ho.sync().await;
        let id = DocId::Dealer(d.clone());
        let sa = a.replica.dealer(&d).unwrap().dealer_state().unwrap();
        let sb = b.replica.dealer(&d).unwrap().dealer_state().unwrap();
        let sh = ho.replica.dealer(&d).unwrap().dealer_state().unwrap();
        assert_eq!(sa, sb);
        assert_eq!(sa, sh);
        assert_eq!(sa.profile.tier, 1);
        assert!(sa.visits.contains_key(&v));
        let heads_a = a.replica.doc_mut(&id).unwrap().heads();
        let heads_b = b.replica.doc_mut(&id).unwrap().heads();
        assert_eq!(heads_a, heads_b);

        // Head office sees the merged dealer, its visit and the name conflict through the read API.
        let dealers = server
            .get_json(&ho.token, "/api/dealers?territory=t-north")
            .await;
        assert_eq!(dealers["total"], 1);
        let row = &dealers["items"][0];
        assert_eq!(row["id"], "d-lin");
        assert_eq!(row["name"], sa.profile.name.as_str());
        assert_eq!(row["tier"], 1);
        assert_eq!(row["last_visit_at"], sa.visits[&v].at.millis());
        let visits = server.get_json(&ho.token, "/api/visits?dealer=d-lin").await;
        assert_eq!(
            visits["items"][0]["summary"],
            "Trained two salesmen 培訓兩位業務"
        );
        assert_eq!(visits["items"][0]["dealer_name"], sa.profile.name.as_str());
        let by_manager = server.get_json(&ho.token, "/api/visits?manager=m2").await;
        assert_eq!(by_manager["total"], 0);
        let conflicts = server
            .get_json(&ho.token, "/api/conflicts?territory=t-north")
            .await;
        let names: Vec<&Value> = conflicts["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["path"] == json!(["profile", "name"]))
            .collect();
        assert_eq!(names.len(), 1, "{conflicts}");
        assert_eq!(names[0]["winner"]["value"], sa.profile.name.as_str());
        assert_eq!(names[0]["others"].as_array().unwrap().len(), 1);
        assert_eq!(names[0]["dealer_name"], sa.profile.name.as_str());
        server.stop().await;
    }
}

async fn a_retried_push_after_a_lost_response_stores_nothing_twice(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, _b, d) = setup_north(&server).await;
    let v: VisitId = "v1".parse().unwrap();
    let s = a.stamp();
    let visit = Visit::new(a.user.clone(), s.at);
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&v, &visit, &s)
        .unwrap();
    let req = a.replica.sync_request();
    assert_eq!(req.push.len(), 1);
    let before = server.store.total_changes().await.unwrap();
    // The first response is lost on the way back.
    let first: SyncResponse = a.post(&req).await.json().await.unwrap();
    assert_eq!(server.store.total_changes().await.unwrap(), before + 1);
    // The device retries the very same request.
    let second: SyncResponse = a.post(&req).await.json().await.unwrap();
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before + 1,
        "stored twice"
    );
    assert_eq!(
        first.accepted, second.accepted,
        "a retry is acknowledged the same way"
    );
    assert!(second.rejected.is_empty());
    a.replica.apply_response(&second).unwrap();
    assert_eq!(a.replica.pending(), 0);
    assert_eq!(
        server
            .store
            .stored_changes(&format!("dealer:{d}"))
            .await
            .unwrap(),
        3,
        "genesis, profile, visit"
    );
    server.stop().await;
}

async fn a_manager_can_neither_read_nor_write_another_territory(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mut ho, mut a, _b, d) = setup_north(&server).await;
    let t3 = server.user("m3", "manager", &["t-south"]).await;
    let mut c = server.device("m3", &t3);
    c.sync().await;
    // m3 never received the north documents.
    assert!(c.replica.doc(&DocId::Dealer(d.clone())).is_none());
    assert!(c.replica.doc(&DocId::Territory(tid("t-north"))).is_none());
    // Reading them directly is answered as for a document that does not exist
    // (no territory named, nothing that tells them apart).
    let r = server
        .get(&t3, &format!("/v1/docs/dealer:{d}/automerge"))
        .await;
    assert_eq!(r.status(), 404);
    let forbidden: Value = r.json().await.unwrap();
    assert_eq!(forbidden["code"], "not_found");
    assert!(!forbidden["message"].as_str().unwrap().contains("t-north"));
    let missing: Value = server
        .get(&t3, "/v1/docs/dealer:d-nowhere/automerge")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        forbidden["message"]
            .as_str()
            .unwrap()
            .replace(d.as_str(), "d-nowhere"),
        missing["message"]
    );
    let r = server.get(&t3, "/api/dealers?territory=t-north").await;
    assert_eq!(r.status(), 403);
    let listed = server.get_json(&t3, "/api/dealers").await;
    assert_eq!(listed["total"], 0, "m3 sees no north dealer");

    // Writing: m3 forges an edit of the north dealer (from a copy of the bytes).
    let s = a.stamp();
    let v: VisitId = "v-x".parse().unwrap();
    let mut stolen = fieldsync_core::doc::Document::load(
        &a.replica.save_doc(&DocId::Dealer(d.clone())).unwrap(),
        fieldsync_core::sync::Hub::actor(),
    )
    .unwrap();
    let mut s3 = c.stamp();
    s3.at = s.at;
    stolen
        .insert(&v, &Visit::new(c.user.clone(), s3.at), &s3)
        .unwrap();
    let before = server.store.total_changes().await.unwrap();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Default::default(),
        push: vec![DocChanges {
            doc: DocId::Dealer(d.clone()),
            changes: stolen
                .changes_since(&[])
                .iter()
                .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                .collect(),
        }],
    };
    // A request that only touches a forbidden territory: every document is
    // refused as `forbidden`, naming the territory, and nothing is stored.
    let resp: SyncResponse = c.post(&req).await.json().await.unwrap();
    assert!(resp.accepted.is_empty());
    assert_eq!(resp.rejected.len(), 1);
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(
        resp.rejected[0].message.contains("t-north"),
        "{}",
        resp.rejected[0].message
    );
    let north = [DocId::Dealer(d.clone()), DocId::Territory(tid("t-north"))];
    assert!(
        resp.changes.iter().all(|c| !north.contains(&c.doc)),
        "nothing of t-north comes back"
    );
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before,
        "nothing stored"
    );
    // Naming t-north in the cursor does not pull it either.
    let peek = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: "t-north:0".parse().unwrap(),
        push: vec![],
    };
    let resp: SyncResponse = c.post(&peek).await.json().await.unwrap();
    assert!(
        !resp.changes.is_empty(),
        "t-south, absent from the cursor, is sent"
    );
    assert!(resp.changes.iter().all(|c| !north.contains(&c.doc)));
    // And m3 creating a dealer in t-north is refused as well.
    let new = DealerId::random().unwrap();
    let mut forged = fieldsync_core::doc::Document::create_dealer(
        new.clone(),
        tid("t-north"),
        &profile("偷來的"),
        &c.stamp(),
        fieldsync_core::sync::Hub::actor(),
    )
    .unwrap();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Default::default(),
        push: vec![DocChanges {
            doc: DocId::Dealer(new.clone()),
            changes: forged
                .changes_since(&[])
                .iter()
                .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                .collect(),
        }],
    };
    let resp: SyncResponse = c.post(&req).await.json().await.unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before,
        "nothing stored"
    );
    let r = server
        .get(&t3, &format!("/v1/docs/dealer:{new}/automerge"))
        .await;
    assert_eq!(r.status(), 404);
    // Head office still sees the north dealer unchanged.
    ho.sync().await;
    let st = ho.replica.dealer(&d).unwrap().dealer_state().unwrap();
    assert!(st.visits.is_empty());
    let _ = a.sync().await;
    server.stop().await;
}

async fn expect_error(r: reqwest::Response, status: u16, code: &str) {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.expect("a JSON error body");
    assert_eq!(body["code"], code, "{body}");
    assert!(!body["message"].as_str().unwrap_or_default().is_empty());
}

async fn malformed_and_oversized_payloads_get_a_4xx_and_change_nothing(backend: Backend) {
    let settings = fieldsync_server::Settings {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let server = TestServer::start_with(backend, settings).await;
    let (_ho, a, _b, d) = setup_north(&server).await;
    let before = server.store.total_changes().await.unwrap();
    let post = |body: Vec<u8>| {
        server
            .http
            .post(format!("{}/v1/sync", server.base))
            .bearer_auth(&a.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    expect_error(post(b"{not json".to_vec()).await.unwrap(), 400, "malformed").await;
    expect_error(
        post(vec![0xff, 0xfe, 0x00, 0x01]).await.unwrap(),
        400,
        "malformed",
    )
    .await;
    expect_error(
        post(
            br#"{"protocol":1,"push":[{"doc":"dealer:d-lin","changes":["***not base64***"]}]}"#
                .to_vec(),
        )
        .await
        .unwrap(),
        400,
        "malformed",
    )
    .await;
    expect_error(
        post(br#"{"protocol":1,"push":[{"doc":"visit:v1","changes":[]}]}"#.to_vec())
            .await
            .unwrap(),
        400,
        "malformed",
    )
    .await;
    expect_error(
        post(br#"{"protocol":2}"#.to_vec()).await.unwrap(),
        400,
        "unsupported_protocol",
    )
    .await;
    // Larger than the body limit.
    let big = format!(
        r#"{{"protocol":1,"push":[{{"doc":"dealer:{d}","changes":["{}"]}}]}}"#,
        "A".repeat(100 * 1024)
    );
    expect_error(post(big.into_bytes()).await.unwrap(), 413, "too_large").await;
    // A gzip bomb: 8 KB on the wire, 8 MB once inflated, over the 64 KB limit.
    let bomb = {
        use std::io::Write;
        let mut json = br#"{"protocol":1,"cursor":""#.to_vec();
        json.extend(std::iter::repeat_n(b' ', 8 * 1024 * 1024));
        json.extend(br#""}"#);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&json).unwrap();
        gz.finish().unwrap()
    };
    assert!(bomb.len() < 64 * 1024);
    let r = server
        .http
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    expect_error(r, 413, "too_large").await;
    // An encoding the server does not speak, and a wrong method: JSON errors too.
    let r = server
        .http
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body(b"{}".to_vec())
        .send()
        .await
        .unwrap();
    expect_error(r, 415, "unsupported_media_type").await;
    expect_error(
        server.get(&a.token, "/v1/sync").await,
        405,
        "method_not_allowed",
    )
    .await;
    // Well-formed JSON whose change bytes are not Automerge: that document is refused.
    let garbage = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Default::default(),
        push: vec![DocChanges {
            doc: DocId::Dealer(d.clone()),
            changes: vec![ChangeBytes(vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 5])],
        }],
    };
    let resp: SyncResponse = a.post(&garbage).await.json().await.unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Malformed);
    // Unknown and ill-formed document ids on export.
    expect_error(
        server.get(&a.token, "/v1/docs/dealer:nope/automerge").await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        server.get(&a.token, "/v1/docs/visit:x/automerge").await,
        400,
        "bad_document_id",
    )
    .await;
    expect_error(
        server.get(&a.token, "/api/dealers?page=zero").await,
        400,
        "bad_query",
    )
    .await;
    expect_error(
        server.get(&a.token, "/api/nothing-here").await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before,
        "nothing stored"
    );
    // The server is still healthy.
    assert!(
        server
            .http
            .get(format!("{}/health", server.base))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    server.stop().await;
}

async fn one_refused_document_does_not_stop_the_others(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, mut b, d) = setup_north(&server).await;
    // A good edit of d-lin, and a second document whose bytes are garbage.
    let v: VisitId = "v-good".parse().unwrap();
    let s = a.stamp();
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&v, &Visit::new(a.user.clone(), s.at), &s)
        .unwrap();
    let mut req = a.replica.sync_request();
    req.push.push(DocChanges {
        doc: "dealer:d-bad".parse().unwrap(),
        changes: vec![ChangeBytes(b"garbage".to_vec())],
    });
    let resp: SyncResponse = a.post(&req).await.json().await.unwrap();
    assert_eq!(resp.accepted.len(), 1);
    assert_eq!(resp.accepted[0].doc, DocId::Dealer(d.clone()));
    assert_eq!(resp.rejected.len(), 1);
    assert_eq!(resp.rejected[0].doc.to_string(), "dealer:d-bad");
    assert_eq!(resp.rejected[0].code, RejectCode::Malformed);
    // Prometheus sees the sync, the accepted change and the refused document.
    let metrics = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert_eq!(
        value(r#"fieldsync_documents_rejected_total{code="malformed"}"#),
        1.0
    );
    assert_eq!(value("fieldsync_changes_rejected_total"), 1.0);
    assert!(value("fieldsync_changes_accepted_total") >= 1.0);
    assert!(value("fieldsync_syncs_total") >= 1.0);
    assert!(value("fieldsync_sync_request_bytes_total") > 0.0);
    assert!(value("fieldsync_sync_duration_seconds_count") >= 1.0);
    b.sync().await;
    assert!(
        b.replica
            .dealer(&d)
            .unwrap()
            .dealer_state()
            .unwrap()
            .visits
            .contains_key(&v)
    );
    server.stop().await;
}

async fn only_supervisors_approve_claims(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, _b, d) = setup_north(&server).await;
    let rt = server.user("r1", "regional", &["t-north"]).await;
    let mut r = server.device("r1", &rt);
    let claim: ClaimId = "c1".parse().unwrap();
    let s = a.stamp();
    let c = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市費用 shelf placement",
        Money::new(150_000, "TWD".parse().unwrap()).unwrap(),
        a.user.clone(),
        s.at,
    );
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&claim, &c, &s)
        .unwrap();
    assert!(a.sync().await.is_empty());
    // The manager approves their own claim: refused with a reason, not stored.
    let s = a.stamp();
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .advance::<ExpenseClaim>(&claim, ClaimStage::Approved, Value::Null, &s)
        .unwrap();
    let rejected = a.sync().await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].code, RejectCode::Forbidden);
    assert!(
        rejected[0].message.contains("approve"),
        "{}",
        rejected[0].message
    );
    let claims = server.get_json(&rt, "/api/claims?status=approved").await;
    assert_eq!(claims["total"], 0);
    a.replica
        .discard_pending(&DocId::Dealer(d.clone()))
        .unwrap();
    // The regional manager approves it.
    r.sync().await;
    let s = r.stamp();
    r.replica
        .dealer_mut(&d)
        .unwrap()
        .advance::<ExpenseClaim>(&claim, ClaimStage::Approved, Value::Null, &s)
        .unwrap();
    assert!(r.sync().await.is_empty());
    let claims = server.get_json(&rt, "/api/claims?status=approved").await;
    assert_eq!(claims["total"], 1);
    assert_eq!(claims["items"][0]["requested_by"], "m1");
    assert_eq!(claims["items"][0]["amount_minor"], 150_000);
    a.sync().await;
    let st = a.replica.dealer(&d).unwrap().dealer_state().unwrap();
    assert_eq!(st.claims[&claim].status.current(), ClaimStage::Approved);
    server.stop().await;
}

async fn gaining_access_brings_history_and_losing_it_removes_the_territory(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, _b, d) = setup_north(&server).await;
    let t4 = server.user("m4", "manager", &["t-south"]).await;
    let mut m4 = server.device("m4", &t4);
    m4.sync().await;
    assert!(m4.replica.doc(&DocId::Dealer(d.clone())).is_none());
    // m4 is assigned t-north: the next sync brings its whole history.
    server
        .store
        .set_user_territories("m4", &["t-south".into(), "t-north".into()])
        .await
        .unwrap();
    m4.sync().await;
    let st = m4.replica.dealer(&d).unwrap().dealer_state().unwrap();
    assert_eq!(st.profile.name, "林記商行");
    // Access removed (as the command line does, from another process): new north
    // changes no longer reach m4, and the next sync tells it to remove t-north.
    server
        .store
        .set_user_territories("m4", &["t-south".into()])
        .await
        .unwrap();
    let v: VisitId = "v-after".parse().unwrap();
    let s = a.stamp();
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&v, &Visit::new(a.user.clone(), s.at), &s)
        .unwrap();
    a.sync().await;
    let (resp, report) = m4.round().await;
    assert!(resp.changes.is_empty(), "{:?}", resp.changes);
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert!(report.removed.contains(&DocId::Dealer(d.clone())));
    assert!(m4.replica.doc(&DocId::Dealer(d.clone())).is_none());
    assert!(m4.replica.doc(&DocId::Territory(tid("t-north"))).is_none());
    assert_eq!(m4.replica.cursor().get(&tid("t-north")), 0);
    assert_eq!(m4.replica.undelivered().count(), 0, "m4 had nothing unsent");
    // The next sync has nothing more to say about it.
    let (resp, _) = m4.round().await;
    assert!(resp.revoked.is_empty());
    server.stop().await;
}

async fn next(ws: &mut Ws) -> Option<String> {
    next_text(ws).await
}

async fn online_devices_are_told_to_pull(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, b, d) = setup_north(&server).await;
    let t3 = server.user("m3", "manager", &["t-south"]).await;
    let mut ws_b = live(&server.base, &b.token).await;
    let mut ws_c = live(&server.base, &t3).await;
    assert_eq!(
        next(&mut ws_b).await.as_deref(),
        Some(r#"{"type":"ready"}"#)
    );
    assert_eq!(
        next(&mut ws_c).await.as_deref(),
        Some(r#"{"type":"ready"}"#)
    );
    let s = a.stamp();
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(
            &"v-live".parse::<VisitId>().unwrap(),
            &Visit::new(a.user.clone(), s.at),
            &s,
        )
        .unwrap();
    a.sync().await;
    assert_eq!(next(&mut ws_b).await.as_deref(), Some(r#"{"type":"sync"}"#));
    // m3 (south) is not told about north.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), {
        use futures_util::StreamExt;
        ws_c.next()
    })
    .await;
    assert!(quiet.is_err(), "m3 was notified of another territory");
    // Several server replicas on one PostgreSQL tell each other (LISTEN/NOTIFY):
    // a device listening on replica 2 hears of a push committed through replica 1.
    if backend == Backend::Postgres {
        let (base2, stop2) = server.second_replica().await;
        let mut ws_2 = live(&base2, &b.token).await;
        assert_eq!(
            next(&mut ws_2).await.as_deref(),
            Some(r#"{"type":"ready"}"#)
        );
        let s = a.stamp();
        a.replica
            .dealer_mut(&d)
            .unwrap()
            .insert(
                &"v-live2".parse::<VisitId>().unwrap(),
                &Visit::new(a.user.clone(), s.at),
                &s,
            )
            .unwrap();
        a.sync().await;
        assert_eq!(next(&mut ws_2).await.as_deref(), Some(r#"{"type":"sync"}"#));
        let _ = stop2.send(());
    }
    // A bad token cannot listen: it is told why, and the channel closes.
    let mut bad = live(&server.base, "fs_wrong").await;
    let said: Value = serde_json::from_str(&next(&mut bad).await.unwrap()).unwrap();
    assert_eq!(
        (said["type"].as_str(), said["code"].as_str()),
        (Some("error"), Some("unauthorized"))
    );
    assert!(closes(&mut bad).await);
    server.stop().await;
}

async fn a_document_exports_as_automerge_bytes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, a, _b, d) = setup_north(&server).await;
    let r = server
        .get(&ho.token, &format!("/v1/docs/dealer:{d}/automerge"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    let bytes = r.bytes().await.unwrap();
    // Plain Automerge opens it.
    let doc = fieldsync_core::automerge::AutoCommit::load(&bytes).expect("an Automerge document");
    use fieldsync_core::automerge::ReadDoc;
    assert!(
        doc.get(fieldsync_core::automerge::ROOT, "profile")
            .unwrap()
            .is_some()
    );
    let loaded =
        fieldsync_core::doc::Document::load(&bytes, fieldsync_core::sync::Hub::actor()).unwrap();
    assert_eq!(loaded.dealer_state().unwrap().profile.name, "林記商行");
    // The manager of the territory may export it too.
    assert_eq!(
        server
            .get(&a.token, &format!("/v1/docs/dealer:{d}/automerge"))
            .await
            .status(),
        200
    );
    server.stop().await;
}

async fn revoked_tokens_and_missing_tokens_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, a, _b, _d) = setup_north(&server).await;
    let r = server
        .http
        .get(format!("{}/v1/me", server.base))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "unauthorized").await;
    let me = server.get_json(&a.token, "/v1/me").await;
    assert_eq!(me["user"], "m1");
    assert_eq!(me["role"], "manager");
    assert_eq!(me["territories"][0]["id"], "t-north");
    // Head office issues a device token over HTTP; managers may not.
    let r = server
        .http
        .post(format!("{}/api/devices", server.base))
        .bearer_auth(&a.token)
        .json(&json!({"user": "m1", "label": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(r, 403, "forbidden").await;
    let issued: Value = server
        .http
        .post(format!("{}/api/devices", server.base))
        .bearer_auth(&ho.token)
        .json(&json!({"user": "m1", "label": "second phone"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Head office gets a login link with a one-time code, never the token; the link gives it once.
    assert!(issued.get("token").is_none(), "{issued}");
    assert_eq!(issued["issued_by"], "ho");
    let code = issued["login_url"]
        .as_str()
        .unwrap()
        .strip_prefix("/#/login?code=")
        .unwrap()
        .to_owned();
    let token = redeem(&server, &code).await;
    assert!(token.starts_with("fs_") && token.len() > 40);
    assert_eq!(server.get_json(&token, "/v1/me").await["user"], "m1");
    let device = issued["device"].as_str().unwrap();
    let r = server
        .http
        .delete(format!("{}/api/devices/{device}", server.base))
        .bearer_auth(&ho.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    expect_error(server.get(&token, "/v1/me").await, 401, "unauthorized").await;
    // The token is stored hashed: its text appears nowhere in the devices table.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM devices")
        .fetch_all(server.store.pool())
        .await
        .unwrap();
    assert!(!stored.iter().any(|h| h.contains(&token)));
    assert!(stored.contains(&fieldsync_server::auth::hash_token(&token)));
    // Head office may not mint (or revoke) an admin's token; an admin may.
    let admin = server.user("root", "admin", &[]).await;
    let for_admin = |by: &str| {
        server
            .http
            .post(format!("{}/api/devices", server.base))
            .bearer_auth(by)
            .json(&json!({"user": "root"}))
            .send()
    };
    expect_error(for_admin(&ho.token).await.unwrap(), 403, "forbidden").await;
    let issued: Value = for_admin(&admin).await.unwrap().json().await.unwrap();
    let admin_device = issued["device"].as_str().unwrap();
    let r = server
        .http
        .delete(format!("{}/api/devices/{admin_device}", server.base))
        .bearer_auth(&ho.token)
        .send()
        .await
        .unwrap();
    expect_error(r, 403, "forbidden").await;
    let code = issued["login_url"]
        .as_str()
        .unwrap()
        .rsplit('=')
        .next()
        .unwrap();
    let token2 = redeem(&server, code).await;
    assert_eq!(server.get_json(&token2, "/v1/me").await["role"], "admin");
    server.stop().await;
}

async fn redeem(server: &TestServer, code: &str) -> String {
    let r = server
        .http
        .post(format!("{}/v1/login", server.base))
        // The user's PIN: set by the first login (`new_secret`), given after (`secret`).
        .json(&json!({ "code": code, "secret": "246810", "new_secret": "246810" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Two server processes on one database receive the very same push at the
/// same moment (a device retrying through another replica): it is stored once
/// and both acknowledge it.
async fn the_same_push_racing_on_two_servers_is_stored_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, _b, d) = setup_north(&server).await;
    let (base2, stop2) = server.second_replica().await;
    for i in 0..4 {
        let v: VisitId = format!("v-race-{i}").parse().unwrap();
        let s = a.stamp();
        a.replica
            .dealer_mut(&d)
            .unwrap()
            .insert(&v, &Visit::new(a.user.clone(), s.at), &s)
            .unwrap();
        let req = a.replica.sync_request();
        let before = server.store.total_changes().await.unwrap();
        let send = |base: &str| {
            server
                .http
                .post(format!("{base}/v1/sync"))
                .bearer_auth(&a.token)
                .json(&req)
                .send()
        };
        let (r1, r2) = tokio::join!(send(&server.base), send(&base2));
        let r1: SyncResponse = r1.unwrap().json().await.unwrap();
        let r2: SyncResponse = r2.unwrap().json().await.unwrap();
        assert!(r1.rejected.is_empty() && r2.rejected.is_empty());
        assert_eq!(r1.accepted, r2.accepted);
        assert_eq!(
            server.store.total_changes().await.unwrap(),
            before + 1,
            "stored once"
        );
        a.replica.apply_response(&r1).unwrap();
        assert_eq!(a.replica.pending(), 0);
    }
    let _ = stop2.send(());
    // The feed has no gap and no duplicate.
    let feed = server.store.feed_after("t-north", 0, 1000).await.unwrap();
    let seqs: Vec<i64> = feed.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=i64::try_from(feed.len()).unwrap()).collect::<Vec<_>>()
    );
    server.stop().await;
}

/// A device far behind never gets one huge response: each page stops at the
/// byte budget, says `more`, and the device catches up over several rounds.
async fn a_device_far_behind_pulls_in_bounded_pages(backend: Backend) {
    let settings = fieldsync_server::Settings {
        page_bytes: 4 * 1024,
        ..Default::default()
    };
    let server = TestServer::start_with(backend, settings).await;
    let (_ho, mut a, _b, d) = setup_north(&server).await;
    // The late device read the territory once (as snapshots), then fell 40 visits behind.
    let t = server.user("m9", "manager", &["t-north"]).await;
    let mut late = server.device("m9", &t);
    late.sync().await;
    for i in 0..40 {
        let v: VisitId = format!("v-{i:02}").parse().unwrap();
        let s = a.stamp();
        let mut visit = Visit::new(a.user.clone(), s.at);
        visit.summary = format!("拜訪 visit {i}: {}", "x".repeat(200));
        a.replica
            .dealer_mut(&d)
            .unwrap()
            .insert(&v, &visit, &s)
            .unwrap();
    }
    assert!(a.sync().await.is_empty());
    let mut rounds = 0;
    loop {
        let (resp, report) = late.round().await;
        rounds += 1;
        let bytes: usize = resp
            .changes
            .iter()
            .flat_map(|c| c.changes.iter())
            .map(|c| c.0.len())
            .sum();
        // The budget may be passed by at most the one change that crossed it.
        assert!(bytes < 4 * 1024 + 1024, "a page of {bytes} B");
        if !report.more {
            break;
        }
        assert!(rounds < 100, "never caught up");
    }
    assert!(rounds > 2, "{rounds} rounds");
    let st = late.replica.dealer(&d).unwrap().dealer_state().unwrap();
    assert_eq!(st.visits.len(), 40);
    server.stop().await;
}

/// What a batched sync did: the requests answered 200, how many got 413, the refusals.
struct Batches {
    sent: Vec<SyncRequest>,
    too_large: usize,
    refused: Vec<Rejection>,
}

/// Syncs as the web client does: request after request until nothing is left;
/// a 413 (whose body states the limits) makes the next request smaller.
async fn sync_in_batches(dev: &mut Device, stated: PushLimits) -> Batches {
    let mut out = Batches {
        sent: Vec::new(),
        too_large: 0,
        refused: Vec::new(),
    };
    let mut refused_req: Option<SyncRequest> = None;
    for _ in 0..200 {
        let req = dev.replica.sync_request();
        if let Some(prev) = refused_req.take() {
            assert_ne!(req, prev, "a 413 is never retried unchanged");
        }
        let r = dev.post(&req).await;
        if r.status() == 413 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "too_large", "{body}");
            let limits: PushLimits =
                serde_json::from_value(body["limits"].clone()).expect("the 413 states the limits");
            assert_eq!(limits, stated);
            assert!(dev.replica.too_large(Some(limits)));
            out.too_large += 1;
            refused_req = Some(req);
            continue;
        }
        assert_eq!(r.status(), 200);
        let resp: SyncResponse = r.json().await.unwrap();
        assert_eq!(
            resp.limits,
            Some(stated),
            "every response states the limits"
        );
        let report = dev.replica.apply_response(&resp).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        out.refused.extend(report.rejected);
        out.sent.push(req);
        if !report.more {
            return out;
        }
    }
    panic!("the backlog never drained");
}

/// The app restarts: the replica comes back from what it saved (the server's
/// limits are not saved, so its first request assumes the defaults).
fn restart(dev: &mut Device) {
    let ids: Vec<DocId> = dev.replica.doc_ids().cloned().collect();
    let docs: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| dev.replica.save_doc(id).unwrap())
        .collect();
    dev.replica = fieldsync_core::sync::Replica::restore(dev.replica.meta(), docs).unwrap();
}

fn small_limits() -> fieldsync_server::Settings {
    fieldsync_server::Settings {
        max_push_docs: 4,
        max_push_changes: 12,
        max_body_bytes: 32 * 1024,
        ..Default::default()
    }
}

/// A device back from days offline with more than one request may carry: it
/// learns the server's limits from the 413, then sends everything in requests
/// within them (a document with more changes than fit goes in parts), and the
/// other manager receives all of it.
async fn a_backlog_larger_than_the_limits_syncs_in_several_requests(backend: Backend) {
    let settings = small_limits();
    let stated = settings.push_limits();
    let server = TestServer::start_with(backend, settings).await;
    let (_ho, mut a, mut b, _d) = setup_north(&server).await;
    let mut dealers = Vec::new();
    for i in 0..15 {
        let d: DealerId = format!("d-back-{i:02}").parse().unwrap();
        let s = a.stamp();
        a.replica
            .create_dealer(
                &tid("t-north"),
                d.clone(),
                &profile(&format!("經銷商 {i}")),
                &s,
            )
            .unwrap();
        for k in 0..2 {
            let v: VisitId = format!("v-{i:02}-{k}").parse().unwrap();
            let s = a.stamp();
            let mut visit = Visit::new(a.user.clone(), s.at);
            visit.summary = format!("離線拜訪 {i}-{k}");
            a.replica
                .dealer_mut(&d)
                .unwrap()
                .insert(&v, &visit, &s)
                .unwrap();
        }
        dealers.push(d);
    }
    let backlog = a.replica.pending();
    assert!(backlog > 12 * 4, "{backlog} changes pending");
    restart(&mut a);

    let done = sync_in_batches(&mut a, stated).await;
    assert_eq!(
        done.too_large, 1,
        "only the first, too-big request is refused"
    );
    assert!(done.refused.is_empty(), "{:?}", done.refused);
    assert!(done.sent.len() >= 5, "{} requests", done.sent.len());
    for req in &done.sent {
        let changes: usize = req.push.iter().map(|p| p.changes.len()).sum();
        assert!(
            req.push.len() <= 4 && changes <= 12,
            "{} docs, {changes} changes",
            req.push.len()
        );
    }
    assert_eq!(a.replica.pending(), 0, "nothing is left behind");

    assert!(b.sync().await.is_empty());
    for d in &dealers {
        let state = b.replica.dealer(d).unwrap().dealer_state().unwrap();
        assert_eq!(state.visits.len(), 2, "{d}");
    }
    server.stop().await;
}

/// One change bigger than any request may be is refused on the device and shown
/// as refused, is never sent again, and does not hold up the rest.
async fn a_change_too_large_for_any_request_is_refused_not_retried(backend: Backend) {
    let settings = small_limits();
    let stated = settings.push_limits();
    let server = TestServer::start_with(backend, settings).await;
    let (_ho, mut a, mut b, d) = setup_north(&server).await;
    // ~30 KB of text in one change, over the 32 KiB body once in base64.
    let s = a.stamp();
    let mut visit = Visit::new(a.user.clone(), s.at);
    visit.summary = (0..10_000u32)
        .map(|i| char::from_u32(0x4e00 + (i * 7919) % 20_000).unwrap())
        .collect();
    let big: VisitId = "v-big".parse().unwrap();
    a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&big, &visit, &s)
        .unwrap();
    let small: DealerId = "d-small".parse().unwrap();
    let s = a.stamp();
    a.replica
        .create_dealer(&tid("t-north"), small.clone(), &profile("小店"), &s)
        .unwrap();
    restart(&mut a);

    let done = sync_in_batches(&mut a, stated).await;
    assert_eq!(done.too_large, 1);
    assert_eq!(done.refused.len(), 1, "{:?}", done.refused);
    assert_eq!(done.refused[0].doc, DocId::Dealer(d.clone()));
    assert_eq!(done.refused[0].code, RejectCode::TooLarge);
    assert!(
        a.replica
            .rejections()
            .any(|r| r.doc == DocId::Dealer(d.clone())),
        "the user sees the refusal"
    );
    // The next sync does not send it again, and goes through.
    let again = sync_in_batches(&mut a, stated).await;
    assert_eq!(again.too_large, 0);
    assert!(
        again.sent.iter().all(|r| r.push.is_empty()),
        "the refused change is not retried"
    );

    assert!(b.sync().await.is_empty());
    assert!(b.replica.dealer(&small).is_ok(), "the rest went through");
    let state = b.replica.dealer(&d).unwrap().dealer_state().unwrap();
    assert!(!state.visits.contains_key(&big));
    server.stop().await;
}

/// Uploading many new dealers brings none of them back, even when the upload
/// is larger than a pull's page, and a retry after a lost response neither; a
/// second browser holding the same login (another replica) still gets them all.
async fn an_upload_pulls_none_of_its_own_changes_back(backend: Backend) {
    let settings = fieldsync_server::Settings {
        page_changes: 10,
        ..Default::default()
    };
    let server = TestServer::start_with(backend, settings).await;
    let (_ho, mut a, _b, _d) = setup_north(&server).await;
    let new_dealers = |a: &mut Device, from: usize, n: usize| {
        for i in from..from + n {
            let d: DealerId = format!("d-up-{i:02}").parse().unwrap();
            let s = a.stamp();
            a.replica
                .create_dealer(&tid("t-north"), d, &profile(&format!("新經銷商 {i}")), &s)
                .unwrap();
        }
    };
    new_dealers(&mut a, 0, 20);
    let (resp, report) = a.round().await;
    assert!(report.rejected.is_empty());
    assert_eq!(resp.accepted.len(), 21, "20 dealers and the territory");
    assert!(
        resp.changes.is_empty(),
        "{} documents came back",
        resp.changes.len()
    );
    assert!(!resp.more, "its own changes do not fill a page");
    assert_eq!(a.replica.pending(), 0);

    // The response is lost; the retry is acknowledged and brings nothing back either.
    new_dealers(&mut a, 20, 5);
    let req = a.replica.sync_request();
    assert_eq!(a.post(&req).await.status(), 200);
    let r = a.post(&req).await;
    assert_eq!(r.status(), 200);
    let retry: SyncResponse = r.json().await.unwrap();
    assert_eq!(retry.accepted.len(), 6);
    assert!(retry.changes.is_empty());
    assert!(!retry.more);
    a.replica.apply_response(&retry).unwrap();
    let (resp, _) = a.round().await;
    assert!(resp.changes.is_empty() && resp.accepted.is_empty());

    // Another replica on the same device token receives everything.
    let mut second = server.device("m1", &a.token);
    second.sync().await;
    for i in 0..25 {
        let d: DealerId = format!("d-up-{i:02}").parse().unwrap();
        assert!(second.replica.dealer(&d).is_ok(), "{d}");
    }
    server.stop().await;
}

/// Syncs as the web client does when requests take too long: a 408 makes the
/// next request smaller (never the same again), a request of one change is
/// sent again. Returns the (documents, changes) of each request answered, and
/// the number of 408s.
async fn sync_through_timeouts(dev: &mut Device) -> (Vec<(usize, usize)>, usize) {
    let (mut answered, mut timeouts) = (Vec::new(), 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        let req = dev.replica.sync_request();
        let shape = (
            req.push.len(),
            req.push.iter().map(|p| p.changes.len()).sum::<usize>(),
        );
        let r = dev.post(&req).await;
        if r.status() == 408 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "timeout", "{body}");
            timeouts += 1;
            if dev.replica.too_slow() {
                let next = dev.replica.sync_request();
                assert!(
                    next.push.len() < shape.0
                        || next.push.iter().map(|p| p.changes.len()).sum::<usize>() < shape.1,
                    "after a 408 the next request is smaller"
                );
            } else {
                assert!(shape.1 <= 1, "{shape:?} could have been smaller");
            }
            continue;
        }
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        let resp: SyncResponse = r.json().await.unwrap();
        let report = dev.replica.apply_response(&resp).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        answered.push(shape);
        if !report.more {
            return (answered, timeouts);
        }
    }
    panic!("the backlog never drained");
}

/// A device back with more new dealers than the server can decide within its
/// request timeout: the 408 makes the next request smaller, nothing is refused,
/// and everything arrives (what was committed before a cut is acknowledged when
/// sent again). The timeout is a second server's on the same database, so the
/// setup and the rest of the backlog do not depend on how fast this machine is.
async fn a_backlog_that_takes_too_long_goes_up_in_smaller_requests_after_a_408(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut a, mut b, _d) = setup_north(&server).await;
    let n = 1000;
    for i in 0..n {
        let d: DealerId = format!("d-slow-{i:03}").parse().unwrap();
        let s = a.stamp();
        a.replica
            .create_dealer(&tid("t-north"), d, &profile(&format!("經銷商 {i}")), &s)
            .unwrap();
    }
    // Far below what 1,000 new dealers take to decide (seconds in a debug build), on any machine.
    let strict = fieldsync_server::Settings {
        hardening: fieldsync_server::hardening::Hardening {
            request_timeout: std::time::Duration::from_millis(200),
            ..Default::default()
        },
        ..Default::default()
    };
    let (strict, stop) = server.second_replica_with(strict).await;
    let patient = std::mem::replace(&mut a.base, strict);
    let req = a.replica.sync_request();
    let (docs, changes) = (
        req.push.len(),
        req.push.iter().map(|p| p.changes.len()).sum::<usize>(),
    );
    let r = a.post(&req).await;
    assert_eq!(
        r.status(),
        408,
        "{n} new dealers were decided within 200 ms"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "timeout", "{body}");
    assert!(
        a.replica.too_slow(),
        "a request of {docs} documents could be smaller"
    );
    let next = a.replica.sync_request();
    assert!(
        next.push.len() < docs
            || next.push.iter().map(|p| p.changes.len()).sum::<usize>() < changes,
        "after a 408 the next request is smaller"
    );
    // The rest goes to a server with the usual timeout: the smaller requests, then larger again.
    a.base = patient;
    let (answered, _) = sync_through_timeouts(&mut a).await;
    assert!(answered.len() >= 2, "{answered:?}");
    assert!(
        answered[0].0 < docs,
        "{answered:?} after a 408 on {docs} documents"
    );
    assert_eq!(a.replica.pending(), 0, "nothing is left behind");
    sync_through_timeouts(&mut b).await;
    for i in 0..n {
        let d: DealerId = format!("d-slow-{i:03}").parse().unwrap();
        assert!(b.replica.dealer(&d).is_ok(), "{d}");
    }
    let territory = DocId::Territory(tid("t-north"));
    let heads = a.replica.doc_mut(&territory).unwrap().heads();
    assert_eq!(b.replica.doc_mut(&territory).unwrap().heads(), heads);
    let _ = stop.send(());
    server.stop().await;
}
