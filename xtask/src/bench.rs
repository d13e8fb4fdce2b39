//! `cargo xtask bench [core|device|fleet|soak|office]`: the benchmarks whose results BENCHMARKS.md records (all four when none is named).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{setup, sh, web};

/// A benchmark step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Step {
    /// Criterion and dhat benchmarks of the core (documents, merge, ingest).
    Core,
    /// Per-device scenarios (upload, fresh device, no-change and restart syncs, 10-dealer delta, recording a visit)
    /// with the browser's wasm build and the app's local.js/sync.js in Node, against a fresh release server.
    Device,
    /// The load generator: 200 managers × 50 dealers × 20 offline visits syncing at once, on SQLite and
    /// PostgreSQL, against the per-document Automerge baseline, plus the 500-document re-sync.
    Fleet,
    /// 10,000 dealer documents uploaded and downloaded again, for the server's peak memory.
    Soak,
    /// Head office's dashboard with 2,000 dealers, 50,000 visits and 20 managers: every tab, the dealer
    /// page and the manager page opened in headless Chromium against a release server.
    Office,
}

/// Runs `steps` (every step when empty); `loadgen_args` are added to the load generator's own.
pub fn run(steps: &[Step], loadgen_args: &[String]) -> Result<()> {
    let all = [
        Step::Core,
        Step::Device,
        Step::Fleet,
        Step::Soak,
        Step::Office,
    ];
    let steps = if steps.is_empty() { &all[..] } else { steps };
    std::fs::create_dir_all(web::target_dir().join("bench"))?;
    for step in steps {
        match step {
            Step::Core => sh::cargo(&["bench", "-p", "fieldsync-core"])?,
            Step::Device => device()?,
            Step::Office => office()?,
            Step::Fleet => loadgen("fleet", &[], loadgen_args)?,
            Step::Soak => loadgen(
                "soak",
                &[
                    "--backend",
                    "sqlite",
                    "--managers",
                    "20",
                    "--dealers",
                    "500",
                    "--visits",
                    "1",
                    "--no-baseline",
                    "--resync-docs",
                    "0",
                    "--download",
                ],
                loadgen_args,
            )?,
        }
    }
    Ok(())
}

fn release_bins(packages: &[&str]) -> Result<()> {
    let mut args = vec!["build", "--release"];
    for p in packages {
        args.extend(["-p", p]);
    }
    sh::cargo(&args)
}

fn bin(name: &str) -> Result<String> {
    let path = web::target_dir().join("release").join(name);
    Ok(path.to_str().context("target dir is not UTF-8")?.to_owned())
}

/// `fieldsync-loadgen` with `preset` then `extra` arguments; the report goes to target/bench/NAME.md.
fn loadgen(name: &str, preset: &[&str], extra: &[String]) -> Result<()> {
    setup::postgres()?;
    release_bins(&["fieldsync-server", "fieldsync-loadgen"])?;
    let out = web::target_dir().join("bench").join(format!("{name}.md"));
    let out = out.to_str().context("target dir is not UTF-8")?.to_owned();
    let mut args: Vec<&str> = preset.to_vec();
    args.extend(extra.iter().map(String::as_str));
    args.extend(["--out", &out]);
    sh::run(&bin("fieldsync-loadgen")?, &args)?;
    eprintln!("report: {out}");
    Ok(())
}

/// The per-device scenarios: builds the web app and the release server, then runs
/// tests/device-bench/bench.js (node + fake-indexeddb from npm).
fn device() -> Result<()> {
    for tool in ["node", "npm"] {
        if !sh::have(tool) {
            bail!("{tool} is not installed: run `cargo xtask setup`");
        }
    }
    setup::all()?;
    web::build()?;
    release_bins(&["fieldsync-server"])?;
    let dir = Path::new("tests/device-bench");
    sh::npm_ci(dir)?;
    let server = std::fs::canonicalize(bin("fieldsync-server")?)?;
    let out = std::fs::canonicalize(web::target_dir())?.join("bench/device.md");
    eprintln!("+ node tests/device-bench/bench.js");
    let status = Command::new("node")
        .arg("bench.js")
        .current_dir(dir)
        .env("FIELDSYNC_SERVER_BIN", server)
        .env("FIELDSYNC_BENCH_OUT", &out)
        .status()
        .context("could not start node")?;
    if !status.success() {
        bail!("the device benchmark failed");
    }
    eprintln!("report: {}", out.display());
    Ok(())
}

/// Head office's dashboard at scale: a release server over a fresh SQLite database that
/// `seed-scale` filled (2,000 dealers, 50,000 visits, 20 managers), and
/// tests/browser/bench-office.js timing each view in headless Chromium.
fn office() -> Result<()> {
    for tool in ["node", "npm", "chromium"] {
        if !sh::have(tool) {
            bail!("{tool} is not installed: run `cargo xtask setup`");
        }
    }
    setup::all()?;
    web::build()?;
    release_bins(&["fieldsync-server"])?;
    let server = bin("fieldsync-server")?;
    let tmp = std::env::temp_dir().join(format!("fieldsync-bench-office-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let db = format!("sqlite://{}/bench.sqlite", tmp.display());
    let started = std::time::Instant::now();
    let seeded = web::server_cli(&server, &db, &["seed-scale"])?;
    eprintln!("{seeded}seeded in {:.0} s", started.elapsed().as_secs_f64());
    let token = seeded
        .lines()
        .find_map(|l| l.strip_prefix("head office token: "))
        .context("seed-scale printed no token")?
        .trim()
        .to_owned();
    let (child, listen) = web::serve(&server, &db, &tmp.join("server.log"))?;
    let dir = Path::new("tests/browser");
    sh::npm_ci(dir)?;
    let out = std::fs::canonicalize(web::target_dir())?.join("bench/office.md");
    eprintln!("+ node tests/browser/bench-office.js");
    let status = Command::new("node")
        .arg("bench-office.js")
        .current_dir(dir)
        .env("FIELDSYNC_URL", format!("http://{listen}"))
        .env("FIELDSYNC_TOKEN_HO", token)
        .env("FIELDSYNC_BENCH_OUT", &out)
        .status()
        .context("could not start node")?;
    drop(child);
    if !status.success() {
        bail!(
            "head office's dashboard was not under a second on every view (report: {})",
            out.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!("report: {}", out.display());
    Ok(())
}
