//! The edits a `schema::Stepper` reads from Automerge's index are the ones a full `diff(deps, [change])` shows, for
//! any history: chains, concurrent branches, merges, conflicts, deletes, nested maps (what the schema decides on).

use fieldsync_core::automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ValueRef, transaction::Transactable,
};
use fieldsync_core::schema::{At, Edit, Stepper, View, from_patches};
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
        key: u8,
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
        1 => (0..3usize, 0..2u8).prop_map(|(who, key)| Step::Map { who, key }),
        2 => (0..3usize, 0..3usize).prop_map(|(who, from)| Step::Merge { who, from }),
    ]
}

/// The map a write goes to: the root, or the map at root key `m<key % 2>` if there is one.
fn target(doc: &AutoCommit, nested: bool, key: u8) -> fieldsync_core::automerge::ObjId {
    if nested
        && let Ok(Some((fieldsync_core::automerge::Value::Object(ObjType::Map), id))) =
            doc.get(ROOT, format!("m{}", key % 2))
    {
        return id;
    }
    ROOT
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
            Step::Map { who, key } => {
                docs[who]
                    .put_object(ROOT, format!("m{key}"), ObjType::Map)
                    .unwrap();
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
    let mut steps = Stepper::new(stored.as_ref());
    for c in &fresh {
        let full = from_patches(merged.diff(c.deps(), &[c.hash()]));
        let indexed = steps.edits(c, &mut merged);
        prop_assert_eq!(sorted(indexed), sorted(full), "change {}", c.hash());
        // Where the copy is the document at the change, the checks read it there:
        // it must read as the merged document at the change and at its dependencies.
        if let Some(at) = steps.holding(c) {
            let root: Vec<String> = Vec::new();
            let after = [c.hash()];
            prop_assert_eq!(
                At::now(at).json(&root),
                At::new(&merged, Some(&after)).json(&root)
            );
            let deps = c.deps();
            prop_assert_eq!(
                At::new(at, Some(deps)).json(&root),
                At::new(&merged, Some(deps)).json(&root)
            );
        }
    }
    // The conflicts list reads Automerge's flag on a map's scan
    // (`Document::conflicts`): it must be set exactly where a key holds several values.
    same_conflicts(&merged, &ROOT)?;
    Ok(steps.indexed())
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

/// One device's chain on a stored document (the upload the stepper is for), and a conflict made by a merge.
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
    let indexed = run(&[vec![Step::Map { who: 0, key: 0 }], chain].concat(), 1).unwrap();
    assert_eq!(indexed, 20, "one device's chain is read from the index");
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
