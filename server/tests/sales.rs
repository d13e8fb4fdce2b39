//! Monthly sales and the profit and loss through the real server, on SQLite and PostgreSQL: who sets targets and actuals, head office's CSV import (all lines or none), achievement per dealer, territory and manager, and spend against sales per month, dealer and category — every total checked against hand-computed values.

mod common;

use common::*;
use fieldsync_core::ids::{ClaimId, DealerId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim};
use fieldsync_core::money::Money;
use serde_json::{Value as Json, json};

on_both_backends!(
    targets_actuals_and_achievement_by_dealer_territory_and_manager,
    only_the_right_people_set_figures_and_bad_ones_change_nothing,
    the_csv_import_takes_every_line_or_none,
    profit_and_loss_sets_spend_against_sales,
);

fn dealer(s: &str) -> DealerId {
    s.parse().unwrap()
}

/// Territories t-north (manager m1, regional r1) and t-south (manager m2), a dealer in each
/// (d-n, d-s), and head office ho.
struct Scene {
    server: TestServer,
    ho: Device,
    m1: Device,
    m2: Device,
    r1: Device,
}

async fn scene(backend: Backend) -> Scene {
    let server = TestServer::start(backend).await;
    let ho =
        head_office_with_territories(&server, &[("t-north", &["m1"]), ("t-south", &["m2"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-south"]).await;
    let tr = server.user("r1", "regional", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    let mut m2 = server.device("m2", &t2);
    let r1 = server.device("r1", &tr);
    for (dev, t, d, name) in [
        (&mut m1, "t-north", "d-n", "林記商行"),
        (&mut m2, "t-south", "d-s", "南方電器"),
    ] {
        dev.sync().await;
        let s = dev.stamp();
        dev.replica
            .create_dealer(&tid(t), dealer(d), &profile(name), &s)
            .unwrap();
        assert!(dev.sync().await.is_empty());
    }
    Scene {
        server,
        ho,
        m1,
        m2,
        r1,
    }
}

async fn put(
    server: &TestServer,
    token: &str,
    dealer: &str,
    month: &str,
    body: Json,
) -> reqwest::Response {
    server
        .http
        .put(format!("{}/api/sales/{dealer}/{month}", server.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("PUT /api/sales")
}

/// Sets a figure and checks it was taken.
async fn set(
    server: &TestServer,
    token: &str,
    dealer: &str,
    month: &str,
    figure: &str,
    minor: i64,
) {
    let r = put(
        server,
        token,
        dealer,
        month,
        json!({"figure": figure, "amount_minor": minor, "currency": "TWD"}),
    )
    .await;
    assert_eq!(
        r.status(),
        200,
        "{figure} {dealer} {month}: {:?}",
        r.text().await
    );
}

async fn import(server: &TestServer, token: &str, csv: &str) -> reqwest::Response {
    server
        .http
        .post(format!("{}/api/sales/import", server.base))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .expect("POST /api/sales/import")
}

/// The figures of the scene: d-n 2026-01 target 80,000 actual 100,000 (m1) and 2026-02 actual
/// 60,000 (m1); d-s 2026-01 target 100,000 (head office) and actual 50,000 (imported).
async fn figures(s: &Scene) {
    set(
        &s.server,
        &s.r1.token,
        "d-n",
        "2026-01",
        "target",
        8_000_000,
    )
    .await;
    set(
        &s.server,
        &s.m1.token,
        "d-n",
        "2026-01",
        "actual",
        10_000_000,
    )
    .await;
    set(
        &s.server,
        &s.m1.token,
        "d-n",
        "2026-02",
        "actual",
        6_000_000,
    )
    .await;
    set(
        &s.server,
        &s.ho.token,
        "d-s",
        "2026-01",
        "target",
        10_000_000,
    )
    .await;
    let r = import(
        &s.server,
        &s.ho.token,
        "dealer,month,amount,currency\nd-s,2026-01,50000,TWD\n",
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

/// A refusal's status, code and message.
async fn refusal(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let b: Json = r.json().await.unwrap();
    let text = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
    (status, text("code"), text("message"))
}

fn one<'a>(list: &'a Json, key: &str, value: &str) -> &'a Json {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

async fn targets_actuals_and_achievement_by_dealer_territory_and_manager(backend: Backend) {
    let s = scene(backend).await;
    figures(&s).await;
    let all = s.server.get_json(&s.ho.token, "/api/sales").await;
    assert_eq!(all["total"], 3);
    // Newest month first.
    assert_eq!(all["items"][0]["month"], "2026-02");
    let dn = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dealer"] == "d-n" && r["month"] == "2026-01")
        .unwrap();
    assert_eq!(dn["dealer_name"], "林記商行");
    assert_eq!(dn["target_minor"], 8_000_000);
    assert_eq!(dn["actual_minor"], 10_000_000);
    assert_eq!(dn["actual_source"], "manager");
    assert_eq!(dn["achievement"], 1.25);
    let totals = &all["totals"];
    // 80,000 + 100,000 of target; 100,000 + 60,000 + 50,000 sold.
    assert_eq!(totals["all"][0]["target_minor"], 18_000_000);
    assert_eq!(totals["all"][0]["actual_minor"], 21_000_000);
    let north = one(&totals["by_territory"], "territory", "t-north");
    assert_eq!(north["actual_minor"], 16_000_000);
    assert_eq!(north["achievement"], 2.0);
    let south = one(&totals["by_territory"], "territory", "t-south");
    assert_eq!(south["achievement"], 0.5);
    // A manager's figures are their territories'; the regional manager is not a manager.
    assert_eq!(
        one(&totals["by_manager"], "manager", "m1")["actual_minor"],
        16_000_000
    );
    assert_eq!(
        one(&totals["by_manager"], "manager", "m2")["target_minor"],
        10_000_000
    );
    assert_eq!(totals["by_manager"].as_array().unwrap().len(), 2);

    // Filters: one month; one manager's dealers; one dealer; paging keeps the total.
    let jan = s
        .server
        .get_json(&s.ho.token, "/api/sales?from=2026-01&to=2026-01")
        .await;
    assert_eq!(jan["total"], 2);
    assert_eq!(jan["totals"]["all"][0]["actual_minor"], 15_000_000);
    let m2 = s
        .server
        .get_json(&s.ho.token, "/api/sales?manager=m2")
        .await;
    assert_eq!(m2["total"], 1);
    assert_eq!(m2["items"][0]["actual_source"], "import");
    let page = s
        .server
        .get_json(&s.ho.token, "/api/sales?per_page=1&page=3")
        .await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(3), 1)
    );
    // A manager reads only their own territory's.
    let mine = s.server.get_json(&s.m1.token, "/api/sales").await;
    assert_eq!(mine["total"], 2);
    assert_eq!(
        s.server
            .get(&s.m1.token, "/api/sales?territory=t-south")
            .await
            .status(),
        403
    );
    let bad = s.server.get(&s.ho.token, "/api/sales?from=2026-13").await;
    assert_eq!(bad.status(), 400);
}

async fn only_the_right_people_set_figures_and_bad_ones_change_nothing(backend: Backend) {
    let s = scene(backend).await;
    let body = |figure: &str| json!({"figure": figure, "amount_minor": 100, "currency": "TWD"});
    let code = |r: reqwest::Response| async move {
        let (status, code, _) = refusal(r).await;
        (status, code)
    };
    // A manager enters actuals in their territory, never targets.
    let r = put(&s.server, &s.m1.token, "d-n", "2026-01", body("target")).await;
    assert_eq!(code(r).await, (403, "forbidden".into()));
    let r = put(&s.server, &s.m1.token, "d-s", "2026-01", body("actual")).await;
    assert_eq!(code(r).await, (403, "forbidden".into()));
    // The regional manager sets targets only where they oversee.
    let r = put(&s.server, &s.r1.token, "d-s", "2026-01", body("target")).await;
    assert_eq!(code(r).await, (403, "forbidden".into()));
    // Bad values and unknown dealers.
    for (dealer, month, b, want) in [
        ("d-n", "2026-13", body("actual"), (400, "invalid")),
        (
            "d-n",
            "2026-01",
            json!({"figure": "actual", "amount_minor": -1, "currency": "TWD"}),
            (400, "invalid"),
        ),
        (
            "d-n",
            "2026-01",
            json!({"figure": "actual", "amount_minor": 1, "currency": "twd"}),
            (400, "invalid"),
        ),
        (
            "d-n",
            "2026-01",
            json!({"figure": "forecast", "amount_minor": 1, "currency": "TWD"}),
            (400, "invalid"),
        ),
        (
            "d-n",
            "2026-01",
            json!({"figure": "actual"}),
            (400, "malformed"),
        ),
        ("d-none", "2026-01", body("actual"), (404, "not_found")),
    ] {
        let r = put(&s.server, &s.ho.token, dealer, month, b).await;
        assert_eq!(
            code(r).await,
            (want.0, want.1.to_owned()),
            "{dealer} {month}"
        );
    }
    // One currency a month: an actual in another currency than the target is refused.
    set(
        &s.server,
        &s.ho.token,
        "d-n",
        "2026-01",
        "target",
        8_000_000,
    )
    .await;
    let r = put(
        &s.server,
        &s.m1.token,
        "d-n",
        "2026-01",
        json!({"figure": "actual", "amount_minor": 1, "currency": "CNY"}),
    )
    .await;
    assert_eq!(code(r).await, (409, "currency_mismatch".into()));
    // Nothing refused was stored.
    let all = s.server.get_json(&s.ho.token, "/api/sales").await;
    assert_eq!(all["total"], 1);
    assert_eq!(all["items"][0]["actual_minor"], Json::Null);
    // Writing a figure again replaces it.
    set(
        &s.server,
        &s.ho.token,
        "d-n",
        "2026-01",
        "target",
        9_000_000,
    )
    .await;
    let all = s.server.get_json(&s.ho.token, "/api/sales").await;
    assert_eq!(all["items"][0]["target_minor"], 9_000_000);
}

async fn the_csv_import_takes_every_line_or_none(backend: Backend) {
    let s = scene(backend).await;
    let code = refusal;
    // Only head office imports.
    let r = import(
        &s.server,
        &s.m1.token,
        "dealer,month,amount,currency\nd-n,2026-01,1,TWD\n",
    )
    .await;
    assert_eq!(code(r).await.0, 403);
    // A bad line or an unknown dealer: nothing imported, the lines named.
    let r = import(
        &s.server,
        &s.ho.token,
        "dealer,month,amount,currency\nd-n,2026-01,1000,TWD\nd-s,2026-1,5,TWD\n",
    )
    .await;
    let (status, c, message) = code(r).await;
    assert_eq!((status, c.as_str()), (400, "bad_csv"));
    assert!(message.contains("line 3"), "{message}");
    let r = import(
        &s.server,
        &s.ho.token,
        "dealer,month,amount,currency\nd-n,2026-01,1000,TWD\nd-x,2026-01,5,TWD\n",
    )
    .await;
    let (status, _, message) = code(r).await;
    assert_eq!(status, 400);
    assert!(message.contains("d-x"), "{message}");
    assert_eq!(
        s.server.get_json(&s.ho.token, "/api/sales").await["total"],
        0
    );
    // Excel's CSV UTF-8: a byte-order mark, zh-Hant headers in another order, thousands separators.
    let r = import(
        &s.server,
        &s.ho.token,
        "\u{feff}月份,經銷商,幣別,銷售額\r\n2026-01,d-n,TWD,\"12,500.50\"\r\n2026-01,d-s,TWD,300\r\n2026-01,d-s,TWD,400\r\n",
    )
    .await;
    assert_eq!(r.status(), 200);
    let done: Json = r.json().await.unwrap();
    assert_eq!(done["imported"], 2, "a later line for the same month wins");
    let all = s.server.get_json(&s.ho.token, "/api/sales").await;
    assert_eq!(all["totals"]["all"][0]["actual_minor"], 1_250_050 + 40_000);
}

/// `dev` requests a claim at `dealer` (and syncs it); head office approves it when `approve`, and
/// `dev` then spends `spent` of it when given.
async fn claim(
    s: &mut Scene,
    which: &str,
    dealer_id: &str,
    category: ExpenseCategory,
    minor: i64,
    approve: bool,
    spent: Option<i64>,
) {
    let id: ClaimId = format!("c-{dealer_id}-{minor}").parse().unwrap();
    let d = dealer(dealer_id);
    let dev = if which == "m1" { &mut s.m1 } else { &mut s.m2 };
    let st = dev.stamp();
    let c = ExpenseClaim::new(
        category,
        "聯合促銷",
        Money::new(minor, "TWD".parse().unwrap()).unwrap(),
        st.user.clone(),
        st.at,
    );
    dev.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&id, &c, &st)
        .unwrap();
    assert!(dev.sync().await.is_empty());
    if approve {
        s.ho.sync().await;
        let st = s.ho.stamp();
        s.ho.replica
            .dealer_mut(&d)
            .unwrap()
            .advance::<ExpenseClaim>(&id, ClaimStage::Approved, Json::Null, &st)
            .unwrap();
        assert!(s.ho.sync().await.is_empty());
    }
    if let Some(spent) = spent {
        let dev = if which == "m1" { &mut s.m1 } else { &mut s.m2 };
        dev.sync().await;
        let st = dev.stamp();
        dev.replica
            .dealer_mut(&d)
            .unwrap()
            .advance::<ExpenseClaim>(
                &id,
                ClaimStage::Spent,
                json!({"spent": {"minor": spent, "currency": "TWD"}}),
                &st,
            )
            .unwrap();
        assert!(dev.sync().await.is_empty());
    }
}

async fn profit_and_loss_sets_spend_against_sales(backend: Backend) {
    let mut s = scene(backend).await;
    figures(&s).await;
    // Claims, all requested in 2026-01 (the devices' clocks): d-n spent 9,000 of 10,000 (event);
    // d-n 5,000 only requested (no spend yet); d-s 20,000 approved, not yet spent (training).
    claim(
        &mut s,
        "m1",
        "d-n",
        ExpenseCategory::Event,
        1_000_000,
        true,
        Some(900_000),
    )
    .await;
    claim(
        &mut s,
        "m1",
        "d-n",
        ExpenseCategory::Placement,
        500_000,
        false,
        None,
    )
    .await;
    claim(
        &mut s,
        "m2",
        "d-s",
        ExpenseCategory::Training,
        2_000_000,
        true,
        None,
    )
    .await;

    let p = s.server.get_json(&s.ho.token, "/api/pnl").await;
    assert_eq!(p["total"][0]["sales_minor"], 21_000_000);
    assert_eq!(p["total"][0]["target_minor"], 18_000_000);
    assert_eq!(p["total"][0]["spend_minor"], 2_900_000);
    assert_eq!(p["total"][0]["net_minor"], 21_000_000 - 2_900_000);
    let jan = one(&p["months"], "month", "2026-01");
    assert_eq!(
        (
            jan["sales_minor"].as_i64(),
            jan["spend_minor"].as_i64(),
            jan["net_minor"].as_i64()
        ),
        (Some(15_000_000), Some(2_900_000), Some(12_100_000))
    );
    let feb = one(&p["months"], "month", "2026-02");
    assert_eq!(
        (feb["sales_minor"].as_i64(), feb["spend_minor"].as_i64()),
        (Some(6_000_000), Some(0))
    );
    // Highest spend first.
    assert_eq!(p["by_dealer"][0]["dealer"], "d-s");
    assert_eq!(p["by_dealer"][0]["name"], "南方電器");
    assert_eq!(p["by_dealer"][0]["spend_minor"], 2_000_000);
    assert_eq!(p["by_dealer"][1]["net_minor"], 16_000_000 - 900_000);
    assert_eq!(p["by_category"][0]["category"], "training");
    assert_eq!(
        one(&p["by_category"], "category", "event")["spend_minor"],
        900_000
    );
    assert!(
        p["by_category"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["category"] != "placement")
    );
    assert_eq!(
        one(&p["by_month_category"], "category", "event")["month"],
        "2026-01"
    );

    // One territory, one month, one manager: the same rule on a slice.
    let north = s
        .server
        .get_json(&s.ho.token, "/api/pnl?territory=t-north&from=2026-02")
        .await;
    assert_eq!(north["total"][0]["sales_minor"], 6_000_000);
    assert_eq!(north["total"][0]["spend_minor"], 0);
    let m2 = s.server.get_json(&s.ho.token, "/api/pnl?manager=m2").await;
    assert_eq!(m2["total"][0]["spend_minor"], 2_000_000);
    assert_eq!(m2["total"][0]["sales_minor"], 5_000_000);
    // A manager sees their own territory only.
    let mine = s.server.get_json(&s.m1.token, "/api/pnl").await;
    assert_eq!(mine["total"][0]["spend_minor"], 900_000);
    assert_eq!(
        s.server
            .get(&s.m1.token, "/api/pnl?territory=t-south")
            .await
            .status(),
        403
    );
}
