//! The baseline: Automerge's own per-document sync protocol, as automerge-repo runs it — a sync state per document and peer, one message exchange at a time (`generate_sync_message` / `receive_sync_message`), here one HTTP exchange per message against a minimal in-memory server on 127.0.0.1:0. No authentication, no validation, no durable storage: only the protocol's own cost.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::sync::{Message, State, SyncDoc};
use automerge::{Automerge, ChangeHash};
use axum::body::Bytes;
use axum::extract::{Path, State as Axum};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// One document on the baseline server, with a sync state per peer.
#[derive(Debug)]
struct Held {
    doc: Automerge,
    /// peer → (its session, our sync state with it).
    peers: HashMap<String, (String, State)>,
}

type Docs = Arc<Mutex<HashMap<String, Arc<Mutex<Held>>>>>;

/// The baseline server: documents in memory, `POST /am/{doc}` takes one sync
/// message from peer `x-peer` (session `x-session`) and answers the next one, or 204.
#[derive(Debug)]
pub struct BaselineServer {
    pub addr: SocketAddr,
    docs: Docs,
    task: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl BaselineServer {
    pub async fn start() -> Result<BaselineServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind baseline")?;
        let addr = listener.local_addr()?;
        let docs: Docs = Arc::default();
        let app = axum::Router::new()
            .route("/am/{doc}", axum::routing::post(exchange))
            .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(docs.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(BaselineServer { addr, docs, task })
    }

    /// Puts a document on the server directly (what it held before the run).
    pub fn preload(&self, id: &str, doc: Automerge) {
        lock(&self.docs).insert(
            id.to_owned(),
            Arc::new(Mutex::new(Held {
                doc,
                peers: HashMap::new(),
            })),
        );
    }

    /// The heads of a document the server holds.
    pub fn heads(&self, id: &str) -> Option<Vec<ChangeHash>> {
        let held = lock(&self.docs).get(id).cloned()?;
        let heads = lock(&held).doc.get_heads();
        Some(heads)
    }

    /// Changes held, all documents together.
    pub fn changes(&self) -> usize {
        let all: Vec<_> = lock(&self.docs).values().cloned().collect();
        all.iter().map(|h| lock(h).doc.get_changes(&[]).len()).sum()
    }
}

impl Drop for BaselineServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn exchange(
    Axum(docs): Axum<Docs>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (peer, session) = (header("x-peer"), header("x-session"));
    let Ok(msg) = Message::decode(&body) else {
        return (StatusCode::BAD_REQUEST, "not a sync message").into_response();
    };
    let held = lock(&docs)
        .entry(id)
        .or_insert_with(|| {
            Arc::new(Mutex::new(Held {
                doc: Automerge::new(),
                peers: HashMap::new(),
            }))
        })
        .clone();
    let mut held = lock(&held);
    let Held { doc, peers } = &mut *held;
    let (known, state) = peers
        .entry(peer)
        .or_insert_with(|| (session.clone(), State::new()));
    if *known != session {
        // A new connection: what the peer had is kept (as automerge-repo persists it), the rest starts over.
        *state = State::decode(&state.encode()).unwrap_or_default();
        known.clone_from(&session);
    }
    if let Err(e) = doc.receive_sync_message(state, msg) {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    match doc.generate_sync_message(state) {
        Some(reply) => (StatusCode::OK, reply.encode()).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// A device's copy of one document, with its sync state with the server.
#[derive(Debug)]
pub struct BaselineDoc {
    pub id: String,
    pub doc: Automerge,
    pub state: State,
}

impl BaselineDoc {
    pub fn new(id: String, doc: Automerge) -> BaselineDoc {
        BaselineDoc {
            id,
            doc,
            state: State::new(),
        }
    }
}

/// What syncing some documents cost.
#[derive(Debug, Clone, Default)]
pub struct BaselineStats {
    /// HTTP exchanges (one message each way at most).
    pub exchanges: u64,
    /// Message bytes sent and received (bodies).
    pub sent: u64,
    pub received: u64,
    pub elapsed: Duration,
    /// Per document: from its first message to its last.
    pub latencies: Vec<Duration>,
}

impl BaselineStats {
    fn add(&mut self, o: &BaselineStats) {
        self.exchanges += o.exchanges;
        self.sent += o.sent;
        self.received += o.received;
        self.latencies.extend(o.latencies.iter().copied());
    }
}

/// A device talking the baseline protocol to `base`.
#[derive(Debug, Clone)]
pub struct BaselineClient {
    pub base: String,
    pub peer: String,
    http: reqwest::Client,
}

impl BaselineClient {
    pub fn new(base: &str, peer: &str, http: reqwest::Client) -> BaselineClient {
        BaselineClient {
            base: base.to_owned(),
            peer: peer.to_owned(),
            http,
        }
    }

    /// Syncs one document until neither side has anything to send.
    async fn sync_doc(&self, session: &str, d: &mut BaselineDoc) -> Result<BaselineStats> {
        let started = Instant::now();
        let mut stats = BaselineStats::default();
        // A new session: only the shared heads survive, as automerge-repo reloads them.
        d.state = State::decode(&d.state.encode()).unwrap_or_default();
        for _ in 0..1_000 {
            let Some(msg) = d.doc.generate_sync_message(&mut d.state) else {
                stats.latencies.push(started.elapsed());
                return Ok(stats);
            };
            let body = msg.encode();
            stats.sent += body.len() as u64;
            let resp = self
                .http
                .post(format!("{}/am/{}", self.base, d.id))
                .header("content-type", "application/octet-stream")
                .header("x-peer", &self.peer)
                .header("x-session", session)
                .body(body)
                .send()
                .await
                .context("baseline exchange")?;
            let status = resp.status();
            let reply = resp.bytes().await.context("baseline reply")?;
            stats.exchanges += 1;
            stats.received += reply.len() as u64;
            match status.as_u16() {
                200 => {
                    let m = Message::decode(&reply).context("baseline message")?;
                    d.doc
                        .receive_sync_message(&mut d.state, m)
                        .context("receive")?;
                }
                204 => {}
                s => bail!("baseline server answered {s}"),
            }
        }
        bail!("{} never finished syncing", d.id)
    }

    /// Syncs every document, `parallel` at a time (a browser opens six connections
    /// to a host), in a new session. The documents come back in the same order.
    pub async fn sync_all(
        &self,
        docs: &mut Vec<BaselineDoc>,
        parallel: usize,
    ) -> Result<BaselineStats> {
        let started = Instant::now();
        let mut session = [0u8; 8];
        getrandom::fill(&mut session).map_err(|e| anyhow::anyhow!("{e}"))?;
        let session = hex::encode(session);
        let parallel = parallel.max(1);
        let mut lanes: Vec<Vec<(usize, BaselineDoc)>> = (0..parallel).map(|_| Vec::new()).collect();
        for (i, d) in std::mem::take(docs).into_iter().enumerate() {
            lanes[i % parallel].push((i, d));
        }
        let mut tasks = Vec::new();
        for lane in lanes {
            let client = self.clone();
            let session = session.clone();
            tasks.push(tokio::spawn(async move {
                let mut stats = BaselineStats::default();
                let mut out = Vec::with_capacity(lane.len());
                for (i, mut d) in lane {
                    let s = client.sync_doc(&session, &mut d).await?;
                    stats.add(&s);
                    out.push((i, d));
                }
                anyhow::Ok((stats, out))
            }));
        }
        let mut stats = BaselineStats::default();
        let mut back = Vec::new();
        for t in tasks {
            let (s, out) = t.await.context("baseline lane")??;
            stats.add(&s);
            back.extend(out);
        }
        back.sort_by_key(|(i, _)| *i);
        docs.extend(back.into_iter().map(|(_, d)| d));
        stats.elapsed = started.elapsed();
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn doc_with(key: &str) -> Automerge {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        tx.put(automerge::ROOT, key, 1).unwrap();
        tx.commit();
        d
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_peers_converge_through_the_baseline_server() {
        let server = BaselineServer::start().await.unwrap();
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::new();
        let a = BaselineClient::new(&base, "a", http.clone());
        let b = BaselineClient::new(&base, "b", http);
        let mut da = vec![BaselineDoc::new("d1".into(), doc_with("from_a"))];
        a.sync_all(&mut da, 2).await.unwrap();
        assert_eq!(server.heads("d1").unwrap(), da[0].doc.get_heads());
        let mut db = vec![BaselineDoc::new("d1".into(), Automerge::new())];
        b.sync_all(&mut db, 2).await.unwrap();
        assert_eq!(db[0].doc.get_heads(), da[0].doc.get_heads());
        // b edits; a, in a new session, receives it.
        let mut tx = db[0].doc.transaction();
        tx.put(automerge::ROOT, "from_b", 2).unwrap();
        tx.commit();
        b.sync_all(&mut db, 2).await.unwrap();
        let s = a.sync_all(&mut da, 2).await.unwrap();
        assert_eq!(da[0].doc.get_heads(), db[0].doc.get_heads());
        assert!(s.exchanges >= 1 && s.received > 0);
    }
}
