//! A login link is of use only to its person: the first login sets the user's PIN, later links need it, wrong PINs
//! burn a link and lock the user for a while, and head office, which issues devices and their links, cannot act as
//! the manager; a reset of the PIN is on record and the manager sees it.

mod common;

use common::*;
use fieldsync_server::admin;
use serde_json::{Value, json};

on_both_backends!(
    the_first_login_sets_the_pin_and_every_later_link_needs_it,
    head_office_issuing_a_managers_device_cannot_log_in_as_the_manager,
    wrong_pins_burn_a_link_and_lock_the_user_for_a_while_even_in_parallel,
    a_reset_is_on_record_and_the_manager_sees_it,
);

const PIN: &str = "246810";

/// `POST /v1/login` with `body`: (status, body).
async fn login(server: &TestServer, body: Value) -> (u16, Value) {
    let r = server
        .http
        .post(format!("{}/v1/login", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The refusal's (status, code); a refusal never carries a token.
async fn refused(server: &TestServer, body: Value) -> (u16, String) {
    let (status, body) = login(server, body).await;
    assert!(body.get("token").is_none(), "{body}");
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Head office issues a device for `user` over HTTP: (device, the link's code).
async fn issue(server: &TestServer, ho: &str, user: &str) -> (String, String) {
    let r = server
        .http
        .post(format!("{}/api/devices", server.base))
        .bearer_auth(ho)
        .json(&json!({ "user": user, "label": "phone" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap();
    let code = issued["login_url"]
        .as_str()
        .unwrap()
        .strip_prefix("/#/login?code=")
        .unwrap()
        .to_owned();
    (issued["device"].as_str().unwrap().to_owned(), code)
}

/// A login link for a new device of `user`, from the command line.
async fn link(server: &TestServer, user: &str) -> String {
    let issued = admin::issue_device(&server.store, user, "phone", None)
        .await
        .unwrap();
    admin::login_code(
        &server.store,
        &issued.device,
        &issued.token,
        admin::LOGIN_CODE_TTL_MS,
    )
    .await
    .unwrap()
    .code
}

/// The manager logs in through `code` with their PIN: the token.
async fn log_in(server: &TestServer, code: &str) -> String {
    let (status, body) = login(server, json!({ "code": code, "secret": PIN })).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn the_first_login_sets_the_pin_and_every_later_link_needs_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ho = server.user("ho", "head_office", &[]).await;
    server.user("m1", "manager", &["t-north"]).await;
    let (device, code) = issue(&server, &ho, "m1").await;

    // The code alone asks the manager to choose a PIN, and stays usable.
    let first = json!({ "code": code });
    assert_eq!(
        refused(&server, first).await,
        (401, "new_secret_required".into())
    );
    let short = json!({ "code": code, "new_secret": "12345" });
    assert_eq!(
        refused(&server, short).await,
        (400, "secret_too_short".into())
    );
    let (status, body) = login(&server, json!({ "code": code, "new_secret": PIN })).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let me = server.get_json(token, "/v1/me").await;
    assert_eq!(me["user"], "m1");
    assert!(me["secret_set_at"].as_i64().is_some(), "{me}");
    assert!(me["secret_reset_by"].is_null());
    // The manager sees this device and who issued it.
    let mine = me["devices"].as_array().unwrap();
    let this = mine.iter().find(|d| d["id"] == device.as_str()).unwrap();
    assert_eq!(this["issued_by"], "ho");

    // Only a salted Argon2id hash is stored, never the PIN.
    let stored: Option<String> =
        sqlx::query_scalar("SELECT secret_hash FROM users WHERE id = 'm1'")
            .fetch_one(server.store.pool())
            .await
            .unwrap();
    let stored = stored.unwrap();
    assert!(
        stored.starts_with("$argon2id$") && !stored.contains(PIN),
        "{stored}"
    );

    // The next link needs that PIN: none, a wrong one, or a new one give no token.
    let (_, code2) = issue(&server, &ho, "m1").await;
    let none = json!({ "code": code2 });
    assert_eq!(
        refused(&server, none).await,
        (401, "secret_required".into())
    );
    let wrong = json!({ "code": code2, "secret": "135790" });
    assert_eq!(refused(&server, wrong).await, (401, "secret_wrong".into()));
    let overwrite = json!({ "code": code2, "new_secret": "999999" });
    assert_eq!(
        refused(&server, overwrite).await,
        (401, "secret_required".into())
    );
    // The right one works (the link was not spent by the refusals), once.
    let token2 = log_in(&server, &code2).await;
    assert_eq!(server.get_json(&token2, "/v1/me").await["user"], "m1");
    let again = json!({ "code": code2, "secret": PIN });
    assert_eq!(
        refused(&server, again).await,
        (401, "login_code_used".into())
    );
    server.stop().await;
}

async fn head_office_issuing_a_managers_device_cannot_log_in_as_the_manager(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ho = server.user("ho", "head_office", &[]).await;
    server.user("m1", "manager", &["t-north"]).await;
    // The manager enrolled with their first link.
    let (status, _) = login(
        &server,
        json!({ "code": link(&server, "m1").await, "new_secret": PIN }),
    )
    .await;
    assert_eq!(status, 200);

    // Head office issues a device for the manager and opens the link itself: without the
    // manager's PIN it gets no token, whatever it tries, and the link burns.
    let (device, code) = issue(&server, &ho, "m1").await;
    let none = json!({ "code": code });
    assert_eq!(
        refused(&server, none).await,
        (401, "secret_required".into())
    );
    let enrol = json!({ "code": code, "new_secret": "000000" });
    assert_eq!(
        refused(&server, enrol).await,
        (401, "secret_required".into())
    );
    let mut last = String::new();
    for guess in ["000000", "123456", "111111", "654321", "121212"] {
        last = refused(&server, json!({ "code": code, "secret": guess }))
            .await
            .1;
    }
    assert_eq!(last, "secret_locked");
    // Spent: even the right PIN gets nothing from that link now.
    let right = json!({ "code": code, "secret": PIN });
    assert_eq!(refused(&server, right).await.1, "login_code_used");
    // The manager sees the device head office issued, and who issued it.
    let token = server.token("m1").await;
    let me = server.get_json(&token, "/v1/me").await;
    let issued = me["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device.as_str())
        .cloned()
        .unwrap();
    assert_eq!(issued["issued_by"], "ho");
    // Its token is gone for good: nobody holds it, and the burned link keeps nothing of it.
    let sealed: Option<String> =
        sqlx::query_scalar("SELECT sealed FROM login_codes WHERE device = $1")
            .bind(&device)
            .fetch_one(server.store.pool())
            .await
            .unwrap();
    assert_eq!(sealed, None);
    server.stop().await;
}

async fn wrong_pins_burn_a_link_and_lock_the_user_for_a_while_even_in_parallel(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.user("m1", "manager", &["t-north"]).await;
    let (status, _) = login(
        &server,
        json!({ "code": link(&server, "m1").await, "new_secret": PIN }),
    )
    .await;
    assert_eq!(status, 200);
    let wrong = |code: &str| json!({ "code": code, "secret": "000000" });

    // Five wrong PINs in a row over two links lock the user's PIN: then not even the right one works.
    let (a, b) = (link(&server, "m1").await, link(&server, "m1").await);
    for _ in 0..3 {
        assert_eq!(refused(&server, wrong(&a)).await.1, "secret_wrong");
    }
    assert_eq!(refused(&server, wrong(&b)).await.1, "secret_wrong");
    assert_eq!(refused(&server, wrong(&b)).await.1, "secret_locked");
    let right = json!({ "code": b, "secret": PIN });
    assert_eq!(refused(&server, right).await.1, "secret_locked");
    // For a while (15 minutes): once it has passed, the right PIN works with a link not burned.
    let until: Option<i64> =
        sqlx::query_scalar("SELECT secret_locked_until FROM users WHERE id = 'm1'")
            .fetch_one(server.store.pool())
            .await
            .unwrap();
    let left = until.unwrap() - fieldsync_server::store::now_millis();
    assert!((14 * 60_000..=15 * 60_000).contains(&left), "{left}");
    sqlx::query("UPDATE users SET secret_locked_until = 1 WHERE id = 'm1'")
        .execute(server.store.pool())
        .await
        .unwrap();
    log_in(&server, &b).await;

    // The fifth wrong PIN given with one link burns it, even though the user is not locked.
    assert_eq!(refused(&server, wrong(&a)).await.1, "secret_wrong");
    assert_eq!(refused(&server, wrong(&a)).await.1, "secret_locked");
    let right = json!({ "code": a, "secret": PIN });
    assert_eq!(refused(&server, right).await.1, "login_code_used");

    // Guesses sent all at once are counted before they are checked: at most five are tried.
    log_in(&server, &link(&server, "m1").await).await;
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(link(&server, "m1").await);
    }
    let answers =
        futures_util::future::join_all(codes.iter().map(|c| refused(&server, wrong(c)))).await;
    let tried = answers.iter().filter(|(_, c)| c == "secret_wrong").count();
    assert!(tried <= 4, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, c)| *s == 401 && (c == "secret_wrong" || c == "secret_locked"))
    );
    let failures: i64 = sqlx::query_scalar("SELECT secret_failures FROM users WHERE id = 'm1'")
        .fetch_one(server.store.pool())
        .await
        .unwrap();
    assert_eq!(failures, 5);
    server.stop().await;
}

async fn a_reset_is_on_record_and_the_manager_sees_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ho = server.user("ho", "head_office", &[]).await;
    let admin_token = server.user("root", "admin", &[]).await;
    let m2 = server.user("m2", "manager", &["t-north"]).await;
    server.user("m1", "manager", &["t-north"]).await;
    let token = {
        let (status, body) = login(
            &server,
            json!({ "code": link(&server, "m1").await, "new_secret": PIN }),
        )
        .await;
        assert_eq!(status, 200);
        body["token"].as_str().unwrap().to_owned()
    };
    let reset = |who: String, user: &'static str| {
        server
            .http
            .post(format!("{}/api/users/{user}/secret-reset", server.base))
            .bearer_auth(who)
            .send()
    };
    // A colleague cannot; head office cannot reset an admin's; an unknown user is 404.
    assert_eq!(reset(m2.clone(), "m1").await.unwrap().status(), 403);
    assert_eq!(reset(ho.clone(), "root").await.unwrap().status(), 403);
    assert_eq!(reset(ho.clone(), "nobody").await.unwrap().status(), 404);
    assert_eq!(reset(admin_token, "root").await.unwrap().status(), 200);

    let r = reset(ho.clone(), "m1").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["secret_reset_by"], "ho");
    // The manager's device keeps working and shows who reset the PIN, and when.
    let me = server.get_json(&token, "/v1/me").await;
    assert_eq!(me["secret_reset_by"], "ho");
    assert_eq!(me["secret_reset_at"], body["secret_reset_at"]);
    assert!(me["secret_set_at"].is_null());
    // The old PIN no longer logs in: the next link asks for a new one, and the record stays.
    let code = link(&server, "m1").await;
    let old = json!({ "code": code, "secret": PIN });
    assert_eq!(
        refused(&server, old).await,
        (401, "new_secret_required".into())
    );
    let (status, body) = login(&server, json!({ "code": code, "new_secret": "864200" })).await;
    assert_eq!(status, 200);
    let me = server
        .get_json(body["token"].as_str().unwrap(), "/v1/me")
        .await;
    assert_eq!(me["secret_reset_by"], "ho");
    assert!(me["secret_set_at"].as_i64() >= me["secret_reset_at"].as_i64());
    server.stop().await;
}
