//! A territory's "today" is its own time zone's: head office's overdue commitments, dealer page and
//! problem ages on the boundary day, for a Taipei territory and a London one, at a fixed server clock.

mod common;

use common::*;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::ids::DealerId;
use fieldsync_core::model::{Commitment, Problem, ProblemCategory, Severity, Territory};
use fieldsync_core::stamp::Stamp;
use fieldsync_server::Settings;
use serde_json::{Value, json};

crate::on_both_backends!(overdue_and_age_follow_each_territorys_zone);

const HOUR: i64 = 3_600_000;

fn due_day() -> Day {
    "2026-11-27".parse().unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn overdue_and_age_follow_each_territorys_zone(backend: Backend) {
    // 15:30 UTC on the due day: 23:30 in Taipei, 15:30 in London — due today in both.
    let before = due_day().start().millis() + 15 * HOUR + 30 * 60_000;
    // 16:30 UTC: 00:30 the next day in Taipei (overdue there), still the due day in London.
    let after = before + HOUR;
    let settings = |clock| Settings {
        clock: Some(clock),
        ..Settings::default()
    };
    let server = TestServer::start_with(backend, settings(before)).await;
    let token = server.user("ho", "head_office", &[]).await;
    let mut ho = server.device("ho", &token);
    for (id, zone) in [("t-taipei", None), ("t-london", Some("Europe/London"))] {
        let t = Territory {
            name: format!("{id} 區"),
            region: String::new(),
            managers: ["m1".parse().unwrap()].into_iter().collect(),
            time_zone: zone.map(str::to_owned),
        };
        let s = ho.stamp();
        ho.replica.create_territory(tid(id), &t, &s).unwrap();
    }
    assert!(ho.sync().await.is_empty());
    let m1_token = server
        .user("m1", "manager", &["t-taipei", "t-london"])
        .await;
    let mut m1 = server.device("m1", &m1_token);
    m1.sync().await;
    let made = Timestamp(due_day().start().millis() - 5 * 24 * HOUR);
    let stamp = |m1: &Device, at: i64| Stamp::new(m1.user.clone(), m1.id.clone(), Timestamp(at));
    for (dealer, territory) in [("d-taipei", "t-taipei"), ("d-london", "t-london")] {
        let d: DealerId = dealer.parse().unwrap();
        let s = stamp(&m1, made.millis());
        m1.replica
            .create_dealer(&tid(territory), d.clone(), &profile(dealer), &s)
            .unwrap();
        let c = Commitment::new("送試用品", "林老闆", m1.user.clone(), made, due_day());
        let doc = m1.replica.dealer_mut(&d).unwrap();
        doc.insert(&format!("c-{territory}").parse().unwrap(), &c, &s)
            .unwrap();
        // Raised at 23:50 Taipei time, 40 minutes before `after`.
        let p = Problem::new(
            ProblemCategory::Market,
            Severity::Low,
            "競品降價",
            m1.user.clone(),
            Timestamp(after - 40 * 60_000),
        );
        let s = stamp(&m1, after - 40 * 60_000);
        let doc = m1.replica.dealer_mut(&d).unwrap();
        doc.insert(&format!("p-{territory}").parse().unwrap(), &p, &s)
            .unwrap();
    }
    assert!(m1.sync().await.is_empty());

    // 23:30 in Taipei: nothing is overdue yet.
    let overdue = server
        .get_json(&token, "/api/commitments?overdue=true")
        .await;
    assert_eq!(ids(&overdue), Vec::<String>::new());
    assert_eq!(overdue["totals"]["overdue"], 0);
    let db = server.stop_keeping_db().await;

    // 00:30 the next day in Taipei: the Taipei commitment is overdue; London's is not (16:30 there).
    let server = TestServer::start_on(db, settings(after)).await;
    let overdue = server
        .get_json(&token, "/api/commitments?overdue=true")
        .await;
    assert_eq!(ids(&overdue), vec!["c-t-taipei".to_owned()]);
    assert_eq!(overdue["totals"]["overdue"], 1);

    // The dealer page says the same, through the core's standing, and names the zone and its day.
    let page = server.get_json(&token, "/api/dealers/d-taipei").await;
    assert_eq!(page["zone"], "Asia/Taipei");
    assert_eq!(page["today"], "2026-11-28");
    assert_eq!(
        page["commitments"][0]["standing"],
        json!({"status": "open", "open": true, "overdue": true})
    );
    let page = server.get_json(&token, "/api/dealers/d-london").await;
    assert_eq!(page["zone"], "Europe/London");
    assert_eq!(page["today"], "2026-11-27");
    assert_eq!(page["commitments"][0]["standing"]["overdue"], false);

    // Ageing counts calendar days in each zone: raised 23:50 in Taipei, a day old at 00:30; in London, new.
    let problems = server.get_json(&token, "/api/problems").await;
    let age = |id: &str| {
        problems["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["age_days"].clone())
            .unwrap()
    };
    assert_eq!(age("p-t-taipei"), 1);
    assert_eq!(age("p-t-london"), 0);
    let buckets = &problems["totals"]["open_by_age"];
    assert_eq!(buckets[0]["n"], 2, "both are under a week old: {buckets}");
    server.stop().await;
}
