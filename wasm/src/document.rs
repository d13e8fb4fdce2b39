//! Operations on one `Document` by collection name, with records, patches and results as JSON text.

use fieldsync_core::calendar::Day;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{ActivityId, ClaimId, CommitmentId, IdError, NoteId, ProblemId, VisitId};
use fieldsync_core::model::{
    Activity, ActivityStatus, ClaimStage, Commitment, CommitmentStatus, DealerEntry, DealerProfile,
    ExpenseClaim, HandoverStage, ItemKind, Notable, Note, Problem, ProblemStatus, Record,
    Territory, Tracked, Visit,
};
use fieldsync_core::stamp::Stamp;
use fieldsync_core::zone::Zone;
use serde_json::{Value as Json, json};
use std::str::FromStr;

use crate::convert::{from_json, id_or_random, to_json};
use crate::error::Error;

/// The whole document as JSON: a dealer's profile and record maps, or a territory's profile and dealer index.
/// Each commitment, claim, problem and activity carries its `standing` (status, open, overdue) on
/// `today` in the territory's zone, which the dealer's state names (`zone`, `today`).
pub fn state(doc: &Document, zone: &Zone, today: Day) -> Result<Json, Error> {
    // Each record is read as its type and written back (as a typed read would show
    // it), without building typed maps only to serialise them again.
    Ok(match doc.id() {
        DocId::Dealer(id) => json!({
            "doc": doc.id(),
            "id": id,
            "territory": doc.territory(),
            "zone": zone.name(),
            "today": today.to_string(),
            "profile": doc.profile_json::<DealerProfile>()?,
            "visits": doc.records_json::<Visit>()?,
            "commitments": doc.tracked_json::<Commitment>(today)?,
            "claims": doc.tracked_json::<ExpenseClaim>(today)?,
            "problems": doc.tracked_json::<Problem>(today)?,
            "activities": doc.tracked_json::<Activity>(today)?,
            "notes": doc.records_json::<Note>()?,
        }),
        DocId::Territory(id) => json!({
            "doc": doc.id(),
            "id": id,
            "territory": id,
            "profile": doc.profile_json::<Territory>()?,
            "dealers": doc.records_json::<DealerEntry>()?,
        }),
    })
}

/// Every conflicted field, with the winning value and the others, and who wrote each.
pub fn conflicts(doc: &mut Document) -> Result<String, Error> {
    to_json(&doc.conflicts())
}

/// Keeps `value` (JSON) for the conflict `id` (core's `Document::resolve`).
pub fn resolve(doc: &mut Document, id: &str, value: &str, stamp: &Stamp) -> Result<(), Error> {
    let value: Json = from_json("value", value)?;
    Ok(doc.resolve(id, &value, stamp)?)
}

fn insert_as<R>(
    doc: &mut Document,
    id: Option<String>,
    record: &str,
    stamp: &Stamp,
    random: fn() -> Result<R::Id, IdError>,
) -> Result<String, Error>
where
    R: Record,
    R::Id: FromStr<Err = IdError>,
{
    let id: R::Id = id_or_random(id, random)?;
    let record: R = from_json(R::COLLECTION, record)?;
    doc.insert(&id, &record, stamp)?;
    Ok(id.to_string())
}

/// Adds a record to `collection` (`visits`, `commitments`, `claims`, `problems`,
/// `activities`, `notes`) under `id`, or a fresh random id; returns the id.
pub fn insert(
    doc: &mut Document,
    collection: &str,
    id: Option<String>,
    record: &str,
    stamp: &Stamp,
) -> Result<String, Error> {
    match collection {
        "visits" => insert_as::<Visit>(doc, id, record, stamp, VisitId::random),
        "commitments" => insert_as::<Commitment>(doc, id, record, stamp, CommitmentId::random),
        "claims" => insert_as::<ExpenseClaim>(doc, id, record, stamp, ClaimId::random),
        "problems" => insert_as::<Problem>(doc, id, record, stamp, ProblemId::random),
        "activities" => insert_as::<Activity>(doc, id, record, stamp, ActivityId::random),
        "notes" => insert_as::<Note>(doc, id, record, stamp, NoteId::random),
        other => Err(Error::Collection(other.to_owned())),
    }
}

fn update_as<R>(doc: &mut Document, id: &str, patch: &Json, stamp: &Stamp) -> Result<(), Error>
where
    R: Record,
    R::Id: FromStr<Err = IdError>,
{
    Ok(doc.update::<R>(&id.parse()?, patch, stamp)?)
}

/// Edits a record's editable fields with a JSON merge patch.
pub fn update(
    doc: &mut Document,
    collection: &str,
    id: &str,
    patch: &str,
    stamp: &Stamp,
) -> Result<(), Error> {
    let patch: Json = from_json("patch", patch)?;
    match collection {
        "visits" => update_as::<Visit>(doc, id, &patch, stamp),
        "commitments" => update_as::<Commitment>(doc, id, &patch, stamp),
        "claims" => update_as::<ExpenseClaim>(doc, id, &patch, stamp),
        "problems" => update_as::<Problem>(doc, id, &patch, stamp),
        "activities" => update_as::<Activity>(doc, id, &patch, stamp),
        other => Err(Error::Collection(other.to_owned())),
    }
}

/// Edits the profile (a dealer's or a territory's) with a JSON merge patch, validated first.
pub fn update_profile(doc: &mut Document, patch: &str, stamp: &Stamp) -> Result<(), Error> {
    let patch: Json = from_json("patch", patch)?;
    match doc.id() {
        DocId::Dealer(_) => doc.update_profile(&patch, stamp, DealerProfile::validate)?,
        DocId::Territory(_) => doc.update_profile(&patch, stamp, Territory::validate)?,
    }
    Ok(())
}

fn advance_as<R>(
    doc: &mut Document,
    id: &str,
    stage: R::Stage,
    extra: Json,
    stamp: &Stamp,
) -> Result<(), Error>
where
    R: Tracked,
    R::Id: FromStr<Err = IdError>,
{
    Ok(doc.advance::<R>(&id.parse()?, stage, extra, stamp)?)
}

/// Moves a record's status forward to `stage`; `extra` (JSON object or `null`) is written with it.
pub fn advance(
    doc: &mut Document,
    collection: &str,
    id: &str,
    stage: &str,
    extra: &str,
    stamp: &Stamp,
) -> Result<(), Error> {
    let extra: Json = if extra.trim().is_empty() {
        Json::Null
    } else {
        from_json("extra", extra)?
    };
    match collection {
        "commitments" => {
            advance_as::<Commitment>(doc, id, stage.parse::<CommitmentStatus>()?, extra, stamp)
        }
        "claims" => advance_as::<ExpenseClaim>(doc, id, stage.parse::<ClaimStage>()?, extra, stamp),
        "problems" => advance_as::<Problem>(doc, id, stage.parse::<ProblemStatus>()?, extra, stamp),
        "activities" => {
            advance_as::<Activity>(doc, id, stage.parse::<ActivityStatus>()?, extra, stamp)
        }
        other => Err(Error::Collection(other.to_owned())),
    }
}

fn note_as<R>(
    doc: &mut Document,
    id: &str,
    note: &NoteId,
    text: &str,
    stamp: &Stamp,
) -> Result<(), Error>
where
    R: Notable,
    R::Id: FromStr<Err = IdError>,
{
    Ok(doc.add_note::<R>(&id.parse()?, note, text, stamp)?)
}

/// Appends a note to a visit, commitment or problem; returns the note's id.
pub fn add_note(
    doc: &mut Document,
    collection: &str,
    id: &str,
    text: &str,
    stamp: &Stamp,
) -> Result<String, Error> {
    let note = NoteId::random()?;
    match collection {
        "visits" => note_as::<Visit>(doc, id, &note, text, stamp),
        "commitments" => note_as::<Commitment>(doc, id, &note, text, stamp),
        "problems" => note_as::<Problem>(doc, id, &note, text, stamp),
        other => Err(Error::Collection(other.to_owned())),
    }?;
    Ok(note.to_string())
}

/// The incoming manager's review of a commitment, claim or problem in a handover
/// (`reviewed`, `flagged` with a reason, `accepted`: core's `Document::review`).
pub fn review(
    doc: &mut Document,
    collection: &str,
    id: &str,
    handover: &str,
    stage: &str,
    reason: &str,
    stamp: &Stamp,
) -> Result<(), Error> {
    let kind = match collection {
        "commitments" => ItemKind::Commitment,
        "claims" => ItemKind::Claim,
        "problems" => ItemKind::Problem,
        other => return Err(Error::Collection(other.to_owned())),
    };
    let stage: HandoverStage = stage.parse()?;
    Ok(doc.review_item(kind, id, &handover.parse()?, stage, Some(reason), stamp)?)
}
