//! `Problem` (問題): an issue collected in the field, worked on and resolved, or escalated to head office.

use std::collections::BTreeMap;

use serde::Serialize;

use super::note::Note;
use super::validation::{self, LONG, SHORT, ValidationError};
use crate::calendar::Timestamp;
use crate::ids::{NoteId, UserId, VisitId};
use crate::lifecycle::{Lifecycle, Stage};
use crate::vocab::vocab;

vocab!(/// What the problem is about.
ProblemCategory {
    Dealer = "dealer",
    Staff = "staff",
    Market = "market",
    Expense = "expense",
    Competitor = "competitor",
});

vocab!(/// How bad it is.
Severity {
    Low = "low",
    Medium = "medium",
    High = "high",
    Critical = "critical",
});

vocab!(/// Where a problem stands: open → in progress → resolved.
ProblemStatus {
    Open = "open",
    InProgress = "in_progress",
    Resolved = "resolved",
});

impl Stage for ProblemStatus {
    const START: Self = ProblemStatus::Open;
    fn rank(self) -> u8 {
        match self {
            ProblemStatus::Open => 0,
            ProblemStatus::InProgress => 1,
            ProblemStatus::Resolved => 2,
        }
    }
    fn may_follow(self, from: Self) -> bool {
        self.rank() > from.rank()
    }
    fn is_open(self) -> bool {
        self != ProblemStatus::Resolved
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

vocab!(/// A problem's escalation to head office: escalated → responded.
EscalationStage {
    /// Put in head office's escalation queue (by whoever works the problem).
    Escalated = "escalated",
    /// Head office (or a regional manager) answered, or assigned it to someone.
    Responded = "responded",
});

impl Stage for EscalationStage {
    const START: Self = EscalationStage::Escalated;
    fn rank(self) -> u8 {
        match self {
            EscalationStage::Escalated => 0,
            EscalationStage::Responded => 1,
        }
    }
    fn may_follow(self, from: Self) -> bool {
        self.rank() > from.rank()
    }
    /// In head office's queue until someone answered.
    fn is_open(self) -> bool {
        self == EscalationStage::Escalated
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// A problem raised about a dealer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub category: ProblemCategory,
    pub severity: Severity,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: Lifecycle<ProblemStatus>,
    /// How it was resolved; required once resolved.
    #[serde(default)]
    pub resolution: String,
    /// Passed to head office for a decision (kept for older records; an
    /// escalation today is `escalation`).
    #[serde(default)]
    pub escalated: bool,
    /// Who works on it (the raiser until someone else takes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// Escalated to head office, and its answer: who and when for each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Lifecycle<EscalationStage>>,
    /// Head office's answer, given with the `responded` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Who head office gave it to, with the `responded` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitId>,
    #[serde(default)]
    pub notes: BTreeMap<NoteId, Note>,
    /// The incoming managers' reviews in territory handovers, keyed by handover id
    /// (`model::handover::review_of` reads one); kept as JSON like `decided`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handover: BTreeMap<String, serde_json::Value>,
}

crate::fields::from_fields!(Problem, |f| Problem {
    category: f.req("category")?,
    severity: f.req("severity")?,
    title: f.req("title")?,
    description: f.or_default("description")?,
    status: f.req("status")?,
    resolution: f.or_default("resolution")?,
    escalated: f.or_default("escalated")?,
    owner: f.or_default("owner")?,
    escalation: f.or_default("escalation")?,
    response: f.or_default("response")?,
    assigned_to: f.or_default("assigned_to")?,
    visit: f.or_default("visit")?,
    notes: f.map("notes")?,
    handover: f.map("handover")?,
});

impl Problem {
    /// A new open problem raised by `by` at `at`.
    pub fn new(
        category: ProblemCategory,
        severity: Severity,
        title: impl Into<String>,
        by: UserId,
        at: Timestamp,
    ) -> Self {
        Problem {
            category,
            severity,
            title: title.into(),
            description: String::new(),
            status: Lifecycle::start(by, at),
            resolution: String::new(),
            escalated: false,
            owner: None,
            escalation: None,
            response: None,
            assigned_to: None,
            visit: None,
            notes: BTreeMap::new(),
            handover: BTreeMap::new(),
        }
    }

    /// Who works on it now: its `owner`, else whoever raised it.
    pub fn holder(&self) -> Option<&UserId> {
        self.owner
            .as_ref()
            .or_else(|| self.status.step(ProblemStatus::Open).map(|s| &s.by))
    }

    /// When it was raised.
    pub fn raised_at(&self) -> Option<Timestamp> {
        self.status.step(ProblemStatus::Open).map(|s| s.at)
    }

    /// Whether it waits in head office's escalation queue: escalated, not yet
    /// answered, not resolved.
    pub fn awaits_head_office(&self) -> bool {
        self.status.current() != ProblemStatus::Resolved
            && self
                .escalation
                .as_ref()
                .is_some_and(|e| e.current() == EscalationStage::Escalated)
    }

    /// Checks the problem's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("problem title", &self.title, SHORT)?;
        validation::optional_text("description", &self.description, LONG)?;
        validation::optional_text("resolution", &self.resolution, LONG)?;
        self.status.check()?;
        if let Some(e) = &self.escalation {
            e.check()?;
        }
        if let Some(r) = &self.response {
            validation::text("response", r, LONG)?;
        }
        if self.status.current() == ProblemStatus::Resolved && self.resolution.trim().is_empty() {
            return Err(ValidationError::ResolutionRequired);
        }
        for n in self.notes.values() {
            n.validate()?;
        }
        Ok(())
    }
}
