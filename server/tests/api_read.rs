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
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = fieldsync_server::routes()
        .into_iter()
        .map(|(m, p, _)| (m.to_owned(), p.to_owned()))
        .collect();
    routed.sort();
    assert_eq!(documented, routed);
    // Every documented path answers (not the router's fallback 404).
    for (method, path) in &routed {
        let url = format!(
            "{}{}",
            server.base,
            path.replace("{doc_id}", "dealer:x").replace("{id}", "x")
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
