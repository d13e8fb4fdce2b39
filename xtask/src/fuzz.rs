//! `cargo xtask fuzz`: builds the cargo-fuzz targets in `fuzz/` and runs each for a while, on the project's pinned stable toolchain.
//!
//! cargo-fuzz needs nightly-only compiler flags (coverage instrumentation for
//! libFuzzer). No other toolchain can be installed on this project's machines,
//! so the pinned stable compiler is told to accept them (`RUSTC_BOOTSTRAP=1`),
//! only for this build, which has its own workspace and target directory
//! (`target/fuzz`). No sanitizer: the code under test has no `unsafe`, and
//! without one each target runs several times as many inputs in the same time;
//! debug assertions and overflow checks stay on.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{setup, web};

/// Every fuzz target (`fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[&str] = &["sync_request", "change", "ingest"];

fn cargo_fuzz(args: &[&str]) -> Result<()> {
    eprintln!("+ (cd fuzz && cargo fuzz {})", args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .arg("fuzz")
        .args(args)
        .current_dir("fuzz")
        .env("RUSTC_BOOTSTRAP", "1")
        .status()
        .context("could not start cargo fuzz")?;
    if !status.success() {
        bail!("cargo fuzz {} failed: {status}", args.join(" "));
    }
    Ok(())
}

fn absolute(p: &Path) -> Result<String> {
    let p = std::fs::canonicalize(p).with_context(|| format!("{}", p.display()))?;
    p.to_str().map(str::to_owned).context("a path is not UTF-8")
}

/// Builds every target, then runs each of `targets` (all when empty) for `seconds`,
/// from libFuzzer's `seed` if given. A crash stops the run; its input stays in
/// `fuzz/artifacts/<target>/`.
pub fn run(seconds: u64, seed: Option<u32>, targets: &[String]) -> Result<()> {
    setup::cargo_fuzz()?;
    let chosen: Vec<&str> = if targets.is_empty() {
        TARGETS.to_vec()
    } else {
        for t in targets {
            if !TARGETS.contains(&t.as_str()) {
                bail!("no fuzz target {t}; there are {}", TARGETS.join(", "));
            }
        }
        targets.iter().map(String::as_str).collect()
    };
    let target_dir: PathBuf = web::target_dir().join("fuzz");
    std::fs::create_dir_all(&target_dir)?;
    let target_dir = absolute(&target_dir)?;
    let common = ["--sanitizer", "none", "--target-dir", &target_dir];
    let mut build = vec!["build"];
    build.extend(common);
    cargo_fuzz(&build)?;
    for t in chosen {
        // The corpus lives in the (ignored) target directory: kept between local
        // runs, fresh in CI. Inputs are structure-aware, so no seed files are needed.
        let corpus = PathBuf::from(&target_dir).join("corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        let artifacts = PathBuf::from("fuzz/artifacts").join(t);
        std::fs::create_dir_all(&artifacts)?;
        let corpus = absolute(&corpus)?;
        let artifacts = format!("-artifact_prefix={}/", absolute(&artifacts)?);
        let time = format!("-max_total_time={seconds}");
        let seed = seed.map(|s| format!("-seed={s}"));
        let mut args = vec!["run"];
        args.extend(common);
        args.extend([
            t,
            &corpus,
            "--",
            &time,
            // Whole programs from the first input on, not tiny ones growing slowly.
            "-len_control=0",
            "-max_len=4096",
            // One input taking this long is a finding (a push that stalls the server).
            "-timeout=30",
            &artifacts,
            "-print_final_stats=1",
        ]);
        args.extend(seed.as_deref());
        if let Err(e) = cargo_fuzz(&args) {
            bail!(
                "fuzz target {t} found a crash ({e}). Its input is in fuzz/artifacts/{t}/; \
                 replay it with `(cd fuzz && FIELDSYNC_FUZZ_DUMP=1 RUSTC_BOOTSTRAP=1 cargo fuzz run \
                 --sanitizer none --target-dir {target_dir} {t} <file>)`, which prints the bytes \
                 that reached core; fix the bug and keep them as a test in core/tests/fuzz_regressions.rs"
            );
        }
    }
    Ok(())
}
