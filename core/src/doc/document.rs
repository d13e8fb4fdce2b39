//! `Document`: one fieldsync Automerge document (a dealer's or a territory's) and every typed operation on it.

use std::collections::BTreeMap;

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use super::bridge;
use super::error::DocError;
use super::genesis::{self, SkeletonCheck, collections};
use super::id::DocId;
use super::state::{DealerState, TerritoryState};
use crate::chunk;
use crate::ids::{DealerId, NoteId, TerritoryId};
use crate::lifecycle::Stage;
use crate::model::{DealerProfile, Notable, Record, Territory, Tracked};
use crate::schema::{self, Author, DocKind};
use crate::stamp::Stamp;

/// One document, loaded and editable. Every edit validates first and writes
/// nothing if a rule fails; every edit is one Automerge change stamped with its author.
#[derive(Debug)]
pub struct Document {
    am: AutoCommit,
    id: DocId,
    territory: TerritoryId,
}

impl Document {
    fn new_with(id: DocId, territory: TerritoryId, actor: ActorId) -> Result<Self, DocError> {
        let (mut am, _) = genesis::genesis(&id, &territory)?;
        am.set_actor(actor);
        Ok(Document { am, id, territory })
    }

    /// A new dealer document with its profile.
    pub fn create_dealer(
        id: DealerId,
        territory: TerritoryId,
        profile: &DealerProfile,
        stamp: &Stamp,
        actor: ActorId,
    ) -> Result<Self, DocError> {
        profile.validate()?;
        let mut doc = Self::new_with(DocId::Dealer(id), territory, actor)?;
        doc.write("profile", to_object(profile)?, stamp)?;
        Ok(doc)
    }

    /// A new territory document with its metadata.
    pub fn create_territory(
        id: TerritoryId,
        territory: &Territory,
        stamp: &Stamp,
        actor: ActorId,
    ) -> Result<Self, DocError> {
        territory.validate()?;
        let mut doc = Self::new_with(DocId::Territory(id.clone()), id, actor)?;
        doc.write("profile", to_object(territory)?, stamp)?;
        Ok(doc)
    }

    /// Loads a saved document (from [`Document::save`] or an Automerge export) and checks its shape.
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, DocError> {
        Self::load_with(bytes, actor, SkeletonCheck::Exact(None))
    }

    /// [`Self::load`], its skeleton checked as `shape` says.
    pub(crate) fn load_with(
        bytes: &[u8],
        actor: ActorId,
        shape: SkeletonCheck<'_>,
    ) -> Result<Self, DocError> {
        let mut am =
            guard(|| AutoCommit::load(bytes))?.map_err(|e| DocError::Malformed(e.to_string()))?;
        Self::adopt(&mut am)?;
        let (id, territory) = genesis::check_shape_with(&mut am, shape)?;
        am.set_actor(actor);
        Ok(Document { am, id, territory })
    }

    /// Builds a document from its changes (in any order), e.g. a first pull from the server.
    pub fn from_changes(changes: Vec<Change>, actor: ActorId) -> Result<Self, DocError> {
        Self::from_changes_with(changes, actor, SkeletonCheck::Exact(None))
    }

    /// [`Self::from_changes`], its skeleton checked as `shape` says
    /// (`genesis::check_shape_with`).
    pub(crate) fn from_changes_with(
        changes: Vec<Change>,
        actor: ActorId,
        shape: SkeletonCheck<'_>,
    ) -> Result<Self, DocError> {
        let mut am = AutoCommit::new();
        known_actors(&mut am, &changes)?;
        guard(|| am.apply_changes(changes))?.map_err(|e| DocError::Malformed(e.to_string()))?;
        Self::adopt(&mut am)?;
        let (id, territory) = genesis::check_shape_with(&mut am, shape)?;
        am.set_actor(actor);
        Ok(Document { am, id, territory })
    }

    fn adopt(am: &mut AutoCommit) -> Result<(), DocError> {
        let missing = am.get_missing_deps(&[]);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DocError::MissingDependencies(missing.len()))
        }
    }

    /// Which document this is.
    pub fn id(&self) -> &DocId {
        &self.id
    }

    /// The territory it belongs to.
    pub fn territory(&self) -> &TerritoryId {
        &self.territory
    }

    /// The hashes of the latest changes: equal heads mean equal documents.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.am.get_heads()
    }

    /// The whole document in Automerge's compact format, openable by any Automerge tool,
    /// its columns not deflated: the device downloads no deflate code (issue 11's
    /// first-visit budget; inflating an older server's snapshot is still built in), and
    /// the server saves every pushed document without deflating it (less CPU per push,
    /// and HTTP compression makes the snapshots it sends smaller than deflated ones:
    /// a fresh device of 1,000 dealers received 182 KB instead of 337 KB).
    pub fn save(&mut self) -> Vec<u8> {
        self.am.save_nocompress()
    }

    /// Every change not in the causal past of `have`.
    pub fn changes_since(&mut self, have: &[ChangeHash]) -> Vec<Change> {
        self.am.get_changes(have)
    }

    /// Whether the document already holds the change `hash`.
    pub fn has_change(&mut self, hash: &ChangeHash) -> bool {
        // A lookup in the change graph: `get_change_by_hash` would re-encode the change
        // from the op set. A document never holds a change waiting for its dependencies
        // (`adopt`), so a change it lacks is exactly one its graph lacks.
        self.am
            .get_missing_deps(std::slice::from_ref(hash))
            .is_empty()
    }

    /// The underlying Automerge document, read-only.
    pub fn automerge(&self) -> &AutoCommit {
        &self.am
    }

    pub(crate) fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.am
    }

    /// Makes the next edits carry `actor` (a replica switching to a fresh actor).
    pub(crate) fn set_actor(&mut self, actor: ActorId) {
        self.am.set_actor(actor);
    }

    /// The dealer's or territory's name (`profile.name`), if it is set.
    pub fn name(&self) -> Option<String> {
        let profile = self.collection("profile").ok()?;
        match self.am.get(&profile, "name").ok()?? {
            (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        }
    }

    /// How many records of each collection (`visits`, `commitments`, …) were
    /// created by one of the changes `by`.
    pub fn records_created_by(
        &self,
        by: &std::collections::BTreeSet<ChangeHash>,
    ) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for name in collections(&self.id).iter().filter(|c| **c != "profile") {
            let Ok(coll) = self.collection(name) else {
                continue;
            };
            let n = self
                .am
                .keys(&coll)
                .filter(|key| match self.am.get(&coll, key.as_str()) {
                    Ok(Some((Value::Object(_), obj))) => {
                        self.am.hash_for_opid(&obj).is_some_and(|h| by.contains(&h))
                    }
                    _ => false,
                })
                .count();
            if n > 0 {
                out.insert((*name).to_owned(), n);
            }
        }
        out
    }

    /// An independent copy with the same history and actor.
    pub fn fork(&mut self) -> Document {
        let actor = self.am.get_actor().clone();
        Document {
            am: self.am.fork().with_actor(actor),
            id: self.id.clone(),
            territory: self.territory.clone(),
        }
    }

    /// A copy as the document was at `heads` (which it must contain).
    pub fn fork_at(&mut self, heads: &[ChangeHash]) -> Result<Document, DocError> {
        let actor = self.am.get_actor().clone();
        let am = self.am.fork_at(heads)?.with_actor(actor);
        Ok(Document {
            am,
            id: self.id.clone(),
            territory: self.territory.clone(),
        })
    }

    /// Applies changes received from elsewhere. Duplicates are ignored and the
    /// order does not matter, but all their dependencies must be present once
    /// they are applied; if not, or if they would break the document's shape,
    /// nothing changes. Returns the hashes that were new.
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<Vec<ChangeHash>, DocError> {
        self.apply_with(changes, SkeletonCheck::Exact(None))
    }

    /// [`Self::apply`], its skeleton checked as `shape` says
    /// (`genesis::check_shape_with`).
    pub(crate) fn apply_with(
        &mut self,
        changes: Vec<Change>,
        shape: SkeletonCheck<'_>,
    ) -> Result<Vec<ChangeHash>, DocError> {
        let fresh: Vec<Change> = changes
            .into_iter()
            .filter(|c| !self.has_change(&c.hash()))
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<ChangeHash> = fresh.iter().map(Change::hash).collect();
        // The shape is all on the root map, and it held before (every constructor
        // checks it): changes with no op there leave it as it was.
        let reshaped = fresh.iter().any(|c| chunk::writes_root(c.raw_bytes()));
        known_actors(&mut self.am, &fresh)?;
        let mut fork = self.am.fork();
        guard(|| fork.apply_changes(fresh))?.map_err(|e| DocError::Malformed(e.to_string()))?;
        Self::adopt(&mut fork)?;
        if reshaped {
            let (id, _) = genesis::check_shape_with(&mut fork, shape)?;
            if id != self.id {
                return Err(DocError::WrongDocument {
                    expected: self.id.clone(),
                    found: id,
                });
            }
        }
        fork.set_actor(self.am.get_actor().clone());
        self.am = fork;
        Ok(hashes)
    }

    // ---- generic typed access ------------------------------------------------

    fn collection(&self, name: &'static str) -> Result<ObjId, DocError> {
        if !genesis::has_collection(&self.id, name) {
            return Err(DocError::WrongKind {
                operation: name,
                needs: "other",
                doc: self.id.clone(),
            });
        }
        match self.am.get(ROOT, name)? {
            Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
            _ => Err(DocError::Shape(format!("no '{name}' map"))),
        }
    }

    /// A collection's map, or `None` for a migrated collection nobody wrote yet (it reads as empty).
    fn collection_if_made(&self, name: &'static str) -> Result<Option<ObjId>, DocError> {
        match self.collection(name) {
            Ok(obj) => Ok(Some(obj)),
            Err(DocError::Shape(_)) if self.am.get(ROOT, name)?.is_none() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applies the migration change that creates collection `name` if it is not
    /// there yet (`genesis::DEALER_MIGRATIONS`); the same change on every device.
    fn make_collection(&mut self, name: &'static str) -> Result<(), DocError> {
        if self.am.get(ROOT, name)?.is_some() {
            return Ok(());
        }
        if let Some((change, _)) = genesis::migration(&self.id, &self.territory, name)? {
            guard(|| self.am.apply_changes([change]))?
                .map_err(|e| DocError::Malformed(e.to_string()))?;
        }
        Ok(())
    }

    pub(super) fn record_obj(&self, collection: &'static str, id: &str) -> Result<ObjId, DocError> {
        let found = match self.collection_if_made(collection)? {
            Some(coll) => self.am.get(&coll, id)?,
            None => None,
        };
        match found {
            Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
            _ => Err(DocError::NotFound {
                collection,
                id: id.to_owned(),
            }),
        }
    }

    /// Writes a patch into `ROOT[collection]` (or a record below it) as one change.
    fn write(
        &mut self,
        collection: &'static str,
        patch: serde_json::Map<String, Json>,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let obj = self.collection(collection)?;
        self.write_at(&obj, vec![collection.to_owned()], &patch, stamp)
    }

    /// The schema's name for this document's kind.
    pub fn kind(&self) -> DocKind {
        match self.id {
            DocId::Dealer(_) => DocKind::Dealer,
            DocId::Territory(_) => DocKind::Territory,
        }
    }

    /// Writes `patch` into the map `obj` at `path` as one change, after the
    /// schema accepted the edits it makes (the same check the server runs).
    pub(super) fn write_at(
        &mut self,
        obj: &ObjId,
        mut path: Vec<String>,
        patch: &serde_json::Map<String, Json>,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let kind = self.kind();
        let mut patch = patch.clone();
        schema::prepare_patch(kind, &mut path, &mut patch);
        let mut edits = Vec::new();
        bridge::plan(&self.am, Some(obj), &mut path, &patch, &mut edits);
        let author = Author {
            user: &stamp.user,
            role: None,
            limit: None,
            authority: None,
            incoming: None,
        };
        schema::check_local(&self.am, kind, &edits, &author)?;
        if let Err(e) = bridge::write_patch(&mut self.am, obj, &patch) {
            self.am.rollback();
            return Err(e);
        }
        self.am.commit_with(
            CommitOptions::default()
                .with_message(stamp.to_message())
                .with_time(stamp.at.seconds()),
        );
        Ok(())
    }

    fn hydrate<T: DeserializeOwned>(
        json: Json,
        collection: &'static str,
        id: &str,
    ) -> Result<T, DocError> {
        serde_json::from_value(json).map_err(|e| DocError::BadRecord {
            collection,
            id: id.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The document's profile: a [`DealerProfile`] or a [`Territory`].
    pub fn profile<T: DeserializeOwned>(&self) -> Result<T, DocError> {
        let obj = self.collection("profile")?;
        Self::hydrate(bridge::read(&self.am, &obj), "profile", self.id.entity())
    }

    /// Updates the profile with a JSON merge patch, validated as a `T` first.
    pub fn update_profile<T>(
        &mut self,
        patch: &Json,
        stamp: &Stamp,
        validate: impl Fn(&T) -> Result<(), crate::model::ValidationError>,
    ) -> Result<(), DocError>
    where
        T: DeserializeOwned,
    {
        let patch = patch.as_object().ok_or(DocError::PatchNotObject)?;
        let obj = self.collection("profile")?;
        let mut current = bridge::read(&self.am, &obj);
        let now = current.clone();
        bridge::merge_patch(&mut current, &Json::Object(patch.clone()));
        let next: T = Self::hydrate(current, "profile", self.id.entity())?;
        let before = Self::hydrate::<T>(now, "profile", self.id.entity())
            .ok()
            .map(|t| validate(&t));
        schema::keeps_rules(before, validate(&next))?;
        self.write_at(&obj, vec!["profile".to_owned()], patch, stamp)
    }

    /// Adds a new record.
    pub fn insert<R: Record>(
        &mut self,
        id: &R::Id,
        record: &R,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        record.validate()?;
        self.make_collection(R::COLLECTION)?;
        let coll = self.collection(R::COLLECTION)?;
        let key = id.to_string();
        if self.am.get(&coll, key.as_str())?.is_some() {
            return Err(DocError::Duplicate {
                collection: R::COLLECTION,
                id: key,
            });
        }
        let body = to_object(record)?;
        let mut patch = serde_json::Map::new();
        patch.insert(key, Json::Object(body));
        self.write_at(&coll, vec![R::COLLECTION.to_owned()], &patch, stamp)
    }

    /// One record, if present.
    pub fn record<R: Record>(&self, id: &R::Id) -> Result<Option<R>, DocError> {
        let key = id.to_string();
        match self.record_obj(R::COLLECTION, &key) {
            Ok(obj) => Self::hydrate(bridge::read(&self.am, &obj), R::COLLECTION, &key).map(Some),
            Err(DocError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// All records of one kind, by id.
    pub fn records<R: Record>(&self) -> Result<BTreeMap<R::Id, R>, DocError> {
        let Some(coll) = self.collection_if_made(R::COLLECTION)? else {
            return Ok(BTreeMap::new());
        };
        let Json::Object(all) = bridge::read(&self.am, &coll) else {
            return Ok(BTreeMap::new());
        };
        all.into_iter()
            .map(|(k, v)| {
                let id = k.parse::<R::Id>().map_err(|_| DocError::BadRecord {
                    collection: R::COLLECTION,
                    id: k.clone(),
                    reason: "bad id".into(),
                })?;
                Ok((id, Self::hydrate(v, R::COLLECTION, &k)?))
            })
            .collect()
    }

    /// All records of one kind as JSON, by id: each record is read as an `R` and
    /// written back, so it is checked and normalised exactly as [`Document::records`]
    /// would (defaults filled in, unknown fields dropped), without building typed maps.
    pub fn records_json<R: Record>(&self) -> Result<serde_json::Map<String, Json>, DocError> {
        let Some(coll) = self.collection_if_made(R::COLLECTION)? else {
            return Ok(serde_json::Map::new());
        };
        normalise_all(bridge::read(&self.am, &coll), normalise::<R>)
    }

    /// A tracked collection as JSON (see [`Document::records_json`]), each record
    /// with its `standing` on `today` ([`crate::model::Standing`]): the status the
    /// phone and head office both show.
    pub fn tracked_json<R: Tracked>(
        &self,
        today: crate::calendar::Day,
    ) -> Result<serde_json::Map<String, Json>, DocError> {
        let coll = self.collection(R::COLLECTION)?;
        normalise_tracked_all(bridge::read(&self.am, &coll), today, normalise_tracked::<R>)
    }

    /// The profile as JSON, read as a `T` and written back (see [`Document::records_json`]).
    pub fn profile_json<T: Serialize + DeserializeOwned>(&self) -> Result<Json, DocError> {
        let profile: T = self.profile()?;
        reserialise(&profile, "profile", self.id.entity())
    }

    pub(super) fn patch_record<R: Record>(
        &mut self,
        id: &R::Id,
        patch: serde_json::Map<String, Json>,
        stamp: &Stamp,
    ) -> Result<R, DocError> {
        let key = id.to_string();
        let obj = self.record_obj(R::COLLECTION, &key)?;
        let mut current = bridge::read(&self.am, &obj);
        let before = Self::hydrate::<R>(current.clone(), R::COLLECTION, &key)
            .ok()
            .map(|r| r.validate());
        bridge::merge_patch(&mut current, &Json::Object(patch.clone()));
        let next: R = Self::hydrate(current, R::COLLECTION, &key)?;
        schema::keeps_rules(before, next.validate())?;
        let path = vec![R::COLLECTION.to_owned(), key];
        self.write_at(&obj, path, &patch, stamp)?;
        Ok(next)
    }

    /// Edits a record's editable fields with a JSON merge patch (`null` clears a
    /// field or removes a set member). Only the named fields are written.
    pub fn update<R: Record>(
        &mut self,
        id: &R::Id,
        patch: &Json,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let patch = patch.as_object().ok_or(DocError::PatchNotObject)?;
        if let Some(field) = patch.keys().find(|k| !R::EDITABLE.contains(&k.as_str())) {
            return Err(DocError::NotEditable {
                collection: R::COLLECTION,
                field: field.clone(),
            });
        }
        self.patch_record::<R>(id, patch.clone(), stamp).map(|_| ())
    }

    /// Moves a record's status forward to `stage`, recording who and when;
    /// `extra` (e.g. the amount spent, a resolution) is written in the same change.
    pub fn advance<R: Tracked>(
        &mut self,
        id: &R::Id,
        stage: R::Stage,
        extra: Json,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let current = self.record::<R>(id)?.ok_or_else(|| DocError::NotFound {
            collection: R::COLLECTION,
            id: id.to_string(),
        })?;
        // From where the record stands: a decision between concurrent steps counts (`Standing`).
        let life = current.lifecycle();
        let standing = crate::model::Standing::status_of(&current);
        let from = life
            .0
            .keys()
            .copied()
            .find(|s| s.name() == standing)
            .unwrap_or_else(|| life.current());
        if !stage.may_follow(from) {
            return Err(crate::lifecycle::LifecycleError::NotAllowed {
                from: from.name(),
                to: stage.name(),
            }
            .into());
        }
        let mut patch = match extra {
            Json::Object(m) => m,
            Json::Null => serde_json::Map::new(),
            _ => return Err(DocError::PatchNotObject),
        };
        if let Some(field) = patch.keys().find(|k| k.as_str() == "status") {
            return Err(DocError::NotEditable {
                collection: R::COLLECTION,
                field: field.clone(),
            });
        }
        patch.insert(
            "status".into(),
            json!({ stage.name(): { "by": stamp.user, "at": stamp.at } }),
        );
        self.patch_record::<R>(id, patch, stamp).map(|_| ())
    }

    /// Appends a note to a visit, commitment or problem.
    pub fn add_note<R: Notable>(
        &mut self,
        id: &R::Id,
        note: &NoteId,
        text: &str,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let body = json!({ "text": text, "by": stamp.user, "at": stamp.at });
        let mut patch = serde_json::Map::new();
        patch.insert("notes".into(), json!({ note.to_string(): body }));
        self.patch_record::<R>(id, patch, stamp).map(|_| ())
    }

    /// The whole dealer document as typed values.
    pub fn dealer_state(&self) -> Result<DealerState, DocError> {
        let DocId::Dealer(id) = &self.id else {
            return Err(DocError::WrongKind {
                operation: "dealer_state",
                needs: "dealer",
                doc: self.id.clone(),
            });
        };
        Ok(DealerState {
            id: id.clone(),
            territory: self.territory.clone(),
            profile: self.profile()?,
            visits: self.records()?,
            commitments: self.records()?,
            claims: self.records()?,
            problems: self.records()?,
            activities: self.records()?,
            notes: self.records()?,
        })
    }

    /// The whole territory document as typed values.
    pub fn territory_state(&self) -> Result<TerritoryState, DocError> {
        let DocId::Territory(id) = &self.id else {
            return Err(DocError::WrongKind {
                operation: "territory_state",
                needs: "territory",
                doc: self.id.clone(),
            });
        };
        Ok(TerritoryState {
            id: id.clone(),
            profile: self.profile()?,
            dealers: self.records()?,
        })
    }
}

/// One record as JSON, checked as an `R`: see [`Document::records_json`].
type Normalise = fn(Json, &str) -> Result<Json, DocError>;

fn normalise_key<R: Record>(key: &str) -> Result<(), DocError> {
    if key.parse::<R::Id>().is_err() {
        return Err(DocError::BadRecord {
            collection: R::COLLECTION,
            id: key.to_owned(),
            reason: "bad id".into(),
        });
    }
    Ok(())
}

fn normalise<R: Record>(json: Json, key: &str) -> Result<Json, DocError> {
    normalise_key::<R>(key)?;
    let record: R = Document::hydrate(json, R::COLLECTION, key)?;
    reserialise(&record, R::COLLECTION, key)
}

/// One tracked record as JSON, checked as an `R`, with its `standing` on a day.
type NormaliseTracked = fn(Json, &str, crate::calendar::Day) -> Result<Json, DocError>;

fn normalise_tracked<R: Tracked>(
    json: Json,
    key: &str,
    today: crate::calendar::Day,
) -> Result<Json, DocError> {
    normalise_key::<R>(key)?;
    let record: R = Document::hydrate(json, R::COLLECTION, key)?;
    let mut json = reserialise(&record, R::COLLECTION, key)?;
    let standing = crate::model::Standing::of(&record, today);
    if let Json::Object(o) = &mut json {
        o.insert(
            "standing".into(),
            reserialise(&standing, R::COLLECTION, key)?,
        );
    }
    Ok(json)
}

/// [`normalise_all`] for tracked records; not generic, so it is compiled once.
fn normalise_tracked_all(
    all: Json,
    today: crate::calendar::Day,
    each: NormaliseTracked,
) -> Result<serde_json::Map<String, Json>, DocError> {
    let Json::Object(all) = all else {
        return Ok(serde_json::Map::new());
    };
    let mut out = serde_json::Map::new();
    for (key, value) in all {
        let value = each(value, &key, today)?;
        out.insert(key, value);
    }
    Ok(out)
}

/// The records of a collection map read as JSON, each normalised, in key order;
/// the first that fails is the error. Not generic, so it is compiled once.
fn normalise_all(all: Json, each: Normalise) -> Result<serde_json::Map<String, Json>, DocError> {
    let Json::Object(all) = all else {
        return Ok(serde_json::Map::new());
    };
    let mut out = serde_json::Map::new();
    for (key, value) in all {
        let value = each(value, &key)?;
        out.insert(key, value);
    }
    Ok(out)
}

fn reserialise<T: Serialize>(
    value: &T,
    collection: &'static str,
    id: &str,
) -> Result<Json, DocError> {
    serde_json::to_value(value).map_err(|e| DocError::BadRecord {
        collection,
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

/// Serialises a value that must be a JSON object.
fn to_object<T: Serialize>(value: &T) -> Result<serde_json::Map<String, Json>, DocError> {
    match serde_json::to_value(value) {
        Ok(Json::Object(m)) => Ok(m),
        _ => Err(DocError::PatchNotObject),
    }
}

/// Refuses changes Automerge would apply now (all their dependencies present)
/// that name an actor neither `am` nor one of the changes' first changes (seq 1)
/// introduces, or are made under such an actor: Automerge panics applying them
/// (found by fuzzing, `fuzz/`). Changes still missing dependencies are left to
/// Automerge, which queues them without reading their ops.
fn known_actors(am: &mut AutoCommit, changes: &[Change]) -> Result<(), DocError> {
    use std::collections::HashSet;
    let mut have: HashSet<ChangeHash> = HashSet::new();
    let mut known: HashSet<ActorId> = HashSet::new();
    for m in am.get_changes_meta(&[]) {
        have.insert(m.hash);
        known.insert(m.actor.into_owned());
    }
    known.extend(
        changes
            .iter()
            .filter(|c| c.seq() == 1)
            .map(|c| c.actor_id().clone()),
    );
    let mut pending: Vec<&Change> = changes.iter().collect();
    loop {
        let before = pending.len();
        let mut rest = Vec::new();
        for c in pending {
            if !c.deps().iter().all(|d| have.contains(d)) {
                rest.push(c);
                continue;
            }
            if let Some(a) = c.actors().find(|a| !known.contains(*a)) {
                return Err(DocError::Malformed(format!(
                    "a change names actor {}, which no change of the document introduces",
                    a.to_hex_string()
                )));
            }
            have.insert(c.hash());
        }
        pending = rest;
        if pending.is_empty() || pending.len() == before {
            return Ok(());
        }
    }
}

/// Runs Automerge on untrusted bytes; a panic inside it (a bug in the library)
/// becomes an error instead of taking the process down.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, DocError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| DocError::Malformed("Automerge could not decode the input".into()))
}
