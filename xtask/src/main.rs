//! `cargo xtask`: one entry point to set up a fresh machine, run the product and run every test.

mod setup;
mod sh;
mod web;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "fieldsync developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the build and the tests need (Rust target, wasm-bindgen-cli, Debian packages, npm packages).
    Setup,
    /// Build the wasm package and the web app into web/dist.
    BuildWeb,
    /// Set up, build, seed demo data and serve the product on SQLite.
    Run {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Set up, then run every check and test: fmt, clippy, unit, property, server (SQLite and PostgreSQL), browser.
    Test,
    /// Run the benchmarks.
    Bench,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::all(),
        Command::BuildWeb => web::build(),
        Command::Run { listen } => {
            setup::all()?;
            web::build()?;
            sh::cargo(&["build", "--release", "-p", "fieldsync-server"])?;
            let bin = web::target_dir().join("release/fieldsync-server");
            let bin = bin.to_str().context("target dir is not UTF-8")?;
            sh::run(bin, &["seed-demo", "--if-empty"])?;
            sh::run(
                bin,
                &["serve", "--listen", &listen, "--web-dir", "web/dist"],
            )
        }
        Command::Test => {
            setup::all()?;
            setup::postgres()?;
            sh::cargo(&["fmt", "--all", "--check"])?;
            sh::cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])?;
            sh::cargo(&[
                "build",
                "-p",
                "fieldsync-core",
                "--target",
                "wasm32-unknown-unknown",
            ])?;
            web::build()?;
            sh::cargo(&["test", "--workspace", "--all-targets"])?;
            web::browser_tests()
        }
        Command::Bench => sh::cargo(&["bench", "-p", "fieldsync-core"]),
    }
}
