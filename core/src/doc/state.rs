//! `DealerState` and `TerritoryState`: a whole document read into plain typed values.

use std::collections::BTreeMap;

use crate::ids::{
    ActivityId, ClaimId, CommitmentId, DealerId, NoteId, ProblemId, TerritoryId, VisitId,
};
use crate::model::{
    Activity, Commitment, DealerEntry, DealerProfile, ExpenseClaim, Note, Problem, Territory,
    ValidationError, Visit,
};

/// Everything a dealer document holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DealerState {
    pub id: DealerId,
    pub territory: TerritoryId,
    pub profile: DealerProfile,
    pub visits: BTreeMap<VisitId, Visit>,
    pub commitments: BTreeMap<CommitmentId, Commitment>,
    pub claims: BTreeMap<ClaimId, ExpenseClaim>,
    pub problems: BTreeMap<ProblemId, Problem>,
    pub activities: BTreeMap<ActivityId, Activity>,
    /// Notes on the dealer itself, made at any time (not inside a visit).
    pub notes: BTreeMap<NoteId, Note>,
}

impl DealerState {
    /// Checks every record's rules; the first broken one is returned.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.profile.validate()?;
        self.visits.values().try_for_each(Visit::validate)?;
        self.commitments
            .values()
            .try_for_each(Commitment::validate)?;
        self.claims.values().try_for_each(ExpenseClaim::validate)?;
        self.problems.values().try_for_each(Problem::validate)?;
        self.activities.values().try_for_each(Activity::validate)?;
        self.notes.values().try_for_each(Note::validate)
    }
}

/// Everything a territory document holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TerritoryState {
    pub id: TerritoryId,
    pub profile: Territory,
    pub dealers: BTreeMap<DealerId, DealerEntry>,
}
