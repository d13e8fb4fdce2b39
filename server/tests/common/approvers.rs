//! The approvers' scene shared by the approval and commitment tests: two territories, one manager with a dealer in each, a regional manager over both, head office, and head office's `PUT /api/approval-limits`.

use fieldsync_core::ids::DealerId;
use serde_json::Value as Json;

use super::{Backend, Device, TestServer, head_office_with_territories, profile, tid};

/// Territories t-north and t-south; manager m1 in both, with dealer d-n in
/// t-north and d-s in t-south; regional manager r1 over both; head office ho.
pub struct Scene {
    pub server: TestServer,
    pub ho: Device,
    pub m1: Device,
    pub r1: Device,
}

/// Dealer d-n, in t-north.
pub fn dn() -> DealerId {
    "d-n".parse().unwrap()
}

/// Dealer d-s, in t-south.
pub fn ds() -> DealerId {
    "d-s".parse().unwrap()
}

/// The scene, synced: both dealers are on the server.
pub async fn scene(backend: Backend) -> Scene {
    let server = TestServer::start(backend).await;
    let ho =
        head_office_with_territories(&server, &[("t-north", &["m1"]), ("t-south", &["m1"])]).await;
    let t1 = server.user("m1", "manager", &["t-north", "t-south"]).await;
    let tr = server.user("r1", "regional", &["t-north", "t-south"]).await;
    let mut m1 = server.device("m1", &t1);
    let r1 = server.device("r1", &tr);
    m1.sync().await;
    for (t, d) in [("t-north", dn()), ("t-south", ds())] {
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid(t), d, &profile("林記商行"), &s)
            .unwrap();
    }
    assert!(m1.sync().await.is_empty());
    Scene { server, ho, m1, r1 }
}

/// Head office's `PUT /api/approval-limits`.
pub async fn put_limits(server: &TestServer, token: &str, body: &Json) -> reqwest::Response {
    server
        .http
        .put(format!("{}/api/approval-limits", server.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("PUT /api/approval-limits")
}
