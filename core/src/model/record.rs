//! `Record`: what the dealer document needs to know of each record kind it stores in a collection.

use std::fmt::Display;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    Activity, ActivityStatus, ClaimStage, Commitment, CommitmentStatus, DealerEntry, ExpenseClaim,
};
use super::{Note, Problem, ProblemStatus, ValidationError, Visit};
use crate::ids::{ActivityId, ClaimId, CommitmentId, DealerId, NoteId, ProblemId, VisitId};
use crate::lifecycle::{Decisions, Lifecycle, Stage};

/// A record kind kept in a dealer document's map named `COLLECTION`, keyed by `Id`.
pub trait Record: Serialize + DeserializeOwned + Clone {
    /// The id type.
    type Id: Display + FromStr + Ord + Clone;
    /// The key of the record map in the dealer document.
    const COLLECTION: &'static str;
    /// The fields an update may change; the rest are set at creation or by
    /// dedicated operations (status steps, notes).
    const EDITABLE: &'static [&'static str];
    /// Checks the record's rules.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// A record with a forward-only status.
pub trait Tracked: Record {
    /// Its status vocabulary.
    type Stage: Stage;
    /// Its steps so far.
    fn lifecycle(&self) -> &Lifecycle<Self::Stage>;
    /// Head office's choices between concurrent steps of one rank.
    fn decided(&self) -> Option<&Decisions> {
        None
    }
    /// Open and past its due day as of `today` (only commitments have one).
    fn is_overdue(&self, _today: crate::calendar::Day) -> bool {
        false
    }
}

/// A record that keeps a map of notes under `notes`.
pub trait Notable: Record {}

macro_rules! tracked {
    ($ty:ty, $stage:ty) => {
        impl Tracked for $ty {
            type Stage = $stage;
            fn lifecycle(&self) -> &Lifecycle<$stage> {
                &self.status
            }
            fn decided(&self) -> Option<&Decisions> {
                Some(&self.decided)
            }
        }
    };
}

impl Tracked for Commitment {
    type Stage = CommitmentStatus;
    fn lifecycle(&self) -> &Lifecycle<CommitmentStatus> {
        &self.status
    }
    fn decided(&self) -> Option<&Decisions> {
        Some(&self.decided)
    }
    fn is_overdue(&self, today: crate::calendar::Day) -> bool {
        Commitment::is_overdue(self, today)
    }
}
tracked!(ExpenseClaim, ClaimStage);
impl Tracked for Problem {
    type Stage = ProblemStatus;
    fn lifecycle(&self) -> &Lifecycle<ProblemStatus> {
        &self.status
    }
}
tracked!(Activity, ActivityStatus);
impl Notable for Visit {}
impl Notable for Commitment {}
impl Notable for Problem {}

macro_rules! record {
    ($ty:ty, $id:ty, $collection:literal, [$($field:literal),* $(,)?]) => {
        impl Record for $ty {
            type Id = $id;
            const COLLECTION: &'static str = $collection;
            const EDITABLE: &'static [&'static str] = &[$($field),*];
            fn validate(&self) -> Result<(), ValidationError> {
                <$ty>::validate(self)
            }
        }
    };
}

record!(
    Visit,
    VisitId,
    "visits",
    [
        "gps",
        "purposes",
        "summary",
        "attendees",
        "photos",
        "customers"
    ]
);
record!(
    Commitment,
    CommitmentId,
    "commitments",
    ["what", "to_whom", "due", "owner"]
);
record!(
    ExpenseClaim,
    ClaimId,
    "claims",
    ["category", "purpose", "owner"]
);
record!(
    Problem,
    ProblemId,
    "problems",
    [
        "category",
        "severity",
        "title",
        "description",
        "escalated",
        "owner"
    ]
);
record!(
    Activity,
    ActivityId,
    "activities",
    [
        "kind",
        "title",
        "description",
        "starts",
        "ends",
        "budget",
        "invited"
    ]
);
record!(DealerEntry, DealerId, "dealers", []);
// A note on the dealer itself, at any time (not inside a visit): written once.
record!(Note, NoteId, "notes", []);
