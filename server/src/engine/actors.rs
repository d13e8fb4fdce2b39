//! Actor ownership: each Automerge actor id belongs to the device that first pushed a change under it, and no other device may push new changes under it.
//!
//! A change under a colleague's actor with that actor's next `seq` would make
//! every later change of the colleague's device fail to apply (Automerge refuses
//! a second change with the same actor and seq), so such a push is refused
//! before the core's ingest sees it. One exception: a device of the same user
//! that can no longer sync (revoked or expired) hands its actors over, so a
//! browser that logged in again with a new device still delivers what it made
//! before (it writes its new edits under a fresh actor). Actors are registered before the change
//! that first uses them is committed, so nobody can learn an actor from the
//! feed before it has an owner. Reserved actors (genesis, migrations) are never
//! registered; the core's ingest refuses any new change under them.
//!
//! The same ownership decides which replica a sync request may name as its
//! own (`SyncRequest::replica`, whose changes the feed then leaves out): only
//! one of this device's actors, so a device cannot name a colleague's replica
//! to keep the colleague from ever pulling the changes it pushes.

use std::collections::{BTreeMap, BTreeSet};

use fieldsync_core::sync::limits::{self, Peek};
use fieldsync_core::sync::{DocChanges, Principal, RejectCode, Rejection};

use super::error::EngineError;
use crate::state::AppState;
use crate::store::now_millis;

/// Whether `owner`, a device of the caller's own user, can no longer sync (revoked
/// or expired): then nobody else writes under its actors, and a browser that logged
/// in again with a new device delivers the changes it made under the old one.
async fn handed_over(
    state: &AppState,
    principal: &Principal,
    owner: &str,
) -> Result<bool, EngineError> {
    let Some(session) = state.store.device_session(owner).await? else {
        return Ok(false);
    };
    let over = session.revoked || session.expires_at.is_some_and(|at| at <= now_millis());
    Ok(session.user == principal.user.as_str() && over)
}

/// The replica a sync request names (`replica`, an Automerge actor in hex) if
/// it is `device`'s: an actor `device_actors` gives to this device, or one
/// nobody owns yet (then registered to it, as its first change would). Any
/// other value (a colleague's actor, a reserved one, not hex) is ignored: ''
/// (the feed then leaves nothing out for this request).
pub async fn own_replica(
    state: &AppState,
    principal: &Principal,
    device: &str,
    replica: &str,
) -> Result<String, EngineError> {
    let Ok(bytes) = hex::decode(replica) else {
        return Ok(String::new());
    };
    if bytes.is_empty() || limits::is_reserved(&bytes) {
        return Ok(String::new());
    }
    let actor = hex::encode(&bytes);
    let wanted = std::slice::from_ref(&actor);
    let mut owners = state.store.actor_owners(wanted).await?;
    if owners.is_empty() {
        owners = state
            .store
            .claim_actors(device, principal.user.as_str(), wanted)
            .await?;
    }
    let mine = owners.get(&actor).is_some_and(|owner| owner == device);
    Ok(if mine { actor } else { String::new() })
}

/// Registers the new actors of a group of pushes as `device`'s (one lookup and at
/// most one claim for the whole group) and refuses each push whose changes the
/// server does not hold yet are under another device's actor. Changes whose
/// header does not even parse are left for the ingest to refuse. Accepted: the
/// devices whose changes that push may carry, `device` and any retired device
/// of the same user whose actors it delivers (their stamps name that device).
pub async fn check_pushes(
    state: &AppState,
    principal: &Principal,
    device: &str,
    pushes: &[DocChanges],
) -> Result<Vec<Result<Vec<String>, Rejection>>, EngineError> {
    let peeks: Vec<Vec<Peek>> = pushes
        .iter()
        .map(|push| {
            push.changes
                .iter()
                .filter_map(|c| limits::peek(&c.0).ok())
                .filter(|p| !limits::is_reserved(p.actor.to_bytes()))
                .collect()
        })
        .collect();
    let actors: Vec<String> = peeks
        .iter()
        .flatten()
        .map(|p| p.actor.to_hex_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut owners = BTreeMap::new();
    if !actors.is_empty() {
        owners = state.store.actor_owners(&actors).await?;
        let unowned: Vec<String> = actors
            .iter()
            .filter(|a| !owners.contains_key(*a))
            .cloned()
            .collect();
        if !unowned.is_empty() {
            owners.extend(
                state
                    .store
                    .claim_actors(device, principal.user.as_str(), &unowned)
                    .await?,
            );
        }
    }
    let mut checked = Vec::with_capacity(pushes.len());
    for (push, peeks) in pushes.iter().zip(&peeks) {
        checked.push(check_foreign(state, principal, device, push, peeks, &owners).await?);
    }
    Ok(checked)
}

/// One push of a group, its actors' owners known (`check_pushes`).
async fn check_foreign(
    state: &AppState,
    principal: &Principal,
    device: &str,
    push: &DocChanges,
    peeks: &[Peek],
    owners: &BTreeMap<String, String>,
) -> Result<Result<Vec<String>, Rejection>, EngineError> {
    let mine = vec![device.to_owned()];
    let foreign: Vec<&Peek> = peeks
        .iter()
        .filter(|p| {
            owners
                .get(&p.actor.to_hex_string())
                .is_some_and(|owner| owner != device)
        })
        .collect();
    if foreign.is_empty() {
        return Ok(Ok(mine));
    }
    // Access first: a refusal must not tell an outsider anything about the document.
    let id = push.doc.to_string();
    if let Some(t) = state.store.doc_territory(&id).await?
        && !t.parse().is_ok_and(|t| principal.can_access(&t))
    {
        return Ok(Ok(mine));
    }
    let hashes: Vec<String> = foreign.iter().map(|p| p.hash.to_string()).collect();
    let stored = state.store.stored_hashes(&id, &hashes).await?;
    let mut retired: BTreeMap<String, bool> = BTreeMap::new();
    let owners_of_foreign: BTreeSet<String> = foreign
        .iter()
        .filter_map(|p| owners.get(&p.actor.to_hex_string()).cloned())
        .collect();
    for owner in owners_of_foreign {
        let over = handed_over(state, principal, &owner).await?;
        retired.insert(owner, over);
    }
    let allowed = |p: &Peek| {
        stored.contains(&p.hash.to_string())
            || owners
                .get(&p.actor.to_hex_string())
                .is_some_and(|o| retired.get(o).copied().unwrap_or(false))
    };
    match foreign.iter().find(|p| !allowed(p)) {
        None => {
            let handed: Vec<String> = retired
                .into_iter()
                .filter_map(|(owner, over)| over.then_some(owner))
                .collect();
            Ok(Ok([mine, handed].concat()))
        }
        Some(p) => Ok(Err(Rejection::new(
            push.doc.clone(),
            RejectCode::ForeignActor,
            format!(
                "a change is under actor {}, which belongs to another device",
                p.actor.to_hex_string()
            ),
        ))),
    }
}
