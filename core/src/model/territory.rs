//! `Territory` (區域): a named area, its region and its assigned managers.

use serde::{Deserialize, Serialize};

use super::validation::{self, SHORT, ValidationError};
use crate::ids::UserId;
use crate::set::Set;

/// A territory's metadata and who manages it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Territory {
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub managers: Set<UserId>,
}

impl Territory {
    /// Checks the territory's own rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("territory name", &self.name, SHORT)?;
        validation::optional_text("region", &self.region, SHORT)
    }
}

/// A dealer's entry in its territory's dealer index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealerEntry {
    pub added_by: UserId,
    pub added_at: crate::calendar::Timestamp,
}

impl DealerEntry {
    /// An index entry has no rules beyond its types.
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}
