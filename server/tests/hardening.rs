//! HTTP hardening against the real server on port 0: slow clients are cut off, excess requests are shed with
//! `Retry-After`, every response carries the security headers, and the health check needs no database.

mod common;

use std::time::Duration;

use common::*;
use fieldsync_server::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

on_both_backends!(
    a_client_that_sends_its_headers_slowly_is_cut_off,
    requests_over_the_in_flight_limit_get_503_with_retry_after,
    every_response_carries_the_security_headers,
    the_health_check_answers_without_the_database,
);

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `within` passes): what it sent, and whether it closed.
async fn read_until_closed(
    stream: &mut (impl AsyncReadExt + Unpin),
    within: Duration,
) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn a_client_that_sends_its_headers_slowly_is_cut_off(backend: Backend) {
    let mut settings = Settings::default();
    settings.hardening.header_read_timeout = Duration::from_millis(400);
    let server = TestServer::start_with(backend, settings).await;

    // Slowloris: a header line every 100 ms, never the blank line that ends them.
    let (mut from_server, mut to_server) = TcpStream::connect(addr(&server))
        .await
        .unwrap()
        .into_split();
    to_server
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let drip = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(100));
        for i in 0..100 {
            every.tick().await;
            let line = format!("X-Slow-{i}: y\r\n");
            if to_server.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let (_, cut) = read_until_closed(&mut from_server, Duration::from_secs(5)).await;
    drip.abort();
    assert!(cut, "a client dripping headers held its connection for 5 s");

    // A connection that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(addr(&server)).await.unwrap();
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(closed, "an idle connection stayed open");

    // An ordinary request is unaffected.
    let mut ok = TcpStream::connect(addr(&server)).await.unwrap();
    ok.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut ok, Duration::from_secs(5)).await;
    assert!(closed && answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

async fn requests_over_the_in_flight_limit_get_503_with_retry_after(backend: Backend) {
    let mut settings = Settings::default();
    settings.hardening.max_in_flight = 2;
    let server = TestServer::start_with(backend, settings).await;

    // Two requests held in flight: their bodies never finish arriving.
    async fn hold(server: &TestServer) -> TcpStream {
        let mut s = TcpStream::connect(addr(server)).await.unwrap();
        s.write_all(
            b"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":",
        )
        .await
        .unwrap();
        s
    }
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(hold(&server).await);
    }
    // The third is shed at once, with a stable code and Retry-After. Polled: the held requests
    // reach the handler asynchronously, so a probe can take a slot first and get one of them shed;
    // a held request that was answered is replaced until both hold their slots.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let shed = loop {
        for slot in &mut held {
            let mut buf = [0u8; 512];
            if matches!(slot.try_read(&mut buf), Ok(n) if n > 0) {
                *slot = hold(&server).await;
            }
        }
        let r = server
            .http
            .get(format!("{}/v1/me", server.base))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never shed: {}",
            r.status()
        );
        tokio::task::yield_now().await;
    };
    assert!(shed.headers().contains_key("retry-after"));
    let e: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(e["code"], "overloaded");

    // Once they go, the server serves again.
    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = server
            .http
            .get(format!("{}/health", server.base))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still shedding");
        tokio::task::yield_now().await;
    }
    server.stop().await;
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>fieldsync</title>",
    )
    .unwrap();
    let settings = Settings {
        web_dir: Some(web.path().to_owned()),
        ..Settings::default()
    };
    let server = TestServer::start_with(backend, settings).await;
    let token = server.user("ho", "head_office", &[]).await;
    for (path, auth) in [
        ("/", false),
        ("/index.html", false),
        ("/health", false),
        ("/v1/me", true),
        ("/v1/me", false),
        ("/api/nothing-here", true),
    ] {
        let mut req = server.http.get(format!("{}{path}", server.base));
        if auth {
            req = req.bearer_auth(&token);
        }
        let r = req.send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    }
    // The app's policy lets its wasm run and its photos show, and nothing else in.
    let r = server.http.get(&server.base).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "img-src 'self' blob: data:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{csp} lacks {part}");
    }
    server.stop().await;
}

async fn the_health_check_answers_without_the_database(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.user("ho", "head_office", &[]).await;
    assert_eq!(server.get(&token, "/v1/me").await.status(), 200);
    // The database goes away: requests that need it fail, the health check does not.
    server.store.close().await;
    assert!(
        server
            .get(&token, "/v1/me")
            .await
            .status()
            .is_server_error()
    );
    let r = server
        .http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    server.stop().await;
}
