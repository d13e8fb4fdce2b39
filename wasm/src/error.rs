//! `Error`: every failure of a binding, with a stable `code`; becomes a JS `Error` carrying that code.

use fieldsync_core::UnknownTerm;
use fieldsync_core::doc::{DocError, DocIdError};
use fieldsync_core::ids::IdError;
use fieldsync_core::sync::SyncError;
use wasm_bindgen::JsValue;

/// Why a call from JS failed. Nothing was changed when one is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A document operation failed (validation, shape, not found, …).
    #[error(transparent)]
    Doc(#[from] DocError),
    /// A sync response could not be handled at all.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// An id is not valid.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A document id is not valid.
    #[error(transparent)]
    DocId(#[from] DocIdError),
    /// A word is not in a vocabulary (a status, a kind).
    #[error(transparent)]
    Term(#[from] UnknownTerm),
    /// The JSON given does not have the expected shape.
    #[error("{0}")]
    Json(String),
    /// There is no record collection of that name, or the operation does not apply to it.
    #[error("'{0}' is not a collection this operation applies to")]
    Collection(String),
    /// A time is outside the supported range.
    #[error(transparent)]
    Calendar(#[from] fieldsync_core::calendar::CalendarError),
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e.to_string())
    }
}

impl Error {
    /// A stable machine-readable name for the failure, for the UI to choose a message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Doc(e) | Error::Sync(SyncError::Doc(e)) => match e {
                DocError::Malformed(_) => "malformed",
                DocError::Shape(_) => "shape",
                DocError::SchemaTooNew { .. } => "schema_too_new",
                DocError::WrongDocument { .. } => "wrong_document",
                DocError::WrongKind { .. } => "wrong_kind",
                DocError::MissingDependencies(_) => "missing_dependencies",
                DocError::NotFound { .. } => "not_found",
                DocError::Duplicate { .. } => "duplicate",
                DocError::NotEditable { .. } => "not_editable",
                DocError::PatchNotObject => "patch_not_object",
                DocError::ListNotAllowed(_) => "list_not_allowed",
                DocError::BadRecord { .. } => "bad_record",
                DocError::UnknownDealer(_) => "unknown_dealer",
                DocError::UnknownTerritory(_) => "unknown_territory",
                DocError::Validation(_) => "invalid",
                DocError::Schema(v) => v.rule.as_str(),
                DocError::NoConflict(_) => "no_conflict",
                DocError::NotAChoice { .. } => "not_a_choice",
                DocError::Automerge(_) => "automerge",
            },
            Error::Sync(SyncError::Protocol { .. }) => "protocol",
            Error::Sync(SyncError::Id(_)) | Error::Id(_) | Error::DocId(_) => "bad_id",
            Error::Term(_) => "unknown_term",
            Error::Json(_) => "bad_json",
            Error::Collection(_) => "bad_collection",
            Error::Calendar(_) => "bad_time",
        }
    }

    /// Which record rule was broken, when the code is `invalid` (`due_before_creation`, …).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Error::Doc(DocError::Validation(v))
            | Error::Sync(SyncError::Doc(DocError::Validation(v))) => Some(v.code()),
            _ => None,
        }
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let js = js_sys::Error::new(&e.to_string());
        // Setting a plain data property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(
            &js,
            &JsValue::from_str("code"),
            &JsValue::from_str(e.code()),
        );
        if let Some(reason) = e.reason() {
            let _ = js_sys::Reflect::set(
                &js,
                &JsValue::from_str("reason"),
                &JsValue::from_str(reason),
            );
        }
        js.into()
    }
}
