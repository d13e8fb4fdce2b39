//! Visit photos uploaded and fetched by content hash, on SQLite and on PostgreSQL.

mod common;

use common::*;
use sha2::{Digest, Sha256};

on_both_backends!(
    a_photo_uploaded_by_its_hash_is_fetched_back_once_stored,
    a_photo_whose_bytes_do_not_match_its_name_changes_nothing,
);

fn jpeg(seed: u8) -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend((0..4096u32).map(|i| (i as u8).wrapping_mul(seed)));
    b
}

async fn put(
    server: &TestServer,
    token: &str,
    hash: &str,
    body: Vec<u8>,
    mime: &str,
) -> reqwest::Response {
    server
        .http
        .put(format!("{}/v1/photos/{hash}", server.base))
        .bearer_auth(token)
        .header("content-type", mime)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn a_photo_uploaded_by_its_hash_is_fetched_back_once_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _ = head_office_with_territories(&server, &[("t-north", &["m1"])]).await;
    let manager = server.user("m1", "manager", &["t-north"]).await;
    let ho = server.token("ho").await;
    let bytes = jpeg(7);
    let hash = hex::encode(Sha256::digest(&bytes));

    assert_eq!(
        server
            .get(&ho, &format!("/v1/photos/{hash}"))
            .await
            .status(),
        404
    );
    let r = put(&server, &manager, &hash, bytes.clone(), "image/jpeg").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["stored"], true);
    assert_eq!(body["bytes"], bytes.len());
    // A retry after a lost response stores nothing twice.
    let again: serde_json::Value = put(&server, &manager, &hash, bytes.clone(), "image/jpeg")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["stored"], false);

    let r = server.get(&ho, &format!("/v1/photos/{hash}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    // Without a token: refused.
    let anon = server
        .http
        .get(format!("{}/v1/photos/{hash}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    server.stop().await;
}

async fn a_photo_whose_bytes_do_not_match_its_name_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _ = head_office_with_territories(&server, &[("t-north", &["m1"])]).await;
    let manager = server.user("m1", "manager", &["t-north"]).await;
    let bytes = jpeg(3);
    let other = hex::encode(Sha256::digest(jpeg(5)));
    let r = put(&server, &manager, &other, bytes.clone(), "image/jpeg").await;
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "bad_photo");
    assert_eq!(
        server
            .get(&manager, &format!("/v1/photos/{other}"))
            .await
            .status(),
        404
    );

    let hash = hex::encode(Sha256::digest(&bytes));
    assert_eq!(
        put(&server, &manager, "not-a-hash", bytes.clone(), "image/jpeg")
            .await
            .status(),
        400
    );
    assert_eq!(
        put(&server, &manager, &hash, bytes.clone(), "text/plain")
            .await
            .status(),
        415
    );
    let huge = vec![0u8; fieldsync_server::api::photos::MAX_PHOTO_BYTES + 1];
    let huge_hash = hex::encode(Sha256::digest(&huge));
    assert_eq!(
        put(&server, &manager, &huge_hash, huge, "image/jpeg")
            .await
            .status(),
        413
    );
    assert_eq!(
        server
            .get(&manager, &format!("/v1/photos/{hash}"))
            .await
            .status(),
        404
    );
    server.stop().await;
}
