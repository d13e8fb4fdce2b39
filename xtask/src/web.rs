//! Building the wasm package and the web app into `web/dist`, and running the browser tests against the real server.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::sh;

/// The app's own files copied into `web/dist` (besides `js/` and the wasm package).
const SHELL: &[&str] = &["index.html", "app.css", "manifest.webmanifest", "icon.svg"];
/// wasm-opt feature flags: Debian's binaryen 108 must be told the features rustc's wasm uses.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
];

/// Where cargo puts build output (`CARGO_TARGET_DIR`, else `target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// Builds `web/dist`: the wasm (release profile `wasm`), its wasm-bindgen glue
/// (`web/pkg`), wasm-opt, then the app files and a service worker that precaches them all.
pub fn build() -> Result<()> {
    for tool in ["wasm-bindgen", "wasm-opt"] {
        if !sh::have(tool) {
            bail!("{tool} is not installed: run `cargo xtask setup`");
        }
    }
    // Without reference types: wasm-bindgen then keeps JS objects in a JS-side heap
    // instead of an externref table, which Debian's binaryen 108 cannot round-trip
    // (the optimised module fails to instantiate).
    let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
    flags.push_str(" -C target-feature=-reference-types");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "build",
        "-p",
        "fieldsync-wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm",
    ];
    eprintln!("+ RUSTFLAGS='{}' cargo {}", flags.trim(), args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .env("RUSTFLAGS", flags.trim())
        .status()
        .context("could not start cargo")?;
    if !status.success() {
        bail!("building the wasm failed: {status}");
    }
    let wasm = target_dir().join("wasm32-unknown-unknown/wasm/fieldsync_wasm.wasm");
    let wasm = wasm.to_str().context("target dir is not UTF-8")?;
    // The standard library is prebuilt with reference types, so the module still
    // declares the feature; without the declaration wasm-bindgen sees no externref
    // intrinsics and uses its JS heap.
    fs::create_dir_all("web/pkg")?;
    let plain = "web/pkg/fieldsync_wasm.wasm";
    let mut args: Vec<&str> = WASM_FEATURES.to_vec();
    args.extend(["--strip-target-features", wasm, "-o", plain]);
    sh::run("wasm-opt", &args)?;
    sh::run(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            "web/pkg",
            plain,
        ],
    )?;
    fs::remove_file(plain)?;
    let bg = "web/pkg/fieldsync_wasm_bg.wasm";
    // Optimise for size, repeating the passes while they still shrink the module.
    let mut args: Vec<&str> = vec!["-Oz", "--converge"];
    args.extend(WASM_FEATURES);
    args.extend([bg, "-o", bg]);
    sh::run("wasm-opt", &args)?;
    assemble(Path::new("web"), Path::new("web/dist"))
}

/// Head office's screens (and what only they import): the service worker does
/// not precache them on install, so a manager's first visit never downloads them;
/// a head-office page asks for them once it runs (see web/sw.js). The prefix
/// `./js/views/office` holds every `office*.js`, `office-handovers.js` included; the
/// incoming manager's checklist (`views/handover.js`) is a phone's, so precached.
const LAZY: &[&str] = &[
    "./js/views/office",
    "./js/views/approvals.js",
    "./js/views/escalations.js",
    // Sales live on the server: the phone's sales card works online only.
    "./js/views/sales-entry.js",
    "./js/act.js",
    "./js/i18n-office.js",
];

fn is_lazy(path: &str) -> bool {
    LAZY.iter().any(|prefix| path.starts_with(prefix))
}

fn assemble(web: &Path, dist: &Path) -> Result<()> {
    if dist.exists() {
        fs::remove_dir_all(dist).with_context(|| format!("removing {}", dist.display()))?;
    }
    fs::create_dir_all(dist.join("pkg"))?;
    for f in SHELL {
        fs::copy(web.join(f), dist.join(f)).with_context(|| format!("copying web/{f}"))?;
    }
    copy_tree(&web.join("js"), &dist.join("js"))?;
    fs::copy(
        web.join("pkg/fieldsync_wasm_bg.wasm"),
        dist.join("pkg/fieldsync_wasm_bg.wasm"),
    )
    .context("copying web/pkg/fieldsync_wasm_bg.wasm")?;
    fs::copy(
        web.join("pkg/fieldsync_wasm.js"),
        dist.join("pkg/fieldsync_wasm.js"),
    )
    .context("copying web/pkg/fieldsync_wasm.js")?;
    minify(web, dist)?;
    let mut files = Vec::new();
    list(dist, dist, &mut files)?;
    files.sort();
    // Every file by the hash of its content: the service worker caches each under
    // that hash and copies the unchanged ones from the previous version's cache.
    let mut manifest = Vec::new();
    for f in &files {
        manifest.push((format!("./{f}"), content_hash(&fs::read(dist.join(f))?)));
    }
    let template = fs::read_to_string(web.join("sw.js"))?;
    let mut version = template.clone();
    for (path, hash) in &manifest {
        version.push_str(&format!("\n{path} {hash}"));
    }
    let list_js = format!(
        "[{}]",
        manifest
            .iter()
            .map(|(p, h)| {
                if is_lazy(p) {
                    format!("['{p}', '{h}', 1]")
                } else {
                    format!("['{p}', '{h}']")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let sw = template
        .replace("__VERSION__", &content_hash(version.as_bytes()))
        .replace("__FILES__", &list_js);
    fs::write(dist.join("sw.js"), sw)?;
    let lazy = manifest.iter().filter(|(p, _)| is_lazy(p)).count();
    eprintln!(
        "web/dist: sw.js precaches {} files on install, {lazy} more for head office",
        manifest.len() - lazy
    );
    files.push("sw.js".to_owned());
    precompress(dist, &files)
}

/// A file's content hash as the service worker checks it: the first 16 hex digits
/// of its SHA-256 (stable across toolchains, unlike `DefaultHasher`).
fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `<file>.br` (brotli, quality 11: `xtask/brotli.mjs`, Node's reference
/// encoder) and `<file>.gz` (gzip, best) next to each file, for the server to send
/// by the request's `Accept-Encoding`; a variant that would not be smaller than the
/// file is left out.
fn precompress(dist: &Path, files: &[String]) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("brotli.mjs");
    let dist_arg = dist.to_string_lossy();
    let mut args = vec![
        script.to_str().context("xtask's path is not UTF-8")?,
        &*dist_arg,
    ];
    args.extend(files.iter().map(String::as_str));
    sh::run("node", &args)?;
    let (mut raw, mut br_total) = (0, 0);
    for f in files {
        let path = dist.join(f);
        let bytes = fs::read(&path)?;
        let br_path = dist.join(format!("{f}.br"));
        let br = fs::read(&br_path).with_context(|| format!("brotli {f}"))?;
        fs::remove_file(&br_path)?;
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes)?;
        let gz = gz.finish()?;
        raw += bytes.len();
        br_total += br.len().min(bytes.len());
        for (ext, packed) in [("br", br), ("gz", gz)] {
            if packed.len() < bytes.len() {
                fs::write(dist.join(format!("{f}.{ext}")), packed)?;
            }
        }
    }
    eprintln!("web/dist: {raw} bytes, {br_total} as brotli");
    Ok(())
}

/// Minifies every ES module of `dist` in place with esbuild (pinned in
/// web/package.json): comments, whitespace and local names go, exports and
/// non-ASCII text (the zh-Hant words) stay as they are. About a quarter of the
/// app's JavaScript, compressed; the service worker itself is left readable.
fn minify(web: &Path, dist: &Path) -> Result<()> {
    let esbuild = web.join("node_modules/.bin/esbuild");
    if !esbuild.exists() {
        sh::npm_ci(web)?;
    }
    let mut files = Vec::new();
    list(dist, dist, &mut files)?;
    let modules: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".js"))
        .map(|f| dist.join(f).to_string_lossy().into_owned())
        .collect();
    let outdir = format!("--outdir={}", dist.display());
    let outbase = format!("--outbase={}", dist.display());
    let mut args = vec![
        "--minify",
        "--format=esm",
        "--charset=utf8",
        "--legal-comments=none",
        "--allow-overwrite",
        "--log-level=warning",
        outdir.as_str(),
        outbase.as_str(),
    ];
    args.extend(modules.iter().map(String::as_str));
    sh::run(&esbuild.to_string_lossy(), &args)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()))?;
        } else {
            fs::copy(&path, to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn list(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            list(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// The server under test: killed when dropped, whatever happened.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `GET /health` until it answers 200 or the deadline passes.
fn wait_healthy(port: u16, server: &mut Server, deadline: Duration) -> Result<()> {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if let Some(status) = server.0.try_wait()? {
            bail!("the server exited before it was ready: {status}");
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            let mut reply = String::new();
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_to_string(&mut reply).is_ok()
                && reply.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server did not answer /health within {deadline:?}")
}

/// Starts `bin serve` over `db` on a free loopback port with the web app, its output in `log`,
/// and waits until it answers; the server stops when the handle is dropped.
pub(crate) fn serve(bin: &str, db: &str, log: &Path) -> Result<(Server, String)> {
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    eprintln!("+ {bin} serve --listen {listen} --web-dir web/dist");
    let log = fs::File::create(log)?;
    let mut server = Server(
        Command::new(bin)
            .args([
                "--database",
                db,
                "serve",
                "--listen",
                &listen,
                "--web-dir",
                "web/dist",
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {bin}"))?,
    );
    wait_healthy(port, &mut server, Duration::from_secs(60))?;
    Ok((server, listen))
}

/// Runs the server CLI against the test database and returns its standard output.
pub(crate) fn server_cli(bin: &str, db: &str, args: &[&str]) -> Result<String> {
    let mut full = vec!["--database", db];
    full.extend_from_slice(args);
    eprintln!("+ {bin} {}", full.join(" "));
    let out = Command::new(bin)
        .args(&full)
        .output()
        .with_context(|| format!("could not start {bin}"))?;
    if !out.status.success() {
        bail!(
            "{bin} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Issues a device token for `user` through the CLI.
fn issue_token(bin: &str, db: &str, user: &str) -> Result<String> {
    let out = server_cli(
        bin,
        db,
        &["device", "issue", "--user", user, "--label", "browser test"],
    )?;
    out.lines()
        .find_map(|l| {
            l.split_once("token (shown once):")
                .map(|(_, t)| t.trim().to_owned())
        })
        .context("`device issue` printed no token")
}

/// Starts the real server on a free port with a fresh SQLite database, creates the
/// test users and their device tokens through its CLI, runs the browser tests
/// (`node --test` with playwright-core driving Debian's chromium; only `files` when given),
/// and stops the server.
pub fn browser_tests(files: &[String]) -> Result<()> {
    for tool in ["node", "npm", "chromium"] {
        if !sh::have(tool) {
            bail!("{tool} is not installed: run `cargo xtask setup`");
        }
    }
    sh::cargo(&["build", "-p", "fieldsync-server"])?;
    let bin = target_dir().join("debug/fieldsync-server");
    let bin = bin.to_str().context("target dir is not UTF-8")?.to_owned();
    let tmp = std::env::temp_dir().join(format!("fieldsync-browser-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    let db = format!("sqlite://{}/test.sqlite", tmp.display());

    let users: [(&str, &str, &str, &[&str]); 12] = [
        ("ho", "總部 王經理", "head_office", &[]),
        ("lin", "林小美", "manager", &["t-north"]),
        ("chen", "陳大文", "manager", &["t-north"]),
        ("bench", "效能測試", "manager", &["t-bench"]),
        ("wu", "吳佳穎", "manager", &["t-north", "t-far"]),
        ("zhao", "趙怡君", "manager", &["t-south"]),
        ("gao", "高淑芬", "manager", &["t-west"]),
        // A manager whose first login (choosing a PIN) only `pin.test.js` makes.
        ("kuo", "郭新人", "manager", &[]),
        // A regional manager: the tests assign the territories they oversee.
        ("lee", "李大區", "regional", &[]),
        // The territory handover (`handover.test.js`): hsu hands t-hand over to tsai.
        ("hsu", "許志明", "manager", &["t-hand"]),
        ("tsai", "蔡雅婷", "manager", &[]),
        // Issue 10's whole story (`story.test.js`), in a territory of its own.
        ("yang", "楊志豪", "manager", &[]),
    ];
    let mut env: Vec<(String, String)> = vec![(
        "FIELDSYNC_DB_FILE".into(),
        tmp.join("test.sqlite").display().to_string(),
    )];
    for (id, name, role, territories) in users {
        let mut args = vec!["user", "add", "--id", id, "--name", name, "--role", role];
        for t in territories {
            args.extend(["--territory", t]);
        }
        server_cli(&bin, &db, &args)?;
        env.push((
            format!("FIELDSYNC_TOKEN_{}", id.to_uppercase()),
            issue_token(&bin, &db, id)?,
        ));
    }

    let (server, listen) = serve(&bin, &db, &tmp.join("server.log"))?;

    let dir = Path::new("tests/browser");
    sh::npm_ci(dir)?;
    let shots = fs::canonicalize(".")?.join("tests/screenshots");
    fs::create_dir_all(&shots)?;
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(files)
        .current_dir(dir)
        .env("FIELDSYNC_URL", format!("http://{listen}"))
        .env("FIELDSYNC_SCREENSHOTS", &shots)
        .env("FIELDSYNC_TMP", &tmp)
        .envs(env)
        .status()
        .context("could not start node")?;
    drop(server);
    if !status.success() {
        bail!(
            "browser tests failed (server log: {})",
            tmp.join("server.log").display()
        );
    }
    eprintln!("screenshots: {}", shots.display());
    let _ = fs::remove_dir_all(&tmp);
    Ok(())
}
