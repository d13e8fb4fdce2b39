//! Fuzz target `change`: change chunks (valid ones built by a program on a scene document, then mutated) through `limits::peek`, Automerge's decoder, `decode_changes` and `check_history`, then applied.
#![no_main]

use arbitrary::Arbitrary;
use fieldsync_core::automerge::Change;
use fieldsync_core::doc::Document;
use fieldsync_core::sync::ingest::decode_changes;
use fieldsync_core::sync::{Hub, Limits, limits};
use fieldsync_fuzz::mutate::{self, Mutations};
use fieldsync_fuzz::program::{Builder, Program};
use fieldsync_fuzz::request::wire;
use fieldsync_fuzz::scene::{user, with_scene};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    territory_doc: bool,
    program: Program,
    mutations: Mutations,
}

fuzz_target!(|input: Input| {
    with_scene(|scene| {
        let doc = scene.doc(input.territory_doc);
        let id = doc.id().clone();
        let made = Builder::new(doc, &user("m1")).run(&input.program);
        let mut bytes: Vec<Vec<u8>> = made.iter().map(|c| c.raw_bytes().to_vec()).collect();
        let intact = mutate::apply(&mut bytes, &input.mutations);
        fieldsync_fuzz::dump("stored", &[doc.save()]);
        fieldsync_fuzz::dump("changes", &bytes);
        for (b, intact) in bytes.iter().zip(&intact) {
            let peeked = limits::peek(b);
            if *intact {
                assert!(
                    peeked.is_ok(),
                    "peek refuses a change Automerge made: {peeked:?}"
                );
            }
            let decoded = Change::from_bytes(b.clone());
            if let (Ok(p), Ok(c)) = (&peeked, &decoded) {
                // What the limits are checked on is what Automerge will expand.
                assert_eq!(p.hash, c.hash());
                assert_eq!(&p.actor, c.actor_id());
                assert_eq!(p.seq, c.seq());
                assert_eq!(p.start_op, c.start_op().get());
                assert_eq!(p.deps, c.deps());
                assert_eq!(
                    p.ops,
                    c.len() as u64,
                    "peek counts the ops Automerge decodes"
                );
            }
        }
        let raw: Vec<_> = bytes.iter().map(|b| wire(b)).collect();
        let Ok(decoded) = decode_changes(&id, &raw, Limits::default()) else {
            return;
        };
        let mut stored = doc.fork();
        let before = stored.heads();
        if limits::check_history(Some(&mut stored), &id, &decoded, &Limits::default()).is_err() {
            return;
        }
        assert_eq!(stored.heads(), before, "check_history changes nothing");
        match stored.apply(decoded) {
            Err(_) => assert_eq!(stored.heads(), before, "a failed apply changes nothing"),
            Ok(_) => {
                let saved = stored.save();
                if let Err(e) = Document::load(&saved, Hub::actor()) {
                    panic!("a document that took the changes does not load again: {e}");
                }
            }
        }
    });
});
