//! `DocId`: which Automerge document: a territory's (`territory:<id>`) or a dealer's (`dealer:<id>`).

use std::fmt;
use std::str::FromStr;

use crate::ids::{DealerId, IdError, TerritoryId};

/// Why a document id cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocIdError {
    #[error("document id must start with 'territory:' or 'dealer:'")]
    Prefix,
    #[error(transparent)]
    Id(#[from] IdError),
}

/// The id of one document. A territory has one document (metadata, managers,
/// dealer index); each dealer has one (profile and all its records).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocId {
    Territory(TerritoryId),
    Dealer(DealerId),
}

impl DocId {
    /// `"territory"` or `"dealer"`: the document's type, stored in it as `doc_type`.
    pub fn doc_type(&self) -> &'static str {
        match self {
            DocId::Territory(_) => "territory",
            DocId::Dealer(_) => "dealer",
        }
    }

    /// The entity id without the prefix.
    pub fn entity(&self) -> &str {
        match self {
            DocId::Territory(t) => t.as_str(),
            DocId::Dealer(d) => d.as_str(),
        }
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.doc_type(), self.entity())
    }
}

impl FromStr for DocId {
    type Err = DocIdError;
    fn from_str(s: &str) -> Result<Self, DocIdError> {
        if let Some(rest) = s.strip_prefix("territory:") {
            Ok(DocId::Territory(rest.parse()?))
        } else if let Some(rest) = s.strip_prefix("dealer:") {
            Ok(DocId::Dealer(rest.parse()?))
        } else {
            Err(DocIdError::Prefix)
        }
    }
}

crate::text_serde::serde_as_text!(DocId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip() {
        for s in ["territory:t-north", "dealer:d1"] {
            assert_eq!(s.parse::<DocId>().unwrap().to_string(), s);
        }
        assert_eq!("visit:v1".parse::<DocId>(), Err(DocIdError::Prefix));
        assert!("dealer:".parse::<DocId>().is_err());
    }
}
