//! `Note`: a dated line of text appended to a visit, commitment or problem; notes are never overwritten.

use serde::Serialize;

use super::validation::{self, LONG, ValidationError};
use crate::calendar::Timestamp;
use crate::ids::UserId;

/// One note. Notes live in maps keyed by `NoteId`, so notes added on two
/// devices at once both survive the merge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub text: String,
    pub by: UserId,
    pub at: Timestamp,
}

crate::fields::from_fields!(Note, |f| Note {
    text: f.req("text")?,
    by: f.req("by")?,
    at: f.req("at")?,
});

impl Note {
    /// Checks the note has text.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("note", &self.text, LONG)
    }
}
