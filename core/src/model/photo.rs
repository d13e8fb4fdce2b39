//! `Photo` and `ContentHash`: photos are referenced by the SHA-256 of their bytes, never embedded.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

use super::validation::{self, SHORT, ValidationError};
use crate::calendar::Timestamp;

/// The lowercase hex SHA-256 of a photo's bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(String);

impl FromStr for ContentHash {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(ContentHash(s.to_owned()))
        } else {
            Err(ValidationError::PhotoHash)
        }
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a document knows of a photo; the bytes are stored by hash elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Photo {
    pub mime: String,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Timestamp>,
}

crate::fields::from_fields!(Photo, |f| Photo {
    mime: f.req("mime")?,
    bytes: f.req("bytes")?,
    taken_at: f.or_default("taken_at")?,
});

impl Photo {
    /// Checks the media type is named.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("photo type", &self.mime, SHORT)
    }
}

crate::text_serde::serde_as_text!(ContentHash);
