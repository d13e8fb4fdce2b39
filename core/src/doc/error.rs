//! `DocError`: what can go wrong loading, reading or editing a document.

use super::id::DocId;
use crate::ids::{DealerId, TerritoryId};
use crate::lifecycle::LifecycleError;
use crate::model::ValidationError;
use crate::schema::Violation;

/// An error from a document operation. Nothing is written when one is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocError {
    #[error("the bytes are not an Automerge document or change: {0}")]
    Malformed(String),
    #[error("not a fieldsync document: {0}")]
    Shape(String),
    #[error(
        "document schema {found} is newer than this version of fieldsync understands ({supported})"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("expected document {expected}, found {found}")]
    WrongDocument { expected: DocId, found: DocId },
    #[error("{operation} needs a {needs} document, but {doc} is not one")]
    WrongKind {
        operation: &'static str,
        needs: &'static str,
        doc: DocId,
    },
    #[error("the changes depend on {0} earlier change(s) that are missing here")]
    MissingDependencies(usize),
    #[error("{collection} has no record {id}")]
    NotFound {
        collection: &'static str,
        id: String,
    },
    #[error("{collection} already has a record {id}")]
    Duplicate {
        collection: &'static str,
        id: String,
    },
    #[error("{collection}.{field} cannot be changed by an update")]
    NotEditable {
        collection: &'static str,
        field: String,
    },
    #[error("a patch must be a JSON object")]
    PatchNotObject,
    #[error("'{0}' is a list; fieldsync documents use maps keyed by id")]
    ListNotAllowed(String),
    #[error("{collection} record {id} is unreadable: {reason}")]
    BadRecord {
        collection: &'static str,
        id: String,
        reason: String,
    },
    #[error("unknown dealer {0}")]
    UnknownDealer(DealerId),
    #[error("unknown territory {0}")]
    UnknownTerritory(TerritoryId),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The edit breaks a rule of the document schema (`crate::schema`).
    #[error(transparent)]
    Schema(#[from] Violation),
    /// No conflict with this id (any more): someone resolved it, or wrote the field again.
    #[error("no conflict {0} in this document")]
    NoConflict(String),
    /// The value given is not one of the conflict's values, or cannot be chosen here.
    #[error("conflict {id}: {reason}")]
    NotAChoice { id: String, reason: String },
    #[error("Automerge refused the operation: {0}")]
    Automerge(String),
}

impl From<automerge::AutomergeError> for DocError {
    fn from(e: automerge::AutomergeError) -> Self {
        DocError::Automerge(e.to_string())
    }
}

impl From<LifecycleError> for DocError {
    fn from(e: LifecycleError) -> Self {
        DocError::Validation(ValidationError::Lifecycle(e))
    }
}
