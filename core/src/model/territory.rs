//! `Territory` (區域): a named area, its region and its assigned managers.

use serde::Serialize;

use super::validation::{self, SHORT, ValidationError};
use crate::ids::UserId;
use crate::set::Set;
use crate::zone::Zone;

/// A territory's metadata and who manages it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Territory {
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub managers: Set<UserId>,
    /// The IANA time zone its "today", "overdue" and ageing are reckoned in;
    /// none: [`crate::zone::DEFAULT_ZONE`] (Asia/Taipei).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

crate::fields::from_fields!(Territory, |f| Territory {
    name: f.req("name")?,
    region: f.or_default("region")?,
    managers: f.or_default("managers")?,
    time_zone: f.or_default("time_zone")?,
});

impl Territory {
    /// Checks the territory's own rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("territory name", &self.name, SHORT)?;
        validation::optional_text("region", &self.region, SHORT)?;
        match &self.time_zone {
            Some(z) if Zone::new(z).is_err() => Err(ValidationError::Zone),
            _ => Ok(()),
        }
    }

    /// The zone its days are reckoned in.
    pub fn zone(&self) -> Zone {
        Zone::or_default(self.time_zone.as_deref())
    }
}

/// A dealer's entry in its territory's dealer index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DealerEntry {
    pub added_by: UserId,
    pub added_at: crate::calendar::Timestamp,
}

crate::fields::from_fields!(DealerEntry, |f| DealerEntry {
    added_by: f.req("added_by")?,
    added_at: f.req("added_at")?,
});

impl DealerEntry {
    /// An index entry has no rules beyond its types.
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}
