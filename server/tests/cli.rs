//! The `fieldsync-server` binary as the README runs it: `seed-demo --if-empty` then `serve`, in a fresh folder, on the default SQLite database under `./data`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn server(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fieldsync-server"));
    c.current_dir(dir)
        .env_remove("FIELDSYNC_DATABASE_URL")
        .env_remove("FIELDSYNC_LISTEN")
        .env("RUST_LOG", "warn");
    c
}

/// Kills the server this test started, even if an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn seed_demo_if_empty_is_idempotent_and_serve_starts_on_the_seeded_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let first = server(dir.path())
        .args(["seed-demo", "--if-empty"])
        .output()
        .unwrap();
    assert!(first.status.success(), "{first:?}");
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(printed.contains("demo-ho"), "{printed}");
    assert!(dir.path().join("data/fieldsync.sqlite").exists());

    // A second run changes nothing and says so.
    let second = server(dir.path())
        .args(["seed-demo", "--if-empty"])
        .output()
        .unwrap();
    assert!(second.status.success(), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stdout).contains("already has users"));
    let users = server(dir.path()).args(["user", "list"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&users.stdout).lines().count(), 8);

    // `serve` on the same database; the demo token logs in.
    let mut child = server(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        // Tier 1 every week, every other tier every three weeks: the phone learns it from /v1/me.
        .args(["--visit-every-days", "7,21"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("fieldsync server on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let http = reqwest::Client::new();
    common::wait_healthy(&http, &base).await;
    let me: serde_json::Value = http
        .get(format!("{base}/v1/me"))
        .bearer_auth("demo-m-chen")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], "m-chen");
    assert_eq!(me["territories"][0]["id"], "t-north");
    assert_eq!(me["visit_every_days"], serde_json::json!([7, 21]));
    drop(running);
}

#[test]
fn admin_commands_create_the_database_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    // Any command opens (creating and migrating) the default database under ./data.
    let out = server(dir.path()).args(["user", "list"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("data/fieldsync.sqlite").exists());
    let bad = server(dir.path())
        .args([
            "user", "add", "--id", "x", "--name", "X", "--role", "emperor",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("role must be one of"));
    let bad = server(dir.path())
        .args([
            "user", "add", "--id", "m-x", "--name", "X", "--role", "manager",
        ])
        .output()
        .unwrap();
    assert!(bad.status.success(), "{bad:?}");
    let bad = server(dir.path())
        .args([
            "user",
            "set-territories",
            "--id",
            "m-x",
            "--territory",
            "North Zone!",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a malformed territory id is refused");
}

fn run_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = server(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn device_issue_prints_a_one_time_login_link_and_user_disable_locks_the_user_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(
        d,
        &[
            "user", "add", "--id", "m-x", "--name", "X", "--role", "manager",
        ],
    );
    let printed = run_ok(
        d,
        &[
            "device",
            "issue",
            "--user",
            "m-x",
            "--label",
            "phone",
            "--base-url",
            "https://fs.example",
        ],
    );
    let after = |prefix: &str| {
        printed
            .lines()
            .find_map(|l| l.split_once(prefix).map(|(_, v)| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {prefix:?} in {printed}"))
    };
    // The token for scripts, and a link for a person that carries a code, never the token.
    let token = after("token (shown once):");
    let link = after("log in (one-time link, valid 24 h):");
    assert!(!link.contains(&token), "{link}");
    let code = link
        .strip_prefix("https://fs.example/#/login?code=")
        .unwrap_or_else(|| panic!("{link}"))
        .to_owned();
    let listed = run_ok(d, &["device", "list"]);
    assert!(listed.contains("issued by cli"), "{listed}");

    let mut child = server(d)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("fieldsync server on ")
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    common::wait_healthy(&http, &base).await;
    let login = |code: String| {
        http.post(format!("{base}/v1/login"))
            .json(&serde_json::json!({ "code": code, "new_secret": "246810", "secret": "246810" }))
            .send()
    };
    let r = login(code.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token"], token.as_str());
    assert_eq!(login(code).await.unwrap().status(), 401);
    let me = |t: String| http.get(format!("{base}/v1/me")).bearer_auth(t).send();
    assert_eq!(me(token.clone()).await.unwrap().status(), 200);

    // Disabled from the command line while the server runs: locked out at once.
    run_ok(d, &["user", "disable", "--id", "m-x"]);
    let r = me(token.clone()).await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "user_disabled");
    assert!(run_ok(d, &["user", "list"]).contains("disabled"));
    run_ok(d, &["user", "enable", "--id", "m-x"]);
    assert_eq!(me(token).await.unwrap().status(), 200);
    drop(running);
}
