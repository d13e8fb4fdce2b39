//! The sync protocol v1 on the database: push every document through the core's `ingest`, commit, then pull the feeds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::ingest::decode_changes;
use fieldsync_core::sync::{
    ChangeBytes, Cursor, DocAck, DocChanges, Hash, Hub, PROTOCOL_VERSION, Principal, RejectCode,
    Rejection, SyncRequest, SyncResponse, ingest,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::readmodel::materialise;
use crate::state::AppState;
use crate::store::{CommitDoc, StoreError};

/// How often a push is retried when another writer changed the same document meanwhile.
const MAX_ATTEMPTS: usize = 16;

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
    for _ in 0..MAX_ATTEMPTS {
        let stored = state.store.load_doc(&id).await?;
        let mut existing = match stored {
            Some(s) => {
                let territory: Option<TerritoryId> = s.territory.parse().ok();
                if !territory.is_some_and(|t| principal.can_access(&t)) {
                    return Ok(Err(refuse(
                        &push.doc,
                        RejectCode::Forbidden,
                        format!("you have no access to territory {}", s.territory),
                    )));
                }
                let doc = Document::load(&s.snapshot, Hub::actor())
                    .map_err(|e| ApiError::Internal(format!("stored {id} does not load: {e}")))?;
                Some((doc, s.version))
            }
            None => None,
        };
        let version = existing.as_ref().map(|(_, v)| *v);
        let done = match ingest(existing.as_mut().map(|(d, _)| d), push, principal, limits) {
            Ok(done) => done,
            Err(r) => return Ok(Err(r)),
        };
        let hashes: Vec<Hash> = match decode_changes(&push.doc, &push.changes, limits) {
            Ok(cs) => cs.iter().map(|c| Hash(c.hash())).collect(),
            Err(r) => return Ok(Err(r)),
        };
        if done.fresh.is_empty() {
            return Ok(Ok(hashes));
        }
        let mut doc = done.doc;
        let read = match materialise(&mut doc) {
            Ok(r) => r,
            Err(e) => return Ok(Err(refuse(&push.doc, RejectCode::Invalid, e.to_string()))),
        };
        let fresh: Vec<(String, Vec<u8>)> = done
            .fresh
            .iter()
            .map(|c| (c.hash().to_string(), c.raw_bytes().to_vec()))
            .collect();
        let territory = doc.territory().clone();
        let result = state
            .store
            .commit_doc(CommitDoc {
                id: &id,
                territory: territory.as_str(),
                kind: push.doc.doc_type(),
                expected_version: version,
                snapshot: doc.save(),
                fresh,
                device,
                read: &read,
            })
            .await;
        match result {
            Ok(_) => {
                state
                    .metrics
                    .changes_accepted
                    .inc_by(done.fresh.len() as u64);
                if state.store.pg_url().is_none() {
                    // On PostgreSQL the commit's NOTIFY reaches every replica (see live::relay).
                    state.live.notify(territory);
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
        let after = from.get(t);
        cursor.advance(t, after);
        if budget == 0 || bytes >= state.settings.page_bytes {
            more |= !state
                .store
                .feed_after(t.as_str(), seq_i64(after), 1)
                .await?
                .is_empty();
            continue;
        }
        let limit = i64::try_from(budget).unwrap_or(i64::MAX).saturating_add(1);
        let mut rows = state
            .store
            .feed_after(t.as_str(), seq_i64(after), limit)
            .await?;
        if rows.len() > budget {
            more = true;
            rows.truncate(budget);
        }
        for row in rows {
            if bytes >= state.settings.page_bytes {
                more = true;
                break;
            }
            budget -= 1;
            cursor.advance(t, u64::try_from(row.seq).unwrap_or(0));
            if !skip.contains(&row.hash) {
                bytes += row.change.len();
                grouped
                    .entry(row.doc)
                    .or_default()
                    .push(ChangeBytes(row.change));
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
