//! The `fieldsync-server` command: serve, administer users and device tokens, seed demo data.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use fieldsync_server::limiter::GateSettings;
use fieldsync_server::{AppState, Settings, Store, admin, seed};
use tokio::net::TcpListener;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

#[derive(Parser)]
#[command(name = "fieldsync-server", version, about = "fieldsync's sync server")]
struct Cli {
    /// Database URL: sqlite://PATH (created on first start) or postgres://…
    #[arg(
        long,
        global = true,
        env = "FIELDSYNC_DATABASE_URL",
        default_value = "sqlite://data/fieldsync.sqlite"
    )]
    database: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync protocol, the read API and (optionally) the web app.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "FIELDSYNC_LISTEN")]
        listen: String,
        /// Folder of the built web app (web/dist) to serve at /.
        #[arg(long)]
        web_dir: Option<PathBuf>,
        /// Largest request body in bytes (after decompression).
        #[arg(long, default_value_t = 16 * 1024 * 1024)]
        max_body_bytes: usize,
        /// Requests one device may have in flight at once.
        #[arg(long, default_value_t = 4)]
        per_device_concurrency: usize,
        /// Pushes decided at once (default: twice the cores); the others wait their turn.
        #[arg(long)]
        max_concurrent_pushes: Option<usize>,
        /// Pushes waiting their turn, at most; more are answered 503 with a Retry-After.
        #[arg(long, default_value_t = 256)]
        push_queue: usize,
        /// Body bytes (as sent) of the waiting pushes, at most, in MiB.
        #[arg(long, default_value_t = 64)]
        push_queue_mib: u64,
        /// Longest a push waits its turn, in ms; one that would wait longer is answered 503 at
        /// once with a Retry-After booking it a later turn.
        #[arg(long, default_value_t = 1000)]
        push_wait_ms: u64,
        /// How often a dealer should be visited, in days, by tier: `14,30,60,90` is tier 1 every
        /// two weeks, tier 2 every 30 days, …, the last also serving any higher tier (head office's
        /// coverage, the phone's dealers due a visit). Default: 14,30,60,90,90.
        #[arg(long, env = "FIELDSYNC_VISIT_EVERY_DAYS", value_delimiter = ',',
              value_parser = clap::value_parser!(i64).range(1..=3650))]
        visit_every_days: Vec<i64>,
    },
    /// Users: add, list, set territories.
    #[command(subcommand)]
    User(UserCmd),
    /// Device tokens: issue, revoke, list.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Start a new epoch: run once after restoring the database from a backup, so every device
    /// re-sends what the restored copy lacks and reads again (nothing a device holds is lost).
    NewEpoch,
    /// Fill the database with demo territories, people, dealers and field work, and print the demo tokens.
    SeedDemo {
        /// Do nothing if the database already has users.
        #[arg(long)]
        if_empty: bool,
    },
    /// Fill an empty database with data at scale for head office's dashboard benchmark (`cargo xtask bench office`).
    SeedScale {
        #[arg(long, default_value_t = 20)]
        managers: usize,
        #[arg(long, default_value_t = 2000)]
        dealers: usize,
        #[arg(long, default_value_t = 50_000)]
        visits: usize,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user.
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// manager, regional, head_office or admin
        #[arg(long)]
        role: String,
        /// A territory id the user works in (repeat for several).
        #[arg(long = "territory")]
        territories: Vec<String>,
    },
    /// Replace a user's assigned territories (the only source of access). Their devices remove a
    /// territory taken away at their next sync; open live channels are told at their next ping.
    SetTerritories {
        #[arg(long)]
        id: String,
        #[arg(long = "territory")]
        territories: Vec<String>,
    },
    /// List users.
    List,
    /// Disable a user: every token of theirs stops working at once (requests get 401
    /// `user_disabled`; open live channels close at their next ping).
    Disable {
        #[arg(long)]
        id: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        id: String,
    },
    /// Forget a user's login PIN (recorded as reset by `cli`, and shown to them): their next
    /// login link sets a new one. Their devices keep working.
    ResetSecret {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Issue a device token for a user: prints the token once (for scripts) and a login link
    /// with a one-time code (for a person; usable once, for 24 hours).
    Issue {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "")]
        label: String,
        /// Days until the token stops working (default: it does not expire).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// The server's address for the printed login link.
        #[arg(long, default_value = "http://HOST")]
        base_url: String,
    },
    /// A new one-time login link for an existing device, given its token on stdin.
    LoginCode {
        #[arg(long)]
        id: String,
        /// The server's address for the printed login link.
        #[arg(long, default_value = "http://HOST")]
        base_url: String,
    },
    /// Revoke a device's token.
    Revoke {
        #[arg(long)]
        id: String,
    },
    /// List devices (never their tokens).
    List {
        #[arg(long)]
        user: Option<String>,
    },
}

/// Log lines waiting for the writing thread, at most (a few hundred bytes each): a
/// reader of the output that falls further behind slows the requests that log,
/// instead of the server's memory growing.
const LOG_LINES_WAITING: usize = 4_096;

/// Logs to standard output, colours only on a terminal. While serving, lines are
/// written by a thread of their own (`tracing-appender`), so a request does not wait
/// for the terminal or the pipe; it never drops a line (a full buffer makes the
/// logging request wait instead), and the returned guard flushes what is left at exit.
fn init_tracing(serving: bool) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("FIELDSYNC_LOG_FORMAT").is_ok_and(|v| v == "json");
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = if serving {
        let (w, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(LOG_LINES_WAITING)
            .finish(std::io::stdout());
        (BoxMakeWriter::new(w), Some(g))
    } else {
        (BoxMakeWriter::new(std::io::stdout), None)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let _logs = init_tracing(matches!(cli.command, Command::Serve { .. }));
    let store = Store::open(&cli.database)
        .await
        .with_context(|| format!("opening the database {}", redact(&cli.database)))?;
    match cli.command {
        Command::Serve {
            listen,
            web_dir,
            max_body_bytes,
            per_device_concurrency,
            max_concurrent_pushes,
            push_queue,
            push_queue_mib,
            push_wait_ms,
            visit_every_days,
        } => {
            if let Some(dir) = &web_dir
                && !dir.join("index.html").exists()
            {
                tracing::warn!(dir = %dir.display(), "no index.html in the web folder; build it with `cargo xtask build-web`");
            }
            let defaults = Settings::default();
            let settings = Settings {
                max_body_bytes,
                per_device_concurrency,
                web_dir,
                push_gate: GateSettings {
                    concurrent: max_concurrent_pushes.unwrap_or(defaults.push_gate.concurrent),
                    queue: push_queue,
                    queue_bytes: push_queue_mib.saturating_mul(1024 * 1024),
                    wait: Duration::from_millis(push_wait_ms),
                },
                visit_every_days: if visit_every_days.is_empty() {
                    defaults.visit_every_days.clone()
                } else {
                    visit_every_days
                },
                ..defaults
            };
            let listener = TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            println!("fieldsync server on http://{}", listener.local_addr()?);
            fieldsync_server::run(
                listener,
                AppState::new(store.clone(), settings),
                shutdown_signal(),
            )
            .await?;
            store.close().await;
        }
        Command::User(UserCmd::Add {
            id,
            name,
            role,
            territories,
        }) => {
            admin::add_user(&store, &id, &name, &role, &territories).await?;
            println!("user {id} ({role}) created");
        }
        Command::User(UserCmd::SetTerritories { id, territories }) => {
            admin::set_territories(&store, &id, &territories).await?;
            println!("user {id} now works in: {}", territories.join(", "));
        }
        Command::User(UserCmd::List) => {
            for u in store.users().await? {
                let ts = store.user_territories(&u.id).await?;
                let state = if u.disabled_at.is_some() {
                    "\tdisabled"
                } else {
                    ""
                };
                println!("{}\t{}\t{}\t{}{state}", u.id, u.role, u.name, ts.join(","));
            }
        }
        Command::User(UserCmd::Disable { id }) => {
            admin::set_disabled(&store, &id, true).await?;
            println!("user {id} disabled");
        }
        Command::User(UserCmd::Enable { id }) => {
            admin::set_disabled(&store, &id, false).await?;
            println!("user {id} enabled");
        }
        Command::User(UserCmd::ResetSecret { id }) => {
            admin::reset_secret(&store, &id, admin::ISSUED_BY_CLI).await?;
            println!("login PIN of {id} reset: their next login link sets a new one");
        }
        Command::Device(DeviceCmd::Issue {
            user,
            label,
            expires_in_days,
            base_url,
        }) => {
            let options = admin::IssueOptions {
                fixed: None,
                issued_by: admin::ISSUED_BY_CLI,
                expires_at: expires_in_days.map(|d| {
                    fieldsync_server::store::now_millis().saturating_add(i64::from(d) * 86_400_000)
                }),
            };
            let issued = admin::issue_device_with(&store, &user, &label, options).await?;
            let code = admin::login_code(
                &store,
                &issued.device,
                &issued.token,
                admin::LOGIN_CODE_TTL_MS,
            )
            .await?;
            println!("device {} for {}", issued.device, issued.user);
            println!("token (shown once): {}", issued.token);
            println!(
                "log in (one-time link, valid 24 h): {}{}",
                base_url.trim_end_matches('/'),
                code.link()
            );
        }
        Command::Device(DeviceCmd::LoginCode { id, base_url }) => {
            let mut token = String::new();
            std::io::stdin()
                .read_line(&mut token)
                .context("reading the device token from stdin")?;
            let token = token.trim();
            let session = store
                .token_session(&fieldsync_server::auth::hash_token(token))
                .await?
                .filter(|s| s.device == id && !s.revoked)
                .with_context(|| format!("that is not the token of active device {id}"))?;
            let code =
                admin::login_code(&store, &session.device, token, admin::LOGIN_CODE_TTL_MS).await?;
            println!(
                "log in (one-time link, valid 24 h): {}{}",
                base_url.trim_end_matches('/'),
                code.link()
            );
        }
        Command::Device(DeviceCmd::Revoke { id }) => {
            if !store.revoke_device(&id).await? {
                bail!("no active device {id}");
            }
            println!("device {id} revoked");
        }
        Command::Device(DeviceCmd::List { user }) => {
            for d in store.devices(user.as_deref()).await? {
                let now = fieldsync_server::store::now_millis();
                let state = if d.revoked_at.is_some() {
                    "revoked"
                } else if d.expires_at.is_some_and(|at| at <= now) {
                    "expired"
                } else {
                    "active"
                };
                let by = d.issued_by.as_deref().unwrap_or("?");
                println!(
                    "{}\t{}\t{}\tissued by {by}\t{}",
                    d.id, d.user, state, d.label
                );
            }
        }
        Command::NewEpoch => {
            println!("new epoch: {}", store.new_epoch().await?);
        }
        Command::SeedDemo { if_empty } => {
            if if_empty && !store.has_no_users().await? {
                println!("the database already has users; demo data not added");
            } else {
                let state = AppState::new(store.clone(), Settings::default());
                let summary = seed::seed_demo(&state).await?;
                println!("{summary}");
            }
        }
        Command::SeedScale {
            managers,
            dealers,
            visits,
        } => {
            let state = AppState::new(store.clone(), Settings::default());
            let scale = fieldsync_server::seed_scale::Scale {
                managers,
                dealers,
                visits,
            };
            print!(
                "{}",
                fieldsync_server::seed_scale::seed_scale(&state, scale).await?
            );
        }
    }
    store.close().await;
    Ok(())
}

/// The URL without a password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
