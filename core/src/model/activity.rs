//! `Activity` (渠道拓展活動 / 客戶聯誼會): a joint promotion or customer event held with the dealer.

use serde::Serialize;

use super::validation::{self, LONG, SHORT, ValidationError};
use crate::calendar::Day;
use std::collections::BTreeMap;

use crate::lifecycle::{Decisions, Lifecycle, Stage};
use crate::money::Money;
use crate::vocab::vocab;

vocab!(/// What sort of activity.
ActivityKind {
    Promotion = "promotion",
    CustomerEvent = "customer_event",
});

vocab!(/// Where an activity stands: planned → held or cancelled.
ActivityStatus {
    Planned = "planned",
    Held = "held",
    Cancelled = "cancelled",
});

impl Stage for ActivityStatus {
    const START: Self = ActivityStatus::Planned;
    fn rank(self) -> u8 {
        match self {
            ActivityStatus::Planned => 0,
            _ => 1,
        }
    }
    fn may_follow(self, from: Self) -> bool {
        from == ActivityStatus::Planned && self != ActivityStatus::Planned
    }
    fn is_open(self) -> bool {
        self == ActivityStatus::Planned
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// A promotion or customer event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub kind: ActivityKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub starts: Day,
    pub ends: Day,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    pub status: Lifecycle<ActivityStatus>,
    /// Head office's choices between concurrent steps of one rank (`lifecycle::Decision`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decided: Decisions,
}

crate::fields::from_fields!(Activity, |f| Activity {
    kind: f.req("kind")?,
    title: f.req("title")?,
    description: f.or_default("description")?,
    starts: f.req("starts")?,
    ends: f.req("ends")?,
    budget: f.or_default("budget")?,
    status: f.req("status")?,
    decided: f.map("decided")?,
});

impl Activity {
    /// Checks the activity's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("activity title", &self.title, SHORT)?;
        validation::optional_text("description", &self.description, LONG)?;
        if self.ends < self.starts {
            return Err(ValidationError::EndsBeforeStart {
                starts: self.starts,
                ends: self.ends,
            });
        }
        if let Some(b) = &self.budget {
            b.check().map_err(|source| ValidationError::Money {
                field: "activity budget",
                source,
            })?;
        }
        self.status.check()?;
        Ok(())
    }
}
