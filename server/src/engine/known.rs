//! `Known`: what a push is decided against besides the document (head office's approval limits, the pusher's handovers, every open handover, the server's clock), loaded once per request.

use std::collections::BTreeMap;

use fieldsync_core::calendar::Timestamp;
use fieldsync_core::ids::{HandoverId, TerritoryId};
use fieldsync_core::schema::ApprovalLimits;
use fieldsync_core::sync::Principal;
use fieldsync_core::sync::handover::{Handovers, Outgoing};

use super::error::EngineError;
use crate::state::AppState;
use crate::store::HandoverRow;

/// What a push is decided against besides the document: head office's approval limits,
/// the pushing user's handovers, every open handover (whose outgoing manager's records
/// synced late join its list), and the server's clock.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub approvals: ApprovalLimits,
    pub handovers: Handovers,
    /// The open handover of each territory that has one.
    pub open: BTreeMap<TerritoryId, HandoverRow>,
    pub now: i64,
}

fn handover_id(h: &HandoverRow) -> Result<HandoverId, EngineError> {
    h.id.parse()
        .map_err(|_| EngineError::Internal(format!("stored handover id {} is invalid", h.id)))
}

impl Known {
    /// Limits and handovers as they are now, for `principal`'s push.
    pub async fn load(state: &AppState, principal: &Principal) -> Result<Known, EngineError> {
        let now = state.now();
        let approvals = state.store.load_approval_limits().await?;
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
