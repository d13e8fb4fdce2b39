//! The genesis change: every document's fixed skeleton, made identically on every device.
//!
//! Two devices that create "the same" document offline must not create two
//! competing `visits` maps (one would hide the other's records). So the skeleton
//! (schema version, type, ids, territory and the empty collection maps) is written
//! by one change with an actor id derived from the document id and time 0: every
//! device produces byte-identical bytes, hence the same change hash, and Automerge
//! stores it once. All later edits use the device's own actor.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::error::DocError;
use super::id::DocId;
use crate::ids::TerritoryId;

/// The document schema this version of fieldsync writes and understands.
pub const SCHEMA_VERSION: i64 = 1;

/// The collection maps of a dealer document.
pub const DEALER_COLLECTIONS: &[&str] = &[
    "profile",
    "visits",
    "commitments",
    "claims",
    "problems",
    "activities",
];
/// The collection maps of a territory document.
pub const TERRITORY_COLLECTIONS: &[&str] = &["profile", "dealers"];

/// The collections a document of this id has.
pub fn collections(id: &DocId) -> &'static [&'static str] {
    match id {
        DocId::Territory(_) => TERRITORY_COLLECTIONS,
        DocId::Dealer(_) => DEALER_COLLECTIONS,
    }
}

/// Whether `actor` is one of the fixed actors every device shares for a
/// document's skeleton (its genesis and schema migrations), not a device.
pub fn is_skeleton_actor(actor: &ActorId) -> bool {
    actor.to_bytes().starts_with(b"fieldsync-")
}

fn genesis_actor(id: &DocId) -> ActorId {
    ActorId::from(format!("fieldsync-genesis/{id}").into_bytes())
}

/// A new document holding only the genesis change.
pub fn genesis(id: &DocId, territory: &TerritoryId) -> Result<(AutoCommit, ChangeHash), DocError> {
    let mut doc = AutoCommit::new().with_actor(genesis_actor(id));
    doc.put(ROOT, "schema", SCHEMA_VERSION)?;
    doc.put(ROOT, "doc_type", id.doc_type())?;
    doc.put(ROOT, "id", id.entity())?;
    doc.put(ROOT, "territory", territory.as_str())?;
    for c in collections(id) {
        doc.put_object(ROOT, *c, ObjType::Map)?;
    }
    let hash = doc
        .commit_with(CommitOptions::default().with_time(0))
        .ok_or_else(|| DocError::Shape("empty genesis".into()))?;
    Ok((doc, hash))
}

fn single_str<R: ReadDoc>(doc: &R, key: &str) -> Result<String, DocError> {
    let all = doc.get_all(ROOT, key)?;
    match all.as_slice() {
        [(Value::Scalar(s), _)] => match s.as_ref() {
            ScalarValue::Str(s) => Ok(s.to_string()),
            _ => Err(DocError::Shape(format!("'{key}' is not text"))),
        },
        [] => Err(DocError::Shape(format!("no '{key}'"))),
        _ => Err(DocError::Shape(format!("'{key}' was overwritten"))),
    }
}

/// Checks that `doc` is a fieldsync document built on its genesis change, whose
/// skeleton nothing has overwritten; returns its id and territory.
pub fn check_shape(doc: &mut AutoCommit) -> Result<(DocId, TerritoryId), DocError> {
    let schema = match doc.get_all(ROOT, "schema")?.as_slice() {
        [(Value::Scalar(s), _)] => match s.as_ref() {
            ScalarValue::Int(i) => *i,
            ScalarValue::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
            _ => return Err(DocError::Shape("'schema' is not a number".into())),
        },
        _ => return Err(DocError::Shape("no single 'schema'".into())),
    };
    if schema > SCHEMA_VERSION {
        return Err(DocError::SchemaTooNew {
            found: schema,
            supported: SCHEMA_VERSION,
        });
    }
    let doc_type = single_str(doc, "doc_type")?;
    let entity = single_str(doc, "id")?;
    let territory: TerritoryId = single_str(doc, "territory")?
        .parse()
        .map_err(|e| DocError::Shape(format!("territory: {e}")))?;
    let id: DocId = format!("{doc_type}:{entity}")
        .parse()
        .map_err(|e| DocError::Shape(format!("id: {e}")))?;
    let (skeleton, hash) = genesis(&id, &territory)?;
    if doc.get_change_by_hash(&hash).is_none() {
        return Err(DocError::Shape("the genesis change is missing".into()));
    }
    for c in collections(&id) {
        let expected = skeleton.get(ROOT, *c)?.map(|(_, id)| id);
        match doc.get_all(ROOT, *c)?.as_slice() {
            [(Value::Object(ObjType::Map), obj)] if Some(obj) == expected.as_ref() => {}
            _ => return Err(DocError::Shape(format!("collection '{c}' was replaced"))),
        }
    }
    Ok((id, territory))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_byte_identical_on_every_device() {
        let id: DocId = "dealer:d1".parse().unwrap();
        let t: TerritoryId = "t1".parse().unwrap();
        let (mut a, ha) = genesis(&id, &t).unwrap();
        let (mut b, hb) = genesis(&id, &t).unwrap();
        assert_eq!(ha, hb);
        assert_eq!(a.save(), b.save());
        assert_eq!(check_shape(&mut a).unwrap(), (id, t));
    }

    #[test]
    fn a_replaced_collection_is_detected() {
        let id: DocId = "dealer:d1".parse().unwrap();
        let t: TerritoryId = "t1".parse().unwrap();
        let (mut doc, _) = genesis(&id, &t).unwrap();
        doc.set_actor(ActorId::from(b"mallory".to_vec()));
        doc.put_object(ROOT, "visits", ObjType::Map).unwrap();
        doc.commit();
        assert!(matches!(check_shape(&mut doc), Err(DocError::Shape(_))));
    }
}
