//! Reconciliation ageing through the real server, on SQLite and PostgreSQL: a spent claim not reconciled is overdue from the day after head office's days have passed (the boundary day), a reconciled one never; only head office sets the days.

mod common;

use common::*;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::ids::{ClaimId, DealerId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim};
use fieldsync_core::money::Money;
use serde_json::{Value as Json, json};

on_both_backends!(overdue_from_the_day_after_the_allowed_days,);

fn dn() -> DealerId {
    "d-n".parse().unwrap()
}

/// `dev` requests claim `id` of NT$100 at `dealer` and syncs it.
async fn request(dev: &mut Device, id: &str) -> ClaimId {
    let claim: ClaimId = id.parse().unwrap();
    let s = dev.stamp();
    let c = ExpenseClaim::new(
        ExpenseCategory::Event,
        "說明會",
        Money::new(10_000, "TWD".parse().unwrap()).unwrap(),
        s.user.clone(),
        s.at,
    );
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&claim, &c, &s)
        .unwrap();
    assert!(dev.sync().await.is_empty());
    claim
}

/// `dev` takes `stage` on the claim and syncs; the server must accept it.
async fn step(dev: &mut Device, claim: &ClaimId, stage: ClaimStage) {
    dev.sync().await;
    let s = dev.stamp();
    let extra = match stage {
        ClaimStage::Spent => json!({"spent": {"minor": 9_000, "currency": "TWD"}}),
        _ => Json::Null,
    };
    dev.replica
        .dealer_mut(&dn())
        .unwrap()
        .advance::<ExpenseClaim>(claim, stage, extra, &s)
        .unwrap();
    assert!(dev.sync().await.is_empty(), "{stage} refused");
}

async fn set_days(server: &TestServer, token: &str, days: i64) -> reqwest::Response {
    server
        .http
        .put(format!("{}/api/claim-ageing", server.base))
        .bearer_auth(token)
        .json(&json!({ "days": days }))
        .send()
        .await
        .expect("PUT /api/claim-ageing")
}

/// The ids `GET /api/claims?overdue=true` lists, and the `overdue` total of every claim.
async fn overdue(server: &TestServer, token: &str) -> (Vec<String>, i64) {
    let page = server.get_json(token, "/api/claims?overdue=true").await;
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let all = server.get_json(token, "/api/claims").await;
    (ids, all["totals"]["overdue"].as_i64().unwrap())
}

async fn overdue_from_the_day_after_the_allowed_days(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ho = head_office_with_territories(&server, &[("t-north", &["m1"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    let mut ho = ho;
    m1.sync().await;
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dn(), &profile("林記商行"), &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());

    // Two claims spent on the device's day (2026-01-01); one is then reconciled.
    let late = request(&mut m1, "c-late").await;
    let done = request(&mut m1, "c-done").await;
    // A claim still waiting for approval is never overdue.
    request(&mut m1, "c-waiting").await;
    for c in [&late, &done] {
        step(&mut ho, c, ClaimStage::Approved).await;
        step(&mut m1, c, ClaimStage::Spent).await;
    }
    step(&mut m1, &done, ClaimStage::Reconciled).await;
    let spent: Day = "2026-01-01".parse().unwrap();
    let today = Timestamp(now()).day().unwrap();
    let elapsed = spent.days_until(today);
    assert!(elapsed > 1, "the device's clock is in the past");

    // The default: two weeks.
    let got = server.get_json(&t1, "/api/claim-ageing").await;
    assert_eq!(got["days"], 14);
    assert_eq!(
        overdue(&server, &ho.token).await,
        (vec!["c-late".into()], 1)
    );

    // On time through the last allowed day …
    let r = set_days(&server, &ho.token, elapsed).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(overdue(&server, &ho.token).await, (vec![], 0));
    // … overdue from the next: the requested claim and the reconciled one never are.
    assert_eq!(
        set_days(&server, &ho.token, elapsed - 1).await.status(),
        200
    );
    assert_eq!(
        overdue(&server, &ho.token).await,
        (vec!["c-late".into()], 1)
    );
    assert_eq!(overdue(&server, &t1).await, (vec!["c-late".into()], 1));

    // Reconciling takes it off the list.
    step(&mut m1, &late, ClaimStage::Reconciled).await;
    assert_eq!(overdue(&server, &ho.token).await, (vec![], 0));

    // Only head office sets the days, and within bounds.
    let r = set_days(&server, &t1, 30).await;
    assert_eq!(r.status(), 403);
    let r = set_days(&server, &ho.token, -1).await;
    assert_eq!(r.status(), 400);
    let body: Json = r.json().await.unwrap();
    assert_eq!(body["code"], "invalid");
    assert_eq!(
        server.get_json(&t1, "/api/claim-ageing").await["days"],
        elapsed - 1
    );
    server.stop().await;
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
