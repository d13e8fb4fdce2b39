//! `fieldsync-loadgen`: drives a real fieldsync server (spawned on a fresh database, loopback only) with a fleet of simulated managers and the per-document Automerge baseline, and prints the results as Markdown. Bounded: every phase stops at its time limit.

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use fieldsync_loadgen::fleet::{self, FleetConfig};
use fieldsync_loadgen::process::Backend;

#[derive(Parser)]
#[command(
    name = "fieldsync-loadgen",
    about = "Load generator: M managers × D dealers × V offline visits syncing at once, against the per-document Automerge baseline"
)]
struct Cli {
    /// Databases to run on, one run each (the server is spawned fresh on each).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    backend: Vec<Backend>,
    /// Managers (devices) syncing at once.
    #[arg(long, default_value_t = 200)]
    managers: usize,
    /// Dealer documents each manager creates offline.
    #[arg(long, default_value_t = 50)]
    dealers: usize,
    /// Visits recorded offline on each dealer.
    #[arg(long, default_value_t = 20)]
    visits: usize,
    /// The measured upload (and download) stops here, finished or not.
    #[arg(long, default_value_t = 600)]
    time_limit_secs: u64,
    /// Skip the per-document Automerge baseline.
    #[arg(long)]
    no_baseline: bool,
    /// After the upload, a fresh device per manager downloads its territory, all at once.
    #[arg(long)]
    download: bool,
    /// Documents of the re-sync scenario (0 skips it).
    #[arg(long, default_value_t = 500)]
    resync_docs: usize,
    /// How many of them are changed elsewhere before the re-sync.
    #[arg(long, default_value_t = 5)]
    resync_changed: usize,
    /// Baseline requests one device has in flight (a browser opens 6 connections to a host).
    #[arg(long, default_value_t = 6)]
    baseline_parallel: usize,
    /// An argument added to the server's `serve` command (repeatable), e.g.
    /// `--serve-arg=--max-concurrent-pushes=2`.
    #[arg(long, allow_hyphen_values = true)]
    serve_arg: Vec<String>,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut report = String::new();
    for backend in &cli.backend {
        let cfg = FleetConfig {
            backend: *backend,
            managers: cli.managers,
            dealers: cli.dealers,
            visits: cli.visits,
            time_limit: Duration::from_secs(cli.time_limit_secs),
            baseline: !cli.no_baseline,
            download: cli.download,
            resync_docs: cli.resync_docs,
            resync_changed: cli.resync_changed,
            baseline_parallel: cli.baseline_parallel,
            serve_args: cli.serve_arg.clone(),
        };
        report.push_str(&fleet::run(&cfg).await?);
        report.push('\n');
    }
    println!("{report}");
    if let Some(path) = cli.out {
        std::fs::write(&path, &report)?;
    }
    Ok(())
}
