//! `Rule` and `Violation`: every rule of the schema has a stable name, and a refused edit names the one it broke.

use crate::vocab::vocab;

vocab!(/// One rule of the document schema. The text names are stable: they are sent to
/// devices in a rejection's `rule` field and the UI translates them (`rule.<name>`).
Rule {
    /// A key the schema does not know at that place (this also refuses any nesting
    /// the schema does not describe, at any depth).
    UnknownField = "unknown_field",
    /// A value of the wrong type: a map where a scalar belongs, a list, text object,
    /// counter or bytes anywhere, a number where text belongs.
    WrongType = "wrong_type",
    /// A value outside its limits: text too long, a number out of range, a term
    /// not in its vocabulary, an id or map key of the wrong form.
    OutOfRange = "out_of_range",
    /// A field written after it was fixed: at creation (a visit's manager and time,
    /// a claim's amount, a note), or once a step was taken, or the skeleton.
    Immutable = "immutable",
    /// Something deleted from a grow-only map: a record, a note, a photo, a
    /// lifecycle step, a set member, a dealer index entry.
    Deleted = "deleted",
    /// An object put where one already was, which would hide it and everything in it.
    Replaced = "replaced",
    /// An author field (`manager`, `made_by`, a step's or note's `by`, `added_by`),
    /// or a change's stamp, naming another user than the one who made the change.
    ForgedAuthor = "forged_author",
    /// A change whose stamp names another device than the one that pushed it
    /// (checked by the server's `sync::ingest_from`, where the device is known).
    ForgedDevice = "forged_device",
    /// A lifecycle step without its predecessor (e.g. `spent` before `approved`),
    /// a step backwards, or a record created past its first step.
    Transition = "transition",
    /// A step or field the author's role may not take or write (approving claims,
    /// answering an escalated problem,
    /// renaming a territory, changing its managers (head office only), creating a territory).
    Role = "role",
    /// Approving or rejecting one's own claim or commitment, or answering one's own escalation.
    SelfApproval = "self_approval",
    /// Approving a claim above the approver's limit for its territory (set by
    /// head office: `schema::ApprovalLimits`); head office approves it.
    ApprovalLimit = "approval_limit",
    /// A commitment above its maker's authority (head office's `commitment`
    /// limits) marked kept or broken before a supervisor approved it.
    PendingApproval = "pending_approval",
    /// A write that does not replace the value its author saw (an operation crafted
    /// to stand beside an existing value instead of superseding it); or, on the
    /// server, one that displaces what its author never saw: a record, note or
    /// photo made at an id the server already holds, or a step-bound field (a
    /// claim's amount spent) changed beside the value someone else recorded
    /// (`check_concurrent`).
    ConcurrentWrite = "concurrent_write",
    /// A handover review step (`model::handover`) taken by someone other than
    /// that handover's incoming manager.
    NotIncoming = "not_incoming",
    /// A change by the outgoing manager of a handed-over territory that is too
    /// late to be taken as it is (`sync::handover`): stamped after the
    /// reassignment, received after the grace period, or built on work done
    /// after the reassignment. The server holds it for the incoming manager.
    HandedOver = "handed_over",
    /// A domain rule of the record (`model::ValidationError`) that the edit breaks
    /// in its own view of the document (e.g. an activity ending before it starts).
    Record = "record",
});

impl Rule {
    /// Whether breaking this rule means "you may not" (code `forbidden`) rather
    /// than "this is not valid" (code `invalid`).
    pub fn is_permission(self) -> bool {
        matches!(
            self,
            Rule::ForgedAuthor
                | Rule::ForgedDevice
                | Rule::Role
                | Rule::SelfApproval
                | Rule::ApprovalLimit
                | Rule::NotIncoming
                | Rule::HandedOver
        )
    }
}

/// An edit the schema refuses: which rule, where (keys from the document root,
/// joined with `/`), and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule} at {path}: {message}")]
pub struct Violation {
    pub rule: Rule,
    pub path: String,
    pub message: String,
}

impl Violation {
    pub(crate) fn new(rule: Rule, path: &[String], message: impl Into<String>) -> Self {
        // The path may come from an attacker: keep the message bounded.
        let mut p = String::new();
        for (i, k) in path.iter().take(8).enumerate() {
            if i > 0 {
                p.push('/');
            }
            p.extend(k.chars().take(64));
        }
        if path.len() > 8 {
            p.push_str("/…");
        }
        Violation {
            rule,
            path: p,
            message: message.into(),
        }
    }
}
