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
    ChangeBytes, Cursor, DocAck, DocChanges, Hash, Hub, Limits, PROTOCOL_VERSION, Principal,
    PushLimits, RejectCode, Rejection, SyncRequest, SyncResponse, ingest_from,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::readmodel::{ReadRows, materialise};
use crate::state::AppState;
use crate::store::{CommitDoc, HandoverRow, ItemRow, StoreError};

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
    for push in &req.push {
        match push_doc(state, principal, device, &origin, push, &known, false).await? {
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
    let (changes, mut cursor, more) = pull(state, principal, from, &origin, &pushed).await?;
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

/// Decides on and commits one document's push. The outer error is the
/// server's fault (nothing acknowledged); the inner one is the core's refusal.
/// `release`: the incoming manager delivers held changes of the outgoing one (the late
/// rule is skipped). A push the late rule refuses is held (`hold`), never acknowledged.
pub(crate) async fn push_doc(
    state: &AppState,
    principal: &Principal,
    device: &str,
    origin: &str,
    push: &DocChanges,
    known: &Known,
    release: bool,
) -> Result<Result<Vec<Hash>, Rejection>, ApiError> {
    let id = push.doc.to_string();
    let limits = state.settings.limits;
    // One copy per push, shared by every attempt's blocking task.
    let devices = match crate::actors::check_push(state, principal, device, push).await? {
        Ok(devices) => devices,
        Err(r) => return Ok(Err(r)),
    };
    let shared = Arc::new((push.clone(), principal.clone(), devices, known.clone()));
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
        // Late rule (c): what others committed here after the territory was handed over.
        let foreign_after = match stored
            .as_ref()
            .and_then(|s| s.territory.parse::<TerritoryId>().ok())
            .and_then(|t| known.handovers.outgoing_in(&t).cloned())
        {
            Some(out) if !release => state
                .store
                .foreign_after(&id, out.reassigned_at.millis(), principal.user.as_str())
                .await?
                .iter()
                .filter_map(|h| h.parse::<ChangeHash>().ok())
                .collect(),
            _ => BTreeSet::new(),
        };
        let job = shared.clone();
        let decided = tokio::task::spawn_blocking(move || {
            let (push, principal, devices, known) = &*job;
            decide(
                stored.as_ref().map(|s| s.snapshot.as_slice()),
                push,
                principal,
                devices,
                limits,
                Against {
                    known,
                    foreign_after: &foreign_after,
                    release,
                },
            )
        })
        .await;
        let decided = match decided {
            Ok(d) => d,
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
            Err(r) => {
                if !release && r.rule.as_deref() == Some(Rule::HandedOver.as_str()) {
                    hold(state, principal, device, push, known).await?;
                }
                return Ok(Err(r));
            }
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
                origin,
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
    // Other writers kept winning: this document waits for the next sync; the
    // request's other documents are decided as usual.
    tracing::warn!(doc = %id, attempts = MAX_ATTEMPTS, "a push lost every race for its document");
    Ok(Err(refuse(
        &push.doc,
        RejectCode::Busy,
        "the document kept changing while the server decided on this push; \
         nothing was stored, and the changes are sent again on the next sync",
    )))
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

/// Feed entries after `from` in every territory `principal` may read, grouped
/// by document, minus the changes replica `origin` pushed (left out by the query,
/// so they cost neither bytes nor page budget) and the changes `skip` (pushed by
/// this very request but stored earlier by someone else).
async fn pull(
    state: &AppState,
    principal: &Principal,
    from: &Cursor,
    origin: &str,
    skip: &BTreeSet<String>,
) -> Result<(Vec<DocChanges>, Cursor, bool), ApiError> {
    // One query for every territory's head: territories with nothing new cost nothing more.
    let heads: Vec<(TerritoryId, u64)> = state
        .store
        .feed_heads()
        .await?
        .into_iter()
        .filter_map(|(t, seq)| Some((t.parse().ok()?, u64::try_from(seq).ok()?)))
        .filter(|(t, _)| principal.can_access(t))
        .collect();
    let mut budget = state.settings.page_changes;
    let mut bytes = 0usize;
    let mut cursor = from.clone();
    let mut grouped: BTreeMap<String, Vec<ChangeBytes>> = BTreeMap::new();
    let mut more = false;
    for (t, head) in &heads {
        let mut after = from.get(t);
        cursor.advance(t, after);
        loop {
            if after >= *head {
                break;
            }
            if budget == 0 || bytes >= state.settings.page_bytes {
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
            let want = budget.min(FEED_CHUNK);
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
                if bytes >= state.settings.page_bytes {
                    cut = true;
                    break;
                }
                after = u64::try_from(row.seq).unwrap_or(after);
                cursor.advance_to(t, after, Some(&row.hash));
                if !skip.contains(&row.hash) {
                    budget = budget.saturating_sub(1);
                    bytes = bytes.saturating_add(row.change.len());
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
    Ok((changes, cursor, more))
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
