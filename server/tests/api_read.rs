//! Head office's read API, the OpenAPI document and gzip, against the real server on demo data.

mod common;

use common::*;
use serde_json::Value;

on_both_backends!(
    head_office_queries_the_demo_across_managers,
    the_openapi_document_lists_every_route,
    sync_bodies_may_be_gzipped_both_ways,
);

async fn head_office_queries_the_demo_across_managers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let summary = fieldsync_server::seed::seed_demo(&server.state)
        .await
        .unwrap();
    assert!(summary.contains("demo-ho"));
    let territories = server.get_json("demo-ho", "/api/territories").await;
    assert_eq!(territories.as_array().unwrap().len(), 4);
    let dealers = server
        .get_json("demo-ho", "/api/dealers?per_page=7&page=2")
        .await;
    assert_eq!(dealers["total"], 40);
    assert_eq!(dealers["page"], 2);
    assert_eq!(dealers["items"].as_array().unwrap().len(), 7);
    // A manager sees only their own territory, everywhere.
    let mine = server
        .get_json("demo-m-chen", "/api/dealers?per_page=500")
        .await;
    assert_eq!(mine["total"], 10);
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["territory"] == "t-north")
    );
    let visits = server
        .get_json("demo-m-chen", "/api/visits?per_page=500")
        .await;
    assert!(
        visits["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["territory"] == "t-north")
    );
    assert_eq!(
        server
            .get("demo-m-chen", "/api/claims?territory=t-south")
            .await
            .status(),
        403
    );
    // Filters.
    let south = server
        .get_json("demo-ho", "/api/dealers?manager=m-wu")
        .await;
    assert_eq!(south["total"], 10, "m-wu works in t-south");
    let by_name = server
        .get_json("demo-ho", "/api/dealers?q=%E6%9E%97%E8%A8%98")
        .await;
    assert_eq!(by_name["items"][0]["name"], "林記商行");
    let overdue = server
        .get_json("demo-ho", "/api/commitments?overdue=true&per_page=500")
        .await;
    assert!(overdue["total"].as_i64().unwrap() > 0);
    assert!(
        overdue["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "open")
    );
    for stage in ["requested", "approved", "rejected", "spent", "reconciled"] {
        let c = server
            .get_json("demo-ho", &format!("/api/claims?status={stage}"))
            .await;
        assert!(c["total"].as_i64().unwrap() > 0, "no claim {stage}");
    }
    let problems = server
        .get_json("demo-ho", "/api/problems?per_page=500")
        .await;
    let items = problems["items"].as_array().unwrap();
    assert!(items.iter().any(|p| p["status"] == "resolved"));
    assert!(items.iter().any(|p| p["escalated"] == true));
    assert!(items.iter().all(|p| p["age_days"].as_i64().unwrap() >= 0));
    // A resolved problem's age is the days it took, and stops growing.
    for p in items {
        let raised = p["raised_at"].as_i64().unwrap();
        if p["status"] == "resolved" {
            let took = (p["resolved_at"].as_i64().unwrap() - raised) / 86_400_000;
            assert_eq!(p["age_days"], took, "{p}");
        } else {
            assert!(p["resolved_at"].is_null(), "{p}");
        }
    }
    let all_visits = server.get_json("demo-ho", "/api/visits?per_page=1").await;
    let at = all_visits["items"][0]["at"].as_i64().unwrap();
    let window = server
        .get_json(
            "demo-ho",
            &format!("/api/visits?from={at}&to={at}&per_page=500"),
        )
        .await;
    assert!(
        window["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["at"] == at)
    );
    let m = server.get_json("demo-m-huang", "/v1/me").await;
    assert_eq!(
        m["territories"],
        serde_json::json!([{"id": "t-south", "name": "南區 South"}])
    );
    assert_eq!(
        m["visit_every_days"],
        serde_json::json!([14, 30, 60, 90, 90])
    );
    // A seeded demo device syncs everything of its territory.
    let mut phone = server.device("m-chen", "demo-m-chen");
    phone.sync().await;
    assert_eq!(
        phone.replica.doc_ids().count(),
        11,
        "t-north and its 10 dealers"
    );
    server.stop().await;
}

/// The served document lists exactly the routes the router was built from
/// (both come from the handlers' annotations), each of them answers, and what it
/// says about paging and the metrics' content type is what the server does.
async fn the_openapi_document_lists_every_route(backend: Backend) {
    let server = TestServer::start(backend).await;
    let doc: Value = server
        .http
        .get(format!("{}/api/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&doc, fieldsync_server::routes::json());
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let routed = fieldsync_server::routes::routed();
    assert_eq!(documented, routed);
    assert_eq!(routed.len(), 43, "every route of the app");
    // Every documented path answers (not the router's fallback 404).
    for (method, path) in &routed {
        let url = format!(
            "{}{}",
            server.base,
            path.replace("{doc_id}", "dealer:x")
                .replace("{id}", "x")
                .replace("{hash}", "x")
        );
        let req = server.http.request(method.parse().unwrap(), url);
        let r = req.send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(
            !(status == 404 && body.contains("no such endpoint")),
            "{method} {path} is not routed"
        );
    }
    // Paging bounds as documented are the ones enforced.
    let ho = head_office_with_territories(&server, &[("t-north", &[])]).await;
    let per_page = doc["paths"]["/api/dealers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "per_page")
        .unwrap()["schema"]
        .clone();
    let max = per_page["maximum"].as_i64().unwrap();
    assert_eq!(per_page["minimum"], 1);
    for (query, ok) in [
        (format!("per_page={max}"), true),
        (format!("per_page={}", max + 1), false),
        ("per_page=0".to_owned(), false),
        ("page=1".to_owned(), true),
        ("page=0".to_owned(), false),
    ] {
        let r = server
            .get(&ho.token, &format!("/api/dealers?{query}"))
            .await;
        assert_eq!(r.status().is_success(), ok, "{query}: {}", r.status());
    }
    // The metrics' content type as documented is the one served.
    let metrics = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    let served = metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let content = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
        .as_object()
        .unwrap();
    assert_eq!(content.keys().collect::<Vec<_>>(), [&served]);
    server.stop().await;
}

async fn sync_bodies_may_be_gzipped_both_ways(backend: Backend) {
    use std::io::Write;
    let server = TestServer::start(backend).await;
    let ho = head_office_with_territories(&server, &[("t-north", &[])]).await;
    let body = br#"{"protocol":1,"cursor":""}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body).unwrap();
    let r = reqwest::Client::builder()
        .gzip(false)
        .build()
        .unwrap()
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(&ho.token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("accept-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let raw = r.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text).unwrap();
    let resp: fieldsync_core::sync::SyncResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(resp.cursor.get(&tid("t-north")), 2);
    server.stop().await;
}

#[tokio::test]
async fn serve_web_dir_serves_the_app_with_fallback_and_fresh_entry_points() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<html>fieldsync</html>").unwrap();
    std::fs::write(dir.path().join("sw.js"), "self.x = 1;").unwrap();
    std::fs::write(dir.path().join("app.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let settings = fieldsync_server::Settings {
        web_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let server = TestServer::start_with(Backend::Sqlite, settings).await;
    let get = |p: &str| server.http.get(format!("{}{p}", server.base)).send();
    let r = get("/").await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(r.text().await.unwrap().contains("fieldsync"));
    let r = get("/some/client/route").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("fieldsync"));
    assert_eq!(
        get("/sw.js").await.unwrap().headers()["cache-control"],
        "no-cache"
    );
    assert_eq!(
        get("/app.wasm").await.unwrap().headers()["content-type"],
        "application/wasm"
    );
    // The API keeps answering JSON, including its 404s.
    let r = get("/api/nope").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    assert_eq!(get("/health").await.unwrap().status(), 200);
    server.stop().await;
}

mod office {
    //! Head office's lists (filters, paging, totals in SQL), the dealer page and the manager page,
    //! on a small territory whose every number is worked out by hand.

    use super::common;
    use super::common::*;
    use fieldsync_core::calendar::Timestamp;
    use fieldsync_core::ids::DealerId;
    use fieldsync_core::model::{
        ClaimStage, Commitment, CommitmentStatus, DealerKind, DealerProfile, DealerStatus,
        ExpenseCategory, ExpenseClaim, Note, Problem, ProblemCategory, ProblemStatus, Severity,
        Visit,
    };
    use fieldsync_core::money::Money;
    use fieldsync_core::set::Set;
    use fieldsync_core::stamp::Stamp;
    use fieldsync_server::Settings;
    use fieldsync_server::store::now_millis;
    use serde_json::{Value, json};

    const DAY: i64 = 86_400_000;
    const WEEK: i64 = 7 * DAY;

    crate::on_both_backends!(
        lists_filter_page_and_total_on_the_server,
        coverage_follows_each_tiers_visit_frequency,
        the_manager_page_sums_one_persons_work,
        the_dealer_page_shows_the_whole_document,
    );

    fn at(dev: &Device, ms: i64) -> Stamp {
        Stamp::new(dev.user.clone(), dev.id.clone(), Timestamp(ms))
    }

    fn twd(minor: i64) -> Money {
        Money::new(minor, "TWD".parse().unwrap()).unwrap()
    }

    /// Which of the ids the list's items have, in order.
    fn ids(v: &Value) -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    }

    struct Fixture {
        server: TestServer,
        ho: String,
        m1: String,
        now: i64,
    }

    /// t-cov (m1): d1 tier 1 visited 20 days ago, d2 tier 1 visited 5 days ago, d3 tier 2
    /// visited 20 days ago, d4 tier 2 never visited, d5 tier 3 visited 70 days ago, d6 tier 1
    /// dormant and never visited. t-far (m2): d7 visited yesterday. Commitments, claims and
    /// problems of m1 on d1 (see each test for what they add up to).
    async fn fixture(backend: Backend, settings: Settings) -> Fixture {
        let server = TestServer::start_with(backend, settings).await;
        let mut ho =
            head_office_with_territories(&server, &[("t-cov", &["m1"]), ("t-far", &["m2"])]).await;
        let m1_token = server.user("m1", "manager", &["t-cov"]).await;
        let m2_token = server.user("m2", "manager", &["t-far"]).await;
        let (mut m1, mut m2) = (
            server.device("m1", &m1_token),
            server.device("m2", &m2_token),
        );
        m1.sync().await;
        m2.sync().await;
        let now = now_millis();
        let dealers: [(&str, u8, DealerStatus, Option<i64>); 6] = [
            ("d1", 1, DealerStatus::Active, Some(20)),
            ("d2", 1, DealerStatus::Active, Some(5)),
            ("d3", 2, DealerStatus::Active, Some(20)),
            ("d4", 2, DealerStatus::Active, None),
            ("d5", 3, DealerStatus::Active, Some(70)),
            ("d6", 1, DealerStatus::Dormant, None),
        ];
        for (id, tier, status, visited) in dealers {
            let d: DealerId = id.parse().unwrap();
            let s = m1.stamp();
            let mut p =
                DealerProfile::new(format!("經銷商 {id}"), DealerKind::Retailer, tier, status);
            p.address = "台中市".into();
            m1.replica
                .create_dealer(&tid("t-cov"), d.clone(), &p, &s)
                .unwrap();
            if let Some(days) = visited {
                let when = now - days * DAY;
                let mut v = Visit::new(m1.user.clone(), Timestamp(when));
                v.summary = format!("拜訪 {id}");
                v.attendees = Set(["林老闆".to_owned()].into());
                v.notes.insert(
                    "n-1".parse().unwrap(),
                    Note {
                        text: "下月再訪 next month".into(),
                        by: m1.user.clone(),
                        at: Timestamp(when),
                    },
                );
                let s = at(&m1, when);
                m1.replica
                    .dealer_mut(&d)
                    .unwrap()
                    .insert(&format!("v-{id}").parse().unwrap(), &v, &s)
                    .unwrap();
            }
        }
        let d1: DealerId = "d1".parse().unwrap();
        // Commitments: one overdue, one kept, one broken, one due next year.
        let past = Timestamp(now - 5 * DAY).day().unwrap();
        let later = Timestamp(now + 400 * DAY).day().unwrap();
        for (id, due, end) in [
            ("c1", past, None),
            ("c2", past, Some(CommitmentStatus::Kept)),
            ("c3", past, Some(CommitmentStatus::Broken)),
            ("c4", later, None),
        ] {
            let s = at(&m1, now - 10 * DAY);
            let c = Commitment::new(format!("承諾 {id}"), "林老闆", m1.user.clone(), s.at, due);
            let doc = m1.replica.dealer_mut(&d1).unwrap();
            doc.insert(&id.parse().unwrap(), &c, &s).unwrap();
            if let Some(end) = end {
                let s = m1.stamp();
                m1.replica
                    .dealer_mut(&d1)
                    .unwrap()
                    .advance::<Commitment>(&id.parse().unwrap(), end, Value::Null, &s)
                    .unwrap();
            }
        }
        // Claims: k1 event 1,000 requested; k2 training 500 approved; k3 event 2,000
        // approved then spent 1,800; k4 placement 300 rejected.
        let claims = [
            ("k1", ExpenseCategory::Event, 100_000),
            ("k2", ExpenseCategory::Training, 50_000),
            ("k3", ExpenseCategory::Event, 200_000),
            ("k4", ExpenseCategory::Placement, 30_000),
        ];
        for (id, cat, minor) in claims {
            let s = m1.stamp();
            let c = ExpenseClaim::new(cat, format!("申請 {id}"), twd(minor), m1.user.clone(), s.at);
            m1.replica
                .dealer_mut(&d1)
                .unwrap()
                .insert(&id.parse().unwrap(), &c, &s)
                .unwrap();
        }
        // Problems raised 3, 10, 40 and 100 days ago, and one of 100 days resolved.
        for (id, days, resolved) in [
            ("p1", 3, false),
            ("p2", 10, false),
            ("p3", 40, false),
            ("p4", 100, false),
            ("p5", 100, true),
        ] {
            let s = at(&m1, now - days * DAY);
            let p = Problem::new(
                ProblemCategory::Market,
                Severity::Medium,
                format!("問題 {id}"),
                m1.user.clone(),
                s.at,
            );
            let doc = m1.replica.dealer_mut(&d1).unwrap();
            doc.insert(&id.parse().unwrap(), &p, &s).unwrap();
            if resolved {
                let s = at(&m1, now - (days - 1) * DAY);
                m1.replica
                    .dealer_mut(&d1)
                    .unwrap()
                    .advance::<Problem>(
                        &id.parse().unwrap(),
                        ProblemStatus::Resolved,
                        json!({"resolution": "done"}),
                        &s,
                    )
                    .unwrap();
            }
        }
        assert!(m1.sync().await.is_empty());
        // Elsewhere: m2's dealer, visit and claim must never count for m1.
        let d7: DealerId = "d7".parse().unwrap();
        let s = m2.stamp();
        m2.replica
            .create_dealer(
                &tid("t-far"),
                d7.clone(),
                &DealerProfile::new("遠方商行", DealerKind::Retailer, 1, DealerStatus::Active),
                &s,
            )
            .unwrap();
        let s = at(&m2, now - DAY);
        m2.replica
            .dealer_mut(&d7)
            .unwrap()
            .insert(
                &"v-d7".parse().unwrap(),
                &Visit::new(m2.user.clone(), Timestamp(now - DAY)),
                &s,
            )
            .unwrap();
        let s = m2.stamp();
        let c = ExpenseClaim::new(
            ExpenseCategory::Event,
            "m2",
            twd(99_900),
            m2.user.clone(),
            s.at,
        );
        m2.replica
            .dealer_mut(&d7)
            .unwrap()
            .insert(&"k9".parse().unwrap(), &c, &s)
            .unwrap();
        assert!(m2.sync().await.is_empty());
        // Head office approves k2 and k3, rejects k4; m1 spends k3.
        ho.sync().await;
        for (id, stage) in [
            ("k2", ClaimStage::Approved),
            ("k3", ClaimStage::Approved),
            ("k4", ClaimStage::Rejected),
        ] {
            let s = ho.stamp();
            ho.replica
                .dealer_mut(&d1)
                .unwrap()
                .advance::<ExpenseClaim>(&id.parse().unwrap(), stage, Value::Null, &s)
                .unwrap();
        }
        assert!(ho.sync().await.is_empty());
        m1.sync().await;
        let s = m1.stamp();
        m1.replica
            .dealer_mut(&d1)
            .unwrap()
            .advance::<ExpenseClaim>(
                &"k3".parse().unwrap(),
                ClaimStage::Spent,
                json!({"spent": twd(180_000)}),
                &s,
            )
            .unwrap();
        assert!(m1.sync().await.is_empty());
        let ho_token = ho.token.clone();
        Fixture {
            server,
            ho: ho_token,
            m1: m1_token,
            now,
        }
    }

    async fn lists_filter_page_and_total_on_the_server(backend: Backend) {
        let f = fixture(backend, Settings::default()).await;
        let (s, ho, now) = (&f.server, f.ho.as_str(), f.now);
        // Manager, dealer, territory, date range.
        let all = s.get_json(ho, "/api/visits?manager=m1").await;
        assert_eq!(all["total"], 4);
        assert_eq!(ids(&all), ["v-d2", "v-d1", "v-d3", "v-d5"], "newest first");
        assert_eq!(s.get_json(ho, "/api/visits?dealer=d1").await["total"], 1);
        assert_eq!(
            s.get_json(ho, "/api/visits?territory=t-far").await["total"],
            1
        );
        assert_eq!(s.get_json(ho, "/api/visits").await["total"], 5);
        let window = s
            .get_json(
                ho,
                &format!(
                    "/api/visits?manager=m1&from={}&to={}",
                    now - 25 * DAY,
                    now - 10 * DAY
                ),
            )
            .await;
        assert_eq!(window["total"], 2, "d1 and d3, 20 days ago");
        // Paging: pages of 3 give 3 + 1, the same total, and together every visit once.
        let p1 = s
            .get_json(ho, "/api/visits?manager=m1&per_page=3&page=1")
            .await;
        let p2 = s
            .get_json(ho, "/api/visits?manager=m1&per_page=3&page=2")
            .await;
        assert_eq!(
            (p1["total"].clone(), p2["total"].clone()),
            (json!(4), json!(4))
        );
        let mut both = [ids(&p1), ids(&p2)].concat();
        assert_eq!((ids(&p1).len(), ids(&p2).len()), (3, 1));
        both.sort();
        assert_eq!(both, ["v-d1", "v-d2", "v-d3", "v-d5"]);
        // The totals cover every matching row, not the page.
        let weeks = p2["totals"]["per_week"].as_array().unwrap();
        let n: i64 = weeks.iter().map(|w| w["n"].as_i64().unwrap()).sum();
        assert_eq!(n, 4);
        // Claims: stage totals per currency and spend per month and category, in SQL.
        let claims = s.get_json(ho, "/api/claims?manager=m1&per_page=1").await;
        assert_eq!(claims["total"], 4);
        assert_eq!(claims["items"].as_array().unwrap().len(), 1);
        let mut stages: Vec<(String, i64, i64, i64)> = claims["totals"]["by_status"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["currency"], "TWD");
                (
                    r["status"].as_str().unwrap().to_owned(),
                    r["n"].as_i64().unwrap(),
                    r["amount_minor"].as_i64().unwrap(),
                    r["spent_minor"].as_i64().unwrap(),
                )
            })
            .collect();
        stages.sort();
        assert_eq!(
            stages,
            [
                ("approved".to_owned(), 1, 50_000, 0),
                ("rejected".to_owned(), 1, 30_000, 0),
                ("requested".to_owned(), 1, 100_000, 0),
                ("spent".to_owned(), 1, 200_000, 180_000),
            ]
        );
        let spend: Vec<(String, String, i64)> = claims["totals"]["spend_by_month"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["month"].as_str().unwrap().to_owned(),
                    r["category"].as_str().unwrap().to_owned(),
                    r["spend_minor"].as_i64().unwrap(),
                )
            })
            .collect();
        // Requested and rejected money is no spend; spent money counts as spent.
        assert_eq!(
            spend,
            [
                ("2026-01".to_owned(), "event".to_owned(), 180_000),
                ("2026-01".to_owned(), "placement".to_owned(), 0),
                ("2026-01".to_owned(), "training".to_owned(), 50_000),
            ]
        );
        let everyone = s.get_json(ho, "/api/claims").await;
        assert_eq!(everyone["total"], 5);
        let dealer_claims = s.get_json(ho, "/api/claims?dealer=d7").await;
        assert_eq!(
            dealer_claims["totals"]["by_status"][0]["amount_minor"],
            99_900
        );
        // Commitments: per status, and the overdue among the open.
        let c = s.get_json(ho, "/api/commitments?manager=m1").await;
        assert_eq!(c["total"], 4);
        assert_eq!(
            c["totals"],
            json!({"by_status": [{"status": "broken", "n": 1}, {"status": "kept", "n": 1}, {"status": "open", "n": 2}], "overdue": 1,
                "rates": {"made": 4, "kept": 0.25, "broken": 0.25, "overdue": 0.25}})
        );
        let open = s
            .get_json(ho, "/api/commitments?manager=m1&status=open&per_page=1")
            .await;
        assert_eq!(
            (open["total"].clone(), open["totals"]["overdue"].clone()),
            (json!(2), json!(1))
        );
        // Problems: open ones by age (0–6, 7–29, 30–89, 90+ days).
        let p = s
            .get_json(ho, "/api/problems?territory=t-cov&per_page=2")
            .await;
        assert_eq!(p["total"], 5);
        let ages: Vec<i64> = p["totals"]["open_by_age"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ages, [1, 1, 1, 1]);
        assert_eq!(
            p["totals"]["by_status"],
            json!([{"status": "open", "n": 4}, {"status": "resolved", "n": 1}])
        );
        // A manager's lists stay within their territory, filters or not.
        let mine = s.get_json(&f.m1, "/api/visits").await;
        assert_eq!(mine["total"], 4);
        assert_eq!(
            s.get(&f.m1, "/api/visits?territory=t-far").await.status(),
            403
        );
        f.server.stop().await;
    }

    async fn coverage_follows_each_tiers_visit_frequency(backend: Backend) {
        // Defaults: tier 1 every 14 days, tier 2 every 30, tier 3 every 60.
        let f = fixture(backend, Settings::default()).await;
        let due = f.server.get_json(&f.ho, "/api/dealers?due=true").await;
        let mut got = ids(&due);
        got.sort();
        assert_eq!(
            got,
            ["d1", "d4", "d5"],
            "d2 and d3 are within, d6 is dormant"
        );
        assert_eq!(due["totals"]["visit_due"], 3);
        let far = f
            .server
            .get_json(&f.ho, "/api/dealers?due=true&territory=t-far")
            .await;
        assert_eq!(far["total"], 0);
        // The whole list says how many are due, whatever the page.
        let all = f
            .server
            .get_json(&f.ho, "/api/dealers?manager=m1&per_page=1")
            .await;
        assert_eq!(
            (all["total"].clone(), all["totals"]["visit_due"].clone()),
            (json!(6), json!(3))
        );
        f.server.stop().await;
        // Configured: every tier every 30 days: d1 (20 days) is now within.
        let settings = Settings {
            visit_every_days: vec![30, 30, 30],
            ..Settings::default()
        };
        let f = fixture(backend, settings).await;
        let due = f.server.get_json(&f.ho, "/api/dealers?due=true").await;
        let mut got = ids(&due);
        got.sort();
        assert_eq!(got, ["d4", "d5"]);
        let m = f.server.get_json(&f.ho, "/api/managers/m1").await;
        assert_eq!(m["coverage"]["due"], 2);
        f.server.stop().await;
    }

    async fn the_manager_page_sums_one_persons_work(backend: Backend) {
        let f = fixture(backend, Settings::default()).await;
        let m = f.server.get_json(&f.ho, "/api/managers/m1").await;
        assert_eq!(m["name"], "m1");
        assert_eq!(m["territories"], json!(["t-cov"]));
        assert_eq!(
            m["coverage"],
            json!({"dealers": 5, "due": 3, "by_tier": [
                {"tier": 1, "every_days": 14, "dealers": 2, "due": 1},
                {"tier": 2, "every_days": 30, "dealers": 2, "due": 1},
                {"tier": 3, "every_days": 60, "dealers": 1, "due": 1},
            ]})
        );
        // Visits per week: d1 and d3 the same day, d2 and d5 alone; weeks start on Monday.
        let weeks = m["visits_per_week"].as_array().unwrap();
        let counts: Vec<i64> = weeks.iter().map(|w| w["n"].as_i64().unwrap()).collect();
        assert_eq!(counts, [1, 2, 1], "{weeks:?}");
        for (w, days) in weeks.iter().zip([70, 20, 5]) {
            let start = w["week"].as_i64().unwrap();
            assert_eq!((start + 3 * DAY) % WEEK, 0, "a Monday, 00:00 UTC");
            let visit = f.now - days * DAY;
            assert!(start <= visit && visit < start + WEEK);
            assert_eq!(w["manager"], "m1");
        }
        assert_eq!(
            m["commitments"],
            json!({"by_status": [{"status": "broken", "n": 1}, {"status": "kept", "n": 1}, {"status": "open", "n": 2}], "overdue": 1,
                "rates": {"made": 4, "kept": 0.25, "broken": 0.25, "overdue": 0.25}})
        );
        let ages: Vec<i64> = m["problems"]["open_by_age"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ages, [1, 1, 1, 1]);
        let spend: i64 = m["spend"]["spend_by_month"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["spend_minor"].as_i64().unwrap())
            .sum();
        assert_eq!(spend, 230_000, "1,800 spent on k3 and 500 approved for k2");
        // A date range narrows the visits, not the coverage (which is as of now).
        let recent = f
            .server
            .get_json(
                &f.ho,
                &format!("/api/managers/m1?from={}", f.now - 30 * DAY),
            )
            .await;
        let n: i64 = recent["visits_per_week"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["n"].as_i64().unwrap())
            .sum();
        assert_eq!((n, recent["coverage"]["due"].clone()), (3, json!(3)));
        // Someone else's manager, or nobody, is not found.
        assert_eq!(f.server.get(&f.m1, "/api/managers/m2").await.status(), 404);
        assert_eq!(
            f.server.get(&f.ho, "/api/managers/nobody").await.status(),
            404
        );
        assert_eq!(f.server.get(&f.m1, "/api/managers/m1").await.status(), 200);
        f.server.stop().await;
    }

    async fn the_dealer_page_shows_the_whole_document(backend: Backend) {
        let f = fixture(backend, Settings::default()).await;
        let d = f.server.get_json(&f.ho, "/api/dealers/d1").await;
        assert_eq!(d["profile"]["name"], "經銷商 d1");
        assert_eq!(d["territory"], "t-cov");
        let visits = d["visits"].as_array().unwrap();
        assert_eq!(visits.len(), 1);
        assert_eq!(visits[0]["id"], "v-d1");
        assert_eq!(visits[0]["summary"], "拜訪 d1");
        assert!(visits[0]["attendees"].to_string().contains("林老闆"));
        assert!(visits[0]["notes"].to_string().contains("下月再訪"));
        let n = |k: &str| d[k].as_array().unwrap().len();
        assert_eq!(
            (
                n("commitments"),
                n("claims"),
                n("problems"),
                n("activities")
            ),
            (4, 4, 5, 0)
        );
        let k3 = d["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "k3")
            .unwrap();
        assert_eq!(k3["spent"]["minor"], 180_000);
        // Another territory's dealer, or none, is not found; the manager sees their own.
        assert_eq!(f.server.get(&f.m1, "/api/dealers/d7").await.status(), 404);
        assert_eq!(f.server.get(&f.ho, "/api/dealers/nope").await.status(), 404);
        assert_eq!(f.server.get(&f.m1, "/api/dealers/d1").await.status(), 200);
        f.server.stop().await;
    }
}
