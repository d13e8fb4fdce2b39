//! `Note`: a dated line of text appended to a visit, commitment or problem; notes are never overwritten.

use serde::{Deserialize, Serialize};

use super::validation::{self, LONG, ValidationError};
use crate::calendar::Timestamp;
use crate::ids::UserId;

/// One note. Notes live in maps keyed by `NoteId`, so notes added on two
/// devices at once both survive the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    pub by: UserId,
    pub at: Timestamp,
}

impl Note {
    /// Checks the note has text.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("note", &self.text, LONG)
    }
}
