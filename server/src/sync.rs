//! The sync protocol v1 on the database: push every document through the core's `ingest`, commit, then pull the feeds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::{
    ChangeBytes, Cursor, DocAck, DocChanges, Hash, Hub, Limits, PROTOCOL_VERSION, Principal,
    RejectCode, Rejection, SyncRequest, SyncResponse, ingest,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::readmodel::{ReadRows, materialise};
use crate::state::AppState;
use crate::store::{CommitDoc, StoreError};

/// How often a push is retried when another writer changed the same document meanwhile.
const MAX_ATTEMPTS: usize = 16;

/// Feed rows read per query while pulling: with changes of at most
/// `Limits::max_change_bytes` (256 KiB) a chunk holds at most 16 MiB.
const FEED_CHUNK: usize = 64;

/// `POST /v1/sync`: one request pushes a device's pending changes and pulls what it lacks.
pub async fn sync_handler(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = body?;
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
    if req.push.len() > state.settings.max_push_docs {
        return Err(ApiError::TooLarge(format!(
            "more than {} documents in one push; send them in several requests",
            state.settings.max_push_docs
        )));
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
    for push in &req.push {
        match push_doc(state, principal, device, push).await? {
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
    let (changes, cursor, more) = pull(state, principal, &req.cursor, &pushed).await?;
    Ok(SyncResponse {
        protocol: PROTOCOL_VERSION,
        accepted,
        rejected,
        changes,
        cursor,
        more,
    })
}

fn refuse(doc: &DocId, code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection {
        doc: doc.clone(),
        code,
        message: message.into(),
    }
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

/// The CPU-heavy part of a push (load the stored snapshot, the core's
/// `ingest`, materialise, save): synchronous, run on a blocking thread.
fn decide(
    stored: Option<&[u8]>,
    push: &DocChanges,
    principal: &Principal,
    limits: Limits,
) -> Result<Result<Decided, Rejection>, ApiError> {
    let mut existing =
        match stored {
            Some(bytes) => Some(Document::load(bytes, Hub::actor()).map_err(|e| {
                ApiError::Internal(format!("stored {} does not load: {e}", push.doc))
            })?),
            None => None,
        };
    let done = match ingest(existing.as_mut(), push, principal, limits) {
        Ok(done) => done,
        Err(r) => return Ok(Err(r)),
    };
    let hashes: Vec<Hash> = done.hashes.iter().copied().map(Hash).collect();
    if done.fresh.is_empty() {
        return Ok(Ok(Decided {
            hashes,
            commit: None,
        }));
    }
    let mut doc = done.doc;
    let read = match materialise(&mut doc) {
        Ok(r) => r,
        Err(e) => return Ok(Err(refuse(&push.doc, RejectCode::Invalid, e.to_string()))),
    };
    let fresh = done
        .fresh
        .iter()
        .map(|c| (c.hash().to_string(), c.raw_bytes().to_vec()))
        .collect();
    Ok(Ok(Decided {
        hashes,
        commit: Some(Prepared {
            territory: doc.territory().clone(),
            snapshot: doc.save(),
            fresh,
            read,
        }),
    }))
}

/// Decides on and commits one document's push. The outer error is the
/// server's fault (nothing acknowledged); the inner one is the core's refusal.
async fn push_doc(
    state: &AppState,
    principal: &Principal,
    device: &str,
    push: &DocChanges,
) -> Result<Result<Vec<Hash>, Rejection>, ApiError> {
    let id = push.doc.to_string();
    let limits = state.settings.limits;
    // One copy per push, shared by every attempt's blocking task.
    let shared = Arc::new((push.clone(), principal.clone()));
    for _ in 0..MAX_ATTEMPTS {
        let stored = state.store.load_doc(&id).await?;
        if let Some(s) = &stored {
            let territory: Option<TerritoryId> = s.territory.parse().ok();
            if !territory.is_some_and(|t| principal.can_access(&t)) {
                return Ok(Err(refuse(
                    &push.doc,
                    RejectCode::Forbidden,
                    format!("you have no access to territory {}", s.territory),
                )));
            }
        }
        let version = stored.as_ref().map(|s| s.version);
        let job = shared.clone();
        let decided = tokio::task::spawn_blocking(move || {
            let (push, principal) = &*job;
            decide(
                stored.as_ref().map(|s| s.snapshot.as_slice()),
                push,
                principal,
                limits,
            )
        })
        .await;
        let decided = match decided {
            Ok(d) => d?,
            // A panic while working on this document's bytes: refuse it, keep serving.
            Err(e) => {
                tracing::error!(doc = %id, error = %e, "processing a push panicked");
                return Ok(Err(refuse(
                    &push.doc,
                    RejectCode::Malformed,
                    "the server could not process these changes",
                )));
            }
        };
        let Decided { hashes, commit } = match decided {
            Ok(d) => d,
            Err(r) => return Ok(Err(r)),
        };
        let Some(p) = commit else {
            return Ok(Ok(hashes));
        };
        let n_fresh = p.fresh.len() as u64;
        let result = state
            .store
            .commit_doc(CommitDoc {
                id: &id,
                territory: p.territory.as_str(),
                kind: push.doc.doc_type(),
                expected_version: version,
                snapshot: p.snapshot,
                fresh: p.fresh,
                device,
                read: &p.read,
            })
            .await;
        match result {
            Ok(_) => {
                state.metrics.changes_accepted.inc_by(n_fresh);
                if state.store.pg_url().is_none() {
                    // On PostgreSQL the commit's NOTIFY reaches every replica (see live::relay).
                    state.live.notify(p.territory);
                }
                return Ok(Ok(hashes));
            }
            Err(StoreError::VersionConflict) => {
                tracing::debug!(doc = %id, "document changed meanwhile; retrying the push");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// Feed entries after `from` in every territory `principal` may read, grouped
/// by document, minus the changes `skip` (pushed by this very request).
async fn pull(
    state: &AppState,
    principal: &Principal,
    from: &Cursor,
    skip: &BTreeSet<String>,
) -> Result<(Vec<DocChanges>, Cursor, bool), ApiError> {
    let territories: Vec<TerritoryId> = if principal.role.sees_all() {
        state
            .store
            .feed_territories()
            .await?
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect()
    } else {
        principal.territories.iter().cloned().collect()
    };
    let mut budget = state.settings.page_changes;
    let mut bytes = 0usize;
    let mut cursor = from.clone();
    let mut grouped: BTreeMap<String, Vec<ChangeBytes>> = BTreeMap::new();
    let mut more = false;
    for t in &territories {
        let mut after = from.get(t);
        cursor.advance(t, after);
        loop {
            if budget == 0 || bytes >= state.settings.page_bytes {
                // The page is full: only ask whether this territory has more.
                more |= !state
                    .store
                    .feed_after(t.as_str(), seq_i64(after), 1)
                    .await?
                    .is_empty();
                break;
            }
            // Small chunks, so a response never holds much more than
            // `page_bytes` of changes in memory, however far behind the device is.
            let want = budget.min(FEED_CHUNK);
            let rows = state
                .store
                .feed_after(t.as_str(), seq_i64(after), seq_i64(want as u64))
                .await?;
            let exhausted = rows.len() < want;
            for row in rows {
                if bytes >= state.settings.page_bytes {
                    break;
                }
                budget = budget.saturating_sub(1);
                after = u64::try_from(row.seq).unwrap_or(after);
                cursor.advance(t, after);
                if !skip.contains(&row.hash) {
                    bytes = bytes.saturating_add(row.change.len());
                    grouped
                        .entry(row.doc)
                        .or_default()
                        .push(ChangeBytes(row.change));
                }
            }
            if exhausted && bytes < state.settings.page_bytes {
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
    Ok((changes, cursor, more))
}

fn seq_i64(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}
