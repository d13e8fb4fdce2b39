//! `ingest`: the server's decision on one document's pushed changes: store them all, or none and say why.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, AutoCommit, Change, ChangeHash};

use super::handover::{self, Handovers};
use super::limits;
use super::policy::Principal;
use super::wire::{ChangeBytes, DocChanges, RejectCode, Rejection};
use crate::calendar::Timestamp;
use crate::doc::genesis::{self, SkeletonCheck};
use crate::doc::{DocError, DocId, Document, Settled};
use crate::ids::{HandoverId, TerritoryId};
use crate::schema::{self, ApprovalLimits, Author, Rule, Violation};
use crate::stamp::Stamp;

pub use super::limits::Limits;

/// What the server knows beyond the push when it decides on it: head office's
/// approval limits and the pushing user's handovers (`super::handover`).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Head office's approval limits (`approval_limit`, `pending_approval`).
    pub approvals: &'a ApprovalLimits,
    /// The pushing user's open handovers: as the outgoing manager (the late
    /// rule, `handed_over`) and as the incoming one (`schema::Author::incoming`).
    pub handovers: &'a Handovers,
    /// The server's clock (ms): when the push is received (late rule (b)).
    pub now: Timestamp,
    /// The document's changes pushed by another user after the reassignment,
    /// for an outgoing manager's push (late rule (c)); else empty.
    pub foreign_after: &'a BTreeSet<ChangeHash>,
    /// Delivering held changes the incoming manager released: the late rule is
    /// skipped (every other rule applies).
    pub release: bool,
}

static NO_HASHES: BTreeSet<ChangeHash> = BTreeSet::new();

impl<'a> Context<'a> {
    /// `approvals`, and no handovers.
    pub fn new(approvals: &'a ApprovalLimits) -> Self {
        Context {
            approvals,
            handovers: &handover::NONE,
            now: Timestamp(0),
            foreign_after: &NO_HASHES,
            release: false,
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
    /// What the checks established about a new document pushed as one chain (its
    /// conflicts need not be looked for again: `Document::conflicts_settled`).
    pub settled: Option<Settled>,
}

fn reject(doc: &DocId, code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection::new(doc.clone(), code, message)
}

/// A schema rule's refusal: `forbidden` for the permission rules, else `invalid`,
/// and the rule's name.
fn violation(doc: &DocId, v: Violation) -> Rejection {
    let code = if v.rule.is_permission() {
        RejectCode::Forbidden
    } else {
        RejectCode::Invalid
    };
    Rejection {
        rule: Some(v.rule.as_str().to_owned()),
        ..Rejection::new(doc.clone(), code, v.to_string())
    }
}

fn from_doc_error(doc: &DocId, e: DocError) -> Rejection {
    if let DocError::Schema(v) = e {
        return violation(doc, v);
    }
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
    let mut budget = limits::Budget::new(limits);
    raw.iter()
        .map(|b| {
            if b.0.len() > limits.max_change_bytes {
                return Err(reject(
                    doc,
                    RejectCode::TooLarge,
                    format!("a change is larger than {} bytes", limits.max_change_bytes),
                ));
            }
            // Header and op counts first: refuses compressed chunks and RLE bombs.
            budget
                .admit(&b.0)
                .map_err(|e| reject(doc, e.code(), e.to_string()))?;
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
/// well-formed fieldsync document of the named id, and every new change keeps
/// the schema (`crate::schema`: paths, types, write rules, authors, grow-only
/// maps, lifecycles, roles, record rules), each checked in its own view and
/// against the stored document (nothing its author never saw is displaced).
/// Changes already stored are ignored, so a retried push is harmless.
pub fn ingest(
    existing: Option<&mut Document>,
    push: &DocChanges,
    principal: &Principal,
    limits: Limits,
) -> Result<Ingested, Rejection> {
    let approvals = ApprovalLimits::default();
    decide(
        existing,
        push,
        principal,
        None,
        limits,
        &Context::new(&approvals),
    )
}

/// Decides as [`ingest`] on a push from an authenticated device: every new
/// change's stamp must also name one of `devices` (`forged_device`) — the
/// server's id for the token, and any retired device of the same user whose
/// changes it delivers — so no device can make its changes look like another's.
/// A claim approved in the push must be within the principal's limit for the
/// document's territory in `ctx.approvals` (head office's table; `approval_limit`).
/// A handover review must be the principal's own (`ctx.handovers.incoming`,
/// `not_incoming`), and a push by the outgoing manager of the document's
/// territory must not be late (`super::handover`, `handed_over`) unless
/// `ctx.release`.
pub fn ingest_from(
    existing: Option<&mut Document>,
    push: &DocChanges,
    principal: &Principal,
    devices: &[String],
    limits: Limits,
    ctx: &Context<'_>,
) -> Result<Ingested, Rejection> {
    decide(existing, push, principal, Some(devices), limits, ctx)
}

/// Refuses a caller who may not read or write `territory`.
fn forbid_unless_access(
    id: &DocId,
    territory: &TerritoryId,
    principal: &Principal,
) -> Result<(), Rejection> {
    if principal.can_access(territory) {
        return Ok(());
    }
    Err(reject(
        id,
        RejectCode::Forbidden,
        format!("you have no access to territory {territory}"),
    ))
}

fn decide(
    mut existing: Option<&mut Document>,
    push: &DocChanges,
    principal: &Principal,
    devices: Option<&[String]>,
    limits: Limits,
    ctx: &Context<'_>,
) -> Result<Ingested, Rejection> {
    let id = &push.doc;
    let incoming = decode_changes(id, &push.changes, limits)?;
    // A stored document's territory is known: a caller without access is
    // refused before any of their changes reaches Automerge (found by fuzzing:
    // an unchecked change could panic it). The answer is the one a new
    // document of that territory gets below, so it tells them nothing more.
    if let Some(d) = existing.as_deref() {
        forbid_unless_access(id, d.territory(), principal)?;
    }
    // Before any Automerge work.
    // The skeleton (genesis and migrations) is made once here and reused below, and
    // so is each change's decoding.
    let (skeleton, mut decoded) = limits::history(existing.as_deref_mut(), id, &incoming, &limits)
        .map_err(|e| reject(id, e.code(), e.to_string()))?;
    let hashes: Vec<ChangeHash> = incoming.iter().map(Change::hash).collect();
    let server_actor = ActorId::from(b"fieldsync-server".to_vec());
    let is_new = existing.is_none();
    let (mut doc, before_heads) = match existing.as_deref_mut() {
        Some(d) => {
            let mut doc = d.fork();
            let heads = doc.heads();
            doc.apply_with(incoming, SkeletonCheck::Exact(skeleton.as_ref()))
                .map_err(|e| from_doc_error(id, e))?;
            (doc, heads)
        }
        None => {
            let doc = Document::from_changes_with(
                incoming,
                server_actor,
                SkeletonCheck::Exact(skeleton.as_ref()),
            )
            .map_err(|e| from_doc_error(id, e))?;
            (doc, Vec::new())
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
    forbid_unless_access(id, doc.territory(), principal)?;
    let fresh = doc.changes_since(&before_heads);
    // Automerge stores ops, not bytes: a change it rebuilds otherwise (a
    // predecessor naming no op; found by review) is then held under another hash,
    // one its device never made and its next change does not build on.
    let pushed: BTreeSet<&ChangeHash> = hashes.iter().collect();
    if fresh.iter().any(|c| !pushed.contains(&c.hash()))
        || !hashes.iter().all(|h| doc.has_change(h))
    {
        return Err(reject(
            id,
            RejectCode::Malformed,
            "a change is not held under its own hash once applied",
        ));
    }
    if fresh.is_empty() {
        return Ok(Ingested {
            doc,
            fresh,
            hashes,
            settled: None,
        });
    }
    // The genesis and migration changes: fieldsync's own, unsigned, never checked against the schema.
    let skeleton = match skeleton {
        Some(s) if s.is_of(id, doc.territory()) => s.hashes(),
        _ => genesis::skeleton_hashes(id, doc.territory()),
    };
    check_signatures(id, &skeleton, &fresh, principal, devices)?;
    if is_new && matches!(id, DocId::Territory(_)) {
        principal.may_create_territory().map_err(|e| Rejection {
            rule: Some(Rule::Role.as_str().to_owned()),
            ..reject(id, RejectCode::Forbidden, e.to_string())
        })?;
    }
    let stored = existing.as_deref().map(Document::automerge);
    let ceiling = ctx.approvals.ceiling(principal.role, doc.territory());
    let authority = ctx.approvals.authority(doc.territory());
    let incoming = ctx.handovers.incoming_in(doc.territory());
    let bounds = (ceiling.as_deref(), authority.as_deref());
    let touched = (fresh.as_slice(), skeleton.as_slice());
    let stored = (stored, before_heads.as_slice());
    let settled = check_schema(
        id,
        &mut doc,
        (touched, &mut decoded),
        principal,
        bounds,
        &incoming,
        stored,
    )?;
    if !ctx.release
        && let Some(out) = ctx.handovers.outgoing_in(doc.territory())
    {
        check_handed_over(id, &skeleton, &fresh, out, ctx)?;
    }
    Ok(Ingested {
        doc,
        fresh,
        hashes,
        settled,
    })
}

/// The late rule (`super::handover`) on every fresh change of the outgoing
/// manager of the document's territory (`handed_over`, `forbidden`).
fn check_handed_over(
    id: &DocId,
    skeleton: &[ChangeHash],
    fresh: &[Change],
    out: &handover::Outgoing,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    for c in fresh {
        if skeleton.contains(&c.hash()) {
            continue;
        }
        // Every fresh change carries a stamp (`check_signatures`).
        let at = Stamp::from_message(c.message()).map_or(Timestamp(i64::MAX), |s| s.at);
        handover::check_late(out, at, c.deps(), ctx.now, ctx.foreign_after)
            .map_err(|e| forged(id, Rule::HandedOver, e.to_string()))?;
    }
    Ok(())
}

/// A refusal for a stamp that names someone else: `forbidden`, with its rule.
fn forged(doc: &DocId, rule: Rule, message: String) -> Rejection {
    Rejection {
        rule: Some(rule.as_str().to_owned()),
        ..reject(doc, RejectCode::Forbidden, message)
    }
}

/// Every new change carries a stamp naming the principal (and, when known, one
/// of the devices whose changes the push may carry).
fn check_signatures(
    id: &DocId,
    skeleton: &[ChangeHash],
    fresh: &[Change],
    principal: &Principal,
    devices: Option<&[String]>,
) -> Result<(), Rejection> {
    for c in fresh {
        if skeleton.contains(&c.hash()) {
            continue;
        }
        let Some(s) = Stamp::from_message(c.message()) else {
            return Err(reject(
                id,
                RejectCode::Invalid,
                "a change carries no author stamp",
            ));
        };
        if s.user != principal.user {
            return Err(forged(
                id,
                Rule::ForgedAuthor,
                format!(
                    "a change is signed by {}, not by you ({})",
                    s.user, principal.user
                ),
            ));
        }
        if let Some(devices) = devices
            && !devices.iter().any(|d| d == s.device.as_str())
        {
            return Err(forged(
                id,
                Rule::ForgedDevice,
                format!(
                    "a change is stamped as made on device {}, not on this one ({})",
                    s.device,
                    devices.first().map_or("", String::as_str)
                ),
            ));
        }
    }
    Ok(())
}

/// Checks every fresh change against the schema, each in its own view and
/// against the document as stored before the push (see `crate::schema`). For a
/// new document whose every checked change was replayed (one chain, each write
/// replacing exactly what was there), what that established (`Settled`).
fn check_schema(
    id: &DocId,
    doc: &mut Document,
    ((fresh, skeleton), decoded): ((&[Change], &[ChangeHash]), &mut limits::Decoded),
    principal: &Principal,
    (limit, authority): (
        Option<&[crate::money::Money]>,
        Option<&[crate::money::Money]>,
    ),
    incoming: &[HandoverId],
    (stored, stored_heads): (Option<&AutoCommit>, &[ChangeHash]),
) -> Result<Option<Settled>, Rejection> {
    let kind = doc.kind();
    let author = Author {
        user: &principal.user,
        role: Some(principal.role),
        limit,
        authority,
        incoming: Some(incoming),
    };
    let am = doc.automerge_mut();
    let last = am.get_heads();
    // Each change's edits from its own operations where it follows on the ones before (`schema::Replay`).
    let mut replay = schema::Replay::new(stored, stored_heads);
    let mut checked = 0;
    // Each touched record's judgement after the last change that touched it.
    let mut judgements: BTreeMap<Vec<String>, bool> = BTreeMap::new();
    for c in fresh {
        let ops = decoded
            .remove(&c.hash())
            .unwrap_or_else(|| c.decode().operations);
        if skeleton.contains(&c.hash()) {
            replay.pass_decoded(c, ops);
            continue;
        }
        let edits = replay.edits_decoded(c, ops, am);
        let pushed = schema::Pushed {
            doc: am,
            // The document's last change reads it as it is (a read at given heads walks the history).
            at: (last == [c.hash()]).then_some(&*am),
            views: replay.views(),
        };
        let judged = schema::check_pushed_edits(pushed, c, edits, kind, &author, stored)
            .map_err(|v| violation(id, v))?;
        checked += 1;
        judgements.extend(judged);
    }
    let chain = stored.is_none() && replay.replayed() == checked;
    Ok(chain.then(|| Settled {
        valid: judgements
            .into_iter()
            .filter_map(|(path, ok)| ok.then_some(path))
            .collect(),
    }))
}
