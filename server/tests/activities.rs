//! Head office's activities list through the real server, on SQLite and PostgreSQL: promotions and customer events managers record at their dealers, filtered by territory, manager, dealer, status, kind and dates, with counts and budgets over every match, what came of each (invited, attended, headcount, result, photos) and the claim its budget became; activities of documents stored before the list existed are filled in at start-up.

mod common;

use common::*;
use fieldsync_core::ids::{ActivityId, ClaimId, DealerId};
use fieldsync_core::model::{
    Activity, ActivityKind, ActivityStatus, ExpenseCategory, ExpenseClaim,
};
use fieldsync_core::money::Money;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    activities_are_listed_filtered_and_summed,
    activities_stored_before_the_list_are_filled_in,
    what_came_of_an_activity_and_its_claim_are_listed_and_its_photos_readable,
);

/// The bytes of the photo taken at a-1 (a JPEG by its first bytes).
fn jpeg() -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend((0..2048u32).map(|i| (i % 251) as u8));
    b
}

fn dealer(s: &str) -> DealerId {
    s.parse().unwrap()
}

/// Territories t-north (manager m1) and t-south (manager m2), dealers d-n and d-s; m1 plans three
/// activities at d-n (a promotion with a NT$50,000 budget held, a customer event with NT$20,000
/// planned, a promotion with NT$9,000 cancelled), m2 one at d-s (a customer event, no budget).
/// Each invites downline customers k1 and k2; a-1 was held with k1, 35 people, a result and a
/// photo; a-2's budget became claim c-a2.
async fn scene(backend: Backend) -> (TestServer, Device, Device, Device) {
    let server = TestServer::start(backend).await;
    let ho =
        head_office_with_territories(&server, &[("t-north", &["m1"]), ("t-south", &["m2"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-south"]).await;
    let mut m1 = server.device("m1", &t1);
    let mut m2 = server.device("m2", &t2);
    for (dev, t, d) in [(&mut m1, "t-north", "d-n"), (&mut m2, "t-south", "d-s")] {
        dev.sync().await;
        let s = dev.stamp();
        dev.replica
            .create_dealer(&tid(t), dealer(d), &profile("林記商行"), &s)
            .unwrap();
    }
    type Plan = (
        &'static str,
        &'static str,
        ActivityKind,
        Option<i64>,
        &'static str,
        Option<ActivityStatus>,
    );
    let plans: [Plan; 4] = [
        (
            "d-n",
            "a-1",
            ActivityKind::Promotion,
            Some(5_000_000),
            "2026-03-02",
            Some(ActivityStatus::Held),
        ),
        (
            "d-n",
            "a-2",
            ActivityKind::CustomerEvent,
            Some(2_000_000),
            "2026-04-10",
            None,
        ),
        (
            "d-n",
            "a-3",
            ActivityKind::Promotion,
            Some(900_000),
            "2026-05-01",
            Some(ActivityStatus::Cancelled),
        ),
        (
            "d-s",
            "a-4",
            ActivityKind::CustomerEvent,
            None,
            "2026-04-20",
            None,
        ),
    ];
    for (d, id, kind, budget, starts, then) in plans {
        let dev = if d == "d-n" { &mut m1 } else { &mut m2 };
        let s = dev.stamp();
        let a = Activity {
            budget: budget.map(|b| Money::new(b, "TWD".parse().unwrap()).unwrap()),
            invited: ["k1", "k2"]
                .map(|k| k.parse().unwrap())
                .into_iter()
                .collect(),
            ..Activity::planned(
                kind,
                format!("{id} 春季聯合促銷"),
                starts.parse().unwrap(),
                starts.parse().unwrap(),
                s.user.clone(),
                s.at,
            )
        };
        let id: ActivityId = id.parse().unwrap();
        dev.replica
            .dealer_mut(&dealer(d))
            .unwrap()
            .insert(&id, &a, &s)
            .unwrap();
        if let Some(step) = then {
            let outcome = match step {
                ActivityStatus::Held => json!({
                    "attended": {"k1": true},
                    "attendance": 35,
                    "result": "新增兩家下線",
                    "photos": {hex::encode(Sha256::digest(jpeg())): {"mime": "image/jpeg", "bytes": 2052, "taken_at": s.at}},
                }),
                _ => Json::Null,
            };
            let s = dev.stamp();
            dev.replica
                .dealer_mut(&dealer(d))
                .unwrap()
                .advance::<Activity>(&id, step, outcome, &s)
                .unwrap();
        }
        if id.as_str() == "a-2" {
            let claim = ExpenseClaim {
                activity: Some(id.clone()),
                ..ExpenseClaim::new(
                    ExpenseCategory::Event,
                    a.title.clone(),
                    a.budget.unwrap(),
                    s.user.clone(),
                    s.at,
                )
            };
            let c: ClaimId = "c-a2".parse().unwrap();
            dev.replica
                .dealer_mut(&dealer(d))
                .unwrap()
                .insert(&c, &claim, &s)
                .unwrap();
        }
    }
    assert!(m1.sync().await.is_empty());
    assert!(m2.sync().await.is_empty());
    (server, ho, m1, m2)
}

fn ids(page: &Json) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect()
}

fn n(counts: &Json, key: &str, value: &str) -> i64 {
    counts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[key] == value)
        .map_or(0, |c| c["n"].as_i64().unwrap())
}

async fn activities_are_listed_filtered_and_summed(backend: Backend) {
    let (server, ho, m1, _) = scene(backend).await;
    let all = server.get_json(&ho.token, "/api/activities").await;
    assert_eq!(all["total"], 4);
    // Latest start first.
    assert_eq!(ids(&all), ["a-3", "a-4", "a-2", "a-1"]);
    let a1 = &all["items"][3];
    assert_eq!(a1["status"], "held");
    assert_eq!(a1["kind"], "promotion");
    assert_eq!(a1["dealer_name"], "林記商行");
    assert_eq!(a1["planned_by"], "m1");
    assert_eq!(a1["budget_minor"], 5_000_000);
    let totals = &all["totals"];
    assert_eq!(n(&totals["by_status"], "status", "planned"), 2);
    assert_eq!(n(&totals["by_status"], "status", "held"), 1);
    assert_eq!(n(&totals["by_status"], "status", "cancelled"), 1);
    assert_eq!(n(&totals["by_kind"], "kind", "customer_event"), 2);
    // The cancelled promotion's budget is not counted.
    assert_eq!(totals["budget"][0]["budget_minor"], 7_000_000);

    for (query, want) in [
        ("territory=t-south", vec!["a-4"]),
        ("manager=m1&status=planned", vec!["a-2"]),
        ("kind=promotion", vec!["a-3", "a-1"]),
        ("dealer=d-n&per_page=1&page=2", vec!["a-2"]),
        // April 2026, UTC.
        ("from=1775001600000&to=1777593599999", vec!["a-4", "a-2"]),
    ] {
        let page = server
            .get_json(&ho.token, &format!("/api/activities?{query}"))
            .await;
        assert_eq!(ids(&page), want, "{query}");
    }
    let paged = server
        .get_json(&ho.token, "/api/activities?dealer=d-n&per_page=1&page=2")
        .await;
    assert_eq!(
        paged["total"], 3,
        "the total counts every match, not the page"
    );
    // A manager reads their own territory's only.
    let mine = server.get_json(&m1.token, "/api/activities").await;
    assert_eq!(mine["total"], 3);
    assert_eq!(
        server
            .get(&m1.token, "/api/activities?territory=t-south")
            .await
            .status(),
        403
    );
    assert_eq!(
        server
            .get(&ho.token, "/api/activities?from=april")
            .await
            .status(),
        400
    );
}

async fn activities_stored_before_the_list_are_filled_in(backend: Backend) {
    let (server, ho, ..) = scene(backend).await;
    // As a database from before migration 0023: documents stored, no activity rows, the marker set.
    sqlx::query("DELETE FROM rm_activities")
        .execute(server.store.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO activities_backfill (pending) VALUES (1)")
        .execute(server.store.pool())
        .await
        .unwrap();
    assert_eq!(
        server.get_json(&ho.token, "/api/activities").await["total"],
        0
    );
    assert!(server.store.backfill_activities().await.unwrap());
    let all = server.get_json(&ho.token, "/api/activities").await;
    assert_eq!(all["total"], 4);
    assert_eq!(all["items"][3]["status"], "held");
    assert_eq!(all["items"][3]["attendance"], 35);
    assert_eq!(all["items"][2]["claim"], "c-a2");
    // Once only.
    assert!(!server.store.backfill_activities().await.unwrap());
}

async fn what_came_of_an_activity_and_its_claim_are_listed_and_its_photos_readable(
    backend: Backend,
) {
    let (server, ho, m1, _) = scene(backend).await;
    let all = server
        .get_json(&ho.token, "/api/activities?dealer=d-n")
        .await;
    assert_eq!(ids(&all), ["a-3", "a-2", "a-1"]);
    let [a3, a2, a1] = [0, 1, 2].map(|i| &all["items"][i]);
    assert_eq!(
        (&a1["invited"], &a1["attended"], &a1["attendance"]),
        (&json!(2), &json!(1), &json!(35))
    );
    assert_eq!(a1["result"], "新增兩家下線");
    assert_eq!(a1["photos"], 1);
    assert_eq!(a1["claim"], Json::Null);
    // Planned: invited, nobody came yet; its budget became claim c-a2.
    assert_eq!(
        (
            &a2["invited"],
            &a2["attended"],
            &a2["attendance"],
            &a2["result"]
        ),
        (&json!(2), &json!(0), &Json::Null, &Json::Null)
    );
    assert_eq!(a2["claim"], "c-a2");
    assert_eq!(a3["status"], "cancelled");
    // The claim is in the dealer's claims with the activity's title and budget.
    let d = server.get_json(&ho.token, "/api/dealers/d-n").await;
    let claim = d["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "c-a2")
        .unwrap();
    assert_eq!(claim["activity"], "a-2");
    assert_eq!(claim["amount"]["minor"], 2_000_000);
    assert_eq!(claim["purpose"], "a-2 春季聯合促銷");
    // The activity's photo is uploaded by its manager and read by head office, as a visit's.
    let bytes = jpeg();
    let hash = hex::encode(Sha256::digest(&bytes));
    let r = server
        .http
        .put(format!("{}/v1/photos/{hash}", server.base))
        .bearer_auth(&m1.token)
        .header("content-type", "image/jpeg")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server.get(&ho.token, &format!("/v1/photos/{hash}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
}
