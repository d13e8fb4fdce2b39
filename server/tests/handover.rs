//! Territory handover (交接) through the real server, on SQLite and PostgreSQL: head office or the territory's regional manager reassigns a territory; the outgoing manager's offline work still arrives and joins the incoming manager's list; the incoming manager accepts or flags each item on the records; head office sees the items at risk; completing it (or its deadline) ends the outgoing manager's access without losing anything they recorded.

mod common;

use common::*;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{ClaimId, CommitmentId, DealerId, HandoverId, ProblemId};
use fieldsync_core::model::{
    Commitment, ExpenseCategory, ExpenseClaim, HandoverStage, Problem, ProblemCategory, Severity,
    Visit,
};
use fieldsync_core::money::Money;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{Hub, RejectCode, Rejection};
use serde_json::{Value as Json, json};

on_both_backends!(
    handover_story_through_the_server,
    only_head_office_or_the_territorys_regional_manager_reassigns,
    completing_with_a_pending_item_is_refused,
    after_the_deadline_the_outgoing_manager_loses_the_territory,
    an_edit_stamped_after_reassignment_is_held_then_released_by_the_incoming_manager,
    an_edit_synced_after_the_grace_period_is_held_and_may_be_declined,
    a_change_built_on_the_incoming_managers_work_is_held,
    at_risk_ages_and_buckets,
    both_managers_open_channels_are_told_to_sync,
    a_new_dealer_recorded_after_reassignment_is_held_in_its_handover,
);

/// Territory t-north (manager A = m1, regional manager r1) and t-south (regional r2);
/// manager B = m2 with no territory yet; head office ho. A has synced dealer d-n.
struct Scene {
    server: TestServer,
    ho: Device,
    a: Device,
    b: Device,
    r1: Device,
    r2: Device,
}

fn dn() -> DealerId {
    "d-n".parse().unwrap()
}

async fn scene(backend: Backend) -> Scene {
    let server = TestServer::start(backend).await;
    let ho = head_office_with_territories(&server, &[("t-north", &["m1"]), ("t-south", &[])]).await;
    let ta = server.user("m1", "manager", &["t-north"]).await;
    let tb = server.user("m2", "manager", &[]).await;
    let t1 = server.user("r1", "regional", &["t-north"]).await;
    let t2 = server.user("r2", "regional", &["t-south"]).await;
    let mut a = server.device("m1", &ta);
    let b = server.device("m2", &tb);
    let r1 = server.device("r1", &t1);
    let r2 = server.device("r2", &t2);
    a.sync().await;
    let s = a.stamp();
    a.replica
        .create_dealer(&tid("t-north"), dn(), &profile("林記商行"), &s)
        .unwrap();
    assert!(a.sync().await.is_empty());
    Scene {
        server,
        ho,
        a,
        b,
        r1,
        r2,
    }
}

/// `POST /api/territories/{territory}/handover` with `body`, as `token`.
async fn reassign(
    server: &TestServer,
    token: &str,
    territory: &str,
    body: &Json,
) -> reqwest::Response {
    server
        .http
        .post(format!(
            "{}/api/territories/{territory}/handover",
            server.base
        ))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("POST handover")
}

/// Reassigns t-north from m1 to m2 as `token` (201 expected); the handover's id.
async fn hand_north_over(server: &TestServer, token: &str, extra: Json) -> HandoverId {
    let mut body = json!({"from": "m1", "to": "m2"});
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let r = reassign(server, token, "t-north", &body).await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let h: Json = r.json().await.unwrap();
    assert_eq!(
        (h["from"].as_str(), h["to"].as_str()),
        (Some("m1"), Some("m2"))
    );
    h["id"].as_str().unwrap().parse().unwrap()
}

async fn complete(server: &TestServer, token: &str, h: &HandoverId) -> reqwest::Response {
    server
        .http
        .post(format!("{}/api/handovers/{h}/complete", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("POST complete")
}

async fn code_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Json = r.json().await.unwrap_or(Json::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// The handover `h` as `token` sees it in `GET /api/handovers?status=all`.
async fn listed(server: &TestServer, token: &str, h: &HandoverId) -> Json {
    let j = server
        .get_json(token, "/api/handovers?status=all&territory=t-north")
        .await;
    j["handovers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == h.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("handover {h} not listed: {j}"))
}

/// (kind, id, state, late) of every item of a listed handover.
fn items(h: &Json) -> Vec<(String, String, String, bool)> {
    let mut out: Vec<_> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["id"].as_str().unwrap().to_owned(),
                i["state"].as_str().unwrap().to_owned(),
                i["late"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn item(kind: &str, id: &str, state: &str, late: bool) -> (String, String, String, bool) {
    (kind.to_owned(), id.to_owned(), state.to_owned(), late)
}

fn twd(minor: i64) -> Money {
    Money::new(minor, "TWD".parse().unwrap()).unwrap()
}

/// `dev` records, without syncing, a commitment `k`, a claim `c` and a problem `p` at d-n.
fn record_three(dev: &mut Device) -> (CommitmentId, ClaimId, ProblemId) {
    let (k, c, p): (CommitmentId, ClaimId, ProblemId) = (
        "k-a".parse().unwrap(),
        "c-a".parse().unwrap(),
        "p-a".parse().unwrap(),
    );
    let s = dev.stamp();
    let due = Day::from_ymd(2026, 3, 1).unwrap();
    let commitment = Commitment::new("補貨五箱", "林老闆", s.user.clone(), s.at, due);
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&k, &commitment, &s)
        .unwrap();
    let s = dev.stamp();
    let claim = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市陳列",
        twd(50_000),
        s.user.clone(),
        s.at,
    );
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&c, &claim, &s)
        .unwrap();
    let s = dev.stamp();
    let problem = Problem::new(
        ProblemCategory::Market,
        Severity::High,
        "競品削價",
        s.user.clone(),
        s.at,
    );
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&p, &problem, &s)
        .unwrap();
    (k, c, p)
}

/// `dev` reviews record `id` in handover `h` and syncs; what the server refused.
async fn review<R: fieldsync_core::model::handover::Handed>(
    dev: &mut Device,
    id: &R::Id,
    h: &HandoverId,
    stage: HandoverStage,
    reason: Option<&str>,
) -> Vec<Rejection> {
    let s = dev.stamp();
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .review::<R>(id, h, stage, reason, &s)
        .unwrap();
    let refused = dev.sync().await;
    if !refused.is_empty() {
        dev.replica.discard_pending(&DocId::Dealer(dn())).unwrap();
    }
    refused
}

/// The dealer document as the server stores it.
async fn stored(server: &TestServer) -> fieldsync_core::doc::DealerState {
    let doc = server
        .store
        .load_doc(&DocId::Dealer(dn()).to_string())
        .await
        .unwrap()
        .expect("the dealer is stored");
    Document::load(&doc.snapshot, Hub::actor())
        .unwrap()
        .dealer_state()
        .unwrap()
}

fn refused_for(r: &[Rejection], code: RejectCode, rule: &str) {
    assert_eq!(r.len(), 1, "one refusal expected: {r:?}");
    assert_eq!(r[0].code, code, "{r:?}");
    assert_eq!(r[0].rule.as_deref(), Some(rule), "{r:?}");
}

async fn handover_story_through_the_server(backend: Backend) {
    let mut sc = scene(backend).await;
    // 1. Offline, A records a commitment, a claim and a problem at d-n.
    let (k, c, p) = record_three(&mut sc.a);

    // 2. The territory's regional manager hands t-north to B while A is offline.
    let h = hand_north_over(&sc.server, &sc.r1.token, json!({})).await;
    let listed_now = listed(&sc.server, &sc.b.token, &h).await;
    assert!(
        items(&listed_now).is_empty(),
        "A had nothing open on the server yet"
    );
    // A syncs afterwards: edits stamped before the reassignment, within the grace period.
    assert!(sc.a.sync().await.is_empty(), "A's offline work is taken");
    assert_eq!(sc.a.replica.pending(), 0);
    let seen = listed(&sc.server, &sc.b.token, &h).await;
    assert_eq!(
        items(&seen),
        vec![
            item("claim", c.as_str(), "pending", true),
            item("commitment", k.as_str(), "pending", true),
            item("problem", p.as_str(), "pending", true),
        ],
        "A's late records join B's list"
    );
    assert_eq!(seen["counts"]["pending"], 3);
    // A still reads t-north during the handover.
    assert!(sc.a.replica.doc(&DocId::Dealer(dn())).is_some());

    // 3. B syncs, accepts the commitment and the claim, flags the problem.
    assert!(sc.b.sync().await.is_empty());
    assert!(
        sc.b.replica.doc(&DocId::Dealer(dn())).is_some(),
        "B reads t-north"
    );
    assert!(
        review::<Commitment>(&mut sc.b, &k, &h, HandoverStage::Accepted, None)
            .await
            .is_empty()
    );
    assert!(
        review::<ExpenseClaim>(&mut sc.b, &c, &h, HandoverStage::Accepted, None)
            .await
            .is_empty()
    );
    assert!(
        review::<Problem>(
            &mut sc.b,
            &p,
            &h,
            HandoverStage::Flagged,
            Some("經銷商說已談妥，需再確認")
        )
        .await
        .is_empty()
    );
    let seen = listed(&sc.server, &sc.ho.token, &h).await;
    assert_eq!(
        items(&seen),
        vec![
            item("claim", c.as_str(), "accepted", true),
            item("commitment", k.as_str(), "accepted", true),
            item("problem", p.as_str(), "flagged", true),
        ]
    );
    let flagged = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "problem")
        .unwrap();
    assert_eq!(flagged["reason"], "經銷商說已談妥，需再確認");
    assert_eq!(flagged["by"], "m2");
    // Head office's claims list names who carries the claim now.
    let claims = sc.server.get_json(&sc.ho.token, "/api/claims").await;
    let row = claims["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == c.as_str())
        .expect("the claim is listed");
    assert_eq!(
        (&row["requested_by"], &row["owner"]),
        (&json!("m1"), &json!("m2"))
    );

    // 4. Head office's at-risk list holds only the flagged problem, with its age.
    let risk = sc
        .server
        .get_json(&sc.ho.token, "/api/handovers/at-risk")
        .await;
    assert_eq!(risk["total"], 1, "{risk}");
    let only = &risk["items"][0];
    assert_eq!(
        (only["kind"].as_str(), only["id"].as_str()),
        (Some("problem"), Some(p.as_str()))
    );
    assert_eq!(only["state"], "flagged");
    assert_eq!(only["territory"], "t-north");
    // Raised in January 2026 (the devices' clock): months old by the server's clock.
    let age = only["age_days"].as_i64().unwrap();
    assert!(age >= 1, "age_days {age}");
    // Reassigned just now (1 only if midnight passed in the territory's zone meanwhile).
    assert!(only["days_since_handover"].as_i64().unwrap() <= 1);
    let by_state = &risk["totals"]["by_state"];
    assert!(
        by_state
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["state"] == "flagged" && s["n"] == 1),
        "{by_state}"
    );
    let in_buckets: i64 = risk["totals"]["by_age"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["n"].as_i64().unwrap())
        .sum();
    assert_eq!(in_buckets, 1);
    // A may not review in B's place.
    sc.a.sync().await;
    refused_for(
        &review::<Problem>(&mut sc.a, &p, &h, HandoverStage::Accepted, None).await,
        RejectCode::Forbidden,
        "not_incoming",
    );
    // A's device drops the refused edit and reads t-north again from the start.
    assert!(sc.a.sync().await.is_empty());
    // B completes the handover.
    let r = complete(&sc.server, &sc.b.token, &h).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let done: Json = r.json().await.unwrap();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["completed_by"], "m2");

    // 5. A's next sync revokes t-north: nothing of it stays on A's device, nothing is lost.
    let (resp, _) = sc.a.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert!(sc.a.replica.doc(&DocId::Dealer(dn())).is_none());
    assert!(
        sc.a.replica
            .doc(&DocId::Territory(tid("t-north")))
            .is_none()
    );
    assert_eq!(sc.a.replica.undelivered().count(), 0);
    assert_eq!(sc.a.replica.pending(), 0);
    let doc = stored(&sc.server).await;
    let m1 = "m1".parse().unwrap();
    let m2 = "m2".parse().unwrap();
    assert_eq!(doc.commitments[&k].holder(), &m2);
    assert_eq!(doc.claims[&c].holder(), Some(&m2));
    assert_eq!(doc.problems[&p].holder(), Some(&m1));
    // The at-risk list still shows the flagged problem after completion.
    let risk = sc
        .server
        .get_json(&sc.ho.token, "/api/handovers/at-risk?territory=t-north")
        .await;
    assert_eq!(risk["total"], 1);
    sc.server.stop().await;
}

async fn only_head_office_or_the_territorys_regional_manager_reassigns(backend: Backend) {
    let sc = scene(backend).await;
    let body = json!({"from": "m1", "to": "m2"});
    let admin = sc.server.user("adm", "admin", &[]).await;
    for (who, token) in [
        ("the outgoing manager", &sc.a.token),
        ("the incoming manager", &sc.b.token),
        ("an admin", &admin),
        ("another territory's regional manager", &sc.r2.token),
    ] {
        let (status, code) = code_of(reassign(&sc.server, token, "t-north", &body).await).await;
        assert_eq!((status, code.as_str()), (403, "forbidden"), "{who}");
    }
    // Invalid requests: nothing changes.
    for (body, why) in [
        (
            json!({"from": "m2", "to": "m1"}),
            "from is not assigned the territory",
        ),
        (json!({"from": "m1", "to": "r1"}), "to is not a manager"),
        (json!({"from": "m1", "to": "m1"}), "the same user"),
        (json!({"from": "m1", "to": "nobody"}), "no such user"),
        (
            json!({"from": "m1", "to": "m2", "deadline_days": 91}),
            "deadline too long",
        ),
        (
            json!({"from": "m1", "to": "m2", "deadline_days": 2, "grace_days": 3}),
            "grace beyond deadline",
        ),
    ] {
        let (status, code) =
            code_of(reassign(&sc.server, &sc.ho.token, "t-north", &body).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid"), "{why}");
    }
    let (status, code) =
        code_of(reassign(&sc.server, &sc.ho.token, "t-nowhere", &body).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!(
        sc.server.store.user_territories("m1").await.unwrap(),
        vec!["t-north".to_owned()]
    );
    // The territory's regional manager may; a second open handover may not be started.
    let h = hand_north_over(&sc.server, &sc.r1.token, json!({})).await;
    assert_eq!(
        sc.server.store.user_territories("m2").await.unwrap(),
        vec!["t-north".to_owned()]
    );
    assert!(
        sc.server
            .store
            .user_territories("m1")
            .await
            .unwrap()
            .is_empty()
    );
    let again = json!({"from": "m2", "to": "m1"});
    let (status, code) = code_of(reassign(&sc.server, &sc.ho.token, "t-north", &again).await).await;
    assert_eq!((status, code.as_str()), (409, "handover_open"));
    // Head office may too, once the first one is completed (nothing was open).
    assert_eq!(complete(&sc.server, &sc.ho.token, &h).await.status(), 200);
    let (status, code) = code_of(complete(&sc.server, &sc.ho.token, &h).await).await;
    assert_eq!((status, code.as_str()), (409, "handover_closed"));
    let r = reassign(&sc.server, &sc.ho.token, "t-north", &again).await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    // Who sees which handover.
    let n = |j: Json| j["handovers"].as_array().unwrap().len();
    assert_eq!(
        n(sc.server
            .get_json(&sc.ho.token, "/api/handovers?status=all")
            .await),
        2
    );
    assert_eq!(
        n(sc.server
            .get_json(&sc.r1.token, "/api/handovers?status=all")
            .await),
        2
    );
    assert_eq!(
        n(sc.server
            .get_json(&sc.r2.token, "/api/handovers?status=all")
            .await),
        0
    );
    assert_eq!(
        n(sc.server.get_json(&sc.a.token, "/api/handovers").await),
        1
    );
    sc.server.stop().await;
}

async fn completing_with_a_pending_item_is_refused(backend: Backend) {
    let mut sc = scene(backend).await;
    let (k, c, p) = record_three(&mut sc.a);
    assert!(sc.a.sync().await.is_empty());
    let h = hand_north_over(&sc.server, &sc.ho.token, json!({})).await;
    // The snapshot at reassignment lists A's three open items (not late).
    let seen = listed(&sc.server, &sc.b.token, &h).await;
    assert_eq!(
        items(&seen),
        vec![
            item("claim", c.as_str(), "pending", false),
            item("commitment", k.as_str(), "pending", false),
            item("problem", p.as_str(), "pending", false),
        ]
    );
    let (status, code) = code_of(complete(&sc.server, &sc.b.token, &h).await).await;
    assert_eq!((status, code.as_str()), (409, "handover_pending"));
    // The outgoing manager may not complete it.
    let (status, _) = code_of(complete(&sc.server, &sc.a.token, &h).await).await;
    assert_eq!(status, 403);
    assert!(sc.b.sync().await.is_empty());
    assert!(
        review::<Commitment>(&mut sc.b, &k, &h, HandoverStage::Accepted, None)
            .await
            .is_empty()
    );
    assert!(
        review::<Problem>(&mut sc.b, &p, &h, HandoverStage::Flagged, Some("待查"))
            .await
            .is_empty()
    );
    let (status, code) = code_of(complete(&sc.server, &sc.b.token, &h).await).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "handover_pending"),
        "the claim is pending"
    );
    assert!(
        review::<ExpenseClaim>(&mut sc.b, &c, &h, HandoverStage::Accepted, None)
            .await
            .is_empty()
    );
    assert_eq!(complete(&sc.server, &sc.b.token, &h).await.status(), 200);
    sc.server.stop().await;
}

async fn after_the_deadline_the_outgoing_manager_loses_the_territory(backend: Backend) {
    let mut sc = scene(backend).await;
    // Offline, A records a visit; the handover's deadline is today.
    let s = sc.a.stamp();
    let v = Visit::new(s.user.clone(), s.at);
    sc.a.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&"v-a".parse().unwrap(), &v, &s)
        .unwrap();
    let h = hand_north_over(&sc.server, &sc.ho.token, json!({"deadline_days": 0})).await;
    let (resp, _) = sc.a.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert!(sc.a.replica.doc(&DocId::Dealer(dn())).is_none());
    // Nothing is lost: the visit is kept on the device as not delivered.
    assert_eq!(sc.a.replica.undelivered().count(), 1);
    let shown = listed(&sc.server, &sc.ho.token, &h).await;
    assert_eq!(shown["status"], "expired");
    assert_eq!(shown["completed_by"], "deadline");
    // An expired handover no longer blocks the next one.
    let r = reassign(
        &sc.server,
        &sc.ho.token,
        "t-north",
        &json!({"from": "m2", "to": "m1"}),
    )
    .await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    sc.server.stop().await;
}

async fn an_edit_stamped_after_reassignment_is_held_then_released_by_the_incoming_manager(
    backend: Backend,
) {
    let mut sc = scene(backend).await;
    let h = hand_north_over(&sc.server, &sc.ho.token, json!({})).await;
    let reassigned_at = listed(&sc.server, &sc.ho.token, &h).await["reassigned_at"]
        .as_i64()
        .unwrap();
    // A records a commitment stamped after the reassignment.
    let k: CommitmentId = "k-late".parse().unwrap();
    let s = Stamp::new(
        sc.a.user.clone(),
        sc.a.id.clone(),
        Timestamp(reassigned_at + 1),
    );
    let due = Day::from_ymd(2027, 3, 1).unwrap();
    let commitment = Commitment::new("年後補貨", "林老闆", s.user.clone(), s.at, due);
    sc.a.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&k, &commitment, &s)
        .unwrap();
    let refused = sc.a.sync().await;
    refused_for(&refused, RejectCode::Forbidden, "handed_over");
    assert_eq!(sc.a.replica.pending(), 1, "the device keeps it pending");
    assert!(!stored(&sc.server).await.commitments.contains_key(&k));
    let held = sc
        .server
        .get_json(&sc.b.token, &format!("/api/handovers/{h}/held"))
        .await;
    let docs = held["docs"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{held}");
    assert_eq!(docs[0]["doc"], DocId::Dealer(dn()).to_string());
    assert_eq!(docs[0]["state"], "held");
    assert_eq!(listed(&sc.server, &sc.b.token, &h).await["held"], 1);
    // Sent again, it is held once.
    sc.a.sync().await;
    assert_eq!(listed(&sc.server, &sc.b.token, &h).await["held"], 1);
    // A may not release it; B does.
    let release = |token: String| {
        let url = format!(
            "{}/api/handovers/{h}/held/{}/release",
            sc.server.base,
            DocId::Dealer(dn())
        );
        let http = sc.server.http.clone();
        async move { http.post(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(release(sc.a.token.clone()).await.status(), 403);
    let r = release(sc.b.token.clone()).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert!(stored(&sc.server).await.commitments.contains_key(&k));
    let held = sc
        .server
        .get_json(&sc.b.token, &format!("/api/handovers/{h}/held"))
        .await;
    assert_eq!(held["docs"][0]["state"], "released");
    assert_eq!(held["docs"][0]["decided_by"], "m2");
    // A's next push is acknowledged (the change is now the server's).
    assert!(sc.a.sync().await.is_empty());
    assert_eq!(sc.a.replica.pending(), 0);
    // The released commitment joined B's list, late.
    let seen = listed(&sc.server, &sc.b.token, &h).await;
    assert_eq!(
        items(&seen),
        vec![item("commitment", k.as_str(), "pending", true)]
    );
    sc.server.stop().await;
}

/// `POST /api/handovers/{h}/held/{doc}/{what}` as `token`.
async fn decide_held(
    server: &TestServer,
    token: &str,
    h: &HandoverId,
    what: &str,
) -> reqwest::Response {
    server
        .http
        .post(format!(
            "{}/api/handovers/{h}/held/{}/{what}",
            server.base,
            DocId::Dealer(dn())
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn an_edit_synced_after_the_grace_period_is_held_and_may_be_declined(backend: Backend) {
    let mut sc = scene(backend).await;
    // Recorded offline before the reassignment, but the grace period is none.
    let (k, _, _) = record_three(&mut sc.a);
    let h = hand_north_over(&sc.server, &sc.ho.token, json!({"grace_days": 0})).await;
    refused_for(&sc.a.sync().await, RejectCode::Forbidden, "handed_over");
    assert_eq!(sc.a.replica.pending(), 3, "kept on the device");
    assert!(!stored(&sc.server).await.commitments.contains_key(&k));
    assert_eq!(listed(&sc.server, &sc.b.token, &h).await["held"], 3);
    // B keeps them aside: marked, never deleted; A may not decide.
    assert_eq!(
        decide_held(&sc.server, &sc.a.token, &h, "decline")
            .await
            .status(),
        403
    );
    let r = decide_held(&sc.server, &sc.b.token, &h, "decline").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let declined: Json = r.json().await.unwrap();
    assert_eq!(
        (declined["state"].as_str(), declined["changes"].as_i64()),
        (Some("declined"), Some(3))
    );
    let (status, code) = code_of(decide_held(&sc.server, &sc.b.token, &h, "release").await).await;
    assert_eq!(
        (status, code.as_str()),
        (404, "not_found"),
        "nothing is held any more"
    );
    let held = sc
        .server
        .get_json(&sc.ho.token, &format!("/api/handovers/{h}/held"))
        .await;
    assert_eq!(held["docs"][0]["state"], "declined");
    assert_eq!(held["docs"][0]["changes"], 3);
    assert!(!stored(&sc.server).await.commitments.contains_key(&k));
    // Completed: A loses the territory and keeps the edits as not delivered.
    assert_eq!(complete(&sc.server, &sc.b.token, &h).await.status(), 200);
    let (resp, _) = sc.a.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert_eq!(sc.a.replica.undelivered().count(), 1);
    sc.server.stop().await;
}

async fn a_change_built_on_the_incoming_managers_work_is_held(backend: Backend) {
    let mut sc = scene(backend).await;
    let h = hand_north_over(&sc.server, &sc.ho.token, json!({})).await;
    // B records a visit at d-n after the reassignment; A reads it …
    assert!(sc.b.sync().await.is_empty());
    let s = sc.b.stamp();
    sc.b.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(
            &"v-b".parse().unwrap(),
            &Visit::new(s.user.clone(), s.at),
            &s,
        )
        .unwrap();
    assert!(sc.b.sync().await.is_empty());
    assert!(sc.a.sync().await.is_empty());
    // … and then records a commitment, its clock saying it was before the reassignment.
    let (k, _, _) = record_three(&mut sc.a);
    refused_for(&sc.a.sync().await, RejectCode::Forbidden, "handed_over");
    assert!(!stored(&sc.server).await.commitments.contains_key(&k));
    assert_eq!(listed(&sc.server, &sc.b.token, &h).await["held"], 3);
    // Released by head office, it is delivered.
    let r = decide_held(&sc.server, &sc.ho.token, &h, "release").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert!(stored(&sc.server).await.commitments.contains_key(&k));
    assert!(sc.a.sync().await.is_empty());
    assert_eq!(sc.a.replica.pending(), 0);
    sc.server.stop().await;
}

const DAY: i64 = 86_400_000;

async fn at_risk_ages_and_buckets(backend: Backend) {
    // The server's clock is fixed 200 days after the devices' first stamps.
    let now = 1_767_225_600_000 + 200 * DAY;
    let settings = fieldsync_server::Settings {
        clock: Some(now),
        ..Default::default()
    };
    let server = TestServer::start_with(backend, settings).await;
    let ho = head_office_with_territories(&server, &[("t-north", &["m1"]), ("t-south", &[])]).await;
    let ta = server.user("m1", "manager", &["t-north"]).await;
    let tb = server.user("m2", "manager", &[]).await;
    let t2 = server.user("r2", "regional", &["t-south"]).await;
    let mut a = server.device("m1", &ta);
    let mut b = server.device("m2", &tb);
    a.sync().await;
    let s = a.stamp();
    a.replica
        .create_dealer(&tid("t-north"), dn(), &profile("林記商行"), &s)
        .unwrap();
    // Commitments made 3, 10, 40 and 100 days before now, and one kept (not at risk).
    for (id, days) in [
        ("k3", 3),
        ("k10", 10),
        ("k40", 40),
        ("k100", 100),
        ("k-kept", 50),
    ] {
        let made = Timestamp(now - days * DAY);
        let s = Stamp::new(a.user.clone(), a.id.clone(), made);
        let due = made.day().unwrap().add_days(30).unwrap();
        let c = Commitment::new(format!("承諾 {id}"), "林老闆", s.user.clone(), made, due);
        let k: CommitmentId = id.parse().unwrap();
        a.replica
            .dealer_mut(&dn())
            .unwrap()
            .insert(&k, &c, &s)
            .unwrap();
    }
    assert!(a.sync().await.is_empty());
    let h = hand_north_over(&server, &ho.token, json!({})).await;
    assert!(b.sync().await.is_empty());
    let k10: CommitmentId = "k10".parse().unwrap();
    assert!(
        review::<Commitment>(&mut b, &k10, &h, HandoverStage::Flagged, Some("金額不明"))
            .await
            .is_empty()
    );
    let kept: CommitmentId = "k-kept".parse().unwrap();
    let s = b.stamp();
    b.replica
        .dealer_mut(&dn())
        .unwrap()
        .advance::<Commitment>(
            &kept,
            fieldsync_core::model::CommitmentStatus::Kept,
            Json::Null,
            &s,
        )
        .unwrap();
    assert!(b.sync().await.is_empty());

    let risk = server.get_json(&ho.token, "/api/handovers/at-risk").await;
    let rows: Vec<(String, i64, String)> = risk["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["age_days"].as_i64().unwrap(),
                i["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = |v: &[(&str, i64, &str)]| -> Vec<(String, i64, String)> {
        v.iter()
            .map(|(a, b, c)| ((*a).to_owned(), *b, (*c).to_owned()))
            .collect()
    };
    assert_eq!(
        rows,
        want(&[
            ("k100", 100, "pending"),
            ("k40", 40, "pending"),
            ("k10", 10, "flagged"),
            ("k3", 3, "pending"),
        ]),
        "oldest first; the kept one is not at risk"
    );
    assert_eq!(risk["items"][0]["days_since_handover"], 0);
    let by_age: Vec<i64> = risk["totals"]["by_age"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["n"].as_i64().unwrap())
        .collect();
    assert_eq!(by_age, vec![1, 1, 1, 1], "{}", risk["totals"]);
    assert_eq!(
        risk["totals"]["by_state"],
        json!([{"state": "flagged", "n": 1}, {"state": "pending", "n": 3}])
    );
    // Filters and paging.
    let page = server
        .get_json(
            &ho.token,
            "/api/handovers/at-risk?manager=m2&per_page=3&page=2",
        )
        .await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(4), 1)
    );
    assert_eq!(page["items"][0]["id"], "k3");
    let none = server
        .get_json(&ho.token, "/api/handovers/at-risk?manager=m9")
        .await;
    assert_eq!(none["total"], 0);
    assert_eq!(
        server.get_json(&t2, "/api/handovers/at-risk").await["total"],
        0
    );
    assert_eq!(
        server.get_json(&tb, "/api/handovers/at-risk").await["total"],
        4
    );
    let bad = server
        .get(&ho.token, "/api/handovers/at-risk?per_page=501")
        .await;
    assert_eq!(bad.status(), 400);
    server.stop().await;
}

async fn both_managers_open_channels_are_told_to_sync(backend: Backend) {
    let mut settings = fieldsync_server::Settings::default();
    // No ping within the test: whatever a channel hears comes from the handover itself.
    settings.hardening.live_ping = std::time::Duration::from_secs(3600);
    let server = TestServer::start_with(backend, settings).await;
    let ho = head_office_with_territories(&server, &[("t-north", &["m1"])]).await;
    let ta = server.user("m1", "manager", &["t-north"]).await;
    let tb = server.user("m2", "manager", &[]).await;
    let ready = Some(r#"{"type":"ready"}"#);
    let sync = Some(r#"{"type":"sync"}"#);
    let mut wa = live(&server.base, &ta).await;
    let mut wb = live(&server.base, &tb).await;
    assert_eq!(next_text(&mut wa).await.as_deref(), ready);
    assert_eq!(next_text(&mut wb).await.as_deref(), ready);
    let h = hand_north_over(&server, &ho.token, json!({})).await;
    // B now reads t-north: told at once. A still reads it (the read period).
    assert_eq!(
        next_text(&mut wb).await.as_deref(),
        sync,
        "the incoming manager"
    );
    assert_eq!(complete(&server, &tb, &h).await.status(), 200);
    // A's read period is over: told at once, so its device removes the territory.
    assert_eq!(
        next_text(&mut wa).await.as_deref(),
        sync,
        "the outgoing manager"
    );
    server.stop().await;
}

async fn a_new_dealer_recorded_after_reassignment_is_held_in_its_handover(backend: Backend) {
    let mut sc = scene(backend).await;
    let h = hand_north_over(&sc.server, &sc.ho.token, json!({})).await;
    let reassigned_at = listed(&sc.server, &sc.ho.token, &h).await["reassigned_at"]
        .as_i64()
        .unwrap();
    // A creates a dealer in t-north, stamped after the reassignment: a document the server never had.
    let fresh: DealerId = "d-new".parse().unwrap();
    let s = Stamp::new(
        sc.a.user.clone(),
        sc.a.id.clone(),
        Timestamp(reassigned_at + 1_000),
    );
    sc.a.replica
        .create_dealer(&tid("t-north"), fresh.clone(), &profile("新開店"), &s)
        .unwrap();
    // Both the new dealer and the territory's dealer index are held.
    let refused = sc.a.sync().await;
    let mut docs: Vec<String> = refused.iter().map(|r| r.doc.to_string()).collect();
    docs.sort();
    assert_eq!(
        docs,
        vec!["dealer:d-new", "territory:t-north"],
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .all(|r| r.rule.as_deref() == Some("handed_over"))
    );
    let doc = DocId::Dealer(fresh).to_string();
    assert!(sc.server.store.load_doc(&doc).await.unwrap().is_none());
    let held = sc
        .server
        .get_json(&sc.b.token, &format!("/api/handovers/{h}/held"))
        .await;
    let mut held_docs: Vec<&str> = held["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["doc"].as_str().unwrap())
        .collect();
    held_docs.sort();
    assert_eq!(held_docs, docs, "{held}");
    for d in &docs {
        let r = sc
            .server
            .http
            .post(format!(
                "{}/api/handovers/{h}/held/{d}/release",
                sc.server.base
            ))
            .bearer_auth(&sc.b.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{d}: {:?}", r.text().await);
    }
    let stored = sc
        .server
        .store
        .load_doc(&doc)
        .await
        .unwrap()
        .expect("delivered");
    assert_eq!(stored.territory, "t-north");
    assert!(sc.a.sync().await.is_empty());
    assert_eq!(sc.a.replica.pending(), 0);
    sc.server.stop().await;
}
