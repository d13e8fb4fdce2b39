//! One sync request, without HTTP: push every document (`push`), then pull what the device lacks (`pull`), resetting a device whose cursor another database issued and removing territories it may no longer read.

use std::collections::{BTreeMap, BTreeSet};

use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::{
    Cursor, DocAck, PROTOCOL_VERSION, Principal, SyncRequest, SyncResponse,
};

use super::actors::own_replica;
use super::error::EngineError;
use super::known::Known;
use super::pull::{Pulled, pull, seq_i64};
use super::push::push_docs;
use crate::state::AppState;

/// Handles one sync request for `principal` (on `device`): the same path serves
/// HTTP (`sync::sync_handler`), the demo seeding and the tests. The request is taken as
/// read: its protocol version and size are the caller's to check (`Settings::push_limits`).
pub async fn sync(
    state: &AppState,
    principal: &Principal,
    device: &str,
    req: &SyncRequest,
) -> Result<SyncResponse, EngineError> {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut pushed: BTreeSet<String> = BTreeSet::new();
    // Only a replica of this device may keep its own changes out of the pull.
    let origin = own_replica(state, principal, device, &req.replica).await?;
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
    // The cursor's positions are checked against this database's entries there,
    // read with the epoch and the heads in one query.
    let at: Vec<(String, i64)> = req
        .cursor
        .tagged()
        .filter(|(t, _, _)| principal.can_access(t))
        .map(|(t, seq, _)| (t.to_string(), seq_i64(seq)))
        .collect();
    let (epoch, heads, hashes) = state.store.epoch_heads_and_hashes(&at).await?;
    let start = Cursor::at_epoch(&epoch)
        .map_err(|e| EngineError::Internal(format!("the stored epoch is unusable: {e}")))?;
    let ends: BTreeMap<&str, i64> = heads.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    let held: BTreeMap<(String, u64), String> = hashes
        .into_iter()
        .filter_map(|(t, seq, hash)| Some(((t, u64::try_from(seq).ok()?), hash)))
        .collect();
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
    } = pull(
        state,
        principal,
        &heads,
        from,
        &origin,
        &pushed,
        req.snapshots,
    )
    .await?;
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
