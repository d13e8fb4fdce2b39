//! Visit photos uploaded and fetched by content hash, on SQLite and on PostgreSQL: only by readers of a territory
//! whose visit names the photo, only real images (by their bytes), served inert, within a per-device daily quota.

mod common;

use common::*;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::{ContentHash, Photo, Visit};
use fieldsync_server::Settings;
use sha2::{Digest, Sha256};

on_both_backends!(
    a_photo_named_by_a_visit_is_read_only_by_readers_of_its_territory,
    a_photo_whose_bytes_do_not_match_its_name_changes_nothing,
    only_jpeg_png_and_webp_bytes_are_accepted_whatever_the_declared_type,
    a_device_over_its_daily_photo_quota_is_refused,
    photos_of_documents_committed_before_the_index_are_indexed_once,
);

fn jpeg(seed: u8) -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend((0..4096u32).map(|i| (i as u8).wrapping_mul(seed)));
    b
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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

/// Head office, m1 (north, with a dealer) and m3 (south); returns (ho, m1's device, m3's token, dealer).
async fn north_and_south(server: &TestServer) -> (Device, Device, String, DealerId) {
    // Access comes from the administrator's assignment only (not the territory document's list).
    let ho = head_office_with_territories(server, &[("t-north", &[]), ("t-south", &[])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t3 = server.user("m3", "manager", &["t-south"]).await;
    let mut m1 = server.device("m1", &t1);
    m1.sync().await;
    let d: DealerId = "d-lin".parse().unwrap();
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), d.clone(), &profile("林記商行"), &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());
    (ho, m1, t3, d)
}

/// m1 records a visit naming the photos `hashes` and syncs it.
async fn visit_with_photos(m1: &mut Device, d: &DealerId, id: &str, hashes: &[&str]) {
    let s = m1.stamp();
    let mut visit = Visit::new(m1.user.clone(), s.at);
    for h in hashes {
        visit.photos.insert(
            h.parse::<ContentHash>().unwrap(),
            Photo {
                mime: "image/jpeg".into(),
                bytes: 4100,
                taken_at: None,
            },
        );
    }
    m1.replica
        .dealer_mut(d)
        .unwrap()
        .insert(&id.parse::<VisitId>().unwrap(), &visit, &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());
}

async fn a_photo_named_by_a_visit_is_read_only_by_readers_of_its_territory(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, mut m1, south, d) = north_and_south(&server).await;
    let bytes = jpeg(7);
    let hash = sha(&bytes);

    // Before any visit names it, nobody may upload or read it: knowing a hash is not enough.
    let r = put(&server, &m1.token, &hash, bytes.clone(), "image/jpeg").await;
    assert_eq!(r.status(), 404);
    visit_with_photos(&mut m1, &d, "v-1", &[&hash]).await;
    // A manager of another territory cannot upload it either.
    assert_eq!(
        put(&server, &south, &hash, bytes.clone(), "image/jpeg")
            .await
            .status(),
        404
    );

    let r = put(&server, &m1.token, &hash, bytes.clone(), "image/jpeg").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["stored"], true);
    assert_eq!(body["bytes"], bytes.len());
    // A retry after a lost response stores nothing twice.
    let again: serde_json::Value = put(&server, &m1.token, &hash, bytes.clone(), "image/jpeg")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["stored"], false);

    for reader in [&ho.token, &m1.token] {
        let r = server.get(reader, &format!("/v1/photos/{hash}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    }
    // The south manager cannot read the north visit's photo: the same 404 as no photo at all.
    let r = server.get(&south, &format!("/v1/photos/{hash}")).await;
    assert_eq!(r.status(), 404);
    let missing = server
        .get(&south, &format!("/v1/photos/{}", sha(b"x")))
        .await;
    assert_eq!(missing.status(), 404);
    // Without a token: refused.
    let anon = server
        .http
        .get(format!("{}/v1/photos/{hash}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    // Moved out of the north, m1 no longer reads its photos.
    fieldsync_server::admin::set_territories(&server.store, "m1", &["t-south".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        server
            .get(&m1.token, &format!("/v1/photos/{hash}"))
            .await
            .status(),
        404
    );
    server.stop().await;
}

async fn a_photo_whose_bytes_do_not_match_its_name_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut m1, _south, d) = north_and_south(&server).await;
    let bytes = jpeg(3);
    let hash = sha(&bytes);
    let other = sha(&jpeg(5));
    visit_with_photos(&mut m1, &d, "v-1", &[&hash, &other]).await;
    let r = put(&server, &m1.token, &other, bytes.clone(), "image/jpeg").await;
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "bad_photo");
    assert_eq!(
        server
            .get(&m1.token, &format!("/v1/photos/{other}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        put(
            &server,
            &m1.token,
            "not-a-hash",
            bytes.clone(),
            "image/jpeg"
        )
        .await
        .status(),
        400
    );
    let huge = vec![0u8; fieldsync_server::api::photos::MAX_PHOTO_BYTES + 1];
    let huge_hash = sha(&huge);
    assert_eq!(
        put(&server, &m1.token, &huge_hash, huge, "image/jpeg")
            .await
            .status(),
        413
    );
    assert_eq!(
        server
            .get(&m1.token, &format!("/v1/photos/{hash}"))
            .await
            .status(),
        404
    );
    server.stop().await;
}

async fn only_jpeg_png_and_webp_bytes_are_accepted_whatever_the_declared_type(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, mut m1, _south, d) = north_and_south(&server).await;
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let html = b"<!doctype html><script>fetch('/v1/me')</script>".to_vec();
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    png.extend([1u8; 64]);
    let mut webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ".to_vec();
    webp.extend([2u8; 64]);
    let jpg = jpeg(9);
    let hashes: Vec<String> = [&svg, &html, &png, &webp, &jpg]
        .iter()
        .map(|b| sha(b))
        .collect();
    let named: Vec<&str> = hashes.iter().map(String::as_str).collect();
    visit_with_photos(&mut m1, &d, "v-1", &named).await;

    // Not images, though declared as images: refused with their code, nothing stored.
    for (body, declared) in [(&svg, "image/svg+xml"), (&html, "image/jpeg")] {
        let r = put(&server, &m1.token, &sha(body), body.clone(), declared).await;
        assert_eq!(r.status(), 415);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["code"], "not_an_image");
        let got = server
            .get(&ho.token, &format!("/v1/photos/{}", sha(body)))
            .await;
        assert_eq!(got.status(), 404);
    }
    // Real images are stored and served with the type their bytes say, whatever was declared.
    for (body, declared, served) in [
        (&png, "application/octet-stream", "image/png"),
        (&webp, "image/jpeg", "image/webp"),
        (&jpg, "text/html", "image/jpeg"),
    ] {
        let r = put(&server, &m1.token, &sha(body), body.clone(), declared).await;
        assert_eq!(r.status(), 200, "{served}");
        let got = server
            .get(&ho.token, &format!("/v1/photos/{}", sha(body)))
            .await;
        assert_eq!(got.headers()["content-type"], served);
    }
    server.stop().await;
}

async fn a_device_over_its_daily_photo_quota_is_refused(backend: Backend) {
    let mut settings = Settings::default();
    settings.hardening.photo_quota_bytes_per_day = 9_000;
    let server = TestServer::start_with(backend, settings).await;
    let (_ho, mut m1, _south, d) = north_and_south(&server).await;
    let photos: Vec<Vec<u8>> = (11..14).map(jpeg).collect();
    let hashes: Vec<String> = photos.iter().map(|p| sha(p)).collect();
    let named: Vec<&str> = hashes.iter().map(String::as_str).collect();
    visit_with_photos(&mut m1, &d, "v-1", &named).await;
    // Two photos of 4,100 bytes fit in 9,000; the third does not.
    for (p, h) in photos.iter().zip(&hashes).take(2) {
        assert_eq!(
            put(&server, &m1.token, h, p.clone(), "image/jpeg")
                .await
                .status(),
            200
        );
    }
    let r = put(
        &server,
        &m1.token,
        &hashes[2],
        photos[2].clone(),
        "image/jpeg",
    )
    .await;
    assert_eq!(r.status(), 429);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["code"], "photo_quota_exceeded");
    // Re-sending a stored photo costs nothing; the quota is per device.
    assert_eq!(
        put(
            &server,
            &m1.token,
            &hashes[0],
            photos[0].clone(),
            "image/jpeg"
        )
        .await
        .status(),
        200
    );
    let phone2 = server.token("m1").await;
    assert_eq!(
        put(
            &server,
            &phone2,
            &hashes[2],
            photos[2].clone(),
            "image/jpeg"
        )
        .await
        .status(),
        200
    );
    server.stop().await;
}

async fn photos_of_documents_committed_before_the_index_are_indexed_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, mut m1, _south, d) = north_and_south(&server).await;
    let bytes = jpeg(21);
    let hash = sha(&bytes);
    visit_with_photos(&mut m1, &d, "v-1", &[&hash]).await;
    assert_eq!(
        put(&server, &m1.token, &hash, bytes.clone(), "image/jpeg")
            .await
            .status(),
        200
    );
    // The server's own pass at start (nothing to do on a fresh database) is over.
    let pool = server.store.pool();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM photo_refs_backfill")
        .fetch_one(pool)
        .await
        .unwrap()
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the start-up pass never ended"
        );
        tokio::task::yield_now().await;
    }
    // As a database migrated from before the index: stored photos, no references yet.
    sqlx::query("DELETE FROM photo_refs")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO photo_refs_backfill (pending) VALUES (1)")
        .execute(pool)
        .await
        .unwrap();
    let path = format!("/v1/photos/{hash}");
    assert_eq!(server.get(&ho.token, &path).await.status(), 404);
    assert!(server.store.backfill_photo_refs().await.unwrap());
    assert_eq!(server.get(&ho.token, &path).await.status(), 200);
    // Done once: the marker is gone.
    assert!(!server.store.backfill_photo_refs().await.unwrap());
    server.stop().await;
}
