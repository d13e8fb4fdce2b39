//! The document schema: every rule about what a fieldsync document may contain and who may change what, in one place.
//!
//! Both sides run this same code: the device before it makes an edit
//! (`doc::Document`'s edit methods), the server on every change a device pushes
//! (`sync::ingest`). A refused edit names the [`Rule`] it broke; its text name is
//! stable and travels in a rejection's `rule` field.
//!
//! # What is checked, and how
//!
//! An edit is a list of [`Edit`]s (a key put or deleted at a path from the
//! document root). On the server they come from Automerge itself: for each pushed
//! change, `diff(change.deps, [change])` gives every put and delete the change
//! made, at every path, deletions included. Each change is checked **in its own
//! view**, the document as its author had it (its causal past), which is exactly
//! what the device checked when it made the edit. So a device's valid edit is
//! never refused because of what another device did concurrently.
//!
//! 1. **Paths and types** ([`tree`]): the table lists, per document kind, every
//!    key at every level and what it holds: text with a maximum length, a whole
//!    number or number in a range, a boolean, a time (ms), a word of a
//!    vocabulary, an id or day, an object of named fields, a record map keyed by
//!    ids, a set `{member: true|false}`, or a lifecycle `{stage: {by, at}}`. A key
//!    the table does not know is refused (`unknown_field`), whatever is below it:
//!    nothing deeper is read, so no nesting depth chosen by a device reaches
//!    recursive code. Lists, text objects, counters, bytes: `wrong_type`.
//! 2. **Grow-only maps**: records (visits, commitments, claims, problems,
//!    activities, contacts, brands, downline customers, the territory's dealer
//!    index), notes, photos, lifecycle steps and set members are never deleted
//!    (`deleted`; a set member is switched off with `false`), and no object is put
//!    over an existing one (`replaced`). The skeleton and collections are the
//!    genesis change's (`immutable`).
//! 3. **Write rules** ([`tree::Write`]): `Editable` fields change any time;
//!    `Fixed` ones only in the change that creates their record, note or step
//!    (a visit's `manager` and `at`; a commitment's `made_by`, `made_at`,
//!    `visit`; a claim's `amount` and `visit` — fixed once requested, so also
//!    after approval; every note; every photo; every step's `by` and `at`);
//!    `WithStep` ones only with a given step (a claim's `spent` with `spent`, a
//!    problem's `resolution` with `resolved`); `Supervisor` ones only by a
//!    regional manager, head office or admin (a territory's `name`, `region`);
//!    `HeadOffice` ones only by head office or an admin (a territory's
//!    `managers`, a list people see that grants no access: who may read a
//!    territory is what an administrator assigned, `sync::policy`); `Approver`
//!    ones only in the change that creates their unit and only by a regional
//!    manager or head office (a record's `decided` entries: the choice between
//!    concurrent steps of one rank, `doc::resolve`). Otherwise `immutable` or `role`.
//! 4. **Authors**: `manager` (visit), `made_by` (commitment), every step's `by`
//!    (so a claim's `requested_by`), every note's `by` and a dealer index entry's
//!    `added_by` equal the user who made the change (`forged_author`).
//! 5. **Lifecycles**: a record is created at its first stage; each added step
//!    follows the furthest stage reached before it (`transition`):
//!    - claims: `requested → approved | rejected`, `approved → spent → reconciled`;
//!    - commitments: `open → kept | broken | cancelled`;
//!    - problems: `open → in_progress → resolved`, or `open → resolved`; and
//!      their escalation to head office, `escalated → responded` (a problem's
//!      `response` and `assigned_to` are written only with `responded`);
//!    - activities: `planned → held | cancelled`.
//!
//!    The transitions themselves are each stage type's `Stage::may_follow` in
//!    `model/`. Claim approval and rejection are taken only by a regional manager
//!    or head office (`role`), never by the claim's own requester (`self_approval`);
//!    so is answering an escalated problem (`responded`: not by a manager or an
//!    admin, `role`; not by the one who escalated it, `self_approval`). Anyone
//!    who may write the document escalates or resolves a problem;
//!    and approval only of a claim within the approver's limit for its territory,
//!    as head office set them ([`ApprovalLimits`], `approval_limit`; the server
//!    passes them in [`Author::limit`]).
//! 6. **Record rules** ([`records`]): after the path checks, every record the
//!    edit touched is read (in the edit's own view) and must keep its domain rules
//!    (`model::*::validate`: required text, an activity not ending before it
//!    starts, a spent claim's amount in its currency, …) unless it broke that rule
//!    in the same way before the edit (`record`).
//! 7. **Concurrency**: a write crafted to stand beside the value its author saw
//!    instead of replacing it is refused (`concurrent_write`); honest devices
//!    never make one. Two valid edits can still merge into a record that breaks
//!    a cross-field rule (two devices moving an activity's start and end): both
//!    are accepted, and the record is listed for review by
//!    `Document::conflicts` (with its `rule`) until someone fixes it.
//! 8. **Old views** ([`check_concurrent`], server only): a device chooses its
//!    change's dependencies, so its "own view" may be any old state. Each pushed
//!    change is therefore also checked against the document the server held
//!    before the push: a record, note or photo made at a key the server already
//!    holds outside the change's causal past, or a step-bound field written
//!    beside a value its author never saw so that the merge would show another
//!    value, is refused (`concurrent_write`). The same step taken on two devices
//!    at once is accepted (a visible conflict, as kept vs broken).
//!
//! The device does not know its user's role, so the rules about who may take a
//! step or write a field (`role`, `self_approval`, `approval_limit`) are the server's, as is the
//! old-view check (only the server holds the merged document); every other
//! rule is checked identically on both sides.
//!
//! Whether a change may be stored at all (its size, actors and sequence numbers,
//! access to the territory, its author stamp) is decided before this, in `sync`.

mod approval;
mod check;
mod edit;
mod mirror;
mod records;
mod replay;
mod role;
mod rule;
pub mod tree;
mod view;

pub use approval::{ApprovalLimit, ApprovalLimits, Ceiling, LimitKind, within};
pub use check::{Author, DocKind, Touched, check_concurrent, check_edits};
pub use edit::{Edit, Op, Val, from_patches};
pub use mirror::Mirror;
pub use records::{Broken, Judged, broken, broken_where, keeps_rules};
pub use replay::Replay;
pub use role::Role;
pub use rule::{Rule, Violation};
pub use view::{At, Seen, View};

pub(crate) use view::{hydrated_to_json, scalar_to_json};

use automerge::{AutoCommit, Change};
use serde_json::{Map, Value as Json};

/// Checks one change already applied to `doc`, in its own view (see the module
/// docs): what `diff(deps, [change])` shows it did, then the records it touched.
pub fn check_change(
    doc: &mut AutoCommit,
    change: &Change,
    kind: DocKind,
    author: &Author<'_>,
) -> Result<(), Violation> {
    check_pushed(doc, change, kind, author, None)
}

/// The server's check of one pushed change already applied to `doc`: the
/// change in its own view ([`check_change`]), then against `stored`, the
/// document as the server held it before the push ([`check_concurrent`]: what
/// the change's author never saw is not displaced). `stored` is `None` for a
/// document the push creates.
pub fn check_pushed(
    doc: &mut AutoCommit,
    change: &Change,
    kind: DocKind,
    author: &Author<'_>,
    stored: Option<&AutoCommit>,
) -> Result<(), Violation> {
    let edits = from_patches(doc.diff(change.deps(), &[change.hash()]));
    // The document's last change reads it as it is (a read at given heads walks the history).
    let last = doc.get_heads() == [change.hash()];
    let doc: &AutoCommit = doc;
    let at = last.then_some(doc);
    check_pushed_edits(
        Pushed {
            doc,
            at,
            views: None,
        },
        change,
        edits,
        kind,
        author,
        stored,
    )
    .map(|_| ())
}

/// Where a pushed change is checked: `doc`, the document holding the whole push,
/// and `at`, if known, a document that is the document at the change (its heads
/// are the change alone: `doc` itself for the push's last change), read as it is
/// instead of `doc` at given heads.
#[derive(Debug, Clone, Copy)]
pub struct Pushed<'a> {
    pub doc: &'a AutoCommit,
    pub at: Option<&'a AutoCommit>,
    /// The document just before and just after the change, if read without
    /// Automerge (a [`Mirror`] of a new document's push).
    pub views: Option<(Mirror<'a>, Mirror<'a>)>,
}

/// [`check_pushed`] with the change's `edits` already read (by a [`Replay`]); on
/// success, each record the change touched and whether it keeps its rules after it.
pub fn check_pushed_edits(
    pushed: Pushed<'_>,
    change: &Change,
    edits: Vec<Edit>,
    kind: DocKind,
    author: &Author<'_>,
    stored: Option<&AutoCommit>,
) -> Result<Judged, Violation> {
    let doc = pushed.doc;
    let deps = change.deps().to_vec();
    let after = [change.hash()];
    let (before, after) = match pushed.at {
        // The document at the change, as it is; before it, at its dependencies.
        Some(at) => (At::new(at, Some(&deps)), At::now(at)),
        None => (At::new(doc, Some(&deps)), At::new(doc, Some(&after))),
    };
    // A mirror is of a new document only (it cannot say what the concurrent checks ask).
    let views = pushed.views.filter(|_| stored.is_none());
    let mirrored = views
        .as_ref()
        .map(|(b, a)| (b as &dyn View, a as &dyn View));
    let (before, after): (&dyn View, &dyn View) = mirrored.unwrap_or((&before, &after));
    let touched = check_edits(kind, &edits, before, author)?;
    let judged = records::check_touched(kind, &touched, before, after)?;
    #[cfg(debug_assertions)]
    if let Some((b, a)) = &views {
        mirror::assert_same(b, &At::new(doc, Some(&deps)), &touched, &edits);
        mirror::assert_same(a, &At::new(doc, Some(&[change.hash()])), &touched, &edits);
    }
    let Some(stored) = stored else {
        return Ok(judged);
    };
    // Both read as they are now (a read at given heads costs a walk of the history).
    let held = At::now(stored);
    let merged = At::now(doc);
    check_concurrent(kind, &edits, before, &held, &merged)?;
    Ok(judged)
}

/// Checks a local edit (`edits`, planned from a merge patch) against the document
/// as it is now, before anything is written.
pub fn check_local(
    doc: &AutoCommit,
    kind: DocKind,
    edits: &[Edit],
    author: &Author<'_>,
) -> Result<(), Violation> {
    let now = At::now(doc);
    check_edits(kind, edits, &now, author).map(|_| ())
}

/// Rewrites a local merge patch written at `base` so that `null` on a set
/// member means "switch it off" (`false`) rather than a delete, which the
/// schema refuses.
pub fn prepare_patch(kind: DocKind, base: &mut Vec<String>, patch: &mut Map<String, Json>) {
    for (key, value) in patch.iter_mut() {
        base.push(key.clone());
        match value {
            Json::Null if check::is_member(kind, base) => *value = Json::Bool(false),
            Json::Object(inner) => prepare_patch(kind, base, inner),
            _ => {}
        }
        base.pop();
    }
}

#[cfg(test)]
mod tests;
