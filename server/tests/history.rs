//! A record's audit history through the real server, on SQLite and PostgreSQL: a commitment made on one phone and edited concurrently on two; head office sees both writers, each edit's device time and the server's receive time, and the value that lost; a manager of another territory is refused, and bad references are answered with their codes.

mod common;

use common::*;
use fieldsync_core::ids::{CommitmentId, DealerId};
use fieldsync_core::model::Commitment;
use fieldsync_server::store::now_millis;
use serde_json::{Value as Json, json};

on_both_backends!(
    head_office_sees_each_write_with_device_and_server_time,
    history_is_refused_outside_ones_territories,
);

fn dn() -> DealerId {
    "d-n".parse().unwrap()
}

fn cid() -> CommitmentId {
    "c-1".parse().unwrap()
}

const PATH: &str = "/api/dealers/d-n/history?kind=commitment&record=c-1";

/// Territories north (m1, m2) and south (m3); m1 made commitment c-1 at dealer d-n.
async fn scene(server: &TestServer) -> (Device, Device, Device, String) {
    let ho =
        head_office_with_territories(server, &[("t-north", &["m1", "m2"]), ("t-south", &["m3"])])
            .await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let t3 = server.user("m3", "manager", &["t-south"]).await;
    let mut m1 = server.device("m1", &t1);
    let m2 = server.device("m2", &t2);
    m1.sync().await;
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dn(), &profile("林記"), &s)
        .unwrap();
    let c = Commitment::new(
        "送試用品",
        "林老闆",
        s.user.clone(),
        s.at,
        "2026-12-01".parse().unwrap(),
    );
    let s = m1.stamp();
    m1.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&cid(), &c, &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());
    (ho, m1, m2, t3)
}

fn field<'a>(answer: &'a Json, name: &str) -> &'a Vec<Json> {
    answer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name}: {answer}"))["writes"]
        .as_array()
        .unwrap()
}

async fn head_office_sees_each_write_with_device_and_server_time(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, mut m1, mut m2, _) = scene(&server).await;
    m2.sync().await;
    // Offline, both managers change what was promised.
    let mut stamps = Vec::new();
    for (dev, what) in [(&mut m1, "送兩箱試用品"), (&mut m2, "送三箱試用品")] {
        let s = dev.stamp();
        stamps.push(s.clone());
        dev.replica
            .dealer_mut(&dn())
            .unwrap()
            .update::<Commitment>(&cid(), &json!({ "what": what }), &s)
            .unwrap();
    }
    let before_sync = now_millis();
    assert!(m1.sync().await.is_empty());
    assert!(m2.sync().await.is_empty());
    let after_sync = now_millis();

    let answer = server.get_json(&ho.token, PATH).await;
    assert_eq!(answer["kind"], "commitment");
    assert_eq!(answer["record"], "c-1");
    let what = field(&answer, "what");
    assert_eq!(what.len(), 3, "{answer}");
    assert_eq!(what[0]["value"], "送試用品");
    assert_eq!(what[0]["user"], "m1");
    // Both writers are listed, each with its device, its device time and the server's time.
    let edits = &what[1..];
    let mut users: Vec<&str> = edits.iter().map(|w| w["user"].as_str().unwrap()).collect();
    users.sort_unstable();
    assert_eq!(users, ["m1", "m2"]);
    for w in edits {
        let s = stamps
            .iter()
            .find(|s| s.user.as_str() == w["user"])
            .unwrap();
        assert_eq!(w["device"], s.device.as_str());
        assert_eq!(w["at"], s.at.0, "the device's clock");
        let received = w["received_at"].as_i64().expect("a server time");
        assert!(
            (before_sync..=after_sync).contains(&received),
            "received {received} outside the sync {before_sync}..{after_sync}"
        );
    }
    // The one everyone sees won; the other is marked lost, and named on the winner.
    let page = server.get_json(&ho.token, "/api/dealers/d-n").await;
    let shown = page["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "c-1")
        .unwrap()["what"]
        .clone();
    let winner = edits.iter().find(|w| w["lost"] == false).unwrap();
    let loser = edits.iter().find(|w| w["lost"] == true).unwrap();
    assert_eq!(winner["value"], shown);
    let lost = winner["lost_values"].as_array().unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["value"], loser["value"]);
    assert_eq!(lost[0]["user"], loser["user"]);
    assert_eq!(lost[0]["received_at"], loser["received_at"]);
    assert_eq!(loser["lost_values"], json!([]));

    // A regional manager of the territory may read it too.
    let tr = server.user("r1", "regional", &["t-north"]).await;
    assert_eq!(server.get_json(&tr, PATH).await, answer);
    server.stop().await;
}

async fn history_is_refused_outside_ones_territories(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, _, m2, t3) = scene(&server).await;
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Json = r.json().await.unwrap();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    };
    let cases = [
        (&t3, PATH, 403, "forbidden"),
        // Whether another territory's dealer exists is not told either.
        (
            &t3,
            "/api/dealers/d-none/history?kind=commitment&record=c-1",
            403,
            "forbidden",
        ),
        (
            &ho.token,
            "/api/dealers/d-none/history?kind=commitment&record=c-1",
            404,
            "not_found",
        ),
        (
            &ho.token,
            "/api/dealers/d-n/history?kind=commitment&record=c-2",
            404,
            "not_found",
        ),
        (
            &ho.token,
            "/api/dealers/d-n/history?kind=memo&record=c-1",
            400,
            "bad_kind",
        ),
        (
            &ho.token,
            "/api/dealers/d-n/history?kind=commitment",
            400,
            "bad_query",
        ),
        (
            &ho.token,
            "/api/dealers/d-n/history?kind=claim&record=a%20b",
            400,
            "bad_query",
        ),
    ];
    for (token, path, status, expected) in cases {
        assert_eq!(
            code(server.get(token, path).await).await,
            (status, expected.to_owned()),
            "{path}"
        );
    }
    // The dealer's own manager reads it; the profile needs no record id.
    assert_eq!(server.get(&m2.token, PATH).await.status(), 200);
    let profile = server
        .get_json(&ho.token, "/api/dealers/d-n/history?kind=profile")
        .await;
    assert_eq!(field(&profile, "name")[0]["value"], "林記");
    server.stop().await;
}
