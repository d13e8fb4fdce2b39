//! The sync protocol's messages (version 1): one request pushes and pulls, one response answers both.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cursor::Cursor;
use crate::doc::DocId;
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc: DocId,
    pub changes: Vec<ChangeBytes>,
}

/// A device's sync request: its pending changes for every document it edited,
/// and where it is in the feed. Empty `push` and an up-to-date cursor make a
/// request of a few dozen bytes however many documents the device holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u32,
    #[serde(default)]
    pub cursor: Cursor,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push: Vec<DocChanges>,
}

/// The changes of one document the server has committed; the device may stop resending them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocAck {
    pub doc: DocId,
    pub hashes: Vec<Hash>,
}

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
});

/// One document's refused push. Nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub doc: DocId,
    pub code: RejectCode,
    pub message: String,
}

/// The server's answer: what it committed, what it refused, and what the device lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<DocAck>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<DocChanges>,
    pub cursor: Cursor,
    /// More changes are waiting: sync again.
    #[serde(default)]
    pub more: bool,
}
