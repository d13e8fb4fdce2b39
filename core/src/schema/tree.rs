//! The declarative table: every path of a dealer and a territory document, its type, limits and write rules.

use std::str::FromStr;

use crate::calendar::Day;
use crate::ids::{ActivityId, ClaimId, CommitmentId, ContactId, CustomerId, DealerId, NoteId};
use crate::ids::{HandoverId, ProblemId, UserId, VisitId};
use crate::lifecycle::{Stage, is_conflict_key};
use crate::model::validation::{LONG, SHORT};
use crate::model::{ActivityKind, ActivityStatus, ClaimStage, CommitmentStatus, ContentHash};
use crate::model::{DealerKind, DealerStatus, ExpenseCategory, ProblemCategory, ProblemStatus};
use crate::model::{EscalationStage, HandoverStage, Severity, VisitPurpose};

/// What may be stored at one key.
#[derive(Debug)]
pub enum Node {
    /// A string of at most `max` characters (whether it may be empty is a record rule).
    Text {
        max: usize,
    },
    /// A whole number in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// A number in `min..=max` (a whole number is accepted too).
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// Milliseconds since 1970 (`calendar::Timestamp`).
    Time,
    /// A string accepted by `ok`: a vocabulary term, an id, a day (`YYYY-MM-DD`).
    Word {
        what: &'static str,
        ok: fn(&str) -> bool,
    },
    /// A map with exactly these keys (each optional unless a record rule says otherwise).
    Object(&'static [Field]),
    /// A grow-only map of records keyed by `key`: records are added, never deleted
    /// or replaced; each record is a new unit for [`Write::Fixed`].
    Records {
        key: Key,
        record: &'static [Field],
    },
    /// A grow-only set `{member: true}`: a member may be switched to `false`, never deleted.
    Set {
        key: Key,
    },
    /// A lifecycle: a grow-only map `{stage: {by, at}}`, see [`Steps`].
    Steps(&'static Steps),
}

/// What a map key must look like.
#[derive(Debug)]
pub struct Key {
    pub what: &'static str,
    pub ok: fn(&str) -> bool,
}

/// One key of an object or record.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub node: Node,
    pub write: Write,
    /// Must equal the user who made the change (`manager`, `made_by`, `by`, `added_by`).
    pub author: bool,
}

/// When a field (and everything below it) may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Any time, by anyone who may write the document.
    Editable,
    /// Only in the change that creates the record (or note, or step) it belongs to.
    Fixed,
    /// At creation, or in the change that adds this lifecycle step (a claim's `spent`
    /// amount with the `spent` step, a problem's `resolution` with `resolved`).
    WithStep(&'static str),
    /// Any time, but only by a supervising role (regional, head office, admin).
    Supervisor,
    /// Only in the change that creates its unit (a decision between concurrent
    /// steps), and only by a regional manager or head office (`role`).
    Approver,
    /// Any time, but only by head office or an admin (a territory's manager list:
    /// shown to people, it grants nothing; access is what an administrator assigns).
    HeadOffice,
}

/// A record kind's lifecycle: the stages, how they follow each other, who may take them.
#[derive(Debug)]
pub struct Steps {
    /// Every stage, in declaration order (ties in rank go to the later one).
    pub stages: &'static [&'static str],
    /// The stage a record is created in.
    pub start: &'static str,
    /// How far along a stage is; `None` for a word that is not a stage.
    pub rank: fn(&str) -> Option<u8>,
    /// Whether a record whose current stage is `from` may take the step `to`.
    pub may_follow: fn(to: &str, from: &str) -> bool,
    /// Stages only claim approvers (regional, head office) may take, never on
    /// their own claim (the one whose `start` step they took).
    pub approver_only: &'static [&'static str],
    /// Stages whose taker's approval limit must cover the record's `amount`
    /// (`super::approval`, rule `approval_limit`; the server knows the limits).
    pub within_limit: &'static [&'static str],
    /// Stages a record whose `amount` is above its maker's authority takes only
    /// after `approved` (a commitment pending approval; rule `pending_approval`).
    pub after_approval: &'static [&'static str],
    /// Only the incoming manager of the handover the lifecycle belongs to (the
    /// key above it) takes these steps (rule `not_incoming`; the server knows
    /// who that is: `check::Author::incoming`).
    pub incoming_only: bool,
}

fn parses<T: FromStr>(s: &str) -> bool {
    s.parse::<T>().is_ok()
}

fn rank<S: Stage>(s: &str) -> Option<u8> {
    s.parse::<S>().ok().map(Stage::rank)
}

fn follows<S: Stage>(to: &str, from: &str) -> bool {
    match (to.parse::<S>(), from.parse::<S>()) {
        (Ok(to), Ok(from)) => to.may_follow(from),
        _ => false,
    }
}

fn short_text(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= SHORT
}

const fn f(name: &'static str, node: Node, write: Write) -> Field {
    Field {
        name,
        node,
        write,
        author: false,
    }
}

/// An author field: fixed at creation and equal to the change's author.
const fn author(name: &'static str) -> Field {
    Field {
        name,
        node: Node::Word {
            what: "user id",
            ok: parses::<UserId>,
        },
        write: Write::Fixed,
        author: true,
    }
}

const USER: Node = Node::Word {
    what: "user id",
    ok: parses::<UserId>,
};
const DAY: Node = Node::Word {
    what: "day (YYYY-MM-DD)",
    ok: parses::<Day>,
};
const VISIT_REF: Node = Node::Word {
    what: "visit id",
    ok: parses::<VisitId>,
};
const ACTIVITY_REF: Node = Node::Word {
    what: "activity id",
    ok: parses::<ActivityId>,
};
const CUSTOMERS: Node = Node::Set {
    key: Key {
        what: "customer id",
        ok: parses::<CustomerId>,
    },
};
const SHORT_TEXT: Node = Node::Text { max: SHORT };
const LONG_TEXT: Node = Node::Text { max: LONG };

/// `Money`: minor units and an ISO 4217 code.
const MONEY: &[Field] = &[
    f(
        "minor",
        Node::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        Write::Editable,
    ),
    f("currency", Node::Text { max: 3 }, Write::Editable),
];

/// `GeoPoint`.
const POINT: &[Field] = &[
    f(
        "lat",
        Node::Float {
            min: -90.0,
            max: 90.0,
        },
        Write::Editable,
    ),
    f(
        "lon",
        Node::Float {
            min: -180.0,
            max: 180.0,
        },
        Write::Editable,
    ),
];

/// `GeoFix`, stored flat.
const FIX: &[Field] = &[
    f(
        "lat",
        Node::Float {
            min: -90.0,
            max: 90.0,
        },
        Write::Editable,
    ),
    f(
        "lon",
        Node::Float {
            min: -180.0,
            max: 180.0,
        },
        Write::Editable,
    ),
    f(
        "accuracy_m",
        Node::Float {
            min: 0.0,
            max: 1.0e7,
        },
        Write::Editable,
    ),
    f("manual", Node::Bool, Write::Editable),
];

/// A lifecycle step `{by, at}`.
pub(crate) const STEP_FIELDS: &[Field] = &[author("by"), f("at", Node::Time, Write::Fixed)];

/// A decision between concurrent steps of one rank (`lifecycle::Decision`):
/// written once, by an approver, naming one of its key's stages.
const fn decision_fields(stage: fn(&str) -> bool) -> [Field; 3] {
    [
        Field {
            name: "step",
            node: Node::Word {
                what: "lifecycle stage",
                ok: stage,
            },
            write: Write::Approver,
            author: false,
        },
        Field {
            name: "by",
            node: USER,
            write: Write::Approver,
            author: true,
        },
        f("at", Node::Time, Write::Approver),
    ]
}

/// A record's `decided` map: decisions keyed by the concurrent stages they settle.
const fn decided(key: fn(&str) -> bool, record: &'static [Field]) -> Field {
    f(
        "decided",
        Node::Records {
            key: Key {
                what: "set of concurrent stages (a+b)",
                ok: key,
            },
            record,
        },
        Write::Editable,
    )
}

fn commitment_key(s: &str) -> bool {
    is_conflict_key(s, rank::<CommitmentStatus>)
}
fn claim_key(s: &str) -> bool {
    is_conflict_key(s, rank::<ClaimStage>)
}
fn activity_key(s: &str) -> bool {
    is_conflict_key(s, rank::<ActivityStatus>)
}

const COMMITMENT_DECISION: &[Field] = &decision_fields(parses::<CommitmentStatus>);
const CLAIM_DECISION: &[Field] = &decision_fields(parses::<ClaimStage>);
const ACTIVITY_DECISION: &[Field] = &decision_fields(parses::<ActivityStatus>);

/// `Note`: written once, never changed.
const NOTE: &[Field] = &[
    f("text", LONG_TEXT, Write::Fixed),
    author("by"),
    f("at", Node::Time, Write::Fixed),
];

const NOTES: Field = f(
    "notes",
    Node::Records {
        key: Key {
            what: "note id",
            ok: parses::<NoteId>,
        },
        record: NOTE,
    },
    Write::Editable,
);

/// `Photo`: what a visit knows of a photo, keyed by the SHA-256 of its bytes.
const PHOTO: &[Field] = &[
    f("mime", SHORT_TEXT, Write::Fixed),
    f(
        "bytes",
        Node::Int {
            min: 0,
            max: i64::MAX,
        },
        Write::Fixed,
    ),
    f("taken_at", Node::Time, Write::Fixed),
];

/// Photos keyed by the SHA-256 of their bytes (a visit's, a claim's receipts, an activity's).
const PHOTOS: Node = Node::Records {
    key: Key {
        what: "SHA-256 photo hash",
        ok: parses::<ContentHash>,
    },
    record: PHOTO,
};

const VISIT: &[Field] = &[
    author("manager"),
    f("at", Node::Time, Write::Fixed),
    f("gps", Node::Object(FIX), Write::Editable),
    f(
        "purposes",
        Node::Set {
            key: Key {
                what: "visit purpose",
                ok: parses::<VisitPurpose>,
            },
        },
        Write::Editable,
    ),
    f("summary", LONG_TEXT, Write::Editable),
    NOTES,
    f(
        "attendees",
        Node::Set {
            key: Key {
                what: "attendee name",
                ok: short_text,
            },
        },
        Write::Editable,
    ),
    f("photos", PHOTOS, Write::Editable),
    f("customers", CUSTOMERS, Write::Editable),
];

/// The incoming manager's review of one handover item (`model::handover`):
/// reviewed → flagged → accepted, only by the incoming manager.
const HANDOVER_STEPS: Steps = Steps {
    stages: &["reviewed", "flagged", "accepted"],
    start: "reviewed",
    rank: rank::<HandoverStage>,
    may_follow: follows::<HandoverStage>,
    approver_only: &[],
    within_limit: &[],
    after_approval: &[],
    incoming_only: true,
};

/// One handover item: the review, and why it was flagged (with `flagged` only).
const HANDOVER_ITEM: &[Field] = &[
    f("review", Node::Steps(&HANDOVER_STEPS), Write::Editable),
    f("reason", LONG_TEXT, Write::WithStep("flagged")),
];

/// A record's handover reviews, keyed by handover id.
const HANDOVER: Field = f(
    "handover",
    Node::Records {
        key: Key {
            what: "handover id",
            ok: parses::<HandoverId>,
        },
        record: HANDOVER_ITEM,
    },
    Write::Editable,
);

const COMMITMENT_STEPS: Steps = Steps {
    stages: &[
        "open",
        "approved",
        "rejected",
        "kept",
        "broken",
        "cancelled",
    ],
    start: "open",
    rank: rank::<CommitmentStatus>,
    may_follow: follows::<CommitmentStatus>,
    approver_only: &["approved", "rejected"],
    within_limit: &["approved"],
    after_approval: &["kept", "broken"],
    incoming_only: false,
};

const COMMITMENT: &[Field] = &[
    f("what", LONG_TEXT, Write::Editable),
    f("to_whom", SHORT_TEXT, Write::Editable),
    author("made_by"),
    f("owner", USER, Write::Editable),
    f("made_at", Node::Time, Write::Fixed),
    f("due", DAY, Write::Editable),
    // Fixed: what a supervisor approved is what was promised.
    f("amount", Node::Object(MONEY), Write::Fixed),
    f("visit", VISIT_REF, Write::Fixed),
    f("status", Node::Steps(&COMMITMENT_STEPS), Write::Editable),
    decided(commitment_key, COMMITMENT_DECISION),
    NOTES,
    HANDOVER,
];

const CLAIM_STEPS: Steps = Steps {
    stages: &["requested", "approved", "rejected", "spent", "reconciled"],
    start: "requested",
    rank: rank::<ClaimStage>,
    may_follow: follows::<ClaimStage>,
    approver_only: &["approved", "rejected"],
    within_limit: &["approved"],
    after_approval: &[],
    incoming_only: false,
};

const CLAIM: &[Field] = &[
    f(
        "category",
        Node::Word {
            what: "expense category",
            ok: parses::<ExpenseCategory>,
        },
        Write::Editable,
    ),
    f("purpose", LONG_TEXT, Write::Editable),
    f("amount", Node::Object(MONEY), Write::Fixed),
    f("spent", Node::Object(MONEY), Write::WithStep("spent")),
    // Receipt photos, given with the amount spent (more may follow later).
    f("receipts", PHOTOS, Write::WithStep("spent")),
    // Why the claim was rejected, given with the `rejected` step.
    f("reason", LONG_TEXT, Write::WithStep("rejected")),
    f("visit", VISIT_REF, Write::Fixed),
    // The activity whose budget the claim asks for.
    f("activity", ACTIVITY_REF, Write::Fixed),
    f("status", Node::Steps(&CLAIM_STEPS), Write::Editable),
    decided(claim_key, CLAIM_DECISION),
    // Who carries it now when not its requester (a handover's incoming manager).
    f("owner", USER, Write::Editable),
    HANDOVER,
];

const PROBLEM_STEPS: Steps = Steps {
    stages: &["open", "in_progress", "resolved"],
    start: "open",
    rank: rank::<ProblemStatus>,
    may_follow: follows::<ProblemStatus>,
    approver_only: &[],
    within_limit: &[],
    after_approval: &[],
    incoming_only: false,
};

const ESCALATION_STEPS: Steps = Steps {
    stages: &["escalated", "responded"],
    start: "escalated",
    rank: rank::<EscalationStage>,
    may_follow: follows::<EscalationStage>,
    // Head office (or a regional manager) answers, never the one who escalated.
    approver_only: &["responded"],
    within_limit: &[],
    after_approval: &[],
    incoming_only: false,
};

const PROBLEM: &[Field] = &[
    f(
        "category",
        Node::Word {
            what: "problem category",
            ok: parses::<ProblemCategory>,
        },
        Write::Editable,
    ),
    f(
        "severity",
        Node::Word {
            what: "severity",
            ok: parses::<Severity>,
        },
        Write::Editable,
    ),
    f("title", SHORT_TEXT, Write::Editable),
    f("description", LONG_TEXT, Write::Editable),
    f("status", Node::Steps(&PROBLEM_STEPS), Write::Editable),
    f("resolution", LONG_TEXT, Write::WithStep("resolved")),
    f("escalated", Node::Bool, Write::Editable),
    f("owner", USER, Write::Editable),
    f(
        "escalation",
        Node::Steps(&ESCALATION_STEPS),
        Write::Editable,
    ),
    // Head office's answer and whom it assigned the problem to, with `responded`.
    f("response", LONG_TEXT, Write::WithStep("responded")),
    f("assigned_to", USER, Write::WithStep("responded")),
    f("visit", VISIT_REF, Write::Fixed),
    NOTES,
    HANDOVER,
];

const ACTIVITY_STEPS: Steps = Steps {
    stages: &["planned", "held", "cancelled"],
    start: "planned",
    rank: rank::<ActivityStatus>,
    may_follow: follows::<ActivityStatus>,
    approver_only: &[],
    within_limit: &[],
    after_approval: &[],
    incoming_only: false,
};

const ACTIVITY: &[Field] = &[
    f(
        "kind",
        Node::Word {
            what: "activity kind",
            ok: parses::<ActivityKind>,
        },
        Write::Editable,
    ),
    f("title", SHORT_TEXT, Write::Editable),
    f("description", LONG_TEXT, Write::Editable),
    f("starts", DAY, Write::Editable),
    f("ends", DAY, Write::Editable),
    f("budget", Node::Object(MONEY), Write::Editable),
    f("invited", CUSTOMERS, Write::Editable),
    // What happened, given with the `held` step (or when an activity is recorded already held).
    f("attended", CUSTOMERS, Write::WithStep("held")),
    f(
        "attendance",
        Node::Int {
            min: 0,
            max: 100_000,
        },
        Write::WithStep("held"),
    ),
    f("result", LONG_TEXT, Write::WithStep("held")),
    f("photos", PHOTOS, Write::WithStep("held")),
    f("status", Node::Steps(&ACTIVITY_STEPS), Write::Editable),
    decided(activity_key, ACTIVITY_DECISION),
];

const CONTACT: &[Field] = &[
    f("name", SHORT_TEXT, Write::Editable),
    f("role", SHORT_TEXT, Write::Editable),
    f("phone", SHORT_TEXT, Write::Editable),
    f("email", SHORT_TEXT, Write::Editable),
    f("gone", Node::Bool, Write::Editable),
];

const BRAND: &[Field] = &[
    f("exclusive", Node::Bool, Write::Editable),
    f("gone", Node::Bool, Write::Editable),
];

const DOWNLINE: &[Field] = &[
    f("name", SHORT_TEXT, Write::Editable),
    f("core", Node::Bool, Write::Editable),
    f("note", LONG_TEXT, Write::Editable),
];

const DEALER_PROFILE: &[Field] = &[
    f("name", SHORT_TEXT, Write::Editable),
    f(
        "kind",
        Node::Word {
            what: "dealer kind",
            ok: parses::<DealerKind>,
        },
        Write::Editable,
    ),
    f("tier", Node::Int { min: 1, max: 5 }, Write::Editable),
    f(
        "status",
        Node::Word {
            what: "dealer status",
            ok: parses::<DealerStatus>,
        },
        Write::Editable,
    ),
    f("address", LONG_TEXT, Write::Editable),
    f("location", Node::Object(POINT), Write::Editable),
    f(
        "contacts",
        Node::Records {
            key: Key {
                what: "contact id",
                ok: parses::<ContactId>,
            },
            record: CONTACT,
        },
        Write::Editable,
    ),
    f(
        "brands",
        Node::Records {
            key: Key {
                what: "brand name",
                ok: short_text,
            },
            record: BRAND,
        },
        Write::Editable,
    ),
    f(
        "downline",
        Node::Records {
            key: Key {
                what: "customer id",
                ok: parses::<CustomerId>,
            },
            record: DOWNLINE,
        },
        Write::Editable,
    ),
];

const fn records(
    name: &'static str,
    what: &'static str,
    ok: fn(&str) -> bool,
    record: &'static [Field],
) -> Field {
    f(
        name,
        Node::Records {
            key: Key { what, ok },
            record,
        },
        Write::Editable,
    )
}

/// The collections of a dealer document (the genesis change creates each map).
pub const DEALER: &[Field] = &[
    f("profile", Node::Object(DEALER_PROFILE), Write::Editable),
    records("visits", "visit id", parses::<VisitId>, VISIT),
    records(
        "commitments",
        "commitment id",
        parses::<CommitmentId>,
        COMMITMENT,
    ),
    records("claims", "claim id", parses::<ClaimId>, CLAIM),
    records("problems", "problem id", parses::<ProblemId>, PROBLEM),
    records("activities", "activity id", parses::<ActivityId>, ACTIVITY),
    // Made by a migration change (`doc::genesis::DEALER_MIGRATIONS`), not the genesis.
    records("notes", "note id", parses::<NoteId>, NOTE),
];

const TERRITORY_PROFILE: &[Field] = &[
    f("name", SHORT_TEXT, Write::Supervisor),
    f("region", SHORT_TEXT, Write::Supervisor),
    f(
        "time_zone",
        Node::Word {
            what: "IANA time zone",
            ok: parses::<crate::zone::Zone>,
        },
        Write::HeadOffice,
    ),
    f(
        "managers",
        Node::Set {
            key: Key {
                what: "user id",
                ok: parses::<UserId>,
            },
        },
        Write::HeadOffice,
    ),
];

/// `DealerEntry`: a dealer's line in its territory's index.
const ENTRY: &[Field] = &[author("added_by"), f("added_at", Node::Time, Write::Fixed)];

/// The collections of a territory document.
pub const TERRITORY: &[Field] = &[
    f("profile", Node::Object(TERRITORY_PROFILE), Write::Editable),
    records("dealers", "dealer id", parses::<DealerId>, ENTRY),
];

/// The skeleton keys the genesis change writes at the root besides the collections.
pub const SKELETON: &[&str] = &["schema", "doc_type", "id", "territory"];
