//! Faults, with the real server binary as a separate process: SIGKILLed at random (seeded) moments while devices push and restarted on the same database; a proxy that drops, delays and duplicates requests and cuts responses mid-body; two server replicas on one PostgreSQL. Afterwards every change a device was told was accepted is stored, none twice, the feeds have no gap, and every device converges. Seeds: `FIELDSYNC_FAULT_SEED` (printed on each run).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use common::{Backend, TestDb, live};
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, TerritoryId, UserId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::Rejection;
use fieldsync_loadgen::device::{Device, Retry, http_client};
use fieldsync_loadgen::process::{ServerProcess, add_user, issue_token};
use fieldsync_loadgen::proxy::{FaultProxy, Faults};
use fieldsync_loadgen::rng::Rng;

on_both_backends!(
    killed_at_random_moments_while_devices_push_nothing_acknowledged_is_lost,
    a_proxy_that_drops_delays_duplicates_and_cuts_loses_nothing,
);

const TERRITORY: &str = "t-faults";
const MANAGERS: [&str; 3] = ["m1", "m2", "m3"];
/// SIGKILLs per backend in the kill test.
const KILLS: usize = 6;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fieldsync-server"))
}

fn seed() -> u64 {
    let seed = std::env::var("FIELDSYNC_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Rng::from_entropy().next_u64());
    println!("FIELDSYNC_FAULT_SEED={seed}");
    seed
}

/// Retries quickly (the server comes back within a second), for a minute at most.
fn retry() -> Retry {
    Retry {
        base: Duration::from_millis(20),
        max: Duration::from_millis(300),
        deadline: Instant::now() + Duration::from_secs(90),
    }
}

/// A database with head office and three managers of `TERRITORY`, each with a
/// token, made through the server's CLI; returns the tokens by user.
fn people(db: &TestDb) -> BTreeMap<String, String> {
    let mut tokens = BTreeMap::new();
    add_user(&bin(), &db.url, "ho", "head_office", &[]).expect("ho");
    tokens.insert(
        "ho".into(),
        issue_token(&bin(), &db.url, "ho").expect("token"),
    );
    for m in MANAGERS {
        add_user(&bin(), &db.url, m, "manager", &[TERRITORY.to_owned()]).expect("manager");
        tokens.insert(m.into(), issue_token(&bin(), &db.url, m).expect("token"));
    }
    tokens
}

fn tid() -> TerritoryId {
    TERRITORY.parse().unwrap()
}

/// Head office creates the territory; each manager's device reads it and adds a dealer.
async fn devices(base: &str, tokens: &BTreeMap<String, String>) -> Vec<Field> {
    let http = http_client().unwrap();
    let mut ho = Device::connect(base, "ho", &tokens["ho"], http.clone())
        .await
        .unwrap();
    let managers: Vec<UserId> = MANAGERS.iter().map(|m| m.parse().unwrap()).collect();
    ho.add_territory(&tid(), &managers).unwrap();
    let s = ho.sync(&retry()).await.expect("head office syncs");
    assert!(s.rejected().is_empty(), "refused: {:?}", s.rejected());
    let mut out = Vec::new();
    for m in MANAGERS {
        let mut d = Device::connect(base, m, &tokens[m], http.clone())
            .await
            .unwrap();
        d.sync(&retry()).await.expect("first sync");
        let dealer = d.add_dealer(&tid(), 0).unwrap();
        out.push(Field {
            device: d,
            dealers: vec![dealer],
            visits: 0,
            rejected: Vec::new(),
            failures: 0,
        });
    }
    out
}

/// A manager's device at work: what it recorded, and any refusal it met.
struct Field {
    device: Device,
    dealers: Vec<DealerId>,
    visits: usize,
    rejected: Vec<Rejection>,
    /// Rounds that failed (connection refused or cut, 503) and were retried.
    failures: u32,
}

impl Field {
    /// Records some work (a visit, sometimes a new dealer first) and syncs it.
    async fn work_and_sync(&mut self, rng: &mut Rng) {
        if rng.chance(0.25) {
            let n = self.dealers.len();
            self.dealers
                .push(self.device.add_dealer(&tid(), n).unwrap());
        }
        for _ in 0..rng.range(1, 4) {
            let d = self.dealers[rng.range(0, self.dealers.len() as u64) as usize].clone();
            self.device.record_visit(&d, self.visits).unwrap();
            self.visits += 1;
        }
        let stats = self
            .device
            .sync(&retry())
            .await
            .expect("the device syncs in the end");
        self.rejected.extend(stats.rejected());
        self.failures += stats.failures;
    }
}

/// Runs every field device, working and syncing, until `stop`; hands them back.
fn work_until(
    fields: Vec<Field>,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> Vec<tokio::task::JoinHandle<Field>> {
    fields
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut rng = Rng::new(seed ^ (i as u64 + 1));
                while !stop.load(Ordering::Relaxed) {
                    f.work_and_sync(&mut rng).await;
                }
                f
            })
        })
        .collect()
}

async fn heads_of(device: &mut Device, id: &DocId) -> Vec<ChangeHash> {
    let bytes = device.replica.save_doc(id).expect("held");
    Automerge::load(&bytes).unwrap().get_heads()
}

/// Every acknowledged change is stored; nothing is stored twice; each feed runs
/// 1..n without a gap; each stored document holds exactly its feed's changes;
/// every device (and a fresh one) ends with the same heads, holding every visit recorded.
async fn check_nothing_lost(db: &TestDb, base: &str, token: &str, fields: &mut [Field]) {
    let store = fieldsync_server::Store::open(&db.url)
        .await
        .expect("open the database");
    let feed: Vec<(String, String)> = sqlx::query_as("SELECT doc, hash FROM feed")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let stored: BTreeSet<(String, String)> = feed.iter().cloned().collect();
    assert_eq!(stored.len(), feed.len(), "a change is in the feed twice");
    let runs: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT territory, COUNT(*), MIN(seq), MAX(seq) FROM feed GROUP BY territory",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for (t, n, lo, hi) in &runs {
        assert_eq!(
            (*lo, *hi),
            (1, *n),
            "the feed of {t} has a gap or a duplicate position"
        );
    }
    let mut acked = 0;
    for f in fields.iter() {
        for (doc, hashes) in &f.device.acked {
            for h in hashes {
                acked += 1;
                assert!(
                    stored.contains(&(doc.to_string(), h.to_string())),
                    "{doc}: change {h} was acknowledged to {} but is not stored",
                    f.device.user
                );
            }
        }
        assert!(f.rejected.is_empty(), "refused: {:?}", f.rejected);
    }
    assert!(acked > 0, "no device was told anything was accepted");
    let snapshots: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT id, snapshot FROM documents")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut server_heads = BTreeMap::new();
    for (id, bytes) in &snapshots {
        let doc = Automerge::load(bytes).expect("a stored snapshot loads");
        let in_doc: BTreeSet<String> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.hash().to_string())
            .collect();
        let in_feed: BTreeSet<String> = feed
            .iter()
            .filter(|(d, _)| d == id)
            .map(|(_, h)| h.clone())
            .collect();
        assert_eq!(in_doc, in_feed, "{id}: the snapshot and the feed disagree");
        server_heads.insert(id.clone(), doc.get_heads());
    }
    store.close().await;

    let mut fresh = Device::connect(base, "ho", token, http_client().unwrap())
        .await
        .unwrap();
    fresh
        .sync(&retry())
        .await
        .expect("a fresh device downloads everything");
    let ids: Vec<DocId> = fresh.replica.doc_ids().cloned().collect();
    assert_eq!(
        ids.len(),
        server_heads.len(),
        "the fresh device holds every document"
    );
    let mut visits = 0;
    for id in &ids {
        let heads = heads_of(&mut fresh, id).await;
        assert_eq!(
            Some(&heads),
            server_heads.get(&id.to_string()),
            "{id} on the fresh device"
        );
        if let DocId::Dealer(d) = id {
            visits += fresh
                .replica
                .dealer(d)
                .unwrap()
                .records::<Visit>()
                .unwrap()
                .len();
        }
        for f in fields.iter_mut() {
            if f.device.replica.doc(id).is_some() {
                assert_eq!(
                    heads_of(&mut f.device, id).await,
                    heads,
                    "{id} on {}",
                    f.device.user
                );
            }
        }
    }
    let recorded: usize = fields.iter().map(|f| f.visits).sum();
    assert_eq!(
        visits, recorded,
        "every visit recorded is on the server, once"
    );
}

/// Every device syncs once more with the network healthy, until nothing is pending.
async fn settle(fields: &mut [Field]) {
    for _ in 0..3 {
        for f in fields.iter_mut() {
            let stats = f.device.sync(&retry()).await.expect("final sync");
            f.rejected.extend(stats.rejected());
        }
    }
    for f in fields.iter_mut() {
        assert_eq!(
            f.device.replica.pending(),
            0,
            "{} still has changes to send",
            f.device.user
        );
    }
}

async fn killed_at_random_moments_while_devices_push_nothing_acknowledged_is_lost(
    backend: Backend,
) {
    let seed = seed();
    let db = TestDb::new(backend).await;
    let tokens = people(&db);
    let logs = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&bin(), &db.url, logs.path(), &[]).expect("server");
    // Devices reach the server through a proxy that follows it across restarts (no faults of its own).
    let proxy = FaultProxy::start(server.addr, Faults::NONE, seed)
        .await
        .unwrap();
    let fields = devices(&proxy.base(), &tokens).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = work_until(fields, stop.clone(), seed);
    let mut rng = Rng::new(seed);
    for kill in 0..KILLS {
        // A random moment while the devices push (not a wait for anything).
        tokio::time::sleep(Duration::from_millis(rng.range(30, 600))).await;
        server.kill();
        println!("kill {} of {KILLS}", kill + 1);
        server
            .restart()
            .unwrap_or_else(|e| panic!("restart: {e:#}\n{}", server.log_tail()));
        proxy.set_upstream(server.addr);
    }
    stop.store(true, Ordering::Relaxed);
    let mut fields = Vec::new();
    for t in tasks {
        fields.push(t.await.expect("device task"));
    }
    settle(&mut fields).await;
    check_nothing_lost(&db, &proxy.base(), &tokens["ho"], &mut fields).await;
    let acked: usize = fields
        .iter()
        .map(|f| f.device.acked.values().map(BTreeSet::len).sum::<usize>())
        .sum();
    let failures: u32 = fields.iter().map(|f| f.failures).sum();
    assert!(failures > 0, "no push was ever interrupted by a kill");
    println!(
        "{backend:?}: {KILLS} kills, {failures} sync rounds cut or refused, {acked} acknowledged changes all stored once"
    );
}

async fn a_proxy_that_drops_delays_duplicates_and_cuts_loses_nothing(backend: Backend) {
    let seed = seed();
    let db = TestDb::new(backend).await;
    let tokens = people(&db);
    let logs = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&bin(), &db.url, logs.path(), &[]).expect("server");
    let proxy = FaultProxy::start(server.addr, Faults::NONE, seed)
        .await
        .unwrap();
    let fields = devices(&proxy.base(), &tokens).await;
    proxy.set_faults(Faults {
        drop: 0.15,
        delay: 0.2,
        duplicate: 0.2,
        cut: 0.2,
        max_delay: Duration::from_millis(150),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = work_until(fields, stop.clone(), seed);
    // Until every kind of fault has happened a few times.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = proxy.counts();
        let least = [&c.dropped, &c.delayed, &c.duplicated, &c.cut]
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        if least >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "the proxy saw too few requests");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut fields = Vec::new();
    for t in tasks {
        fields.push(t.await.expect("device task"));
    }
    proxy.set_faults(Faults::NONE);
    settle(&mut fields).await;
    check_nothing_lost(&db, &proxy.base(), &tokens["ho"], &mut fields).await;
    let c = proxy.counts();
    println!(
        "{backend:?}: {} requests: {} dropped, {} delayed, {} duplicated, {} cut mid-body",
        c.requests.load(Ordering::Relaxed),
        c.dropped.load(Ordering::Relaxed),
        c.delayed.load(Ordering::Relaxed),
        c.duplicated.load(Ordering::Relaxed),
        c.cut.load(Ordering::Relaxed)
    );
    drop(server);
}

/// Waits for `{"type":"sync"}` on a live channel until `deadline`.
async fn hinted(ws: &mut common::Ws, deadline: tokio::time::Instant) -> bool {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.contains(r#""sync""#) => return true,
            Ok(Some(Ok(_))) => {}
            _ => return false,
        }
    }
}

/// `writer` records a visit and syncs with its replica; `reader`, holding a live
/// channel to the other replica, is told and has the visit within a second.
async fn hop(writer: &mut Field, reader: &mut Field, reader_token: &str) -> Duration {
    let mut ws = live(&reader.device.base, reader_token).await;
    let ready = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        use futures_util::StreamExt;
        match tokio::time::timeout_at(ready, ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))))
                if t.contains("ready") =>
            {
                break;
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("the live channel did not open: {other:?}"),
        }
    }
    let dealer = writer.dealers[0].clone();
    writer.device.record_visit(&dealer, writer.visits).unwrap();
    writer.visits += 1;
    let want = writer
        .device
        .replica
        .dealer(&dealer)
        .unwrap()
        .records::<Visit>()
        .unwrap()
        .len();
    writer
        .device
        .sync(&retry())
        .await
        .expect("the writer syncs");
    let accepted = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        assert!(
            hinted(&mut ws, deadline).await,
            "no live hint reached {} within a second of the commit",
            reader.device.user
        );
        reader
            .device
            .sync(&retry())
            .await
            .expect("the reader syncs");
        let has = reader
            .device
            .replica
            .dealer(&dealer)
            .map_or(0, |d| d.records::<Visit>().unwrap().len());
        if has == want {
            let took = accepted.elapsed();
            assert!(
                took < Duration::from_secs(1),
                "the change took {took:?} to reach the other replica's device"
            );
            return took;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_accepted_by_one_replica_reaches_a_device_on_the_other_within_a_second() {
    let db = TestDb::new(Backend::Postgres).await;
    let tokens = people(&db);
    let logs = tempfile::tempdir().unwrap();
    let one = ServerProcess::start(&bin(), &db.url, logs.path(), &[]).expect("replica 1");
    let two = ServerProcess::start(&bin(), &db.url, logs.path(), &[]).expect("replica 2");
    let mut fields = devices(&one.base(), &tokens).await;
    let mut b = fields.remove(1);
    let mut a = fields.remove(0);
    b.device.base = two.base();
    a.device.sync(&retry()).await.unwrap();
    b.device.sync(&retry()).await.unwrap();
    for _ in 0..2 {
        let ab = hop(&mut a, &mut b, &tokens["m2"]).await;
        let ba = hop(&mut b, &mut a, &tokens["m1"]).await;
        println!(
            "replica 1 → device on replica 2: {ab:?}; replica 2 → device on replica 1: {ba:?}"
        );
    }
}
