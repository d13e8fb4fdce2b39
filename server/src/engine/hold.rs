//! Late edits held: a push the handover late rule refused is kept for the incoming manager to release or decline, never acknowledged and never lost.

use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::ingest::decode_changes;
use fieldsync_core::sync::{DocChanges, Principal};

use super::error::EngineError;
use super::known::Known;
use crate::state::AppState;

/// Keeps a push the late rule refused for the incoming manager to release or decline
/// (`handover_held`, once per change): the device keeps it pending, nothing is lost.
pub(super) async fn hold(
    state: &AppState,
    principal: &Principal,
    device: &str,
    push: &DocChanges,
    known: &Known,
) -> Result<(), EngineError> {
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
