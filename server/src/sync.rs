//! The sync protocol v1 on the database: push every document through the core's `ingest`, commit, then pull the feeds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldsync_core::automerge::ChangeHash;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{HandoverId, TerritoryId};
use fieldsync_core::model::open_items;
use fieldsync_core::schema::{ApprovalLimits, Rule};
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::handover::{Handovers, Outgoing};
use fieldsync_core::sync::ingest::{Context, decode_changes};
use fieldsync_core::sync::{
    ChangeBytes, Cursor, DocAck, DocChanges, DocSnapshot, Hash, Hub, Limits, PROTOCOL_VERSION,
    Principal, PushLimits, RejectCode, Rejection, SyncRequest, SyncResponse, ingest_from,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::readmodel::{ReadRows, materialise};
use crate::snapshots::Page;
use crate::state::AppState;
use crate::store::{CommitDoc, HandoverRow, ItemRow};

/// How often a push is retried when another writer changed the same document meanwhile.
const MAX_ATTEMPTS: usize = 16;

/// Feed rows read per query while pulling: with changes of at most
/// `Limits::max_change_bytes` (256 KiB) a chunk holds at most 16 MiB.
const FEED_CHUNK: usize = 64;

/// Longest replica id a request may name (an Automerge actor in hex is 32).
const MAX_REPLICA_ID: usize = 64;

/// The 413 body of a sync request over the limits: `{code, message, limits}`,
/// so the device can split its push to fit.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TooLargeBody {
    code: &'static str,
    message: String,
    limits: PushLimits,
}

fn too_large(state: &AppState, message: String) -> Response {
    let body = TooLargeBody {
        code: "too_large",
        message,
        limits: state.settings.push_limits(),
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// `POST /v1/sync`: one request pushes a device's pending changes and pulls what it lacks.
#[utoipa::path(
    post,
    path = "/v1/sync",
    tag = "sync",
    security(("bearer" = [])),
    request_body(content = SyncRequest, description = "Every pending change, and the feed cursor; may be gzipped (`Content-Encoding: gzip`)"),
    responses(
        (status = 200, description = "What was committed (`accepted`), refused per document (`rejected`, with a code and the schema `rule`), and the feed entries after the cursor; may be gzipped", body = SyncResponse),
        (status = 400, description = "Not a sync request (`malformed`) or another protocol version (`unsupported_protocol`)", body = crate::error::ErrorBody),
        (status = 413, description = "Over the server's limits (`too_large`): the body says which, so the device splits its push", body = TooLargeBody),
        (status = 415, description = "A `Content-Encoding` other than identity or gzip (`unsupported_media_type`)", body = crate::error::ErrorBody),
        crate::openapi::Authed,
        crate::openapi::Always,
    )
)]
pub async fn sync_handler(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Ok(too_large(
                &state,
                format!(
                    "the request body is larger than the server accepts ({} bytes); send fewer changes at a time",
                    state.settings.max_body_bytes
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    state.metrics.request_bytes.inc_by(body.len() as u64);
    let req: SyncRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("malformed", format!("the body is not a sync request: {e}")))?;
    if req.protocol != PROTOCOL_VERSION {
        return Err(ApiError::bad(
            "unsupported_protocol",
            format!(
                "protocol version {} is not supported (this server speaks {PROTOCOL_VERSION})",
                req.protocol
            ),
        ));
    }
    if req.replica.len() > MAX_REPLICA_ID {
        return Err(ApiError::bad(
            "malformed",
            format!("the replica id is longer than {MAX_REPLICA_ID} characters"),
        ));
    }
    if req.push.len() > state.settings.max_push_docs {
        return Ok(too_large(
            &state,
            format!(
                "more than {} documents in one push; send them in several requests",
                state.settings.max_push_docs
            ),
        ));
    }
    let changes: usize = req.push.iter().map(|p| p.changes.len()).sum();
    if changes > state.settings.max_push_changes {
        return Ok(too_large(
            &state,
            format!(
                "more than {} changes in one push; send them in several requests",
                state.settings.max_push_changes
            ),
        ));
    }
    let resp = sync(&state, &caller.principal, &caller.device, &req).await?;
    let json = serde_json::to_vec(&resp).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.metrics.syncs.inc();
    state.metrics.response_bytes.inc_by(json.len() as u64);
    state
        .metrics
        .sync_seconds
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(
        user = %caller.user.id,
        device = %caller.device,
        pushed = req.push.len(),
        accepted = resp.accepted.len(),
        rejected = resp.rejected.len(),
        pulled = resp.changes.len(),
        whole = resp.snapshots.len(),
        more = resp.more,
        ms = started.elapsed().as_millis() as u64,
        "sync"
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// Handles one sync request for `principal` (on `device`): the same path serves
/// HTTP and the demo seeding.
pub async fn sync(
    state: &AppState,
    principal: &Principal,
    device: &str,
    req: &SyncRequest,
) -> Result<SyncResponse, ApiError> {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut pushed: BTreeSet<String> = BTreeSet::new();
    // Only a replica of this device may keep its own changes out of the pull.
    let origin = crate::actors::own_replica(state, principal, device, &req.replica).await?;
    // Head office's approval limits and the handovers as they are now: a push is decided against them.
    let known = if req.push.is_empty() {
        Known::default()
    } else {
        Known::load(state, principal).await?
    };
    let results = push_docs(state, principal, device, &origin, &req.push, &known, false).await?;
    for (push, result) in req.push.iter().zip(results) {
        match result {
            Ok(hashes) => {
                pushed.extend(hashes.iter().map(|h| h.0.to_string()));
                accepted.push(DocAck {
                    doc: push.doc.clone(),
                    hashes,
                });
            }
            Err(r) => {
                tracing::info!(doc = %r.doc, code = %r.code, reason = %r.message, "push refused");
                state
                    .metrics
                    .changes_rejected
                    .inc_by(push.changes.len() as u64);
                state
                    .metrics
                    .docs_rejected
                    .get_or_create(&vec![("code".to_owned(), r.code.to_string())])
                    .inc();
                rejected.push(r);
            }
        }
    }
    // A cursor of another epoch, or past the end of a feed, was issued by a
    // database that no longer exists (restored from an older copy, or a lagging
    // replica promoted): the device is reset and reads from the start.
    let epoch = state.store.epoch().await?;
    let start = Cursor::at_epoch(&epoch)
        .map_err(|e| ApiError::Internal(format!("the stored epoch is unusable: {e}")))?;
    let ends: BTreeMap<String, i64> = state.store.feed_heads().await?.into_iter().collect();
    let mut held: BTreeMap<(String, u64), String> = BTreeMap::new();
    for (t, seq, _) in req.cursor.tagged() {
        if principal.can_access(t)
            && let Some(hash) = state.store.feed_hash_at(t.as_str(), seq_i64(seq)).await?
        {
            held.insert((t.to_string(), seq), hash);
        }
    }
    let reset = !req.cursor.fits(
        &epoch,
        |t| {
            if principal.can_access(t) {
                ends.get(t.as_str())
                    .and_then(|s| u64::try_from(*s).ok())
                    .unwrap_or(0)
            } else {
                u64::MAX
            }
        },
        |t, seq| held.get(&(t.to_string(), seq)).cloned(),
    );
    if reset {
        tracing::warn!(cursor = %req.cursor, %epoch, "cursor from another database: resetting the device");
    }
    let from = if reset { &start } else { &req.cursor };
    let Pulled {
        snapshots,
        changes,
        mut cursor,
        more,
    } = pull(state, principal, from, &origin, &pushed, req.snapshots).await?;
    cursor.merge(&start);
    // Territories the device has read but may no longer: it removes their documents.
    let revoked: Vec<TerritoryId> = req
        .cursor
        .territories()
        .filter(|t| !principal.can_access(t))
        .cloned()
        .collect();
    for t in &revoked {
        cursor.remove(t);
    }
    if !revoked.is_empty() {
        tracing::info!(user = %principal.user, device, revoked = ?revoked, "territories revoked: the device removes them");
    }
    Ok(SyncResponse {
        protocol: PROTOCOL_VERSION,
        accepted,
        rejected,
        snapshots,
        changes,
        cursor,
        more,
        reset,
        limits: Some(state.settings.push_limits()),
        revoked,
    })
}

/// What a push is decided against besides the document: head office's approval limits,
/// the pushing user's handovers, every open handover (whose outgoing manager's records
/// synced late join its list), and the server's clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    pub approvals: ApprovalLimits,
    pub handovers: Handovers,
    /// The open handover of each territory that has one.
    pub open: BTreeMap<TerritoryId, HandoverRow>,
    pub now: i64,
}

fn handover_id(h: &HandoverRow) -> Result<HandoverId, ApiError> {
    h.id.parse()
        .map_err(|_| ApiError::Internal(format!("stored handover id {} is invalid", h.id)))
}

impl Known {
    /// Limits and handovers as they are now, for `principal`'s push.
    pub(crate) async fn load(state: &AppState, principal: &Principal) -> Result<Known, ApiError> {
        let now = state.now();
        let approvals = crate::api::approvals::load(state).await?;
        let mut handovers = Handovers::default();
        for h in state.store.handovers_of(principal.user.as_str()).await? {
            let Ok(territory) = h.territory.parse::<TerritoryId>() else {
                continue;
            };
            if h.from_user == principal.user.as_str() && h.is_open(now) {
                handovers.outgoing.push(Outgoing {
                    territory: territory.clone(),
                    handover: handover_id(&h)?,
                    reassigned_at: Timestamp(h.reassigned_at),
                    late_until: Timestamp(h.late_until),
                });
            }
            if h.to_user == principal.user.as_str() {
                handovers.incoming.push((territory, handover_id(&h)?));
            }
        }
        let open = state
            .store
            .open_handovers(now)
            .await?
            .into_iter()
            .filter_map(|h| Some((h.territory.parse().ok()?, h)))
            .collect();
        Ok(Known {
            approvals,
            handovers,
            open,
            now,
        })
    }
}

fn refuse(doc: &DocId, code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection::new(doc.clone(), code, message)
}

/// What the core decided on one document's push, computed off the async
/// runtime: the acknowledgement, and what to commit if anything is new.
struct Decided {
    hashes: Vec<Hash>,
    commit: Option<Prepared>,
}

/// An accepted push's writes: the merged document and its read-model rows.
struct Prepared {
    territory: TerritoryId,
    snapshot: Vec<u8>,
    fresh: Vec<(String, Vec<u8>)>,
    read: ReadRows,
}

/// What one attempt at a push is decided against besides the document.
#[derive(Debug, Clone, Copy)]
struct Against<'a> {
    known: &'a Known,
    /// Late rule (c): the document's changes others committed after the reassignment.
    foreign_after: &'a BTreeSet<ChangeHash>,
    /// Delivering held edits the incoming manager released (no late rule).
    release: bool,
}

/// The CPU-heavy part of a push (load the stored snapshot, the core's
/// `ingest_from`, materialise, save): synchronous, run on a blocking thread.
/// A stored document that no longer loads refuses this push only (`damaged`).
fn decide(
    stored: Option<&[u8]>,
    push: &DocChanges,
    principal: &Principal,
    devices: &[String],
    limits: Limits,
    against: Against<'_>,
) -> Result<Decided, Rejection> {
    let Against {
        known,
        foreign_after,
        release,
    } = against;
    let mut existing = match stored {
        Some(bytes) => match Document::load(bytes, Hub::actor()) {
            Ok(doc) => Some(doc),
            Err(e) => {
                tracing::error!(doc = %push.doc, error = %e, "a stored document does not load");
                return Err(refuse(
                    &push.doc,
                    RejectCode::Damaged,
                    "the server cannot read its copy of this document; nothing was stored, \
                     and the changes are kept on the device and sent again",
                ));
            }
        },
        None => None,
    };
    let ctx = Context {
        approvals: &known.approvals,
        handovers: &known.handovers,
        now: Timestamp(known.now),
        foreign_after,
        release,
    };
    let done = ingest_from(existing.as_mut(), push, principal, devices, limits, &ctx)?;
    let hashes: Vec<Hash> = done.hashes.iter().copied().map(Hash).collect();
    if done.fresh.is_empty() {
        return Ok(Decided {
            hashes,
            commit: None,
        });
    }
    let mut doc = done.doc;
    let mut read = materialise(&mut doc, &known.approvals)
        .map_err(|e| refuse(&push.doc, RejectCode::Invalid, e.to_string()))?;
    // The territory is being handed over: the outgoing manager's open items here that
    // are not on the list yet (recorded offline, synced after the reassignment) join it.
    if let (Some(h), crate::readmodel::ReadKind::Dealer(rows)) =
        (known.open.get(doc.territory()), &mut read.kind)
        && let (Ok(state), Ok(from)) = (doc.dealer_state(), h.from_user.parse())
    {
        rows.late_items = open_items(&state, &from)
            .into_iter()
            .map(|i| ItemRow {
                handover: h.id.clone(),
                dealer: state.id.to_string(),
                kind: i.kind.as_str().to_owned(),
                record: i.id,
                title: i.title,
                since: i.since.millis(),
                listed_at: known.now,
                late: true,
            })
            .collect();
    }
    let fresh = done
        .fresh
        .iter()
        .map(|c| (c.hash().to_string(), c.raw_bytes().to_vec()))
        .collect();
    Ok(Decided {
        hashes,
        commit: Some(Prepared {
            territory: doc.territory().clone(),
            snapshot: doc.save(),
            fresh,
            read,
        }),
    })
}

/// Decides on and commits one document's push: a group of one (see `push_docs`).
pub(crate) async fn push_doc(
    state: &AppState,
    principal: &Principal,
    device: &str,
    origin: &str,
    push: &DocChanges,
    known: &Known,
    release: bool,
) -> Result<Result<Vec<Hash>, Rejection>, ApiError> {
    let pushes = std::slice::from_ref(push);
    push_docs(state, principal, device, origin, pushes, known, release)
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("a push of one document came back empty".into()))
}

/// One document's outcome: its acknowledged hashes, or the core's refusal.
type Outcome = Result<Vec<Hash>, Rejection>;

/// Decides on and commits the documents of one request, `GROUP_DOCS` at a time: each
/// group's documents are loaded together, decided in parallel (one blocking task each,
/// at most as many at once as the machine has cores) and the accepted ones committed
/// together in one transaction. Outcomes come back in the order of `pushes`. The outer
/// error is the server's fault (nothing acknowledged); an inner one is the core's refusal
/// of that document only. `release`: the incoming manager delivers held changes of the
/// outgoing one (the late rule is skipped). A push the late rule refuses is held
/// (`hold`), never acknowledged.
pub(crate) async fn push_docs(
    state: &AppState,
    principal: &Principal,
    device: &str,
    origin: &str,
    pushes: &[DocChanges],
    known: &Known,
    release: bool,
) -> Result<Vec<Outcome>, ApiError> {
    let mut outcomes = Vec::with_capacity(pushes.len());
    if pushes.is_empty() {
        return Ok(outcomes);
    }
    // One copy per request, shared by every blocking task.
    let shared = Arc::new((principal.clone(), known.clone()));
    let by = Pusher {
        state,
        device,
        origin,
        release,
        shared,
    };
    for group in pushes.chunks(GROUP_DOCS) {
        outcomes.extend(by.group(group).await?);
    }
    Ok(outcomes)
}

/// Most documents decided and committed together: bounds what one request holds in
/// memory (decided snapshots waiting for their commit) and how long a transaction runs.
const GROUP_DOCS: usize = 128;

/// How many documents of one request are decided at once: the machine's cores.
fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Who pushes, for every group of one request.
struct Pusher<'a> {
    state: &'a AppState,
    device: &'a str,
    origin: &'a str,
    release: bool,
    shared: Arc<(Principal, Known)>,
}

/// A document of a group still to be decided.
struct Job {
    push: Arc<DocChanges>,
    id: String,
    /// The devices whose changes this push may carry (`actors::check_push`).
    devices: Arc<Vec<String>>,
    /// Commits lost to another writer so far.
    lost: usize,
}

/// A document of a group ready to decide: what is stored, and late rule (c)'s input.
struct Ready {
    at: usize,
    stored: Option<crate::store::StoredDoc>,
    foreign_after: BTreeSet<ChangeHash>,
}

impl Pusher<'_> {
    fn principal(&self) -> &Principal {
        &self.shared.0
    }

    fn known(&self) -> &Known {
        &self.shared.1
    }

    /// Decides on and commits one group (see `push_docs`), retrying the documents another
    /// writer changed meanwhile up to `MAX_ATTEMPTS` times each.
    async fn group(&self, group: &[DocChanges]) -> Result<Vec<Outcome>, ApiError> {
        let state = self.state;
        let mut outcomes: Vec<Option<Outcome>> = group.iter().map(|_| None).collect();
        let mut jobs: Vec<Option<Job>> = Vec::with_capacity(group.len());
        for (at, push) in group.iter().enumerate() {
            match crate::actors::check_push(state, self.principal(), self.device, push).await? {
                Ok(devices) => jobs.push(Some(Job {
                    push: Arc::new(push.clone()),
                    id: push.doc.to_string(),
                    devices: Arc::new(devices),
                    lost: 0,
                })),
                Err(r) => {
                    outcomes[at] = Some(Err(r));
                    jobs.push(None);
                }
            }
        }
        let mut pending: Vec<usize> = (0..group.len()).filter(|i| jobs[*i].is_some()).collect();
        while !pending.is_empty() {
            // A document named twice in one request is decided once per round: the
            // later copy waits for the next round, against what the first one stored.
            let mut names = BTreeSet::new();
            let (now, later): (Vec<usize>, Vec<usize>) = pending.iter().partition(|i| {
                jobs[**i]
                    .as_ref()
                    .is_some_and(|j| names.insert(j.id.clone()))
            });
            let ids: Vec<&str> = now
                .iter()
                .filter_map(|i| jobs[*i].as_ref().map(|j| j.id.as_str()))
                .collect();
            let mut stored = state.store.load_docs(&ids).await?;
            let mut ready = Vec::with_capacity(now.len());
            for at in now {
                let Some(job) = jobs[at].as_ref() else {
                    continue;
                };
                let doc = stored.remove(&job.id);
                match self.prepare(at, job, doc).await? {
                    Ok(r) => ready.push(r),
                    Err(r) => outcomes[at] = Some(Err(r)),
                }
            }
            let mut retry = later;
            let decided = self.decide_all(&jobs, ready).await?;
            let mut commits: Vec<(usize, Option<i64>, Prepared, Vec<Hash>)> = Vec::new();
            for (at, version, decided) in decided {
                let Some(job) = jobs[at].as_ref() else {
                    continue;
                };
                match decided {
                    Ok(Decided {
                        hashes,
                        commit: None,
                    }) => outcomes[at] = Some(Ok(hashes)),
                    Ok(Decided {
                        hashes,
                        commit: Some(p),
                    }) => commits.push((at, version, p, hashes)),
                    Err(r) => {
                        if !self.release && r.rule.as_deref() == Some(Rule::HandedOver.as_str()) {
                            hold(
                                state,
                                self.principal(),
                                self.device,
                                &job.push,
                                self.known(),
                            )
                            .await?;
                        }
                        outcomes[at] = Some(Err(r));
                    }
                }
            }
            let written = {
                let docs: Vec<CommitDoc<'_>> = commits
                    .iter_mut()
                    .filter_map(|(at, version, p, _)| {
                        let job = jobs[*at].as_ref()?;
                        let snapshot = std::mem::take(&mut p.snapshot);
                        let fresh = std::mem::take(&mut p.fresh);
                        let p: &Prepared = p;
                        Some(CommitDoc {
                            id: &job.id,
                            territory: p.territory.as_str(),
                            kind: job.push.doc.doc_type(),
                            expected_version: *version,
                            snapshot,
                            fresh,
                            device: self.device,
                            origin: self.origin,
                            read: &p.read,
                        })
                    })
                    .collect();
                let written = state.store.commit_docs(&docs).await?;
                let written = written.into_iter().map(|w| w.is_some());
                let fresh: Vec<u64> = docs.iter().map(|d| d.fresh.len() as u64).collect();
                written.zip(fresh).collect::<Vec<_>>()
            };
            let mut territories: BTreeSet<TerritoryId> = BTreeSet::new();
            for ((at, _, p, hashes), (stored, fresh)) in commits.into_iter().zip(written) {
                let Some(job) = jobs[at].as_mut() else {
                    continue;
                };
                if stored {
                    state.metrics.changes_accepted.inc_by(fresh);
                    territories.insert(p.territory);
                    outcomes[at] = Some(Ok(hashes));
                    continue;
                }
                job.lost += 1;
                if job.lost < MAX_ATTEMPTS {
                    tracing::debug!(doc = %job.id, "document changed meanwhile; retrying the push");
                    retry.push(at);
                    continue;
                }
                // Other writers kept winning: this document waits for the next sync; the
                // request's other documents are decided as usual.
                tracing::warn!(doc = %job.id, attempts = MAX_ATTEMPTS, "a push lost every race for its document");
                outcomes[at] = Some(Err(refuse(
                    &job.push.doc,
                    RejectCode::Busy,
                    "the document kept changing while the server decided on this push; \
                     nothing was stored, and the changes are sent again on the next sync",
                )));
            }
            if state.store.pg_url().is_none() {
                // On PostgreSQL the commit's NOTIFY reaches every replica (see live::relay).
                for t in territories {
                    state.live.notify(t);
                }
            }
            retry.sort_unstable();
            pending = retry;
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.ok_or_else(|| ApiError::Internal("a pushed document was not decided".into()))
            })
            .collect()
    }

    /// What one document is decided against besides its push: refused here if it is
    /// stored in a territory the pusher may not access.
    async fn prepare(
        &self,
        at: usize,
        job: &Job,
        stored: Option<crate::store::StoredDoc>,
    ) -> Result<Result<Ready, Rejection>, ApiError> {
        let principal = self.principal();
        let territory = stored
            .as_ref()
            .map(|s| (s.territory.parse::<TerritoryId>().ok(), &s.territory));
        if let Some((t, name)) = &territory
            && !t.as_ref().is_some_and(|t| principal.can_access(t))
        {
            return Ok(Err(refuse(
                &job.push.doc,
                RejectCode::Forbidden,
                format!("you have no access to territory {name}"),
            )));
        }
        // Late rule (c): what others committed here after the territory was handed over.
        let outgoing = territory
            .and_then(|(t, _)| t)
            .and_then(|t| self.known().handovers.outgoing_in(&t).cloned());
        let foreign_after = match outgoing {
            Some(out) if !self.release => self
                .state
                .store
                .foreign_after(&job.id, out.reassigned_at.millis(), principal.user.as_str())
                .await?
                .iter()
                .filter_map(|h| h.parse::<ChangeHash>().ok())
                .collect(),
            _ => BTreeSet::new(),
        };
        Ok(Ok(Ready {
            at,
            stored,
            foreign_after,
        }))
    }

    /// Decides every ready document on blocking threads, at most `parallelism()` at once.
    /// Returns (position, loaded version, decision) in the group's order; a panic while
    /// working on one document's bytes refuses that document only (`malformed`).
    async fn decide_all(
        &self,
        jobs: &[Option<Job>],
        ready: Vec<Ready>,
    ) -> Result<Vec<(usize, Option<i64>, Result<Decided, Rejection>)>, ApiError> {
        let limit = parallelism();
        let limits = self.state.settings.limits;
        let release = self.release;
        let mut set = tokio::task::JoinSet::new();
        let mut done = Vec::with_capacity(ready.len());
        for r in ready {
            let Some(job) = jobs[r.at].as_ref() else {
                continue;
            };
            if set.len() >= limit
                && let Some(d) = set.join_next().await
            {
                done.push(d.map_err(|e| ApiError::Internal(format!("a decision was lost: {e}")))?);
            }
            let (push, devices, shared) =
                (job.push.clone(), job.devices.clone(), self.shared.clone());
            let Ready {
                at,
                stored,
                foreign_after,
            } = r;
            let version = stored.as_ref().map(|s| s.version);
            set.spawn(async move {
                let doc = push.doc.clone();
                let decided = tokio::task::spawn_blocking(move || {
                    let (principal, known) = &*shared;
                    decide(
                        stored.as_ref().map(|s| s.snapshot.as_slice()),
                        &push,
                        principal,
                        &devices,
                        limits,
                        Against {
                            known,
                            foreign_after: &foreign_after,
                            release,
                        },
                    )
                })
                .await;
                let decided = decided.unwrap_or_else(|e| {
                    // A panic while working on this document's bytes: refuse it, keep serving.
                    tracing::error!(%doc, error = %e, "processing a push panicked");
                    Err(refuse(
                        &doc,
                        RejectCode::Malformed,
                        "the server could not process these changes",
                    ))
                });
                (at, version, decided)
            });
        }
        while let Some(d) = set.join_next().await {
            done.push(d.map_err(|e| ApiError::Internal(format!("a decision was lost: {e}")))?);
        }
        // The request's order: the feed lists a group's documents as they were pushed.
        done.sort_unstable_by_key(|d| d.0);
        Ok(done)
    }
}

/// Keeps a push the late rule refused for the incoming manager to release or decline
/// (`handover_held`, once per change): the device keeps it pending, nothing is lost.
async fn hold(
    state: &AppState,
    principal: &Principal,
    device: &str,
    push: &DocChanges,
    known: &Known,
) -> Result<(), ApiError> {
    let Ok(changes) = decode_changes(&push.doc, &push.changes, state.settings.limits) else {
        return Ok(());
    };
    // The document's territory: stored, or (a new document) the one whose genesis it holds.
    let stored = state.store.doc_territory(&push.doc.to_string()).await?;
    let out = known.handovers.outgoing.iter().find(|o| match &stored {
        Some(t) => o.territory.as_str() == t,
        None => fieldsync_core::doc::genesis::genesis(&push.doc, &o.territory)
            .is_ok_and(|(_, g)| changes.iter().any(|c| c.hash() == g)),
    });
    let Some(out) = out else {
        return Ok(());
    };
    let rows: Vec<(String, Vec<u8>, Option<i64>)> = changes
        .iter()
        .map(|c| {
            (
                c.hash().to_string(),
                c.raw_bytes().to_vec(),
                Stamp::from_message(c.message()).map(|s| s.at.millis()),
            )
        })
        .collect();
    state
        .store
        .hold(
            out.handover.as_str(),
            &push.doc.to_string(),
            device,
            &rows,
            known.now,
        )
        .await?;
    tracing::info!(user = %principal.user, doc = %push.doc, handover = %out.handover, changes = rows.len(), "late edits held for the incoming manager");
    Ok(())
}

/// What a pull sends: documents whole, feed changes grouped by document, the
/// cursor after them, and whether more is waiting.
#[derive(Debug)]
struct Pulled {
    snapshots: Vec<DocSnapshot>,
    changes: Vec<DocChanges>,
    cursor: Cursor,
    more: bool,
}

/// Feed entries after `from` in every territory `principal` may read, grouped
/// by document, minus the changes replica `origin` pushed (left out by the query,
/// so they cost neither bytes nor page budget) and the changes `skip` (pushed by
/// this very request but stored earlier by someone else). With `whole` (the
/// device takes snapshots), a territory it has read nothing of comes as its
/// documents' snapshots instead (`snapshots::send`), then continues from the feed.
async fn pull(
    state: &AppState,
    principal: &Principal,
    from: &Cursor,
    origin: &str,
    skip: &BTreeSet<String>,
    whole: bool,
) -> Result<Pulled, ApiError> {
    // One query for every territory's head: territories with nothing new cost nothing more.
    let heads: Vec<(TerritoryId, u64)> = state
        .store
        .feed_heads()
        .await?
        .into_iter()
        .filter_map(|(t, seq)| Some((t.parse().ok()?, u64::try_from(seq).ok()?)))
        .filter(|(t, _)| principal.can_access(t))
        .collect();
    let mut page = Page {
        items: state.settings.page_changes,
        bytes: 0,
        max_bytes: state.settings.page_bytes,
    };
    let mut cursor = from.clone();
    let mut snapshots = Vec::new();
    let mut grouped: BTreeMap<String, Vec<ChangeBytes>> = BTreeMap::new();
    let mut more = false;
    for (t, head) in &heads {
        let mut after = from.get(t);
        if whole && after == 0 {
            match crate::snapshots::send(state, t, *head, &mut cursor, &mut page, &mut snapshots)
                .await?
            {
                Some(covers) => {
                    let hash = state
                        .store
                        .feed_hash_at(t.as_str(), seq_i64(covers))
                        .await?;
                    cursor.advance_to(t, covers, hash.as_deref());
                    after = covers;
                }
                None => {
                    more = true;
                    continue;
                }
            }
        }
        cursor.advance(t, after);
        loop {
            if after >= *head {
                break;
            }
            if page.full() {
                // The page is full: only ask whether this territory has more for this replica.
                let rest = state
                    .store
                    .feed_page(t.as_str(), seq_i64(after), seq_i64(*head), origin, 1)
                    .await?;
                match rest.first() {
                    Some(_) => more = true,
                    // Only the replica's own changes are left: step over them.
                    None => step_to_head(state, &mut cursor, t, *head).await?,
                }
                break;
            }
            // Small chunks, so a response never holds much more than
            // `page_bytes` of changes in memory, however far behind the device is.
            let want = page.items.min(FEED_CHUNK);
            let rows = state
                .store
                .feed_page(
                    t.as_str(),
                    seq_i64(after),
                    seq_i64(*head),
                    origin,
                    seq_i64(want as u64),
                )
                .await?;
            let exhausted = rows.len() < want;
            let mut cut = false;
            for row in rows {
                if page.bytes >= page.max_bytes {
                    cut = true;
                    break;
                }
                after = u64::try_from(row.seq).unwrap_or(after);
                cursor.advance_to(t, after, Some(&row.hash));
                if !skip.contains(&row.hash) {
                    page.take(row.change.len());
                    grouped
                        .entry(row.doc)
                        .or_default()
                        .push(ChangeBytes(row.change));
                }
            }
            if exhausted && !cut {
                // Everything up to the head was read (the rest was this replica's own).
                step_to_head(state, &mut cursor, t, *head).await?;
                break;
            }
        }
    }
    let changes = grouped
        .into_iter()
        .filter_map(|(doc, changes)| {
            doc.parse()
                .map_err(|_| tracing::error!(%doc, "feed holds an unreadable document id"))
                .ok()
                .map(|doc| DocChanges { doc, changes })
        })
        .collect();
    Ok(Pulled {
        snapshots,
        changes,
        cursor,
        more,
    })
}

/// Moves `cursor` to the head of `t`'s feed over entries it need not read (the
/// replica's own changes), tagged with the change there, so a database that
/// later goes back in time is still noticed at that position.
async fn step_to_head(
    state: &AppState,
    cursor: &mut Cursor,
    t: &TerritoryId,
    head: u64,
) -> Result<(), ApiError> {
    if cursor.get(t) < head {
        let hash = state.store.feed_hash_at(t.as_str(), seq_i64(head)).await?;
        cursor.advance_to(t, head, hash.as_deref());
    }
    Ok(())
}

fn seq_i64(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}
