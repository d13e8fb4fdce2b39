//! Checking edits against the table: path and type, limits, write rules, authors, grow-only maps and lifecycle steps.

use std::collections::{BTreeMap, BTreeSet};

use super::edit::{Edit, Op, Val};
use super::role::Role;
use super::rule::{Rule, Violation};
use super::tree::{DEALER, Field, Node, SKELETON, STEP_FIELDS, Steps, TERRITORY, Write};
use super::view::{Seen, View};
use crate::ids::{HandoverId, UserId};
use crate::money::Money;

/// Which kind of document an edit is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Dealer,
    Territory,
}

impl DocKind {
    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            DocKind::Dealer => DEALER,
            DocKind::Territory => TERRITORY,
        }
    }
}

/// Who makes the edits. The device does not know its user's role (`None`): the
/// role rules are then left to the server, every other rule is checked on both.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub user: &'a UserId,
    pub role: Option<Role>,
    /// The most this author may approve in the document's territory (the
    /// server's, from [`super::ApprovalLimits::ceiling`]); `None`: no limit,
    /// or not known here (the device).
    pub limit: Option<&'a [Money]>,
    /// A manager's commitment authority in the document's territory (the
    /// server's, from [`super::ApprovalLimits::authority`]); `None`: no limit,
    /// or not known here (the device).
    pub authority: Option<&'a [Money]>,
    /// The handovers whose incoming manager this author is, in the document's
    /// territory (the server's); `None`: not known here (the device). With a
    /// role (the server), a review step of any other handover is refused
    /// (`not_incoming`).
    pub incoming: Option<&'a [HandoverId]>,
}

/// What the last key of a path is.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A named field of an object or record.
    Field,
    /// A record's id in a grow-only record map, and the record's fields.
    RecordKey(&'static [Field]),
    /// A member of a set.
    Member,
    /// A lifecycle stage in a `status` map.
    Step(&'static Steps),
}

/// A path resolved against the table.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    place: Place,
    /// The node the value at the path must match (`None`: a map: record, step).
    node: Option<&'static Node>,
    field: Option<&'static Field>,
    write: Write,
    /// Length of the path prefix naming the unit (record, note, photo, step) that
    /// `Write::Fixed` refers to; 0 when there is none (the profile).
    unit: usize,
    /// Length of the path prefix naming the top-level record (2), or the profile (1).
    record: usize,
}

const BOOL: Node = Node::Bool;

fn restrict(outer: Write, inner: Write) -> Write {
    if outer == Write::Editable {
        inner
    } else {
        outer
    }
}

/// Where the walk is: among an object's fields, or at a node.
#[derive(Clone, Copy)]
enum Cur {
    Fields(&'static [Field]),
    Node(&'static Node),
}

fn resolve(kind: DocKind, path: &[String]) -> Result<Resolved, Violation> {
    let Some(first) = path.first() else {
        return Err(Violation::new(
            Rule::UnknownField,
            path,
            "the document root",
        ));
    };
    let Some(top) = kind.fields().iter().find(|f| f.name == first) else {
        let rule = if SKELETON.contains(&first.as_str()) {
            Rule::Immutable
        } else {
            Rule::UnknownField
        };
        return Err(Violation::new(rule, path, "not a key a device may write"));
    };
    if path.len() == 1 {
        return Err(Violation::new(
            Rule::Immutable,
            path,
            "the document's collections are fixed by its genesis",
        ));
    }
    let mut res = Resolved {
        place: Place::Field,
        node: Some(&top.node),
        field: Some(top),
        write: Write::Editable,
        unit: 0,
        record: 1,
    };
    let mut cur = Cur::Node(&top.node);
    for (i, key) in path.iter().enumerate().skip(1) {
        let here = &path[..=i];
        let bad_key = |what: &str| {
            Err(Violation::new(
                Rule::OutOfRange,
                here,
                format!("not a {what}"),
            ))
        };
        let fields = match cur {
            Cur::Fields(fs) => fs,
            Cur::Node(Node::Object(fs)) => *fs,
            Cur::Node(Node::Records { key: k, record }) => {
                if !(k.ok)(key) {
                    return bad_key(k.what);
                }
                res = Resolved {
                    place: Place::RecordKey(record),
                    node: None,
                    field: None,
                    write: Write::Editable,
                    unit: i + 1,
                    record: if i == 1 { 2 } else { res.record },
                };
                cur = Cur::Fields(record);
                continue;
            }
            Cur::Node(Node::Set { key: k }) => {
                if !(k.ok)(key) {
                    return bad_key(k.what);
                }
                res.place = Place::Member;
                res.node = Some(&BOOL);
                res.field = None;
                cur = Cur::Node(&BOOL);
                continue;
            }
            Cur::Node(Node::Steps(steps)) => {
                if (steps.rank)(key).is_none() {
                    return bad_key("lifecycle stage");
                }
                res = Resolved {
                    place: Place::Step(steps),
                    node: None,
                    field: None,
                    write: Write::Editable,
                    unit: i + 1,
                    record: res.record,
                };
                cur = Cur::Fields(STEP_FIELDS);
                continue;
            }
            Cur::Node(_) => {
                return Err(Violation::new(
                    Rule::UnknownField,
                    here,
                    "nothing may be nested here",
                ));
            }
        };
        let Some(field) = fields.iter().find(|f| f.name == key) else {
            return Err(Violation::new(Rule::UnknownField, here, "not a field here"));
        };
        res.place = Place::Field;
        res.node = Some(&field.node);
        res.field = Some(field);
        res.write = restrict(res.write, field.write);
        cur = Cur::Node(&field.node);
    }
    Ok(res)
}

fn type_of(v: &Val) -> &'static str {
    match v {
        Val::Map => "a map",
        Val::Str(_) => "text",
        Val::Int(_) => "a whole number",
        Val::Float(_) => "a number",
        Val::Bool(_) => "true or false",
        Val::Other(what) => what,
    }
}

fn check_value(node: Option<&Node>, val: &Val, path: &[String]) -> Result<(), Violation> {
    let wrong = |want: &str| {
        Err(Violation::new(
            Rule::WrongType,
            path,
            format!("expected {want}, found {}", type_of(val)),
        ))
    };
    let out = |msg: String| Err(Violation::new(Rule::OutOfRange, path, msg));
    match (node, val) {
        (None, Val::Map) => Ok(()),
        (None, _) => wrong("a map"),
        (Some(Node::Object(_) | Node::Records { .. } | Node::Set { .. } | Node::Steps(_)), v) => {
            if *v == Val::Map {
                Ok(())
            } else {
                wrong("a map")
            }
        }
        (Some(Node::Text { max }), Val::Str(s)) => {
            if s.chars().count() > *max {
                out(format!("longer than {max} characters"))
            } else {
                Ok(())
            }
        }
        (Some(Node::Text { .. }), _) => wrong("text"),
        (Some(Node::Word { what, ok }), Val::Str(s)) => {
            if ok(s) {
                Ok(())
            } else {
                out(format!("not a {what}"))
            }
        }
        (Some(Node::Word { what, .. }), _) => wrong(what),
        (Some(Node::Int { min, max }), Val::Int(i)) => {
            if (min..=max).contains(&i) {
                Ok(())
            } else {
                out(format!("outside {min}..={max}"))
            }
        }
        (Some(Node::Int { .. }), _) => wrong("a whole number"),
        (Some(Node::Float { min, max }), Val::Float(x)) => {
            if x.is_finite() && (min..=max).contains(&x) {
                Ok(())
            } else {
                out(format!("outside {min}..={max}"))
            }
        }
        (Some(Node::Float { min, max }), Val::Int(i)) => {
            if (*min..=*max).contains(&(*i as f64)) {
                Ok(())
            } else {
                out(format!("outside {min}..={max}"))
            }
        }
        (Some(Node::Float { .. }), _) => wrong("a number"),
        (Some(Node::Time), Val::Int(_)) => Ok(()),
        (Some(Node::Time), _) => wrong("a time in milliseconds"),
        (Some(Node::Bool), Val::Bool(_)) => Ok(()),
        (Some(Node::Bool), _) => wrong("true or false"),
    }
}

fn is_container(node: Option<&Node>) -> bool {
    matches!(
        node,
        Some(Node::Records { .. } | Node::Set { .. } | Node::Steps(_))
    )
}

/// A lifecycle step added by the edits: the record's `status` path and the stage.
type Added = BTreeMap<Vec<String>, (&'static Steps, Vec<String>)>;

/// What a set of edits touched: the top-level records (and profile) to check
/// against the record rules afterwards.
pub type Touched = BTreeSet<Vec<String>>;

/// Checks edits made together (one change) by `author` on a document that looked
/// like `before`. Returns the records they touched. Every rule but the record
/// rules (see [`super::records`]) is checked here, on paths alone: nothing of the
/// document is read deeper than a path the table knows.
pub fn check_edits(
    kind: DocKind,
    edits: &[Edit],
    before: &dyn View,
    author: &Author<'_>,
) -> Result<Touched, Violation> {
    let mut resolved = Vec::with_capacity(edits.len());
    let mut added: Added = BTreeMap::new();
    for e in edits {
        let r = resolve(kind, &e.path)?;
        if let (Place::Step(steps), Op::Put(_)) = (r.place, &e.op) {
            let (status, stage) = e.path.split_at(e.path.len() - 1);
            added
                .entry(status.to_vec())
                .or_insert_with(|| (steps, Vec::new()))
                .1
                .push(stage[0].clone());
        }
        resolved.push(r);
    }
    let mut touched = Touched::new();
    for (e, r) in edits.iter().zip(&resolved) {
        check_one(e, r, before, author, &added)?;
        touched.insert(e.path[..r.record.min(e.path.len())].to_vec());
    }
    for (status, (steps, stages)) in &added {
        check_steps(status, steps, stages, edits, before, author)?;
    }
    // A new record with a lifecycle must start at its first stage.
    for (e, r) in edits.iter().zip(&resolved) {
        if matches!(r.place, Place::Field)
            && matches!(r.node, Some(Node::Steps(_)))
            && e.op == Op::Put(Val::Map)
            && !added.contains_key(&e.path)
        {
            return Err(Violation::new(
                Rule::Transition,
                &e.path,
                "a lifecycle starts with its first step",
            ));
        }
    }
    Ok(touched)
}

fn check_one(
    e: &Edit,
    r: &Resolved,
    before: &dyn View,
    author: &Author<'_>,
    added: &Added,
) -> Result<(), Violation> {
    let path = &e.path;
    let val = match &e.op {
        Op::Unsupported(what) => {
            return Err(Violation::new(
                Rule::WrongType,
                path,
                format!("fieldsync documents hold no {what}"),
            ));
        }
        Op::Concurrent => {
            return Err(Violation::new(
                Rule::ConcurrentWrite,
                path,
                "the write does not replace the value it was made over",
            ));
        }
        Op::Delete => return check_delete(path, r, author),
        Op::Put(v) => v,
    };
    check_value(r.node, val, path)?;
    if *val == Val::Map && before.seen(path) != Seen::Absent {
        return Err(Violation::new(
            Rule::Replaced,
            path,
            "an object may not be put over what is there",
        ));
    }
    let unit_is_new = r.unit > 0 && before.seen(&path[..r.unit]) == Seen::Absent;
    match r.write {
        Write::Editable => {}
        Write::Fixed => {
            if !unit_is_new {
                return Err(Violation::new(
                    Rule::Immutable,
                    path,
                    "fixed once the record is created",
                ));
            }
        }
        Write::WithStep(stage) => {
            // The step may be in any lifecycle of the record (`status`, a problem's
            // `escalation`), or of the unit the field is in (a handover item's `review`).
            let with_step = added.iter().any(|(lifecycle, (_, stages))| {
                [r.record, r.unit]
                    .iter()
                    .any(|&n| n > 0 && lifecycle.len() == n + 1 && lifecycle[..n] == path[..n])
                    && stages.iter().any(|s| s == stage)
            });
            // In a unit nested inside a record (a handover item), creating the
            // unit is not enough: the field comes with its step only.
            let at_creation = unit_is_new && r.unit <= r.record;
            if !at_creation && !with_step {
                return Err(Violation::new(
                    Rule::Immutable,
                    path,
                    format!("written only with the '{stage}' step"),
                ));
            }
        }
        Write::Approver => {
            if !unit_is_new {
                return Err(Violation::new(
                    Rule::Immutable,
                    path,
                    "a decision is written once",
                ));
            }
            approver(path, author)?;
        }
        Write::Supervisor => supervisor(path, author)?,
        Write::HeadOffice => head_office(path, author)?,
    }
    if r.field.is_some_and(|f| f.author) {
        match val {
            Val::Str(s) if s == author.user.as_str() => {}
            _ => {
                return Err(Violation::new(
                    Rule::ForgedAuthor,
                    path,
                    format!("must be the change's author, {}", author.user),
                ));
            }
        }
    }
    Ok(())
}

fn supervisor(path: &[String], author: &Author<'_>) -> Result<(), Violation> {
    match author.role {
        Some(role) if !role.supervises() => Err(Violation::new(
            Rule::Role,
            path,
            format!("the {role} role may not rename a territory"),
        )),
        _ => Ok(()),
    }
}

fn approver(path: &[String], author: &Author<'_>) -> Result<(), Violation> {
    match author.role {
        Some(role) if !role.approves_claims() => Err(Violation::new(
            Rule::Role,
            path,
            format!(
                "the {role} role may not decide between concurrent steps (head office or a regional manager does)"
            ),
        )),
        _ => Ok(()),
    }
}

fn head_office(path: &[String], author: &Author<'_>) -> Result<(), Violation> {
    match author.role {
        Some(role) if !role.sees_all() => Err(Violation::new(
            Rule::Role,
            path,
            format!("the {role} role may not change a territory's managers (head office does)"),
        )),
        _ => Ok(()),
    }
}

fn check_delete(path: &[String], r: &Resolved, author: &Author<'_>) -> Result<(), Violation> {
    let deleted = |what: &str| {
        Err(Violation::new(
            Rule::Deleted,
            path,
            format!("{what} is never deleted"),
        ))
    };
    match r.place {
        Place::RecordKey(_) => deleted("a record"),
        Place::Member => deleted("a set member (switch it to false)"),
        Place::Step(_) => deleted("a lifecycle step"),
        Place::Field if is_container(r.node) => deleted("a collection"),
        Place::Field => match r.write {
            Write::Editable => Ok(()),
            Write::Supervisor => supervisor(path, author),
            Write::HeadOffice => head_office(path, author),
            Write::Fixed | Write::WithStep(_) | Write::Approver => {
                Err(Violation::new(Rule::Immutable, path, "fixed once written"))
            }
        },
    }
}

/// The steps added to one record's lifecycle follow each other, each from the
/// furthest stage reached before it, and the approver-only steps are taken by
/// an approver who did not request the claim.
/// Where a record stands among the stages `reached`: the furthest, and among
/// equally far ones the one an approver decided on (the record's `decided`,
/// `lifecycle::Decision`), else the last declared (as `model::Standing` reads it).
fn settled<'a>(
    status: &[String],
    steps: &Steps,
    reached: &'a [String],
    before: &dyn View,
) -> Option<&'a String> {
    let order = |s: &str| {
        (
            (steps.rank)(s).unwrap_or(0),
            steps.stages.iter().position(|x| *x == s).unwrap_or(0),
        )
    };
    let top = reached
        .iter()
        .filter(|s| (steps.rank)(s).is_some())
        .max_by_key(|s| order(s))?;
    let rank = (steps.rank)(top);
    let tied: Vec<&str> = reached
        .iter()
        .filter(|s| (steps.rank)(s) == rank)
        .map(String::as_str)
        .collect();
    let Some(key) = crate::lifecycle::conflict_key(&tied) else {
        return Some(top);
    };
    let path: Vec<String> = status[..status.len() - 1]
        .iter()
        .cloned()
        .chain(["decided".to_owned(), key, "step".to_owned()])
        .collect();
    let chosen = match before.seen(&path) {
        Seen::Scalar(s) => s.as_str().map(str::to_owned),
        _ => None,
    };
    let decided = chosen.and_then(|c| {
        reached
            .iter()
            .find(|s| **s == c && tied.contains(&s.as_str()))
    });
    Some(decided.unwrap_or(top))
}

fn check_steps(
    status: &[String],
    steps: &Steps,
    stages: &[String],
    edits: &[Edit],
    before: &dyn View,
    author: &Author<'_>,
) -> Result<(), Violation> {
    let order = |s: &str| {
        (
            (steps.rank)(s).unwrap_or(0),
            steps.stages.iter().position(|x| *x == s).unwrap_or(0),
        )
    };
    let mut reached: Vec<String> = before.keys(status);
    let mut taking: Vec<&String> = stages.iter().collect();
    taking.sort_by_key(|s| order(s));
    for stage in taking {
        let at: Vec<String> = status.iter().cloned().chain([stage.clone()]).collect();
        if stage == steps.start {
            if !reached.is_empty() {
                return Err(Violation::new(
                    Rule::Transition,
                    &at,
                    "a record takes its first step once",
                ));
            }
        } else {
            let Some(current) = settled(status, steps, &reached, before) else {
                return Err(Violation::new(
                    Rule::Transition,
                    &at,
                    format!("no '{}' step before it", steps.start),
                ));
            };
            if !(steps.may_follow)(stage, current) {
                return Err(Violation::new(
                    Rule::Transition,
                    &at,
                    format!("cannot move from '{current}' to '{stage}'"),
                ));
            }
        }
        if steps.incoming_only && author.role.is_some() {
            // The lifecycle's key names its handover: `[.., handover, hid, review]`.
            let handover = status.len().checked_sub(2).map(|i| &status[i]);
            let incoming = author.incoming.unwrap_or(&[]);
            if !handover.is_some_and(|h| incoming.iter().any(|i| i.as_str() == h)) {
                return Err(Violation::new(
                    Rule::NotIncoming,
                    &at,
                    "only the incoming manager of this handover reviews its items",
                ));
            }
        }
        if steps.approver_only.contains(&stage.as_str()) {
            if let Some(role) = author.role
                && !role.approves_claims()
            {
                return Err(Violation::new(
                    Rule::Role,
                    &at,
                    format!("the {role} role may not take the '{stage}' step"),
                ));
            }
            let by: Vec<String> = status
                .iter()
                .cloned()
                .chain([steps.start.to_owned(), "by".to_owned()])
                .collect();
            let requester = match before.seen(&by) {
                Seen::Scalar(s) => s.as_str().map(str::to_owned),
                _ => edits.iter().find_map(|e| match &e.op {
                    Op::Put(Val::Str(s)) if e.path == by => Some(s.clone()),
                    _ => None,
                }),
            };
            if author.role.is_some() && requester.as_deref() == Some(author.user.as_str()) {
                return Err(Violation::new(
                    Rule::SelfApproval,
                    &at,
                    "nobody decides on what they asked for themselves (their own claim or escalation)",
                ));
            }
        }
        let amount: Vec<String> = status[..status.len() - 1]
            .iter()
            .cloned()
            .chain(["amount".to_owned()])
            .collect();
        if steps.within_limit.contains(&stage.as_str()) && author.limit.is_some() {
            let beyond = match before.json(&amount) {
                Some(json) => serde_json::from_value::<Money>(json)
                    .map_or(true, |m| !super::approval::within(author.limit, &m)),
                // Made in the same change: its requester is the author (refused above).
                None => true,
            };
            if beyond {
                return Err(Violation::new(
                    Rule::ApprovalLimit,
                    &at,
                    "the claim is above your approval limit for this territory: head office approves it",
                ));
            }
        }
        if steps.after_approval.contains(&stage.as_str())
            && author.authority.is_some()
            && !reached.iter().any(|s| s == "approved")
        {
            let beyond = match before.json(&amount) {
                Some(json) => serde_json::from_value::<Money>(json)
                    .is_ok_and(|m| !super::approval::within(author.authority, &m)),
                // Made in the same change (the app never does): kept only once approved.
                None => before.seen(&status[..status.len() - 1]) == Seen::Absent,
            };
            if beyond {
                return Err(Violation::new(
                    Rule::PendingApproval,
                    &at,
                    "the commitment is above its maker's authority: it is pending until a supervisor approves it",
                ));
            }
        }
        reached.push(stage.clone());
    }
    Ok(())
}

/// Whether a record of these fields holds something only its creator writes (a
/// fixed or author field, a lifecycle, notes, photos). A record of freely
/// editable fields only (a contact, a brand, a downline customer) may be created
/// at one key by two devices at once: that is the same as two edits of its fields.
fn is_owned(record: &[Field]) -> bool {
    record.iter().any(|f| {
        f.author
            || f.write != Write::Editable
            || matches!(f.node, Node::Records { .. } | Node::Steps(_))
    })
}

/// Checks one pushed change's edits against the document the server already
/// holds (`stored`), beyond the change's own view (`own`, at its dependencies):
/// what a device wrote without having seen may not displace what another device
/// made first (`concurrent_write`). `merged` is the document with the push
/// applied. Operations are compared by id, so `stored` may be another copy.
///
/// - A record, note or photo made at a key where the server already holds one
///   the change's author never saw is refused (ids are random and photos named
///   by their hash, so honest devices never meet there; the record made second
///   would hide the first, its author and everything in it).
/// - A step-bound field (a claim's `spent`, a problem's `resolution`) written
///   beside a value its author never saw is refused if the merge would show
///   another value than the one stored (a claim already spent and reconciled
///   does not get a new amount). The same value, or a write that loses the
///   merge, changes nothing anyone sees and is accepted.
/// - The same lifecycle step taken on two devices at once (two managers marking
///   one commitment kept) is accepted: both did it; the merge shows one and
///   `Document::conflicts` lists both, as for two different steps of one rank.
///
/// Fixed fields need no check of their own: the own-view rules allow them only
/// in the change that makes their record, note or photo (checked above) or step.
pub fn check_concurrent(
    kind: DocKind,
    edits: &[Edit],
    own: &dyn View,
    stored: &dyn View,
    merged: &dyn View,
) -> Result<(), Violation> {
    for e in edits {
        let Op::Put(val) = &e.op else {
            continue;
        };
        let Ok(r) = resolve(kind, &e.path) else {
            continue;
        };
        // Whether the stored document holds a value here the change does not
        // build on (its own view is read only when there is one: a new id, the
        // honest case, costs one lookup in the stored document).
        let unseen = || {
            let held = stored.writes(&e.path);
            if held.is_empty() {
                return false;
            }
            let known = own.writes(&e.path);
            held.iter().any(|w| !known.contains(w))
        };
        match (r.place, r.write) {
            (Place::RecordKey(record), _) if *val == Val::Map && is_owned(record) && unseen() => {
                return Err(Violation::new(
                    Rule::ConcurrentWrite,
                    &e.path,
                    "another device already made a record here: its id is taken",
                ));
            }
            (Place::Field, Write::WithStep(stage))
                if unseen() && stored.value(&e.path) != merged.value(&e.path) =>
            {
                return Err(Violation::new(
                    Rule::ConcurrentWrite,
                    &e.path,
                    format!(
                        "someone else already recorded this with the '{stage}' step; \
                         a write made without seeing it may not change it"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `path` names a member of a set (where a local `null` means `false`).
pub(crate) fn is_member(kind: DocKind, path: &[String]) -> bool {
    resolve(kind, path).is_ok_and(|r| matches!(r.place, Place::Member))
}
