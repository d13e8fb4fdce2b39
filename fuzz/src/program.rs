//! A small op language whose programs become Automerge changes on a scene document: honest edits through fieldsync core, and raw Automerge operations with any actor and any signature.

use arbitrary::Arbitrary;
use fieldsync_core::automerge::transaction::{CommitOptions, Transactable};
use fieldsync_core::automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
};
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{ClaimId, NoteId, UserId, VisitId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim, Visit};
use fieldsync_core::money::Money;
use fieldsync_core::stamp::Stamp;

use crate::scene::{T0, actor};
use crate::word::Word;

/// Whose actor id the changes are made under.
#[derive(Arbitrary, Debug, Clone)]
pub enum ActorChoice {
    /// One of a few device actors.
    Device(u8),
    /// The document's genesis actor (reserved).
    Genesis,
    /// A migration actor (reserved).
    Migration,
    /// Any bytes (Automerge refuses an empty actor; so may the server).
    Raw(Vec<u8>),
}

/// What a commit's message says about its author.
#[derive(Arbitrary, Debug, Clone)]
pub enum Signer {
    /// The pushing user's own stamp.
    Own,
    /// Another user's stamp.
    Other(Word),
    /// Any text.
    Text(Word),
    /// No message at all.
    Nothing,
}

/// A value to put.
#[derive(Arbitrary, Debug, Clone)]
pub enum Scalar {
    Str(Word),
    Int(i64),
    Uint(u64),
    F64(f64),
    Bool(bool),
    Null,
    Time(i64),
    Counter(i64),
    Bytes(Vec<u8>),
}

impl Scalar {
    fn value(&self) -> ScalarValue {
        match self {
            Scalar::Str(w) => ScalarValue::Str(w.as_str().into()),
            Scalar::Int(i) => ScalarValue::Int(*i),
            Scalar::Uint(u) => ScalarValue::Uint(*u),
            Scalar::F64(f) => ScalarValue::F64(*f),
            Scalar::Bool(b) => ScalarValue::Boolean(*b),
            Scalar::Null => ScalarValue::Null,
            Scalar::Time(t) => ScalarValue::Timestamp(*t),
            Scalar::Counter(c) => ScalarValue::counter(*c),
            Scalar::Bytes(b) => ScalarValue::Bytes(b.clone()),
        }
    }
}

/// An object type to make.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Kind {
    Map,
    List,
    Text,
}

impl Kind {
    fn obj_type(self) -> ObjType {
        match self {
            Kind::Map => ObjType::Map,
            Kind::List => ObjType::List,
            Kind::Text => ObjType::Text,
        }
    }
}

/// One step of a program. `obj` picks any object of the document as it is
/// (breadth-first order, so small numbers are near the root).
#[derive(Arbitrary, Debug, Clone)]
pub enum Step {
    /// A new visit by the signer, through fieldsync core.
    NewVisit { id: Word, summary: Word },
    /// A note on a visit, through fieldsync core.
    Note { visit: Word, id: Word, text: Word },
    /// A new claim by the signer, through fieldsync core.
    NewClaim { id: Word, minor: u32 },
    /// A claim moved to a stage, through fieldsync core.
    Advance { claim: Word, stage: u8 },
    /// Raw: put a value at a key (maps) or index (lists).
    Put {
        obj: u16,
        key: Word,
        index: u16,
        value: Scalar,
    },
    /// Raw: make an object at a key (maps) or index (lists).
    Make {
        obj: u16,
        key: Word,
        index: u16,
        kind: Kind,
    },
    /// Raw: delete a key or an element.
    Delete { obj: u16, key: Word, index: u16 },
    /// Raw: insert a value into a list.
    Insert { obj: u16, index: u16, value: Scalar },
    /// Raw: increment a counter.
    Increment { obj: u16, key: Word, by: i64 },
    /// Raw: splice text.
    Splice {
        obj: u16,
        pos: u16,
        delete: i8,
        text: Word,
    },
    /// Raw: maps nested `depth` deep under a key.
    Nest { obj: u16, key: Word, depth: u8 },
    /// Commit what is pending.
    Commit { signer: Signer, time: i64 },
    /// Go on from the scene's heads under the next device actor, so what follows
    /// is concurrent with what came before.
    Rewind,
}

/// A program: an actor and up to 24 steps.
#[derive(Arbitrary, Debug, Clone)]
pub struct Program {
    pub actor: ActorChoice,
    pub steps: Vec<Step>,
}

fn actor_of(choice: &ActorChoice, doc: &DocId) -> ActorId {
    match choice {
        ActorChoice::Device(n) => actor(&format!("device-{}", n % 4)),
        ActorChoice::Genesis => ActorId::from(format!("fieldsync-genesis/{doc}").into_bytes()),
        ActorChoice::Migration => {
            ActorId::from(format!("fieldsync-migration/2/{doc}").into_bytes())
        }
        ActorChoice::Raw(b) if b.is_empty() => actor("empty"),
        ActorChoice::Raw(b) => ActorId::from(b[..b.len().min(40)].to_vec()),
    }
}

/// Every object of `am`, breadth-first from the root, at most `max`.
fn objects(am: &AutoCommit, max: usize) -> Vec<(ObjId, ObjType)> {
    let mut out = vec![(ROOT, ObjType::Map)];
    let mut i = 0;
    while i < out.len() && out.len() < max {
        let (obj, ty) = out[i].clone();
        i += 1;
        let children: Vec<(ObjId, ObjType)> = match ty {
            ObjType::Map | ObjType::Table => am
                .keys(&obj)
                .filter_map(|k| match am.get(&obj, k.as_str()) {
                    Ok(Some((Value::Object(t), id))) => Some((id, t)),
                    _ => None,
                })
                .collect(),
            ObjType::List => (0..am.length(&obj))
                .filter_map(|i| match am.get(&obj, i) {
                    Ok(Some((Value::Object(t), id))) => Some((id, t)),
                    _ => None,
                })
                .collect(),
            ObjType::Text => Vec::new(),
        };
        out.extend(children.into_iter().take(max - out.len().min(max)));
    }
    out
}

/// Builds changes: runs programs on scene documents.
#[derive(Debug)]
pub struct Builder {
    doc_id: DocId,
    base: Vec<ChangeHash>,
    scene: AutoCommit,
    am: AutoCommit,
    user: UserId,
    device: u8,
    made: Vec<Change>,
    /// The document as fieldsync core holds it, while no raw step has run since
    /// (loading one checks its whole shape, the costliest part of a run).
    typed: Option<Document>,
}

impl Builder {
    /// Starts from `scene` (not changed), for pushes by `user`.
    pub fn new(scene: &mut Document, user: &UserId) -> Builder {
        let doc_id = scene.id().clone();
        let base = scene.heads();
        let am = scene.automerge().clone();
        Builder {
            doc_id,
            base,
            scene: am.clone(),
            am,
            user: user.clone(),
            device: 0,
            made: Vec::new(),
            typed: None,
        }
    }

    fn stamp(&self, at: i64) -> Stamp {
        Stamp::new(
            self.user.clone(),
            "fuzz-phone".parse().expect("a device id"),
            Timestamp(T0 + 10_000 + at.rem_euclid(1_000_000)),
        )
    }

    fn message(&self, signer: &Signer, time: i64) -> Option<String> {
        match signer {
            Signer::Own => Some(self.stamp(time).to_message()),
            Signer::Other(w) => {
                let user = w.as_str().parse().unwrap_or_else(|_| self.user.clone());
                Some(
                    Stamp {
                        user,
                        ..self.stamp(time)
                    }
                    .to_message(),
                )
            }
            Signer::Text(w) => Some(w.0.clone()),
            Signer::Nothing => None,
        }
    }

    fn commit(&mut self, signer: &Signer, time: i64) {
        // Automerge itself panics (an overflow in its column of times) committing a time
        // further than i64 from the one before; times within ±2^50 ms (35,000 years)
        // still reach the server's checks. Found by the fuzzer in session 22: the crash
        // was the harness making its input, not the server.
        let time = time.clamp(-(1 << 50), 1 << 50);
        let mut opts = CommitOptions::default().with_time(time);
        if let Some(m) = self.message(signer, time) {
            opts = opts.with_message(m);
        }
        self.am.commit_with(opts);
    }

    /// Runs an honest edit through fieldsync core on the document as it is now.
    fn typed(&mut self, edit: impl FnOnce(&mut Document, &Stamp)) {
        let mut doc = match self.typed.take() {
            Some(doc) => doc,
            None => {
                self.commit(&Signer::Own, 0);
                let actor = self.am.get_actor().clone();
                let Ok(doc) = Document::load(&self.am.save(), actor) else {
                    return;
                };
                doc
            }
        };
        let s = self.stamp(1);
        edit(&mut doc, &s);
        self.am = doc.automerge().clone();
        self.typed = Some(doc);
    }

    fn pick(&self, obj: u16) -> (ObjId, ObjType) {
        let all = objects(&self.am, 512);
        all[obj as usize % all.len()].clone()
    }

    fn index(&self, obj: &ObjId, index: u16, extra: usize) -> usize {
        let len = self.am.length(obj) + extra;
        if len == 0 { 0 } else { index as usize % len }
    }

    /// Runs one step; Automerge's refusals (wrong object type, bad index) are skipped.
    pub fn step(&mut self, step: &Step) {
        let typed = matches!(
            step,
            Step::NewVisit { .. }
                | Step::Note { .. }
                | Step::NewClaim { .. }
                | Step::Advance { .. }
        );
        if !typed {
            self.typed = None;
        }
        match step {
            Step::NewVisit { id, summary } => {
                let Ok(id) = id.as_str().parse::<VisitId>() else {
                    return;
                };
                self.typed(|doc, s| {
                    let mut v = Visit::new(s.user.clone(), s.at);
                    v.summary = summary.0.clone();
                    let _ = doc.insert(&id, &v, s);
                });
            }
            Step::Note { visit, id, text } => {
                let (Ok(visit), Ok(id)) = (
                    visit.as_str().parse::<VisitId>(),
                    id.as_str().parse::<NoteId>(),
                ) else {
                    return;
                };
                self.typed(|doc, s| {
                    let _ = doc.add_note::<Visit>(&visit, &id, text.as_str(), s);
                });
            }
            Step::NewClaim { id, minor } => {
                let Ok(id) = id.as_str().parse::<ClaimId>() else {
                    return;
                };
                self.typed(|doc, s| {
                    let Ok(amount) = Money::new(i64::from(*minor), "TWD".parse().expect("TWD"))
                    else {
                        return;
                    };
                    let c = ExpenseClaim::new(
                        ExpenseCategory::Event,
                        "活動",
                        amount,
                        s.user.clone(),
                        s.at,
                    );
                    let _ = doc.insert(&id, &c, s);
                });
            }
            Step::Advance { claim, stage } => {
                let Ok(id) = claim.as_str().parse::<ClaimId>() else {
                    return;
                };
                let stage = match stage % 4 {
                    0 => ClaimStage::Approved,
                    1 => ClaimStage::Rejected,
                    2 => ClaimStage::Spent,
                    _ => ClaimStage::Reconciled,
                };
                self.typed(|doc, s| {
                    let extra = if stage == ClaimStage::Spent {
                        serde_json::json!({"spent": {"minor": 1000, "currency": "TWD"}})
                    } else {
                        serde_json::Value::Null
                    };
                    let _ = doc.advance::<ExpenseClaim>(&id, stage, extra, s);
                });
            }
            Step::Put {
                obj,
                key,
                index,
                value,
            } => {
                let (o, ty) = self.pick(*obj);
                let _ = match ty {
                    ObjType::List => {
                        let i = self.index(&o, *index, 0);
                        self.am.put(&o, i, value.value())
                    }
                    _ => self.am.put(&o, key.as_str(), value.value()),
                };
            }
            Step::Make {
                obj,
                key,
                index,
                kind,
            } => {
                let (o, ty) = self.pick(*obj);
                let _ = match ty {
                    ObjType::List => {
                        let i = self.index(&o, *index, 0);
                        self.am.put_object(&o, i, kind.obj_type())
                    }
                    _ => self.am.put_object(&o, key.as_str(), kind.obj_type()),
                };
            }
            Step::Delete { obj, key, index } => {
                let (o, ty) = self.pick(*obj);
                let _ = match ty {
                    ObjType::List | ObjType::Text => {
                        let i = self.index(&o, *index, 0);
                        self.am.delete(&o, i)
                    }
                    _ => self.am.delete(&o, key.as_str()),
                };
            }
            Step::Insert { obj, index, value } => {
                let (o, _) = self.pick(*obj);
                let i = self.index(&o, *index, 1);
                let _ = self.am.insert(&o, i, value.value());
            }
            Step::Increment { obj, key, by } => {
                let (o, _) = self.pick(*obj);
                let _ = self.am.increment(&o, key.as_str(), *by);
            }
            Step::Splice {
                obj,
                pos,
                delete,
                text,
            } => {
                let (o, _) = self.pick(*obj);
                let i = self.index(&o, *pos, 1);
                let _ = self
                    .am
                    .splice_text(&o, i, isize::from(*delete), text.as_str());
            }
            Step::Nest { obj, key, depth } => {
                let (mut o, _) = self.pick(*obj);
                for _ in 0..*depth {
                    match self.am.put_object(&o, key.as_str(), ObjType::Map) {
                        Ok(child) => o = child,
                        Err(_) => return,
                    }
                }
            }
            Step::Commit { signer, time } => self.commit(signer, *time),
            Step::Rewind => {
                self.commit(&Signer::Own, 0);
                self.made.extend(self.am.get_changes(&self.base));
                self.device += 1;
                let next = actor(&format!("device-rewind-{}", self.device));
                self.am = self.scene.fork().with_actor(next);
            }
        }
    }

    /// Runs `program` and returns every change it made, oldest first, without duplicates.
    pub fn run(mut self, program: &Program) -> Vec<Change> {
        self.am.set_actor(actor_of(&program.actor, &self.doc_id));
        for step in program.steps.iter().take(24) {
            self.step(step);
        }
        self.commit(&Signer::Own, 0);
        let last: Vec<Change> = self.am.get_changes(&self.base).into_iter().collect();
        let mut out = self.made;
        for c in last {
            if !out.iter().any(|o| o.hash() == c.hash()) {
                out.push(c);
            }
        }
        out
    }
}
