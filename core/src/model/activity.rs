//! `Activity` (渠道拓展活動 / 客戶聯誼會): a joint promotion or customer event held with the dealer:
//! planned with the downline customers invited, then held (who came, how many, what came of it, photos) or cancelled.

use std::collections::BTreeMap;

use serde::Serialize;

use super::photo::{ContentHash, Photo};
use super::validation::{self, LONG, SHORT, ValidationError};
use crate::calendar::{Day, Timestamp};
use crate::ids::{CustomerId, UserId};
use crate::lifecycle::{Decisions, Lifecycle, Stage};
use crate::money::Money;
use crate::set::Set;
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
    /// The dealer's downline customers invited (`DealerProfile::downline` ids).
    #[serde(default)]
    pub invited: Set<CustomerId>,
    /// The downline customers who came; given with the `held` step, as are the fields below.
    #[serde(default)]
    pub attended: Set<CustomerId>,
    /// How many people came in all (headcount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendance: Option<u32>,
    /// What came of it, in words.
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub photos: BTreeMap<ContentHash, Photo>,
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
    invited: f.or_default("invited")?,
    attended: f.or_default("attended")?,
    attendance: f.or_default("attendance")?,
    result: f.or_default("result")?,
    photos: f.map("photos")?,
    status: f.req("status")?,
    decided: f.map("decided")?,
});

impl Activity {
    /// A new activity of `kind` from `starts` to `ends`, planned by `by` at `at`, with no budget or invitations yet.
    pub fn planned(
        kind: ActivityKind,
        title: impl Into<String>,
        starts: Day,
        ends: Day,
        by: UserId,
        at: Timestamp,
    ) -> Self {
        Activity {
            kind,
            title: title.into(),
            description: String::new(),
            starts,
            ends,
            budget: None,
            invited: Set::new(),
            attended: Set::new(),
            attendance: None,
            result: String::new(),
            photos: BTreeMap::new(),
            status: Lifecycle::start(by, at),
            decided: Decisions::new(),
        }
    }

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
        validation::optional_text("activity result", &self.result, LONG)?;
        for p in self.photos.values() {
            p.validate()?;
        }
        self.status.check()?;
        if self.status.step(ActivityStatus::Held).is_none() {
            let given = [
                ("attended customers", !self.attended.is_empty()),
                ("attendance", self.attendance.is_some()),
                ("activity result", !self.result.is_empty()),
                ("activity photos", !self.photos.is_empty()),
            ];
            if let Some((field, _)) = given.into_iter().find(|(_, given)| *given) {
                return Err(ValidationError::HeldOnly { field });
            }
        }
        Ok(())
    }
}
