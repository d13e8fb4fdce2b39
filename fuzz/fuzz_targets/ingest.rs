//! Fuzz target `ingest`: a push of changes (built by a program as some principal, then mutated) decided by core's `ingest` against a stored scene document; an accepted document must load again, take the same push again, and take an honest device's next edit.
#![no_main]

use arbitrary::Arbitrary;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::{DealerEntry, Visit};
use fieldsync_core::sync::{DocChanges, Hub, Limits, Principal, ingest};
use fieldsync_fuzz::mutate::{self, Mutations};
use fieldsync_fuzz::program::{Builder, Program};
use fieldsync_fuzz::request::wire;
use fieldsync_fuzz::scene::{T0, actor, principal, stamp, with_scene};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    territory_doc: bool,
    principal: u8,
    /// Push the scene's whole history too, as for a document the server lacks.
    new_doc: bool,
    program: Program,
    mutations: Mutations,
}

/// m1's next ordinary edit of `doc`, from a new device, as a push.
fn honest_edit(doc: &mut Document) -> Option<DocChanges> {
    let mut mine = Document::load(&doc.save(), actor("honest-device")).expect("it loads");
    let heads = mine.heads();
    let s = stamp("m1", 500_000);
    let done = match mine.id().clone() {
        DocId::Dealer(_) => {
            let id: VisitId = "v-honest".parse().expect("an id");
            mine.insert(
                &id,
                &Visit::new(s.user.clone(), Timestamp(T0 + 500_000)),
                &s,
            )
        }
        DocId::Territory(_) => {
            let id: DealerId = "d-honest".parse().expect("an id");
            let entry = DealerEntry {
                added_by: s.user.clone(),
                added_at: s.at,
            };
            mine.insert(&id, &entry, &s)
        }
    };
    match done {
        Ok(()) => {}
        // The attacker used the id first: nothing to learn.
        Err(fieldsync_core::doc::DocError::Duplicate { .. }) => return None,
        Err(e) => panic!("an accepted push keeps the honest device from editing: {e}"),
    }
    let changes = mine
        .changes_since(&heads)
        .iter()
        .map(|c| wire(c.raw_bytes()))
        .collect();
    Some(DocChanges {
        doc: mine.id().clone(),
        changes,
    })
}

fn check_accepted(mut doc: Document, push: &DocChanges, who: &Principal) {
    let saved = doc.save();
    let mut stored = match Document::load(&saved, Hub::actor()) {
        Ok(d) => d,
        Err(e) => panic!("an accepted document does not load again (bricked): {e}"),
    };
    match ingest(Some(&mut stored), push, who, Limits::default()) {
        Ok(again) => assert!(again.fresh.is_empty(), "a retried push adds nothing"),
        Err(r) => panic!("a retried push is refused: {r:?}"),
    }
    if let Some(next) = honest_edit(&mut stored)
        && let Err(r) = ingest(Some(&mut stored), &next, &principal(0), Limits::default())
    {
        panic!("an honest device's next edit is refused after an accepted push: {r:?}");
    }
}

fuzz_target!(|input: Input| {
    with_scene(|scene| {
        let who = principal(input.principal);
        let doc = scene.doc(input.territory_doc);
        let id = doc.id().clone();
        let made = Builder::new(doc, &who.user).run(&input.program);
        let mut bytes: Vec<Vec<u8>> = made.iter().map(|c| c.raw_bytes().to_vec()).collect();
        mutate::apply(&mut bytes, &input.mutations);
        fieldsync_fuzz::dump("stored", &[doc.save()]);
        fieldsync_fuzz::dump("push", &bytes);
        let mut changes: Vec<_> = bytes.iter().map(|b| wire(b)).collect();
        if input.new_doc {
            let mut all: Vec<_> = doc
                .changes_since(&[])
                .iter()
                .map(|c| wire(c.raw_bytes()))
                .collect();
            all.append(&mut changes);
            let push = DocChanges {
                doc: id,
                changes: all,
            };
            if let Ok(done) = ingest(None, &push, &who, Limits::default()) {
                check_accepted(done.doc, &push, &who);
            }
            return;
        }
        let push = DocChanges { doc: id, changes };
        let before = doc.heads();
        let decided = ingest(Some(doc), &push, &who, Limits::default());
        assert_eq!(
            doc.heads(),
            before,
            "ingest never changes the stored document"
        );
        if let Ok(done) = decided
            && !done.fresh.is_empty()
        {
            check_accepted(done.doc, &push, &who);
        }
    });
});
