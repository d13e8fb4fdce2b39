//! `ExpenseClaim` (費用申報): requested before use, approved or rejected, spent, then reconciled (核報).

use std::collections::BTreeMap;

use serde::Serialize;

use super::photo::{ContentHash, Photo};
use super::validation::{self, LONG, ValidationError};
use crate::calendar::Timestamp;
use crate::ids::{ActivityId, UserId, VisitId};
use crate::lifecycle::{Decisions, Lifecycle, Stage};
use crate::money::Money;
use crate::vocab::vocab;

vocab!(/// What the money is for.
ExpenseCategory {
    /// 鋪市費用
    Placement = "placement",
    /// 業務員工資
    SalesmanWage = "salesman_wage",
    Event = "event",
    Training = "training",
    Other = "other",
});

vocab!(/// A claim's steps: requested → approved or rejected → spent → reconciled.
ClaimStage {
    Requested = "requested",
    Approved = "approved",
    Rejected = "rejected",
    Spent = "spent",
    Reconciled = "reconciled",
});

impl Stage for ClaimStage {
    const START: Self = ClaimStage::Requested;
    fn rank(self) -> u8 {
        match self {
            ClaimStage::Requested => 0,
            ClaimStage::Approved | ClaimStage::Rejected => 1,
            ClaimStage::Spent => 2,
            ClaimStage::Reconciled => 3,
        }
    }
    fn may_follow(self, from: Self) -> bool {
        matches!(
            (from, self),
            (ClaimStage::Requested, ClaimStage::Approved)
                | (ClaimStage::Requested, ClaimStage::Rejected)
                | (ClaimStage::Approved, ClaimStage::Spent)
                | (ClaimStage::Spent, ClaimStage::Reconciled)
        )
    }
    fn is_open(self) -> bool {
        !matches!(self, ClaimStage::Rejected | ClaimStage::Reconciled)
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// An expense claim against a dealer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpenseClaim {
    pub category: ExpenseCategory,
    /// What it is for, in words.
    pub purpose: String,
    /// The amount requested.
    pub amount: Money,
    /// The amount actually spent, given when the claim is marked spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent: Option<Money>,
    /// Receipt photos, given with the amount spent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub receipts: BTreeMap<ContentHash, Photo>,
    /// Why it was rejected, given with the `rejected` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitId>,
    /// The activity whose budget this claim asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityId>,
    pub status: Lifecycle<ClaimStage>,
    /// Head office's choices between concurrent steps of one rank (`lifecycle::Decision`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decided: Decisions,
    /// Who carries it now, when not its requester (set when a handover is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// The incoming managers' reviews in territory handovers, keyed by handover id
    /// (`model::handover::review_of` reads one); kept as JSON like `decided`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handover: BTreeMap<String, serde_json::Value>,
}

crate::fields::from_fields!(ExpenseClaim, |f| ExpenseClaim {
    category: f.req("category")?,
    purpose: f.req("purpose")?,
    amount: f.req("amount")?,
    spent: f.or_default("spent")?,
    receipts: f.map("receipts")?,
    reason: f.or_default("reason")?,
    visit: f.or_default("visit")?,
    activity: f.or_default("activity")?,
    status: f.req("status")?,
    decided: f.map("decided")?,
    owner: f.or_default("owner")?,
    handover: f.map("handover")?,
});

impl ExpenseClaim {
    /// A new claim, requested by `by` at `at`.
    pub fn new(
        category: ExpenseCategory,
        purpose: impl Into<String>,
        amount: Money,
        by: UserId,
        at: Timestamp,
    ) -> Self {
        ExpenseClaim {
            category,
            purpose: purpose.into(),
            amount,
            spent: None,
            receipts: BTreeMap::new(),
            reason: None,
            visit: None,
            activity: None,
            status: Lifecycle::start(by, at),
            decided: Decisions::new(),
            owner: None,
            handover: BTreeMap::new(),
        }
    }

    /// Who asked for the money.
    pub fn requested_by(&self) -> Option<&UserId> {
        self.status.step(ClaimStage::Requested).map(|s| &s.by)
    }

    /// Who carries it now: its `owner`, else its requester.
    pub fn holder(&self) -> Option<&UserId> {
        self.owner.as_ref().or_else(|| self.requested_by())
    }

    /// Checks the claim's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("claim purpose", &self.purpose, LONG)?;
        self.amount
            .check()
            .map_err(|source| ValidationError::Money {
                field: "claim amount",
                source,
            })?;
        self.status.check()?;
        if let Some(r) = &self.reason {
            validation::text("rejection reason", r, LONG)?;
        }
        for p in self.receipts.values() {
            p.validate()?;
        }
        if let Some(s) = &self.spent {
            s.check().map_err(|source| ValidationError::Money {
                field: "amount spent",
                source,
            })?;
            if s.currency != self.amount.currency {
                return Err(ValidationError::CurrencyMismatch {
                    field: "amount spent",
                    expected: self.amount.currency.to_string(),
                    found: s.currency.to_string(),
                });
            }
        }
        if self.status.current().rank() >= ClaimStage::Spent.rank() && self.spent.is_none() {
            return Err(ValidationError::SpentAmountRequired);
        }
        Ok(())
    }
}
