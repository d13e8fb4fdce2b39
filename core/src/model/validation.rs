//! `ValidationError`: every domain rule a record can break, one variant per rule.

use crate::calendar::Day;
use crate::geo::GeoError;
use crate::lifecycle::LifecycleError;
use crate::money::MoneyError;

/// A domain rule a record breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field}: {source}")]
    Money {
        field: &'static str,
        source: MoneyError,
    },
    #[error("{field}: {source}")]
    Geo {
        field: &'static str,
        source: GeoError,
    },
    #[error("tier {0} is outside 1..=5")]
    Tier(u8),
    #[error("due date {due} is before the day it was made, {made}")]
    DueBeforeCreation { due: Day, made: Day },
    #[error("ends {ends} before it starts {starts}")]
    EndsBeforeStart { starts: Day, ends: Day },
    #[error("{field} is in {found} but the claim is in {expected}")]
    CurrencyMismatch {
        field: &'static str,
        expected: String,
        found: String,
    },
    #[error("a resolved problem needs a resolution")]
    ResolutionRequired,
    #[error("the amount spent must be given when a claim is marked spent")]
    SpentAmountRequired,
    #[error("{field} is given only when the activity is held")]
    HeldOnly { field: &'static str },
    #[error("{0}")]
    Lifecycle(#[from] LifecycleError),
    #[error("photo hash must be 64 lowercase hex characters (SHA-256)")]
    PhotoHash,
    #[error("the time is outside the supported range")]
    Time,
    #[error("the time zone is not an IANA name such as Asia/Taipei")]
    Zone,
}

impl ValidationError {
    /// A stable machine-readable name of the rule broken, for the UI to choose a message.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::Empty { .. } => "empty",
            ValidationError::TooLong { .. } => "too_long",
            ValidationError::Money { .. } => "money",
            ValidationError::Geo { .. } => "geo",
            ValidationError::Tier(_) => "tier",
            ValidationError::DueBeforeCreation { .. } => "due_before_creation",
            ValidationError::EndsBeforeStart { .. } => "ends_before_start",
            ValidationError::CurrencyMismatch { .. } => "currency_mismatch",
            ValidationError::ResolutionRequired => "resolution_required",
            ValidationError::SpentAmountRequired => "spent_required",
            ValidationError::HeldOnly { .. } => "held_only",
            ValidationError::Lifecycle(_) => "lifecycle",
            ValidationError::PhotoHash => "photo_hash",
            ValidationError::Time => "time",
            ValidationError::Zone => "zone",
        }
    }
}

/// Checks a required text field: not blank and at most `max` characters.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::Empty { field });
    }
    optional_text(field, value, max)
}

/// Checks an optional text field is at most `max` characters.
pub(crate) fn optional_text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    Ok(())
}

/// Short labels: names, titles.
pub(crate) const SHORT: usize = 200;
/// Free text: notes, descriptions.
pub(crate) const LONG: usize = 10_000;
