//! The sync protocol's messages (version 1): one request pushes and pulls, one response answers both.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cursor::Cursor;
use crate::doc::DocId;
use crate::ids::TerritoryId;
use crate::vocab::vocab;
use automerge::ChangeHash;

/// The protocol version these types speak.
pub const PROTOCOL_VERSION: u32 = 1;

/// The raw bytes of one Automerge change; base64 in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBytes(pub Vec<u8>);

impl Serialize for ChangeBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for ChangeBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(ChangeBytes)
            .map_err(serde::de::Error::custom)
    }
}

/// A change hash as 64 hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub ChangeHash);

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map(Hash)
            .map_err(|_| serde::de::Error::custom("not a change hash"))
    }
}

/// Changes to one document.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc: DocId,
    pub changes: Vec<ChangeBytes>,
}

/// A device's sync request: its pending changes for every document it edited,
/// and where it is in the feed. Empty `push` and an up-to-date cursor make a
/// request of a few dozen bytes however many documents the device holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u32,
    #[serde(default)]
    pub cursor: Cursor,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push: Vec<DocChanges>,
    /// The sending replica (its Automerge actor, hex): the server records it with
    /// each change it stores and never sends that replica its own changes back.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub replica: String,
    /// The device takes documents whole (`SyncResponse::snapshots`): a territory
    /// it has read nothing of yet comes as each document's saved form, not as
    /// its whole feed. Absent (older devices): the feed from the start, as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshots: bool,
}

/// One document whole, as the server holds it: Automerge's saved (compressed)
/// form, holding every change the server had when it was read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocSnapshot {
    pub doc: DocId,
    /// The saved document; base64 in JSON.
    pub bytes: ChangeBytes,
}

crate::fields::from_fields!(DocSnapshot, |f| DocSnapshot {
    doc: f.req("doc")?,
    bytes: f.req("bytes")?,
});

/// What a server accepts in one sync request. It states them in every response
/// and in its 413 answer (`{code, message, limits}`); a replica splits its
/// pending changes into requests within them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PushLimits {
    /// Most documents in one push.
    pub max_docs: u64,
    /// Most changes in one push, all its documents together.
    pub max_changes: u64,
    /// Largest request body in bytes (JSON, after decompression).
    pub max_bytes: u64,
    /// Largest single change in bytes (its Automerge encoding).
    pub max_change_bytes: u64,
}

crate::fields::from_fields!(PushLimits, |f| PushLimits {
    max_docs: f.req("max_docs")?,
    max_changes: f.req("max_changes")?,
    max_bytes: f.req("max_bytes")?,
    max_change_bytes: f.req("max_change_bytes")?,
});

impl Default for PushLimits {
    /// What a replica assumes before a server has said: the server's defaults.
    fn default() -> Self {
        PushLimits {
            max_docs: 5_000,
            max_changes: 10_000,
            max_bytes: 16 * 1024 * 1024,
            max_change_bytes: 256 * 1024,
        }
    }
}

impl PushLimits {
    /// The tighter of two sets of limits, field by field.
    pub fn min(self, o: PushLimits) -> PushLimits {
        PushLimits {
            max_docs: self.max_docs.min(o.max_docs),
            max_changes: self.max_changes.min(o.max_changes),
            max_bytes: self.max_bytes.min(o.max_bytes),
            max_change_bytes: self.max_change_bytes.min(o.max_change_bytes),
        }
    }
}

/// The changes of one document the server has committed; the device may stop resending them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocAck {
    pub doc: DocId,
    pub hashes: Vec<Hash>,
}

crate::fields::from_fields!(DocAck, |f| DocAck {
    doc: f.req("doc")?,
    hashes: f.req_vec("hashes")?,
});

vocab!(/// Why a document's pushed changes were refused.
RejectCode {
    /// The bytes are not Automerge changes.
    Malformed = "malformed",
    /// The changes need earlier changes the server does not have.
    MissingDependencies = "missing_dependencies",
    /// The caller may not write this document or these fields.
    Forbidden = "forbidden",
    /// The changes break a domain rule.
    Invalid = "invalid",
    /// The changes belong to a different document than the one named.
    WrongDocument = "wrong_document",
    /// The changes were made by a newer fieldsync.
    SchemaTooNew = "schema_too_new",
    /// Too many or too large changes.
    TooLarge = "too_large",
    /// Objects nest deeper than the server accepts.
    TooDeep = "too_deep",
    /// A compressed change chunk (fieldsync devices never send them).
    CompressedChange = "compressed_change",
    /// A new change under an actor id that belongs to another device.
    ForeignActor = "foreign_actor",
    /// A new change under an actor id only fieldsync itself writes under (genesis, migrations).
    ReservedActor = "reserved_actor",
    /// A change whose seq or start op does not continue its history (it would block later changes).
    BadSequence = "bad_sequence",
    /// The server cannot read its stored copy of the document (an operator must
    /// repair it); nothing was stored, and the device sends the changes again.
    Damaged = "damaged",
    /// The document kept changing under the push (other writers won every
    /// attempt); nothing was stored, and the device sends the changes again.
    Busy = "busy",
});

/// One document's refused push. Nothing of it was stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    pub doc: DocId,
    pub code: RejectCode,
    pub message: String,
    /// When a schema rule refused it: the rule's stable name (`schema::Rule`, e.g.
    /// `forged_author`, `transition`, `self_approval`), for the UI to translate.
    /// Absent for refusals that are not about content (size, access, decoding).
    /// A text, not a closed vocabulary, so an older device reads a newer rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

crate::fields::from_fields!(Rejection, |f| Rejection {
    doc: f.req("doc")?,
    code: f.req("code")?,
    message: f.req("message")?,
    rule: f.or_default("rule")?,
});

impl Rejection {
    /// A refusal that names no schema rule.
    pub fn new(doc: DocId, code: RejectCode, message: impl Into<String>) -> Self {
        Rejection {
            doc,
            code,
            message: message.into(),
            rule: None,
        }
    }
}

/// The server's answer: what it committed, what it refused, and what the device lacks.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncResponse {
    pub protocol: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<DocAck>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejection>,
    /// Documents sent whole, to a device that said it takes them
    /// (`SyncRequest::snapshots`), for territories it has read nothing of yet.
    /// Applied before `changes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<DocSnapshot>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<DocChanges>,
    pub cursor: Cursor,
    /// More changes are waiting: sync again.
    #[serde(default)]
    pub more: bool,
    /// The request's cursor does not belong to this database (another epoch, or
    /// positions past the end of a feed: the database was restored from an older
    /// copy, or a lagging replica took over). The device must forget what it
    /// believed acknowledged, push everything again (the server keeps what it
    /// already holds once) and read every feed from the start; `cursor` is the
    /// new starting point, to be taken whole rather than merged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// The server's limits on a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<PushLimits>,
    /// Territories the request's cursor names that the caller may no longer read
    /// (an administrator took them away). The device removes their documents and
    /// cursor positions; its own changes the server never received are kept aside
    /// on the device as not delivered (`Replica::undelivered`), never dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<TerritoryId>,
}

crate::fields::from_fields!(SyncResponse, |f| SyncResponse {
    protocol: f.req("protocol")?,
    accepted: f.vec("accepted")?,
    rejected: f.vec("rejected")?,
    snapshots: f.vec("snapshots")?,
    changes: f.vec("changes")?,
    cursor: f.req("cursor")?,
    more: f.or_default("more")?,
    reset: f.or_default("reset")?,
    limits: f.or_default("limits")?,
    revoked: f.vec("revoked")?,
});
