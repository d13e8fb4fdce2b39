//! The fleet scenario: M managers, each with D dealers and V visits recorded offline, sync at once against a real server; then the same documents through the per-document Automerge baseline; then one device re-syncing 500 documents of which 5 changed, both ways.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::Automerge;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, TerritoryId, UserId};

use crate::baseline::{BaselineClient, BaselineDoc, BaselineServer, BaselineStats};
use crate::device::{Device, Retry, SyncStats, http_client};
use crate::process::Backend;
use crate::proxy::CountingProxy;
use crate::site::{NewUser, Site};
use crate::stats::{median, ms, summary, thousands};

/// What to run.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub backend: Backend,
    pub managers: usize,
    pub dealers: usize,
    pub visits: usize,
    /// The whole measured upload stops here, finished or not.
    pub time_limit: Duration,
    /// Also sync the same documents through the per-document baseline.
    pub baseline: bool,
    /// After the upload, a fresh device per manager downloads its territory, all at once.
    pub download: bool,
    /// Documents of the re-sync scenario (0: skip it), and how many of them changed.
    pub resync_docs: usize,
    pub resync_changed: usize,
    /// Baseline requests one device has in flight (a browser opens 6 connections to a host).
    pub baseline_parallel: usize,
    /// Arguments added to the server's `serve` command.
    pub serve_args: Vec<String>,
}

/// A manager: their device and the documents it held before going offline.
struct Manager {
    device: Device,
    territory: TerritoryId,
    /// The territory document as synced before going offline (the baseline server starts with it).
    territory_before: Vec<u8>,
}

fn manager_id(i: usize) -> String {
    format!("m{i:04}")
}

fn territory_id(i: usize) -> String {
    format!("t-m{i:04}")
}

const RESYNC_USER: &str = "resync";
const RESYNC_TERRITORY: &str = "t-resync";
/// Re-syncs measured, each after its own edits elsewhere: the report gives their medians
/// (a re-sync takes a few milliseconds; fifteen keep one slow round from moving the median).
const RESYNC_ROUNDS: usize = 15;

/// Runs the scenario and returns its report (Markdown).
pub async fn run(cfg: &FleetConfig) -> Result<String> {
    let mut out = String::new();
    PRINTED.store(0, Ordering::Relaxed);
    let visits_total = (cfg.managers * cfg.dealers * cfg.visits) as u64;
    writeln!(
        out,
        "## fleet on {}: {} managers × {} dealers × {} visits ({} visits, {} documents)\n",
        cfg.backend,
        cfg.managers,
        cfg.dealers,
        cfg.visits,
        thousands(visits_total),
        thousands((cfg.managers * (cfg.dealers + 1)) as u64)
    )?;
    let setup = Instant::now();
    let mut users = vec![NewUser {
        id: "ho".into(),
        role: "head_office",
        territories: vec![],
    }];
    for i in 0..cfg.managers {
        users.push(NewUser {
            id: manager_id(i),
            role: "manager",
            territories: vec![territory_id(i)],
        });
    }
    if cfg.resync_docs > 0 {
        users.push(NewUser {
            id: RESYNC_USER.into(),
            role: "manager",
            territories: vec![RESYNC_TERRITORY.into()],
        });
    }
    let serve_args: Vec<&str> = cfg.serve_args.iter().map(String::as_str).collect();
    let site = Site::start(cfg.backend, &users, &serve_args).await?;
    eprintln!(
        "[fleet] server up, {} users, {:?}",
        users.len(),
        setup.elapsed()
    );

    // Head office creates every territory through a sync.
    let mut ho = site.device("ho", false).await?;
    let far = Instant::now() + Duration::from_secs(3600);
    for i in 0..cfg.managers {
        let m: UserId = manager_id(i).parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        ho.add_territory(
            &territory_id(i)
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            &[m],
        )?;
    }
    if cfg.resync_docs > 0 {
        let r: UserId = RESYNC_USER.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        ho.add_territory(
            &RESYNC_TERRITORY
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            &[r],
        )?;
    }
    let s = ho
        .sync(&Retry::like_the_app(far))
        .await
        .context("head office")?;
    if let Some(r) = s.rejected().first() {
        bail!(
            "head office's territories were refused: {} {}: {}",
            r.doc,
            r.code,
            r.message
        );
    }

    // Each manager's device reads its territory, then goes offline.
    let mut managers = Vec::new();
    for i in 0..cfg.managers {
        let mut device = site.device(&manager_id(i), false).await?;
        device
            .sync(&Retry::like_the_app(far))
            .await
            .context("first sync")?;
        let territory: TerritoryId = territory_id(i)
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let territory_before = device
            .replica
            .save_doc(&DocId::Territory(territory.clone()))
            .context("the territory did not arrive")?;
        managers.push(Manager {
            device,
            territory,
            territory_before,
        });
    }
    eprintln!("[fleet] territories synced, {:?}", setup.elapsed());

    // The day offline: dealers and visits, on every core.
    let generation = Instant::now();
    let mut managers = record_offline(managers, cfg.dealers, cfg.visits)?;
    let generation = generation.elapsed();
    eprintln!("[fleet] offline work recorded in {generation:?}");
    // The same documents for the baseline, as they are before anything is sent.
    let mut baseline_docs: Vec<Vec<BaselineDoc>> = Vec::new();
    if cfg.baseline {
        for m in &mut managers {
            baseline_docs.push(baseline_copy(&mut m.device)?);
        }
    }

    // Everyone comes back online at once.
    let (up0, down0) = site.wire();
    let started = Instant::now();
    let deadline = started + cfg.time_limit;
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let pid = site.server.pid();
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = read_kib(pid, "VmRSS:") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for mut m in managers {
        tasks.push(tokio::spawn(async move {
            let r = m.device.sync(&Retry::like_the_app(deadline)).await;
            (m, r)
        }));
    }
    let mut results: Vec<SyncStats> = Vec::new();
    let mut managers = Vec::new();
    let mut unfinished = Vec::new();
    for t in tasks {
        let (m, r) = t.await.context("device task")?;
        match r {
            Ok(s) => results.push(s),
            Err(e) => unfinished.push(format!("{}: {e:#}", m.device.user)),
        }
        managers.push(m);
    }
    let wall = started.elapsed();
    sampler.abort();
    let (up1, down1) = site.wire();
    let accepted: u64 = results.iter().map(SyncStats::accepted).sum();
    let rejected: usize = results.iter().map(|s| s.rejected().len()).sum();
    let latencies: Vec<Duration> = results.iter().map(|s| s.elapsed).collect();
    let requests: Vec<Duration> = results
        .iter()
        .flat_map(|s| s.rounds.iter().map(|r| r.latency))
        .collect();
    let overloaded: u32 = results.iter().map(|s| s.overloaded).sum();
    let too_large: u32 = results.iter().map(|s| s.too_large).sum();
    let too_slow: u32 = results.iter().map(|s| s.too_slow).sum();
    let body_up: u64 = results.iter().map(SyncStats::sent).sum();
    let body_down: u64 = results.iter().map(SyncStats::received).sum();
    let hwm = site.server.peak_memory_kib().unwrap_or(0);
    let rate = accepted as f64 / wall.as_secs_f64();
    let per_visit = |b: u64| b as f64 / visits_total.max(1) as f64;
    writeln!(out, "| fieldsync (protocol v1) | |\n|---|---|")?;
    writeln!(
        out,
        "| offline work recorded (not timed below) | {} ms |",
        ms(generation)
    )?;
    writeln!(
        out,
        "| devices finished | {} of {}{} |",
        results.len(),
        cfg.managers,
        if unfinished.is_empty() {
            String::new()
        } else {
            format!(" (time limit {} s)", cfg.time_limit.as_secs())
        }
    )?;
    writeln!(
        out,
        "| wall time, first request to last response | {} ms |",
        ms(wall)
    )?;
    writeln!(
        out,
        "| accepted changes | {} ({} refused documents) |",
        thousands(accepted),
        rejected
    )?;
    writeln!(out, "| **accepted changes per second** | **{rate:.0}** |")?;
    writeln!(
        out,
        "| **sync latency per device** (all its rounds, retries included) | **{}** |",
        summary(&latencies)
    )?;
    writeln!(out, "| latency per request | {} |", summary(&requests))?;
    writeln!(
        out,
        "| requests | {} answered, {} × 503 overloaded, {} × 413, {} × 408 or timed out |",
        requests.len(),
        overloaded,
        too_large,
        too_slow
    )?;
    writeln!(
        out,
        "| **bytes on the wire per visit** (TCP, headers included) | **{:.0} B up + {:.0} B down** |",
        per_visit(up1 - up0),
        per_visit(down1 - down0)
    )?;
    writeln!(
        out,
        "| bodies per visit, as sent (gzip) | {:.0} B up + {:.0} B down |",
        per_visit(body_up),
        per_visit(body_down)
    )?;
    writeln!(
        out,
        "| **server peak memory** (VmHWM since start; VmRSS peak during the upload) | **{:.1} MiB** ({:.1} MiB) |",
        hwm as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    )?;
    for u in unfinished.iter().take(5) {
        writeln!(out, "\nunfinished: {u}")?;
    }
    progress(&out);

    if cfg.download {
        download_phase(&site, cfg, &mut out).await?;
    }
    let mut baseline = None;
    if cfg.baseline {
        baseline = Some(baseline_fleet(cfg, &managers, baseline_docs, &mut out).await?);
    }
    if cfg.resync_docs > 0 {
        resync(&site, cfg, baseline.as_ref(), &mut out).await?;
    }
    writeln!(
        out,
        "\nserver peak memory over the whole run (VmHWM): {:.1} MiB",
        site.server.peak_memory_kib().unwrap_or(0) as f64 / 1024.0
    )?;
    Ok(out)
}

/// How much of the current report has been printed.
static PRINTED: AtomicU64 = AtomicU64::new(0);

/// Prints what the report gained since the last call (the report is built as the run goes).
fn progress(out: &str) {
    let from = PRINTED.swap(out.len() as u64, Ordering::Relaxed) as usize;
    eprintln!("{}", out.get(from..).unwrap_or(out));
}

fn read_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Records `dealers` × `visits` on every manager's device, on every core.
fn record_offline(managers: Vec<Manager>, dealers: usize, visits: usize) -> Result<Vec<Manager>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut lanes: Vec<Vec<(usize, Manager)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, m) in managers.into_iter().enumerate() {
        lanes[i % threads].push((i, m));
    }
    let mut done: Vec<(usize, Manager)> = std::thread::scope(|s| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                s.spawn(move || -> Result<Vec<(usize, Manager)>> {
                    let mut out = Vec::new();
                    for (i, mut m) in lane {
                        for d in 0..dealers {
                            let id = m.device.add_dealer(&m.territory, d)?;
                            for v in 0..visits {
                                m.device.record_visit(&id, v)?;
                            }
                        }
                        out.push((i, m));
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a recording thread panicked"))??,
            );
        }
        anyhow::Ok(all)
    })?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, m)| m).collect())
}

/// A fresh device per manager downloads its territory, all at once.
async fn download_phase(site: &Site, cfg: &FleetConfig, out: &mut String) -> Result<()> {
    let mut devices = Vec::new();
    for i in 0..cfg.managers {
        devices.push(site.device(&manager_id(i), false).await?);
    }
    let (_, down0) = site.wire();
    let started = Instant::now();
    let deadline = started + cfg.time_limit;
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|mut d| {
            tokio::spawn(async move {
                d.sync(&Retry::like_the_app(deadline))
                    .await
                    .map(|s| (s, d.replica.doc_ids().count()))
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut docs = 0;
    let mut failed = 0;
    for t in tasks {
        match t.await? {
            Ok((s, n)) => {
                lat.push(s.elapsed);
                docs += n;
            }
            Err(_) => failed += 1,
        }
    }
    let wall = started.elapsed();
    let (_, down1) = site.wire();
    writeln!(
        out,
        "\nFresh devices, one per manager, download their territory at once: {} documents in {} ms ({} failed); per device {}; {:.0} B down per visit; server VmHWM {:.1} MiB",
        thousands(docs as u64),
        ms(wall),
        failed,
        summary(&lat),
        (down1 - down0) as f64 / (cfg.managers * cfg.dealers * cfg.visits).max(1) as f64,
        site.server.peak_memory_kib().unwrap_or(0) as f64 / 1024.0
    )?;
    progress(out);
    Ok(())
}

/// The baseline server and the proxy counting its bytes.
struct Baseline {
    /// Kept running while the proxy points at it.
    _server: BaselineServer,
    proxy: CountingProxy,
    http: reqwest::Client,
}

/// The same offline work through the per-document protocol, every manager at once.
async fn baseline_fleet(
    cfg: &FleetConfig,
    managers: &[Manager],
    docs: Vec<Vec<BaselineDoc>>,
    out: &mut String,
) -> Result<Baseline> {
    let server = BaselineServer::start().await?;
    let proxy = CountingProxy::start(server.addr).await?;
    let http = http_client()?;
    for m in managers {
        let id = DocId::Territory(m.territory.clone()).to_string();
        server.preload(&id, Automerge::load(&m.territory_before)?);
    }
    let before = server.changes();
    let (up0, down0) = proxy.counters.read();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, mut d) in docs.into_iter().enumerate() {
        let client = BaselineClient::new(&proxy.base(), &manager_id(i), http.clone());
        let parallel = cfg.baseline_parallel;
        tasks.push(tokio::spawn(async move {
            let s = client.sync_all(&mut d, parallel).await;
            (d, s)
        }));
    }
    let mut per_device = Vec::new();
    let mut total = BaselineStats::default();
    for t in tasks {
        let (_, s) = t.await?;
        let s = s?;
        per_device.push(s.elapsed);
        total.exchanges += s.exchanges;
        total.sent += s.sent;
        total.received += s.received;
    }
    let wall = started.elapsed();
    let (up1, down1) = proxy.counters.read();
    let changes = (server.changes() - before) as u64;
    let visits = (cfg.managers * cfg.dealers * cfg.visits).max(1) as f64;
    writeln!(
        out,
        "\n| Automerge per-document sync (baseline, same documents) | |\n|---|---|"
    )?;
    writeln!(out, "| wall time | {} ms |", ms(wall))?;
    writeln!(
        out,
        "| changes received by the server | {} |",
        thousands(changes)
    )?;
    writeln!(
        out,
        "| changes per second | {:.0} |",
        changes as f64 / wall.as_secs_f64()
    )?;
    writeln!(
        out,
        "| sync latency per device | {} |",
        summary(&per_device)
    )?;
    writeln!(out, "| HTTP exchanges | {} |", thousands(total.exchanges))?;
    writeln!(
        out,
        "| bytes on the wire per visit (TCP, headers included) | {:.0} B up + {:.0} B down |",
        (up1 - up0) as f64 / visits,
        (down1 - down0) as f64 / visits
    )?;
    writeln!(
        out,
        "| message bytes per visit | {:.0} B up + {:.0} B down |",
        total.sent as f64 / visits,
        total.received as f64 / visits
    )?;
    progress(out);
    Ok(Baseline {
        _server: server,
        proxy,
        http,
    })
}

/// One device holding `resync_docs` dealers re-syncs after `resync_changed` of
/// them were edited on another device: fieldsync against the baseline.
async fn resync(
    site: &Site,
    cfg: &FleetConfig,
    baseline: Option<&Baseline>,
    out: &mut String,
) -> Result<()> {
    let owned;
    let b = match baseline {
        Some(b) => b,
        None => {
            let server = BaselineServer::start().await?;
            let proxy = CountingProxy::start(server.addr).await?;
            owned = Baseline {
                _server: server,
                proxy,
                http: http_client()?,
            };
            &owned
        }
    };
    let far = Instant::now() + Duration::from_secs(3600);
    let retry = Retry::like_the_app(far);
    let territory: TerritoryId = RESYNC_TERRITORY
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The device: every dealer with one visit, synced both ways.
    let mut phone = site.device(RESYNC_USER, false).await?;
    phone.sync(&retry).await?;
    let mut dealers: Vec<DealerId> = Vec::new();
    for n in 0..cfg.resync_docs {
        let id = phone.add_dealer(&territory, n)?;
        phone.record_visit(&id, 0)?;
        dealers.push(id);
    }
    phone.sync(&retry).await?;
    let mut phone_docs = baseline_copy(&mut phone)?;
    let phone_am = BaselineClient::new(&b.proxy.base(), "resync-phone", b.http.clone());
    phone_am
        .sync_all(&mut phone_docs, cfg.baseline_parallel)
        .await?;

    // Another device of the same manager edits `changed` dealers.
    let mut other = site.device(RESYNC_USER, true).await?;
    other.sync(&retry).await?;
    let mut other_docs: Vec<BaselineDoc> = phone_docs
        .iter()
        .map(|d| BaselineDoc::new(d.id.clone(), Automerge::new()))
        .collect();
    let other_am = BaselineClient::new(&b.proxy.base(), "resync-other", b.http.clone());
    other_am
        .sync_all(&mut other_docs, cfg.baseline_parallel)
        .await?;
    // Rounds: another device edits `resync_changed` dealers, then the phone re-syncs
    // both ways; medians over the rounds (one sync of a few milliseconds is noisy).
    let mut fs_times = Vec::new();
    let mut am_times = Vec::new();
    let mut https = Vec::new();
    let (mut fs_bytes, mut am_bytes, mut fs_rounds, mut am_exchanges) = (0u64, 0u64, 0usize, 0u64);
    for round in 0..RESYNC_ROUNDS {
        for (n, id) in dealers.iter().take(cfg.resync_changed).enumerate() {
            other.record_visit(id, 1 + n + round * cfg.resync_changed)?;
            let key = DocId::Dealer(id.clone());
            let doc = other.replica.save_doc(&key).context("edited dealer")?;
            let key = key.to_string();
            let slot = other_docs
                .iter_mut()
                .find(|d| d.id == key)
                .context("dealer in the baseline copy")?;
            // The same edit, merged into the baseline copy.
            let mut edited = Automerge::load(&doc)?;
            slot.doc.merge(&mut edited)?;
        }
        other.sync(&retry).await?;
        other_am
            .sync_all(&mut other_docs, cfg.baseline_parallel)
            .await?;

        // The re-sync, fieldsync.
        let (up0, down0) = site.wire();
        let started = Instant::now();
        let s = phone.sync(&retry).await?;
        fs_times.push(started.elapsed());
        let (up1, down1) = site.wire();
        fs_bytes = (up1 - up0) + (down1 - down0);
        fs_rounds = s.rounds.len();
        https.push(s.rounds.iter().map(|r| r.latency).sum::<Duration>());
        if s.pulled() == 0 {
            bail!(
                "the re-syncing device received none of the {} edits",
                cfg.resync_changed
            );
        }
        // The re-sync, baseline.
        let (bu0, bd0) = b.proxy.counters.read();
        let started = Instant::now();
        let bs = phone_am
            .sync_all(&mut phone_docs, cfg.baseline_parallel)
            .await?;
        am_times.push(started.elapsed());
        let (bu1, bd1) = b.proxy.counters.read();
        am_bytes = (bu1 - bu0) + (bd1 - bd0);
        am_exchanges = bs.exchanges;
        for (d, o) in phone_docs.iter().zip(&other_docs) {
            if d.doc.get_heads() != o.doc.get_heads() {
                bail!("baseline: {} did not converge", d.id);
            }
        }
    }
    let (fs_time, am_time) = (median(&fs_times), median(&am_times));
    writeln!(
        out,
        "\n| a device re-syncs {} documents, {} changed elsewhere (median of {RESYNC_ROUNDS} rounds) | time | bytes on the wire | requests |\n|---|---:|---:|---:|",
        cfg.resync_docs + 1,
        cfg.resync_changed
    )?;
    let all = |v: &[Duration]| v.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ");
    writeln!(
        out,
        "| fieldsync (rounds: {}; of which the HTTP exchange: {} ms) | {} ms | {} B | {} |",
        all(&fs_times),
        ms(median(&https)),
        ms(fs_time),
        thousands(fs_bytes),
        fs_rounds
    )?;
    writeln!(
        out,
        "| Automerge per-document sync (rounds: {}) | {} ms | {} B | {} |",
        all(&am_times),
        ms(am_time),
        thousands(am_bytes),
        thousands(am_exchanges)
    )?;
    writeln!(
        out,
        "| **fieldsync's advantage** | **{:.1}× faster** | **{:.1}× fewer bytes** | |",
        am_time.as_secs_f64() / fs_time.as_secs_f64().max(1e-9),
        am_bytes as f64 / fs_bytes.max(1) as f64
    )?;
    progress(out);
    Ok(())
}

/// The device's documents as the baseline's client holds them.
fn baseline_copy(d: &mut Device) -> Result<Vec<BaselineDoc>> {
    let ids: Vec<DocId> = d.replica.doc_ids().cloned().collect();
    let mut out = Vec::new();
    for id in ids {
        let bytes = d.replica.save_doc(&id).context("doc")?;
        out.push(BaselineDoc::new(
            id.to_string(),
            Automerge::load(&bytes).context("load for the baseline")?,
        ));
    }
    Ok(out)
}
