//! The edits a `schema::Replay` reads from a change's own operations are the ones a full `diff(deps, [change])`
//! shows, for any history: chains, concurrent branches, merges, conflicts, deletes, nested maps, records made with
//! their fields in one change (what the schema decides on); and whether a change has an op on the root map
//! (`chunk::writes_root`, read from its bytes) is what Automerge decodes.

use fieldsync_core::automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ValueRef, legacy, transaction::Transactable,
};
use fieldsync_core::chunk;
use fieldsync_core::schema::{At, Edit, Replay, View, from_patches};
use proptest::prelude::*;

/// One step of a random history: actor `who` writes, deletes or makes a map, or takes in another actor's changes.
#[derive(Debug, Clone)]
enum Step {
    Put {
        who: usize,
        nested: bool,
        key: u8,
        value: i64,
    },
    Delete {
        who: usize,
        nested: bool,
        key: u8,
    },
    Map {
        who: usize,
        nested: bool,
        key: u8,
    },
    /// A map with two fields, made in one change.
    Record {
        who: usize,
        nested: bool,
        key: u8,
        value: i64,
    },
    Merge {
        who: usize,
        from: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, any::<bool>(), 0..4u8, -3..3i64).prop_map(|(who, nested, key, value)| Step::Put { who, nested, key, value }),
        1 => (0..3usize, any::<bool>(), 0..4u8).prop_map(|(who, nested, key)| Step::Delete { who, nested, key }),
        1 => (0..3usize, any::<bool>(), 0..2u8).prop_map(|(who, nested, key)| Step::Map { who, nested, key }),
        1 => (0..3usize, any::<bool>(), 0..3u8, -3..3i64).prop_map(|(who, nested, key, value)| Step::Record { who, nested, key, value }),
        2 => (0..3usize, 0..3usize).prop_map(|(who, from)| Step::Merge { who, from }),
    ]
}

/// The map a write goes to: the root, or the map at root key `m<key % 2>` if there is one (and the map at its
/// own key `m<key % 2>` if there is one, for keys 2 and 3).
fn target(doc: &AutoCommit, nested: bool, key: u8) -> ObjId {
    let name = format!("m{}", key % 2);
    let child = |obj: &ObjId| match doc.get(obj, name.as_str()) {
        Ok(Some((fieldsync_core::automerge::Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    };
    if !nested {
        return ROOT;
    }
    let Some(first) = child(&ROOT) else {
        return ROOT;
    };
    if key >= 2
        && let Some(second) = child(&first)
    {
        return second;
    }
    first
}

/// Checks every pushed change of the history; returns how many were read from the index.
fn run(steps: &[Step], cut: usize) -> Result<usize, TestCaseError> {
    let mut docs: Vec<AutoCommit> = (0..3u8)
        .map(|i| AutoCommit::new().with_actor(vec![i + 1; 16].into()))
        .collect();
    let mut stored: Option<AutoCommit> = None;
    for (n, s) in steps.iter().enumerate() {
        if n == cut {
            // The server holds what the first actor had so far; the rest is the push.
            stored = Some(docs[0].fork());
        }
        match *s {
            Step::Put {
                who,
                nested,
                key,
                value,
            } => {
                let obj = target(&docs[who], nested, key);
                docs[who].put(&obj, format!("k{key}"), value).unwrap();
            }
            Step::Delete { who, nested, key } => {
                let obj = target(&docs[who], nested, key);
                if docs[who].get(&obj, format!("k{key}")).unwrap().is_some() {
                    docs[who].delete(&obj, format!("k{key}")).unwrap();
                }
            }
            Step::Map { who, nested, key } => {
                let obj = target(&docs[who], nested, key);
                docs[who]
                    .put_object(&obj, format!("m{key}"), ObjType::Map)
                    .unwrap();
            }
            Step::Record {
                who,
                nested,
                key,
                value,
            } => {
                let obj = target(&docs[who], nested, key);
                let record = docs[who]
                    .put_object(&obj, format!("r{key}"), ObjType::Map)
                    .unwrap();
                docs[who].put(&record, "by", format!("u{who}")).unwrap();
                docs[who].put(&record, "n", value).unwrap();
            }
            Step::Merge { who, from } if who != from => {
                let mut other = docs[from].fork();
                docs[who].merge(&mut other).unwrap();
            }
            Step::Merge { .. } => {}
        }
        docs[s_who(s)].commit();
    }
    let mut merged = stored.as_ref().map_or_else(AutoCommit::new, |s| s.clone());
    for d in &mut docs {
        let mut d = d.fork();
        merged.merge(&mut d).unwrap();
    }
    let before = stored
        .as_ref()
        .map(|s| s.clone().get_heads())
        .unwrap_or_default();
    let fresh = merged.get_changes(&before);
    let mut replay = Replay::new(stored.as_ref(), &before);
    let mut mirrored = 0;
    for c in &fresh {
        let on_root = c
            .decode()
            .operations
            .iter()
            .any(|op| op.obj == legacy::ObjectId::Root);
        prop_assert_eq!(
            chunk::writes_root(c.raw_bytes()),
            on_root,
            "root ops of {}",
            c.hash()
        );
        let full = from_patches(merged.diff(c.deps(), &[c.hash()]));
        let read = replay.edits(c, &mut merged);
        prop_assert_eq!(sorted(read), sorted(full), "change {}", c.hash());
        // A new document read without Automerge reads as Automerge does, just before and just after the change.
        if let Some((before, after)) = replay.views() {
            prop_assert!(stored.is_none(), "a mirror of a stored document");
            let hash = [c.hash()];
            same_view(&before, &At::new(&merged, Some(c.deps())), "before")?;
            same_view(&after, &At::new(&merged, Some(&hash)), "after")?;
            mirrored += 1;
        }
    }
    // One chain of puts, maps and records on a new document is mirrored throughout.
    if stored.is_none()
        && steps
            .iter()
            .all(|s| s_who(s) == 0 && !matches!(s, Step::Merge { .. }))
    {
        prop_assert_eq!(mirrored, fresh.len(), "a chain not mirrored");
    }
    // The conflicts list reads Automerge's flag on a map's scan
    // (`Document::conflicts`): it must be set exactly where a key holds several values.
    same_conflicts(&merged, &ROOT)?;
    Ok(replay.replayed())
}

/// Every key a history can write, as probes of what is absent too.
const KEYS: [&str; 11] = [
    "k0", "k1", "k2", "k3", "m0", "m1", "r0", "r1", "r2", "by", "n",
];

/// `mirror` and `at` show the same at every path of either (and one key deeper, absent or not).
fn same_view(mirror: &dyn View, at: &dyn View, when: &str) -> Result<(), TestCaseError> {
    // From the root (whose JSON is the whole document) down through every map.
    let mut maps = vec![Vec::<String>::new()];
    while let Some(path) = maps.pop() {
        let read = (mirror.keys(&path), mirror.json(&path));
        let held = (at.keys(&path), at.json(&path));
        prop_assert_eq!(read, held, "keys and json at {:?}, {}", path, when);
        for key in KEYS {
            let mut p = path.clone();
            p.push(key.to_owned());
            let seen = at.seen(&p);
            prop_assert_eq!(mirror.seen(&p), seen.clone(), "at {:?}, {}", p, when);
            if seen == fieldsync_core::schema::Seen::Map {
                maps.push(p);
            }
        }
    }
    Ok(())
}

fn same_conflicts(doc: &AutoCommit, obj: &ObjId) -> Result<(), TestCaseError> {
    let items: Vec<(String, bool, Option<ObjId>)> = doc
        .map_range(obj, ..)
        .map(|i| {
            let child = matches!(i.value, ValueRef::Object(ObjType::Map)).then(|| i.id());
            (i.key.into_owned(), i.conflict, child)
        })
        .collect();
    prop_assert_eq!(items.len(), doc.keys(obj).count());
    for (key, conflict, child) in items {
        let all = doc.get_all(obj, key.as_str()).unwrap();
        prop_assert_eq!(conflict, all.len() > 1, "key {}", key);
        if let Some(child) = child {
            same_conflicts(doc, &child)?;
        }
    }
    Ok(())
}

fn s_who(s: &Step) -> usize {
    match *s {
        Step::Put { who, .. }
        | Step::Delete { who, .. }
        | Step::Map { who, .. }
        | Step::Record { who, .. }
        | Step::Merge { who, .. } => who,
    }
}

fn sorted(mut e: Vec<Edit>) -> Vec<Edit> {
    e.sort_by_key(|x| format!("{x:?}"));
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn indexed_edits_are_the_full_diffs_edits(steps in prop::collection::vec(step(), 1..40), cut in 0..40usize) {
        run(&steps, cut)?;
    }
}

/// One device's chain on a stored document (the upload the replay is for), and a conflict made by a merge.
#[test]
fn a_chain_after_a_stored_document_and_a_conflicting_merge() {
    let chain: Vec<Step> = (0..20)
        .map(|i| Step::Put {
            who: 0,
            nested: i % 2 == 0,
            key: (i % 4) as u8,
            value: i,
        })
        .collect();
    let map = Step::Map {
        who: 0,
        nested: false,
        key: 0,
    };
    let replayed = run(&[vec![map], chain].concat(), 1).unwrap();
    assert_eq!(
        replayed, 20,
        "one device's chain is read from its operations"
    );
    let conflict = [
        Step::Put {
            who: 0,
            nested: false,
            key: 1,
            value: 1,
        },
        Step::Merge { who: 1, from: 0 },
        Step::Put {
            who: 0,
            nested: false,
            key: 1,
            value: 2,
        },
        Step::Put {
            who: 1,
            nested: false,
            key: 1,
            value: 3,
        },
        Step::Merge { who: 0, from: 1 },
        Step::Put {
            who: 0,
            nested: false,
            key: 2,
            value: 4,
        },
    ];
    assert!(run(&conflict, 1).unwrap() < 5, "a merge is not");
}
