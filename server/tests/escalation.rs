//! Problems escalated to head office through the real server, on SQLite and PostgreSQL: the escalation queue's contents and age buckets, head office's answer reaching the manager's phone, who may answer (not a manager, not the one who escalated), and resolution with who and when.

mod common;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, ProblemId};
use fieldsync_core::model::{Problem, ProblemCategory, ProblemStatus, Severity};
use fieldsync_core::sync::{RejectCode, Rejection};
use serde_json::{Value as Json, json};

on_both_backends!(the_escalation_queue_and_head_offices_answer,);

fn dn() -> DealerId {
    "d-n".parse().unwrap()
}

fn pid(s: &str) -> ProblemId {
    s.parse().unwrap()
}

/// `dev` raises problem `id` and syncs it.
async fn raise(dev: &mut Device, id: &str, title: &str) {
    let s = dev.stamp();
    let p = Problem::new(
        ProblemCategory::Dealer,
        Severity::High,
        title,
        s.user.clone(),
        s.at,
    );
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&pid(id), &p, &s)
        .unwrap();
    assert!(dev.sync().await.is_empty());
}

/// Syncs, edits with `work`, syncs; returns what the server refused (dropped from the device).
async fn act(
    dev: &mut Device,
    work: impl FnOnce(&mut fieldsync_core::doc::Document, &fieldsync_core::stamp::Stamp),
) -> Vec<Rejection> {
    dev.sync().await;
    let s = dev.stamp();
    work(dev.replica.dealer_mut(&dn()).unwrap(), &s);
    let refused = dev.sync().await;
    if !refused.is_empty() {
        dev.replica.discard_pending(&DocId::Dealer(dn())).unwrap();
    }
    refused
}

fn refused_for(r: &[Rejection], rule: &str) {
    assert_eq!(r.len(), 1, "one refusal expected: {r:?}");
    assert_eq!(r[0].code, RejectCode::Forbidden);
    assert_eq!(r[0].rule.as_deref(), Some(rule), "{r:?}");
}

/// Head office's queue: `[id, responded_by, response]` of each item.
async fn queue(server: &TestServer, token: &str) -> (Vec<Json>, Json) {
    let page = server.get_json(token, "/api/problems?escalated=true").await;
    let items = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!([p["id"], p["escalated_by"], p["responded_by"], p["response"]]))
        .collect();
    (items, page["totals"]["open_by_age"].clone())
}

async fn the_escalation_queue_and_head_offices_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut ho = head_office_with_territories(&server, &[("t-north", &["m1"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    let mut m2 = server.device("m2", &t2);
    m1.sync().await;
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dn(), &profile("林記商行"), &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());

    raise(&mut m1, "p-wages", "八月業務員工資未結清").await;
    raise(&mut m1, "p-fee", "鋪市費用核報延誤").await;
    raise(&mut m1, "p-local", "招牌破損").await;
    for p in ["p-wages", "p-fee"] {
        assert!(
            act(&mut m1, |d, s| d.escalate(&pid(p), s).unwrap())
                .await
                .is_empty()
        );
    }
    let (items, ages) = queue(&server, &ho.token).await;
    assert_eq!(
        items,
        [
            json!(["p-wages", "m1", null, null]),
            json!(["p-fee", "m1", null, null])
        ]
    );
    // Raised on the device's day, 2026-01-01: older than a quarter.
    let n: Vec<i64> = ages
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["n"].as_i64().unwrap())
        .collect();
    assert_eq!(n, [0, 0, 0, 2]);
    // The manager sees the queue of their territories too; the unescalated problem is not in it.
    assert_eq!(queue(&server, &t1).await.0.len(), 2);

    // A manager does not answer an escalation, and nobody answers their own.
    refused_for(
        &act(&mut m2, |d, s| {
            d.respond(&pid("p-wages"), "我來處理", None, s).unwrap()
        })
        .await,
        "role",
    );
    assert!(
        act(&mut ho, |d, s| d.escalate(&pid("p-local"), s).unwrap())
            .await
            .is_empty()
    );
    refused_for(
        &act(&mut ho, |d, s| {
            d.respond(&pid("p-local"), "自己回覆", None, s).unwrap()
        })
        .await,
        "self_approval",
    );

    // Head office answers and assigns the problem to m2, as an ordinary signed change.
    let m2_id = "m2".parse().unwrap();
    assert!(
        act(&mut ho, |d, s| d
            .respond(
                &pid("p-wages"),
                "總部本週撥款，請 m2 與經銷商結清",
                Some(&m2_id),
                s
            )
            .unwrap())
        .await
        .is_empty()
    );
    // The manager's phone shows the answer with its next sync.
    m1.sync().await;
    let seen: Problem = m1
        .replica
        .dealer(&dn())
        .unwrap()
        .record(&pid("p-wages"))
        .unwrap()
        .unwrap();
    assert_eq!(
        seen.response.as_deref(),
        Some("總部本週撥款，請 m2 與經銷商結清")
    );
    assert_eq!(seen.owner, Some(m2_id.clone()));
    assert!(!seen.awaits_head_office());

    // Resolved: who and when; it leaves the queue.
    assert!(
        act(&mut m2, |d, s| d
            .advance::<Problem>(
                &pid("p-fee"),
                ProblemStatus::Resolved,
                json!({"resolution": "已核報"}),
                s
            )
            .unwrap())
        .await
        .is_empty()
    );
    let (items, _) = queue(&server, &ho.token).await;
    assert_eq!(
        items,
        [
            json!(["p-wages", "m1", "ho", "總部本週撥款，請 m2 與經銷商結清"]),
            json!(["p-local", "ho", null, null])
        ]
    );
    let all = server
        .get_json(&ho.token, "/api/problems?status=resolved")
        .await;
    assert_eq!(all["items"][0]["id"], "p-fee");
    assert_eq!(all["items"][0]["resolved_by"], "m2");
    assert!(all["items"][0]["resolved_at"].as_i64().is_some());
    assert_eq!(
        server
            .get_json(&ho.token, "/api/problems?escalated=true")
            .await["items"][0]["assigned_to"],
        "m2"
    );
    server.stop().await;
}
