//! Tokens and sessions against the real server: one-time login codes, token expiry, disabled users, who issued a
//! device, and the live channel (authenticated by its first message, limited per device and in message size,
//! closed when its token stops working).

mod common;

use std::time::Duration;

use common::*;
use fieldsync_server::{Settings, admin};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

on_both_backends!(
    a_login_code_gives_the_token_once_and_not_after_it_expires,
    an_expired_token_or_a_disabled_user_gets_401_and_its_live_channel_closes,
    a_device_revoked_by_head_office_loses_its_live_channel_at_once,
    head_office_issues_a_managers_device_on_record_and_never_sees_its_token,
    the_live_channel_authenticates_by_its_first_message_only,
    the_live_channel_limits_message_size_and_channels_per_device,
);

async fn redeem(server: &TestServer, code: &str) -> reqwest::Response {
    server
        .http
        .post(format!("{}/v1/login", server.base))
        // The user's PIN: set by the first login (`new_secret`), given after (`secret`).
        .json(&json!({ "code": code, "secret": "246810", "new_secret": "246810" }))
        .send()
        .await
        .unwrap()
}

async fn code_of(r: reqwest::Response) -> Value {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 401, "{body}");
    body["code"].clone()
}

fn parse(text: Option<String>) -> Value {
    serde_json::from_str(&text.expect("a message")).unwrap()
}

async fn a_login_code_gives_the_token_once_and_not_after_it_expires(backend: Backend) {
    let server = TestServer::start(backend).await;
    admin::add_user(&server.store, "m1", "Chen", "manager", &[])
        .await
        .unwrap();
    let issued = admin::issue_device(&server.store, "m1", "phone", None)
        .await
        .unwrap();
    let day = admin::LOGIN_CODE_TTL_MS;
    let code = admin::login_code(&server.store, &issued.device, &issued.token, day)
        .await
        .unwrap();
    assert!(code.link().starts_with("/#/login?code=lc_"));
    assert!(!code.link().contains(&issued.token));

    let r = redeem(&server, &code.code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"], issued.token.as_str());
    assert_eq!(body["device"], issued.device.as_str());
    // Once only.
    assert_eq!(
        code_of(redeem(&server, &code.code).await).await,
        "login_code_used"
    );
    assert_eq!(
        code_of(redeem(&server, "lc_made-up").await).await,
        "login_code_invalid"
    );
    // A code past its time is refused, and stays refused.
    let stale = admin::login_code(&server.store, &issued.device, &issued.token, -1)
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            code_of(redeem(&server, &stale.code).await).await,
            "login_code_expired"
        );
    }
    // Neither a code nor a token is stored in clear; a used code keeps nothing of the token.
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT code_hash, sealed FROM login_codes")
            .fetch_all(server.store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    for (hash, sealed) in &rows {
        assert!(!hash.contains(&code.code) && !hash.contains(&stale.code));
        assert!(!sealed.as_deref().unwrap_or("").contains(&issued.token));
    }
    let used = fieldsync_server::auth::hash_token(&code.code);
    assert!(rows.iter().any(|(h, s)| *h == used && s.is_none()));

    // A signed-in device makes a login link for itself (to open the app elsewhere).
    let r = server
        .http
        .post(format!("{}/v1/login-codes", server.base))
        .bearer_auth(&issued.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let link: Value = r.json().await.unwrap();
    let r = redeem(&server, link["code"].as_str().unwrap()).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"], issued.token.as_str());
    server.stop().await;
}

fn fast_pings() -> Settings {
    let mut s = Settings::default();
    s.hardening.live_ping = Duration::from_millis(150);
    s
}

async fn an_expired_token_or_a_disabled_user_gets_401_and_its_live_channel_closes(
    backend: Backend,
) {
    let server = TestServer::start_with(backend, fast_pings()).await;
    let m1 = server.user("m1", "manager", &[]).await;
    let m2 = server.user("m2", "manager", &[]).await;
    let m2_phone2 = server.token("m2").await;

    // A token issued already expired.
    let old = admin::issue_device_with(
        &server.store,
        "m1",
        "old",
        admin::IssueOptions {
            fixed: None,
            issued_by: admin::ISSUED_BY_CLI,
            expires_at: Some(fieldsync_server::store::now_millis() - 1),
        },
    )
    .await
    .unwrap();
    let r = server.get(&old.token, "/v1/me").await;
    assert_eq!(code_of(r).await, "token_expired");
    let mut ws = live(&server.base, &old.token).await;
    let said = parse(next_text(&mut ws).await);
    assert_eq!(
        (said["type"].as_str(), said["code"].as_str()),
        (Some("error"), Some("token_expired"))
    );

    // A token that expires while its live channel is open: the channel closes, saying why.
    let mut ws = live(&server.base, &m1).await;
    assert_eq!(parse(next_text(&mut ws).await)["type"], "ready");
    let device = server.get_json(&m1, "/v1/me").await["device"]
        .as_str()
        .unwrap()
        .to_owned();
    sqlx::query("UPDATE devices SET expires_at = $1 WHERE id = $2")
        .bind(fieldsync_server::store::now_millis() - 1)
        .bind(&device)
        .execute(server.store.pool())
        .await
        .unwrap();
    let said = parse(next_text(&mut ws).await);
    assert_eq!(
        (said["type"].as_str(), said["code"].as_str()),
        (Some("closed"), Some("token_expired"))
    );
    assert!(closes(&mut ws).await);
    assert_eq!(
        code_of(server.get(&m1, "/v1/me").await).await,
        "token_expired"
    );

    // A user disabled (as `user disable` does, from another process): every device of
    // theirs gets 401 and their open channels close.
    let mut ws1 = live(&server.base, &m2).await;
    let mut ws2 = live(&server.base, &m2_phone2).await;
    assert_eq!(parse(next_text(&mut ws1).await)["type"], "ready");
    assert_eq!(parse(next_text(&mut ws2).await)["type"], "ready");
    admin::set_disabled(&server.store, "m2", true)
        .await
        .unwrap();
    for ws in [&mut ws1, &mut ws2] {
        let said = parse(next_text(ws).await);
        assert_eq!(said["code"], "user_disabled");
        assert!(closes(ws).await);
    }
    for t in [&m2, &m2_phone2] {
        assert_eq!(
            code_of(server.get(t, "/v1/me").await).await,
            "user_disabled"
        );
        let r = server
            .http
            .post(format!("{}/v1/sync", server.base))
            .bearer_auth(t)
            .json(&json!({"protocol": 1, "cursor": "", "push": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(code_of(r).await, "user_disabled");
    }
    // Enabled again, the same tokens work.
    admin::set_disabled(&server.store, "m2", false)
        .await
        .unwrap();
    assert_eq!(server.get(&m2, "/v1/me").await.status(), 200);
    server.stop().await;
}

async fn a_device_revoked_by_head_office_loses_its_live_channel_at_once(backend: Backend) {
    // Pings far apart: only the revocation itself can close the channel within the test.
    let mut settings = Settings::default();
    settings.hardening.live_ping = Duration::from_secs(3600);
    let server = TestServer::start_with(backend, settings).await;
    let ho = server.user("ho", "head_office", &[]).await;
    let m1 = server.user("m1", "manager", &[]).await;
    let mut ws = live(&server.base, &m1).await;
    assert_eq!(parse(next_text(&mut ws).await)["type"], "ready");
    let device = server.get_json(&m1, "/v1/me").await["device"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = server
        .http
        .delete(format!("{}/api/devices/{device}", server.base))
        .bearer_auth(&ho)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let said = parse(next_text(&mut ws).await);
    assert_eq!(
        (said["type"].as_str(), said["code"].as_str()),
        (Some("closed"), Some("unauthorized"))
    );
    assert!(closes(&mut ws).await);
    server.stop().await;
}

async fn head_office_issues_a_managers_device_on_record_and_never_sees_its_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ho = server.user("ho", "head_office", &[]).await;
    server.user("m1", "manager", &["t-north"]).await;
    let r = server
        .http
        .post(format!("{}/api/devices", server.base))
        .bearer_auth(&ho)
        .json(&json!({"user": "m1", "label": "new phone", "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap();
    assert!(issued.get("token").is_none(), "{issued}");
    assert_eq!(issued["issued_by"], "ho");
    let device = issued["device"].as_str().unwrap();
    // On record: who issued it, until when.
    let row = server.store.device(device).await.unwrap().unwrap();
    assert_eq!(row.issued_by.as_deref(), Some("ho"));
    assert_eq!(row.user, "m1");
    let days = (row.expires_at.unwrap() - row.created_at) / 86_400_000;
    assert!((29..=30).contains(&days), "{days}");
    // The link's code gives the manager's device token, once: if anyone else used the
    // link first, the manager finds it spent.
    let code = issued["login_url"]
        .as_str()
        .unwrap()
        .strip_prefix("/#/login?code=")
        .unwrap();
    let r = redeem(&server, code).await;
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = server.get_json(&token, "/v1/me").await;
    assert_eq!(
        (me["user"].as_str(), me["device"].as_str()),
        (Some("m1"), Some(device))
    );
    assert_eq!(
        code_of(redeem(&server, code).await).await,
        "login_code_used"
    );
    // Out of range expiries are refused.
    let r = server
        .http
        .post(format!("{}/api/devices", server.base))
        .bearer_auth(&ho)
        .json(&json!({"user": "m1", "expires_in_days": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    server.stop().await;
}

async fn the_live_channel_authenticates_by_its_first_message_only(backend: Backend) {
    let mut settings = Settings::default();
    settings.hardening.live_auth_timeout = Duration::from_millis(300);
    let server = TestServer::start_with(backend, settings).await;
    let m1 = server.user("m1", "manager", &[]).await;
    let ws_base = server.base.replace("http://", "ws://");

    // A token in the URL is not a way in: the channel waits for the first message, then closes.
    let (mut by_url, _) = tokio_tungstenite::connect_async(format!("{ws_base}/v1/live?token={m1}"))
        .await
        .unwrap();
    let said = parse(next_text(&mut by_url).await);
    assert_eq!(
        (said["type"].as_str(), said["code"].as_str()),
        (Some("error"), Some("unauthorized"))
    );
    assert!(closes(&mut by_url).await);

    // A first message that is not `auth` closes it too.
    let (mut wrong, _) = tokio_tungstenite::connect_async(format!("{ws_base}/v1/live"))
        .await
        .unwrap();
    wrong
        .send(Message::Text(json!({"type": "hello"}).to_string().into()))
        .await
        .unwrap();
    assert_eq!(parse(next_text(&mut wrong).await)["type"], "error");
    assert!(closes(&mut wrong).await);

    // The app's way: the token in the first message.
    let mut ws = live(&server.base, &m1).await;
    assert_eq!(parse(next_text(&mut ws).await)["type"], "ready");

    // Other clients may send the token as a header on the upgrade; a bad one is refused before it.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{ws_base}/v1/live").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {m1}").parse().unwrap());
    let (mut by_header, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(parse(next_text(&mut by_header).await)["type"], "ready");
    let mut req = format!("{ws_base}/v1/live").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer fs_wrong".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    server.stop().await;
}

async fn the_live_channel_limits_message_size_and_channels_per_device(backend: Backend) {
    let mut settings = Settings::default();
    settings.hardening.live_per_device = 2;
    settings.hardening.live_max_message = 1024;
    let server = TestServer::start_with(backend, settings).await;
    let m1 = server.user("m1", "manager", &[]).await;

    let mut a = live(&server.base, &m1).await;
    let mut b = live(&server.base, &m1).await;
    assert_eq!(parse(next_text(&mut a).await)["type"], "ready");
    assert_eq!(parse(next_text(&mut b).await)["type"], "ready");
    // A third channel of the same device is refused, saying why.
    let mut c = live(&server.base, &m1).await;
    let said = parse(next_text(&mut c).await);
    assert_eq!(said["code"], "too_many_live_channels");
    assert!(closes(&mut c).await);
    // Another device of the same user is counted on its own.
    let other = server.token("m1").await;
    let mut d = live(&server.base, &other).await;
    assert_eq!(parse(next_text(&mut d).await)["type"], "ready");

    // A small message is fine; one over the limit closes the channel.
    a.send(Message::Text("{}".into())).await.unwrap();
    a.send(Message::Text("x".repeat(64 * 1024).into()))
        .await
        .unwrap();
    assert!(closes(&mut a).await);
    // Its place is free again (the server notices the close asynchronously: poll).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = live(&server.base, &m1).await;
        if parse(next_text(&mut again).await)["type"] == "ready" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot was never freed"
        );
    }
    server.stop().await;
}
