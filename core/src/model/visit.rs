//! `Visit` (拜訪): who visited which dealer, when, where, why, with notes, attendees and photos.

use std::collections::BTreeMap;

use serde::Serialize;

use super::note::Note;
use super::photo::{ContentHash, Photo};
use super::validation::{self, LONG, SHORT, ValidationError};
use crate::calendar::Timestamp;
use crate::geo::GeoFix;
use crate::ids::{CustomerId, NoteId, UserId};
use crate::set::Set;
use crate::vocab::vocab;

vocab!(/// Why a visit was made.
VisitPurpose {
    /// 培訓
    Training = "training",
    ProductIntroduction = "product_introduction",
    /// 陪同拜訪 downline customers
    JointVisit = "joint_visit",
    ProblemSolving = "problem_solving",
    PromotionPlanning = "promotion_planning",
    /// 核報
    ExpenseReconciliation = "expense_reconciliation",
});

/// One visit to a dealer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    pub manager: UserId,
    /// When the visit happened, by the device's clock.
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GeoFix>,
    #[serde(default)]
    pub purposes: Set<VisitPurpose>,
    /// A one-line summary (last writer wins); details go in `notes`.
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub notes: BTreeMap<NoteId, Note>,
    /// Names of the people present.
    #[serde(default)]
    pub attendees: Set<String>,
    #[serde(default)]
    pub photos: BTreeMap<ContentHash, Photo>,
    /// Downline customers visited together with the dealer.
    #[serde(default)]
    pub customers: Set<CustomerId>,
}

crate::fields::from_fields!(Visit, |f| Visit {
    manager: f.req("manager")?,
    at: f.req("at")?,
    gps: f.or_default("gps")?,
    purposes: f.or_default("purposes")?,
    summary: f.or_default("summary")?,
    notes: f.map("notes")?,
    attendees: f.or_default("attendees")?,
    photos: f.map("photos")?,
    customers: f.or_default("customers")?,
});

impl Visit {
    /// A visit with nothing but who and when.
    pub fn new(manager: UserId, at: Timestamp) -> Self {
        Visit {
            manager,
            at,
            gps: None,
            purposes: Set::new(),
            summary: String::new(),
            notes: BTreeMap::new(),
            attendees: Set::new(),
            photos: BTreeMap::new(),
            customers: Set::new(),
        }
    }

    /// Checks the visit's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(g) = &self.gps {
            g.check().map_err(|source| ValidationError::Geo {
                field: "visit GPS",
                source,
            })?;
        }
        validation::optional_text("summary", &self.summary, LONG)?;
        for n in self.notes.values() {
            n.validate()?;
        }
        for a in self.attendees.iter() {
            validation::text("attendee", a, SHORT)?;
        }
        for p in self.photos.values() {
            p.validate()?;
        }
        Ok(())
    }
}
