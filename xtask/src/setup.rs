//! Installing what fieldsync needs on a fresh Debian machine, from crates.io, Debian and npm only.

use anyhow::{Context, Result};

use crate::sh;

/// Everything: Rust target, wasm-bindgen-cli at the Cargo.lock version, cargo-fuzz, Debian packages.
pub fn all() -> Result<()> {
    sh::run("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    wasm_bindgen_cli()?;
    cargo_fuzz()?;
    debian(&[
        "binaryen",
        "chromium",
        "chromium-driver",
        "fonts-noto-cjk",
        "g++",
        "sqlite3",
    ])
}

/// The wasm-bindgen version pinned in Cargo.lock.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_owned());
        }
    }
    anyhow::bail!("wasm-bindgen is not in Cargo.lock")
}

fn wasm_bindgen_cli() -> Result<()> {
    let Ok(version) = wasm_bindgen_version() else {
        return Ok(());
    };
    if sh::output("wasm-bindgen", &["--version"]).ends_with(&version) {
        return Ok(());
    }
    // Not --locked: one of its locked dependencies is missing from the registry.
    sh::cargo(&["install", "wasm-bindgen-cli", "--version", &version])
}

/// cargo-fuzz, for `cargo xtask fuzz` (from crates.io; libFuzzer is built from source by libfuzzer-sys).
pub fn cargo_fuzz() -> Result<()> {
    if sh::output("cargo", &["fuzz", "--version"]).starts_with("cargo-fuzz") {
        return Ok(());
    }
    sh::cargo(&["install", "cargo-fuzz", "--locked"])
}

fn debian(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !sh::output("dpkg-query", &["-W", "-f=${Status}", p]).contains("install ok installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sudo = if sh::output("id", &["-u"]) == "0" {
        vec![]
    } else {
        vec!["sudo"]
    };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.clone();
        full.push("apt-get");
        full.extend_from_slice(args);
        sh::run(full[0], &full[1..])
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing);
    apt(&args)
}

/// Makes sure the local PostgreSQL (127.0.0.1:5432) is up, for the storage tests.
pub fn postgres() -> Result<()> {
    if sh::run("pg_isready", &["-h", "127.0.0.1", "-p", "5432", "-q"]).is_ok() {
        return Ok(());
    }
    let versions = sh::output("ls", &["/etc/postgresql"]);
    let version = versions
        .lines()
        .next()
        .context("no PostgreSQL cluster in /etc/postgresql")?;
    sh::run(
        "pg_ctlcluster",
        &["--skip-systemctl-redirect", version, "main", "start"],
    )?;
    for _ in 0..60 {
        if sh::run("pg_isready", &["-h", "127.0.0.1", "-p", "5432", "-q"]).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    anyhow::bail!("PostgreSQL did not come up on 127.0.0.1:5432")
}
