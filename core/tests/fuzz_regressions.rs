//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz`) crashed on, replayed as plain tests: the bytes that reached core, each refused with an error and without any panic, even a caught one.

mod common;

use std::cell::Cell;

use common::manager;
use fieldsync_core::automerge::ActorId;
use fieldsync_core::doc::{DocError, Document};
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::set::Set;
use fieldsync_core::sync::ingest::decode_changes;
use fieldsync_core::sync::limits::{self, LimitError};
use fieldsync_core::sync::{ChangeBytes, DocChanges, Limits, Principal, RejectCode, Role, ingest};

thread_local! {
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

/// Panics on this thread so far, caught or not.
fn panics() -> usize {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            default(info);
        }));
    });
    PANICS.with(Cell::get)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The fuzz scene's dealer document `d-lin` (territory `t-north`), as stored.
const SCENE_DEALER: &str = concat!(
    "856f4a838a8647d200fe0803101622f461b12407accc02f99d1489564e1e6669656c6473796e632d67656e657369732f",
    "6465616c65723a642d6c696e10e7b4ca458dddff4255d3850cb958fde40171775986ab8115d3b9d00282a661200fc972",
    "7996936cc092b5f1553b1af168110801060307130b230935a4014004430456020a0108022f1d9e02210a23453401424a",
    "565757d8018001037f0107007f027e010006017f7a7b0a0809040c020a7e0c037e00c08df6d706070000017f347b2275",
    "736572223a226d31222c22646576696365223a226d312d70686f6e65222c226174223a31373935303030303030303031",
    "7d06347b2275736572223a226d31222c22646576696365223a226d312d70686f6e65222c226174223a31373935303030",
    "3030303030327d7f347b2275736572223a227231222c22646576696365223a2272312d70686f6e65222c226174223a31",
    "3739353030303030303030337d7f0008017f0007010907000a0d0135000202000a08057e060702087f0908137f18031c",
    "08207f260227042c022d7f32023304360237023c023d08407f470248024c9d8f4b6e1b410c4481ce683ef669940b0954",
    "77c5223c4d7648f6c8b3f29d7cc2c0192130bccc865c10ef15ebe3fd8972f0c6c1f031afc4d59fb3d6ca5121e173d17c",
    "89bd2171999be97545f5a999fee215a3e71b2a2d01330eb57ddcd8397ca2520ceee3d5488acf592528ff95dd6565c1f0",
    "ca5206a18ad183a2fb100c4bdb39bd9e533ea7fc33b573a258280252005f72f7d00af3a992d00bec241af0b1dd34d4e7",
    "d6ada9c327efb592ed493ef974dd87c05bfc281d53a5820bc5b1affbc19ff42eb0c71753e8e57ed33adc6f148336c8e1",
    "18a96a979833055ed4f6e991f6c0e6dccd20793f5516b5c5f0bbc303e57fe8995a33dd50be6bfef1cf059e8d5bb0ca02",
    "cfb452a01c759e0cae6bff3ccd8e0dc6b13f724ec1b1e24bab63fe010a0133007f020e0002027a0a7e7f7b0106027c7d",
    "03020508017e0d0c020a7f540b017f0205017d04017c02017e040302017d7c010402017e020302017c7c01137102017f",
    "0206017e047d02017e03014e03000201020002017e00010300040105007f0102007f0103007e010006017d0001000201",
    "7f0002017f0002017f0002017f0002017f0002017f000201020005017f0002017d000100040103007e665602007c1476",
    "000603007f860102667f1405007f6402007f2603006106006426d602a60164260026009601c601006426009601660036",
    "34006426009601660036340200716426660601000646006600642664266465616c6572642d6c696e01742d6e6f727468",
    "72657461696c6572e69e97e8a8986163746976650282bcd9f29e346d3182bcd9f29e346d31e88081e99786e8aaaae4b8",
    "8be69c88e980b2e8b2a8323032362d31322d303182bcd9f29e346d316d31e69e97e88081e99786e98081e8a9a6e794a8",
    "e5938182bcd9f29e346d31706c6163656d656e74e98baae5b882545744f0930982bcd9f29e346d31706c6163656d656e",
    "74e98baae5b882545744f0930982bcd9f29e346d316465616c657268696768e7bcbae8b2a882bcd9f29e346d3183bcd9",
    "f29e347231ce000008",
);

/// Found by `change`: a well-formed change (checksum fixed after mutation) whose
/// list of other actors names one that no change of the document introduces.
/// Automerge 0.12 unwraps that actor's lookup and panics applying it.
const UNKNOWN_OTHER_ACTOR: &str = concat!(
    "856f4a83def399cc0199020171775986ab8115d3b9d00282a661200fc9727996936cc092b5f1553b1af1681110ce43b1",
    "9134a2c39775f7c05443add99c014fca8df6d706367b2275736572223a226d31222c22646576696365223a2266757a7a",
    "2d70686f6e65222c226174223a313739353030303031303030317d011e66699a6c6473796e632d67656e657369732f64",
    "65616c65723a642d6c696e080104020415453401420b560c571170027f0108007f06084f7706736368656d6102617409",
    "617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f7308707572706f7365",
    "730773756d6d617279097e000102007f0103007f017e006402007f2603007f9601918adaf29e346d3172657175657374",
    "65640900",
);

#[test]
fn a_change_naming_an_actor_the_document_never_saw_is_refused_before_automerge_applies_it() {
    let before = panics();
    let mut stored = Document::load(&hex(SCENE_DEALER), ActorId::from(b"server".to_vec())).unwrap();
    let id = stored.id().clone();
    let push = DocChanges {
        doc: id.clone(),
        changes: vec![ChangeBytes(hex(UNKNOWN_OTHER_ACTOR))],
    };
    let changes = decode_changes(&id, &push.changes, Limits::default()).unwrap();
    // The history check names the reason…
    let checked = limits::check_history(Some(&mut stored), &id, &changes, &Limits::default());
    assert!(
        matches!(checked, Err(LimitError::UnknownActor(_))),
        "{checked:?}"
    );
    // …and the document refuses it too, on every path that applies changes.
    let applied = stored.fork().apply(changes.clone());
    assert!(
        matches!(applied, Err(DocError::Malformed(_))),
        "{applied:?}"
    );
    let refused = ingest(Some(&mut stored), &push, &manager("m1"), Limits::default()).unwrap_err();
    assert_eq!(refused.code, RejectCode::Malformed);
    // A caller without access is refused before anything is checked or applied.
    let stranger = Principal {
        user: "m9".parse().unwrap(),
        role: Role::Manager,
        territories: ["t-south".parse::<TerritoryId>().unwrap()]
            .into_iter()
            .collect::<Set<_>>(),
    };
    assert!(ingest(Some(&mut stored), &push, &stranger, Limits::default()).is_err());
    assert_eq!(panics(), before, "something panicked (even if caught)");
}

/// Found by `ingest`: a change by a manager of another territory (a new actor
/// on the stored head, whose `start_op` does not follow it). The access check
/// came after Automerge applied the change, and the history check was skipped
/// for callers without access, so Automerge met a change it cannot bundle (its
/// own debug self-check panicked on a missing dependency).
const OTHER_TERRITORYS_CHANGE: &str = concat!(
    "856f4a83375485ce019a020171775986ab8115d3b9d00282a661200fc9727996936cc092b5f1553b1af168111003204d",
    "e92e11fc8c528139be41906592014fca8df6d706367b2275736572223a226d32222c22646576696365223a2266757a7a",
    "2d70686f6e65222c226174223a313739353030303031303030317d011e6669656c6473796e632d67656e657369732f64",
    "65616c65723a642d6c696e080104020415473401420b560c571070027f0108007f06084f7708636f6e74616374730261",
    "7409617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f7308707572706f",
    "7365730773756d6d617279097e000102007f0103007f017e006402117f2603007f8601918adaf29e346d32636f6e7461",
    "6374730900",
);

#[test]
fn a_change_from_a_manager_without_access_is_refused_before_automerge_sees_it() {
    let before = panics();
    let mut stored = Document::load(&hex(SCENE_DEALER), ActorId::from(b"server".to_vec())).unwrap();
    let id = stored.id().clone();
    let change = ChangeBytes(hex(OTHER_TERRITORYS_CHANGE));
    let push = DocChanges {
        doc: id.clone(),
        changes: vec![change.clone(), change],
    };
    let stranger = Principal {
        user: "m2".parse().unwrap(),
        role: Role::Manager,
        territories: ["t-south".parse::<TerritoryId>().unwrap()]
            .into_iter()
            .collect::<Set<_>>(),
    };
    let refused = ingest(
        Some(&mut stored.fork()),
        &push,
        &stranger,
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(refused.code, RejectCode::Forbidden);
    // The territory's own manager sending the same bytes is refused by the
    // history check, still before Automerge applies them.
    let refused = ingest(
        Some(&mut stored.fork()),
        &push,
        &manager("m1"),
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(refused.code, RejectCode::Malformed, "{refused:?}");
    assert_eq!(panics(), before, "something panicked (even if caught)");
}

/// Found by the `change` fuzz target (session 18): a push whose changes pass
/// Automerge's own parsing, but one of them has an op naming an actor index
/// beyond the change's actor list; Automerge's decoder (`Change::decode`, which
/// the history check uses) unwrapped the missing actor and panicked.
const ACTOR_INDEX_OUT_OF_RANGE: [&str; 6] = [
    concat!(
        "856f4a8309e5edb5019c020171775986ab8115d3b9d00282a661200fc9727996936cc092b5f1553b1af1681110048e7e",
        "f65d968dd7f273eca282f8e346014fca8df6d706367b2275736572223a226d31222c22646576696365223a2266757a7a",
        "2d70686f6e65222c226174223a313739353030303031303030317d011e6669656c6473796e632d67656e657369732f64",
        "65616c65723a642d6c696e080104020415483401420b560c571170027f0108007f06084f77097465727269746f727902",
        "617409617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f730870757270",
        "6f7365730773756d6d617279097e000102007f0103007f017e006402007f2603007f9601918adaf29e346d3174657272",
        "69746f72790900",
    ),
    concat!(
        "856f4a832cd701ec01af0101ec7f81051529859b11fd1056fc2d735488bb95f784c05e2a0b0ac9128daddfc710c4226b",
        "fa5c6fa3f3f3dcca528a370069025800367b2275736572223a226d31222c22646576696365223a2266757a7a2d70686f",
        "6e65222c226174223a313739353030303031303030307d01101622f461b12407accc02f99d1489564e0801020202150b",
        "340142025603570970027f017f0c7f097465727269746f7279017f017f96017465727269746f72797f00",
    ),
    concat!(
        "856f4a83ec7f8105019c020171775986ab8115d3b9d00282a661200fc9727996936cc092b5f1553b1af1681110c4226b",
        "fa5c6fa3f3f3dcca528a370069014fca8df6d706367b2275736572223a226d31222c22646576696365223a2266757a7a",
        "2d70686f6e65222c226174223a313739353030303031303030317d011e6669656c6473796e632d67656e657369732f64",
        "65616c65723a642d6c696e080104020415483401420b560c571170027f0108007f06084f77097465727269746f727902",
        "617409617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f730870757270",
        "6f7365730773756d6d617279097e000102007f0103007f017e006402007f2603007f9601918adaf29e346d3174657272",
        "69746f72790900",
    ),
    concat!(
        "856f4a8376341abc019c020171775986ab8115d3b9d00282a661200fc9727996936cc092b5f1553b1af1681110b25e4d",
        "f94681cd85ec8163c49bfc24f4014fca8df6d706367b2275736572223a226d31222c22646576696365223a2266757a7a",
        "2d70686f6e65222c226174223a313739353030303031303030317d011e6669656c6473796e632d67656e657369732f64",
        "65616c65723a642d6c696e080104020415483401420b560c571170027f0108007f06084f77097465727269746f727902",
        "617409617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f730870757270",
        "6f7365730773756d6d617279097e000102007f0103007f017e006402007f2603007f9601918adaf29e346d3174657272",
        "69746f72790900",
    ),
    concat!(
        "856f4a83ed1c7bdd019b02012cd701ecb7f96571d7cc8004d98c0aacbef99ce224e71cd96495a2badb8836dc10c4226b",
        "fa5c6fa3f3f3dcca528a3700690359ca8df6d706367b2275736572223a226d31222c22646576696365223a2266757a7a",
        "2d70686f6e65222c226174223a313739353030303031303030317d011e6669656c6473796e632d67656e657369732f64",
        "65616c65723a642d6c696e080104020415473401420b560c571170027f0208007f060859770874626b656e5f61740261",
        "7409617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f7308707572706f",
        "7365730773756d6d617279097e000102007f0103007f017e006402007f2603007f9601918adaf29e346d317465727269",
        "746f72790900",
    ),
    concat!(
        "856f4a836a769ca90196020176341abc14c34a08427763ee4b9679b5bf35f5992608331fa035fe7a8626b06210b25e4d",
        "f94681cd85ec8163c49bfc24f40258ca8df6d706367b2275736572223a226d31222c22646576696365223a2266757a7a",
        "2d70686f6e65222c226174223a313739353030303031303030317d011e6669656c6473796e632d67656e657369732f64",
        "65616c65723a642d6c696e080104020415463401420b560b570e70027f0108007f060858770761646472657373026174",
        "09617474656e6465657309637573746f6d657273076d616e61676572056e6f7465730670686f746f7308707572706f73",
        "65730773756d6d617279097e000102007f0103007f017e006402007f2603007f66918adaf29e346d316465616c657209",
        "00",
    ),
];

#[test]
fn an_op_naming_an_actor_the_change_does_not_list_is_refused_without_a_panic() {
    let before = panics();
    let mut stored = Document::load(&hex(SCENE_DEALER), ActorId::from(b"server".to_vec())).unwrap();
    let id = stored.id().clone();
    let push = DocChanges {
        doc: id.clone(),
        changes: ACTOR_INDEX_OUT_OF_RANGE
            .iter()
            .map(|h| ChangeBytes(hex(h)))
            .collect(),
    };
    let refused = decode_changes(&id, &push.changes, Limits::default()).unwrap_err();
    assert_eq!(refused.code, RejectCode::Malformed, "{refused:?}");
    let refused = ingest(Some(&mut stored), &push, &manager("m1"), Limits::default()).unwrap_err();
    assert_eq!(refused.code, RejectCode::Malformed);
    assert_eq!(panics(), before, "something panicked (even if caught)");
}
