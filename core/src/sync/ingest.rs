//! `ingest`: the server's decision on one document's pushed changes: store them all, or none and say why.

use std::collections::BTreeMap;

use automerge::{ActorId, Change, ChangeHash};

use super::policy::Principal;
use super::wire::{ChangeBytes, DocChanges, RejectCode, Rejection};
use crate::doc::genesis;
use crate::doc::{DealerState, DocError, DocId, Document, TerritoryState};
use crate::model::ValidationError;
use crate::stamp::Stamp;

/// Limits on one document's push.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most changes accepted for one document in one request.
    pub max_changes: usize,
    /// Largest single change, in bytes.
    pub max_change_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_changes: 10_000,
            max_change_bytes: 256 * 1024,
        }
    }
}

/// An accepted push: the document as it now is and the changes that were new to
/// it, in an order in which they can be applied.
#[derive(Debug)]
pub struct Ingested {
    pub doc: Document,
    pub fresh: Vec<Change>,
    /// Every pushed change's hash: all are now held, so all may be acknowledged.
    pub hashes: Vec<ChangeHash>,
}

fn reject(doc: &DocId, code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection {
        doc: doc.clone(),
        code,
        message: message.into(),
    }
}

fn from_doc_error(doc: &DocId, e: DocError) -> Rejection {
    let code = match &e {
        DocError::Malformed(_) => RejectCode::Malformed,
        DocError::MissingDependencies(_) => RejectCode::MissingDependencies,
        DocError::WrongDocument { .. } => RejectCode::WrongDocument,
        DocError::SchemaTooNew { .. } => RejectCode::SchemaTooNew,
        _ => RejectCode::Invalid,
    };
    reject(doc, code, e.to_string())
}

/// Decodes raw change bytes; never panics on bad input.
pub fn decode_changes(
    doc: &DocId,
    raw: &[ChangeBytes],
    limits: Limits,
) -> Result<Vec<Change>, Rejection> {
    if raw.len() > limits.max_changes {
        return Err(reject(
            doc,
            RejectCode::TooLarge,
            format!("more than {} changes for one document", limits.max_changes),
        ));
    }
    raw.iter()
        .map(|b| {
            if b.0.len() > limits.max_change_bytes {
                return Err(reject(
                    doc,
                    RejectCode::TooLarge,
                    format!("a change is larger than {} bytes", limits.max_change_bytes),
                ));
            }
            let change = std::panic::catch_unwind(|| Change::from_bytes(b.0.clone()))
                .map_err(|_| reject(doc, RejectCode::Malformed, "undecodable change"))?
                .map_err(|e| {
                    reject(
                        doc,
                        RejectCode::Malformed,
                        format!("not an Automerge change: {e}"),
                    )
                })?;
            // Automerge checks a document's checksum on load but not a single
            // change's; a corrupted change can otherwise reach code that panics.
            // Layout: 4 magic bytes, then the first 4 bytes of the change hash.
            if b.0.get(4..8) != Some(&change.hash().0[..4]) {
                return Err(reject(
                    doc,
                    RejectCode::Malformed,
                    "a change's checksum does not match its contents",
                ));
            }
            Ok(change)
        })
        .collect()
}

/// Decides on `push` against the stored document `existing` (absent if new).
/// Accepts only if every new change is signed by the principal, the result is a
/// well-formed fieldsync document of the named id, every record the push touched
/// keeps the domain rules, and the principal's role allows the edit.
/// Changes already stored are ignored, so a retried push is harmless.
pub fn ingest(
    existing: Option<&mut Document>,
    push: &DocChanges,
    principal: &Principal,
    limits: Limits,
) -> Result<Ingested, Rejection> {
    let id = &push.doc;
    let incoming = decode_changes(id, &push.changes, limits)?;
    let hashes: Vec<ChangeHash> = incoming.iter().map(Change::hash).collect();
    let server_actor = ActorId::from(b"fieldsync-server".to_vec());
    let (mut doc, before_heads, before) = match existing {
        Some(d) => {
            let before =
                Before::of(d).map_err(|e| reject(id, RejectCode::Invalid, e.to_string()))?;
            let mut doc = d.fork();
            let heads = doc.heads();
            doc.apply(incoming).map_err(|e| from_doc_error(id, e))?;
            (doc, heads, Some(before))
        }
        None => {
            let doc = Document::from_changes(incoming, server_actor)
                .map_err(|e| from_doc_error(id, e))?;
            (doc, Vec::new(), None)
        }
    };
    if doc.id() != id {
        return Err(reject(
            id,
            RejectCode::WrongDocument,
            format!("the changes are for {}, not {id}", doc.id()),
        ));
    }
    // Access first: even "you already sent these" tells the caller they exist.
    if !principal.can_access(doc.territory()) {
        return Err(reject(
            id,
            RejectCode::Forbidden,
            format!("you have no access to territory {}", doc.territory()),
        ));
    }
    let fresh = doc.changes_since(&before_heads);
    if fresh.is_empty() {
        return Ok(Ingested { doc, fresh, hashes });
    }
    check_signatures(id, doc.territory(), &fresh, principal)?;
    check_content(id, before.as_ref(), &doc, principal)?;
    Ok(Ingested { doc, fresh, hashes })
}

fn check_signatures(
    id: &DocId,
    territory: &crate::ids::TerritoryId,
    fresh: &[Change],
    principal: &Principal,
) -> Result<(), Rejection> {
    let genesis_hash: Option<ChangeHash> = genesis::genesis(id, territory).ok().map(|(_, h)| h);
    for c in fresh {
        if Some(c.hash()) == genesis_hash {
            continue;
        }
        match Stamp::from_message(c.message()) {
            Some(s) if s.user == principal.user => {}
            Some(s) => {
                return Err(reject(
                    id,
                    RejectCode::Forbidden,
                    format!(
                        "a change is signed by {}, not by you ({})",
                        s.user, principal.user
                    ),
                ));
            }
            None => {
                return Err(reject(
                    id,
                    RejectCode::Invalid,
                    "a change carries no author stamp",
                ));
            }
        }
    }
    Ok(())
}

fn changed<'a, K: Ord, V: PartialEq>(
    before: Option<&'a BTreeMap<K, V>>,
    after: &'a BTreeMap<K, V>,
) -> impl Iterator<Item = &'a V> {
    after
        .iter()
        .filter(move |(k, v)| before.and_then(|b| b.get(*k)) != Some(*v))
        .map(|(_, v)| v)
}

fn check_dealer_records(
    before: Option<&DealerState>,
    after: &DealerState,
) -> Result<(), ValidationError> {
    if before.map(|b| &b.profile) != Some(&after.profile) {
        after.profile.validate()?;
    }
    changed(before.map(|b| &b.visits), &after.visits).try_for_each(|r| r.validate())?;
    changed(before.map(|b| &b.commitments), &after.commitments).try_for_each(|r| r.validate())?;
    changed(before.map(|b| &b.claims), &after.claims).try_for_each(|r| r.validate())?;
    changed(before.map(|b| &b.problems), &after.problems).try_for_each(|r| r.validate())?;
    changed(before.map(|b| &b.activities), &after.activities).try_for_each(|r| r.validate())
}

/// A document's typed state before a push.
enum Before {
    Dealer(Box<DealerState>),
    Territory(TerritoryState),
}

impl Before {
    fn of(doc: &Document) -> Result<Self, DocError> {
        Ok(match doc.id() {
            DocId::Dealer(_) => Before::Dealer(Box::new(doc.dealer_state()?)),
            DocId::Territory(_) => Before::Territory(doc.territory_state()?),
        })
    }
}

fn check_content(
    id: &DocId,
    before: Option<&Before>,
    after: &Document,
    principal: &Principal,
) -> Result<(), Rejection> {
    let invalid = |e: DocError| reject(id, RejectCode::Invalid, e.to_string());
    let forbidden =
        |e: super::policy::PolicyError| reject(id, RejectCode::Forbidden, e.to_string());
    match id {
        DocId::Dealer(_) => {
            let old = match before {
                Some(Before::Dealer(s)) => Some(s.as_ref()),
                _ => None,
            };
            let new = after.dealer_state().map_err(invalid)?;
            check_dealer_records(old, &new).map_err(|e| invalid(e.into()))?;
            principal.check_dealer(old, &new).map_err(forbidden)
        }
        DocId::Territory(_) => {
            let old = match before {
                Some(Before::Territory(s)) => Some(s),
                _ => None,
            };
            let new = after.territory_state().map_err(invalid)?;
            new.profile.validate().map_err(|e| invalid(e.into()))?;
            principal.check_territory(old, &new).map_err(forbidden)
        }
    }
}
