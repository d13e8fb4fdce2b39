//! Measures a device holding 500 dealer documents syncing with nothing changed: one round trip, bytes each way (see BENCHMARKS.md).

mod common;

use std::io::Write;
use std::time::Instant;

use common::*;
use fieldsync_core::ids::DealerId;
use fieldsync_core::sync::SyncResponse;

on_both_backends!(a_device_with_500_documents_and_nothing_to_send_syncs_in_under_2kb);

fn gzip_len(bytes: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap().len()
}

async fn a_device_with_500_documents_and_nothing_to_send_syncs_in_under_2kb(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _ho = head_office_with_territories(
        &server,
        &[
            ("t-north", &["m1"]),
            ("t-south", &[]),
            ("t-east", &[]),
            ("t-central", &[]),
        ],
    )
    .await;
    let token = server
        .user(
            "m1",
            "manager",
            &["t-north", "t-south", "t-east", "t-central"],
        )
        .await;
    let mut phone = server.device("m1", &token);
    phone.sync().await;
    for i in 0..500 {
        let s = phone.stamp();
        let id: DealerId = format!("d-{i:04}").parse().unwrap();
        phone
            .replica
            .create_dealer(
                &tid("t-north"),
                id,
                &profile(&format!("經銷商 Dealer {i}")),
                &s,
            )
            .unwrap();
    }
    let started = Instant::now();
    assert!(phone.sync().await.is_empty());
    let first = started.elapsed();
    assert_eq!(phone.replica.doc_ids().count(), 504);
    assert_eq!(phone.replica.pending(), 0);

    // Nothing changed: one request, one response.
    let req = phone.replica.sync_request();
    assert!(req.push.is_empty());
    let req_json = serde_json::to_vec(&req).unwrap();
    let raw = reqwest::Client::builder().gzip(false).build().unwrap();
    let started = Instant::now();
    let r = raw
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("accept-encoding", "gzip")
        .body(req_json.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let resp_headers: usize = r
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let gzipped = r
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let wire = r.bytes().await.unwrap();
    let round_trip = started.elapsed();
    let body = if gzipped {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&wire[..]), &mut out).unwrap();
        out
    } else {
        wire.to_vec()
    };
    let resp: SyncResponse = serde_json::from_slice(&body).unwrap();
    assert!(!resp.more, "one round trip");
    assert!(resp.changes.is_empty() && resp.accepted.is_empty());
    let report = phone.replica.apply_response(&resp).unwrap();
    assert!(report.updated.is_empty());
    let resp_json = serde_json::to_vec(&resp).unwrap();

    println!("backend: {backend:?}");
    println!("first sync of 500 new dealers (+ territory index): {first:?}");
    println!(
        "no-change request body: {} B ({} B gzipped): {}",
        req_json.len(),
        gzip_len(&req_json),
        String::from_utf8_lossy(&req_json)
    );
    println!(
        "no-change response body: {} B uncompressed, {} B on the wire (gzip: {gzipped}): {}",
        resp_json.len(),
        wire.len(),
        String::from_utf8_lossy(&resp_json)
    );
    println!("response headers: ~{resp_headers} B; round trip {round_trip:?}");
    assert!(req_json.len() < 2048, "request {} B", req_json.len());
    assert!(
        wire.len() + resp_headers < 2048,
        "response {} B",
        wire.len()
    );
    server.stop().await;
}
