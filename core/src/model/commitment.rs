//! `Commitment` (承諾): a promise to a dealer, with an owner who carries it through handovers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::note::Note;
use super::validation::{self, LONG, SHORT, ValidationError};
use crate::calendar::{Day, Timestamp};
use crate::ids::{NoteId, UserId, VisitId};
use crate::lifecycle::{Decisions, Lifecycle, Stage};
use crate::money::Money;
use crate::vocab::vocab;

vocab!(/// Where a commitment stands. A commitment whose amount is above its maker's
/// authority (head office's `commitment` limits) is pending approval while `open`:
/// it counts as made once a supervisor took the `approved` step ([`pending`]).
CommitmentStatus {
    Open = "open",
    /// A supervisor approved a commitment above its maker's authority: made, still to keep.
    Approved = "approved",
    /// A supervisor refused it: never made.
    Rejected = "rejected",
    Kept = "kept",
    Broken = "broken",
    Cancelled = "cancelled",
});

impl Stage for CommitmentStatus {
    const START: Self = CommitmentStatus::Open;
    fn rank(self) -> u8 {
        match self {
            CommitmentStatus::Open => 0,
            CommitmentStatus::Approved | CommitmentStatus::Rejected => 1,
            _ => 2,
        }
    }
    fn may_follow(self, from: Self) -> bool {
        use CommitmentStatus::*;
        match from {
            Open => self != Open,
            Approved => matches!(self, Kept | Broken | Cancelled),
            _ => false,
        }
    }
    fn is_open(self) -> bool {
        matches!(self, CommitmentStatus::Open | CommitmentStatus::Approved)
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// A promise made to a dealer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Commitment {
    /// What was promised.
    pub what: String,
    /// To whom at the dealer.
    pub to_whom: String,
    pub made_by: UserId,
    /// Who must keep it now; changes in a handover.
    pub owner: UserId,
    pub made_at: Timestamp,
    pub due: Day,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The visit it was made on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitId>,
    pub status: Lifecycle<CommitmentStatus>,
    /// Head office's choices between concurrent steps of one rank (`lifecycle::Decision`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decided: Decisions,
    #[serde(default)]
    pub notes: BTreeMap<NoteId, Note>,
    /// The incoming managers' reviews in territory handovers, keyed by handover id
    /// (`model::handover::review_of` reads one); kept as JSON like `decided`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handover: BTreeMap<String, serde_json::Value>,
}

crate::fields::from_fields!(Commitment, |f| Commitment {
    what: f.req("what")?,
    to_whom: f.req("to_whom")?,
    made_by: f.req("made_by")?,
    owner: f.req("owner")?,
    made_at: f.req("made_at")?,
    due: f.req("due")?,
    amount: f.or_default("amount")?,
    visit: f.or_default("visit")?,
    status: f.req("status")?,
    decided: f.map("decided")?,
    notes: f.map("notes")?,
    handover: f.map("handover")?,
});

impl Commitment {
    /// A new open commitment made and owned by `by`.
    pub fn new(
        what: impl Into<String>,
        to_whom: impl Into<String>,
        by: UserId,
        at: Timestamp,
        due: Day,
    ) -> Self {
        Commitment {
            what: what.into(),
            to_whom: to_whom.into(),
            made_by: by.clone(),
            owner: by.clone(),
            made_at: at,
            due,
            amount: None,
            visit: None,
            status: Lifecycle::start(by, at),
            decided: Decisions::new(),
            notes: BTreeMap::new(),
            handover: BTreeMap::new(),
        }
    }

    /// Who must keep it now (its `owner`).
    pub fn holder(&self) -> &UserId {
        &self.owner
    }

    /// Checks the commitment's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("what was promised", &self.what, LONG)?;
        validation::optional_text("to whom", &self.to_whom, SHORT)?;
        let made = self.made_at.day().map_err(|_| ValidationError::Time)?;
        if self.due < made {
            return Err(ValidationError::DueBeforeCreation {
                due: self.due,
                made,
            });
        }
        if let Some(a) = &self.amount {
            a.check().map_err(|source| ValidationError::Money {
                field: "commitment amount",
                source,
            })?;
        }
        self.status.check()?;
        for n in self.notes.values() {
            n.validate()?;
        }
        Ok(())
    }

    /// Pending approval under `authority` (see [`pending`]).
    pub fn is_pending(&self, authority: Option<&[Money]>) -> bool {
        pending(self.status.current(), self.amount.as_ref(), authority)
    }

    /// Open and past its due date as of `today`.
    pub fn is_overdue(&self, today: Day) -> bool {
        overdue(self.status.current(), self.due, today)
    }
}

/// Whether a commitment still `open` (no supervisor's decision yet) with
/// `amount` is pending approval under its maker's `authority` (see
/// `schema::ApprovalLimits::authority`; `None`: no limit): its amount is above
/// it. A pending commitment does not count as made (nor as overdue) until approved.
pub fn pending(
    status: CommitmentStatus,
    amount: Option<&Money>,
    authority: Option<&[Money]>,
) -> bool {
    status == CommitmentStatus::Open && amount.is_some_and(|a| !crate::schema::within(authority, a))
}

/// Whether a commitment in `status`, due on `due`, is overdue on `today` (a day in
/// its territory's zone): still open, and its due day is over.
pub fn overdue(status: CommitmentStatus, due: Day, today: Day) -> bool {
    status.is_open() && due < today
}
