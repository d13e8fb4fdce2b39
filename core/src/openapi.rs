//! OpenAPI schemas (utoipa) of the types that travel as text on the wire, for the server's API document; only with the `openapi` feature (the wasm build leaves it out).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::doc::DocId;
use crate::model::ContentHash;
use crate::schema::Role;
use crate::sync::Cursor;
use crate::sync::wire::{ChangeBytes, Hash, RejectCode};

/// Every id (`ids`): 1 to 64 letters, digits, `-` or `_`.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A document id: `territory:<id>` or `dealer:<id>`.
pub const DOC_ID_PATTERN: &str = "^(territory|dealer):[A-Za-z0-9_-]{1,64}$";
/// A change hash: 64 lowercase hex digits.
pub const HASH_PATTERN: &str = "^[0-9a-f]{64}$";

fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

fn done(b: ObjectBuilder) -> RefOr<Schema> {
    RefOr::T(Schema::Object(b.build()))
}

/// The schema of an id of `kind` (`ids`).
pub fn id_schema(kind: &str) -> RefOr<Schema> {
    done(
        text(&format!(
            "A {kind} id: 1 to 64 letters, digits, '-' or '_'."
        ))
        .pattern(Some(ID_PATTERN))
        .min_length(Some(1))
        .max_length(Some(64)),
    )
}

impl PartialSchema for DocId {
    fn schema() -> RefOr<Schema> {
        done(
            text("A document: a territory's (`territory:<id>`) or a dealer's (`dealer:<id>`).")
                .pattern(Some(DOC_ID_PATTERN))
                .examples(["dealer:d-lin"]),
        )
    }
}
impl ToSchema for DocId {}

impl PartialSchema for Cursor {
    fn schema() -> RefOr<Schema> {
        done(
            text(
                "How far the device has read each territory's feed, in which database epoch: \
                 `@<epoch>,<territory>:<seq>[/<tag>],…` (epoch and 8-hex-digit tags optional; \
                 empty: from the start).",
            )
            .examples(["@3f9a0c1d2b4e5f60,t-north:42/ab12cd34,t-south:7"]),
        )
    }
}
impl ToSchema for Cursor {}

impl PartialSchema for ChangeBytes {
    fn schema() -> RefOr<Schema> {
        done(
            text("One Automerge change chunk (uncompressed), base64.")
                .format(Some(SchemaFormat::Custom("byte".into())))
                .content_encoding("base64"),
        )
    }
}
impl ToSchema for ChangeBytes {}

impl PartialSchema for Hash {
    fn schema() -> RefOr<Schema> {
        done(text("An Automerge change hash (SHA-256), hex.").pattern(Some(HASH_PATTERN)))
    }
}
impl ToSchema for Hash {
    fn name() -> std::borrow::Cow<'static, str> {
        "ChangeHash".into()
    }
}

impl PartialSchema for RejectCode {
    fn schema() -> RefOr<Schema> {
        done(
            text("Why a document's pushed changes were refused (stable; the app translates it).")
                .enum_values(Some(RejectCode::ALL.iter().map(|c| c.as_str()))),
        )
    }
}
impl ToSchema for RejectCode {}

impl PartialSchema for Role {
    fn schema() -> RefOr<Schema> {
        done(
            text("What a user may do: manager, regional manager, head office or admin.")
                .enum_values(Some(Role::ALL.iter().map(|r| r.as_str()))),
        )
    }
}
impl ToSchema for Role {}

impl PartialSchema for ContentHash {
    fn schema() -> RefOr<Schema> {
        done(text("A photo's SHA-256, 64 lowercase hex digits.").pattern(Some(HASH_PATTERN)))
    }
}
impl ToSchema for ContentHash {}
