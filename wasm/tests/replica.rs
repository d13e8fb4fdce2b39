//! The bindings as JS uses them, run natively: JSON in, JSON out, errors with codes.

use fieldsync_wasm::JsReplica;
use serde_json::{Value, json};

const AT: i64 = 1_790_000_000_000; // 2026-09-21

fn stamp(user: &str, at: i64) -> String {
    json!({ "user": user, "device": "dev-1", "at": at }).to_string()
}

fn replica_with_dealer() -> (JsReplica, String) {
    let mut r = JsReplica::new().unwrap();
    r.create_territory(
        "t-north",
        &json!({ "name": "北區", "region": "north", "managers": { "u-lin": true } }).to_string(),
        &stamp("u-ho", AT),
    )
    .unwrap();
    let dealer = r
        .create_dealer(
            "t-north",
            None,
            &json!({ "name": "林記商行", "kind": "retailer", "tier": 2, "status": "active" })
                .to_string(),
            &stamp("u-lin", AT),
        )
        .unwrap();
    (r, format!("dealer:{dealer}"))
}

fn state(r: &JsReplica, doc: &str) -> Value {
    serde_json::from_str(&r.state(doc, AT as f64, None).unwrap()).unwrap()
}

#[test]
fn a_visit_and_its_commitment_are_recorded_and_survive_save_and_restore() {
    let (mut r, doc) = replica_with_dealer();
    let visit = r
        .insert(
            &doc,
            "visits",
            None,
            &json!({
                "manager": "u-lin", "at": AT,
                "gps": { "lat": 24.1, "lon": 120.6, "accuracy_m": 15.0 },
                "purposes": { "training": true },
                "summary": "店頭培訓",
                "attendees": { "林老闆": true },
            })
            .to_string(),
            &stamp("u-lin", AT),
        )
        .unwrap();
    let commitment = r
        .insert(
            &doc,
            "commitments",
            None,
            &json!({
                "what": "下週送試用品", "to_whom": "林老闆", "made_by": "u-lin", "owner": "u-lin",
                "made_at": AT, "due": "2026-10-01", "visit": visit,
                "status": { "open": { "by": "u-lin", "at": AT } },
            })
            .to_string(),
            &stamp("u-lin", AT),
        )
        .unwrap();
    assert!(
        r.pending() >= 4,
        "territory + dealer creation and two records are pending"
    );

    // Saved as local.js saves it: the global bookkeeping, and each document's bytes and own bookkeeping.
    let global = r.global_meta().unwrap();
    let territory = "territory:t-north";
    let saved: Vec<(Vec<u8>, String)> = [territory, doc.as_str()]
        .iter()
        .map(|id| {
            (
                r.save_doc(id).unwrap().unwrap(),
                r.doc_meta(id).unwrap().unwrap(),
            )
        })
        .collect();
    let mut back = JsReplica::restore_from(&global).unwrap();
    assert_eq!(back.pending(), 0, "nothing is loaded yet");
    for (bytes, meta) in &saved {
        back.load_doc(bytes, meta).unwrap();
    }
    let s = state(&back, &doc);
    assert_eq!(s["visits"][&visit]["summary"], "店頭培訓");
    assert_eq!(s["commitments"][&commitment]["what"], "下週送試用品");
    assert_eq!(back.pending(), r.pending());

    back.advance(
        &doc,
        "commitments",
        &commitment,
        "kept",
        "",
        &stamp("u-lin", AT + 1),
    )
    .unwrap();
    let s = state(&back, &doc);
    assert!(s["commitments"][&commitment]["status"]["kept"].is_object());
}

#[test]
fn a_broken_rule_is_refused_with_a_code_and_nothing_is_written() {
    let (mut r, doc) = replica_with_dealer();
    let before = r.pending();
    let err = r
        .insert(
            &doc,
            "commitments",
            None,
            &json!({
                "what": "x", "to_whom": "", "made_by": "u-lin", "owner": "u-lin",
                "made_at": AT, "due": "2020-01-01",
                "status": { "open": { "by": "u-lin", "at": AT } },
            })
            .to_string(),
            &stamp("u-lin", AT),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid");
    assert_eq!(r.pending(), before);

    let err = r
        .insert(&doc, "widgets", None, "{}", &stamp("u-lin", AT))
        .unwrap_err();
    assert_eq!(err.code(), "bad_collection");
    let err = r.state("dealer:nobody", AT as f64, None).unwrap_err();
    assert_eq!(err.code(), "unknown_dealer");
    let err = r.apply_response("{not json").unwrap_err();
    assert_eq!(err.code(), "bad_json");
}

#[test]
fn concurrent_edits_of_a_dealer_field_show_as_a_conflict_with_both_values() {
    let (mut a, doc) = replica_with_dealer();
    // A second device (its own actor) receives a's documents as a sync response would bring them.
    let mut fresh = JsReplica::new().unwrap();
    let push: Value = serde_json::from_str(&a.sync_request().unwrap()).unwrap();
    let response = json!({ "protocol": 1, "changes": push["push"], "cursor": "t-north:1" });
    let report: Value =
        serde_json::from_str(&fresh.apply_response(&response.to_string()).unwrap()).unwrap();
    assert_eq!(report["errors"], json!([]));
    a.update_profile(&doc, r#"{"address":"台中市一路"}"#, &stamp("u-lin", AT + 1))
        .unwrap();
    fresh
        .update_profile(
            &doc,
            r#"{"address":"台中市二路"}"#,
            &stamp("u-wang", AT + 2),
        )
        .unwrap();
    let theirs: Value = serde_json::from_str(&fresh.sync_request().unwrap()).unwrap();
    let response = json!({ "protocol": 1, "changes": theirs["push"], "cursor": "t-north:2" });
    a.apply_response(&response.to_string()).unwrap();
    let conflicts: Value = serde_json::from_str(&a.conflicts(&doc).unwrap()).unwrap();
    let c = conflicts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == json!(["profile", "address"]))
        .expect("the address is conflicted");
    let mut values = vec![
        c["winner"]["value"].as_str().unwrap().to_owned(),
        c["others"][0]["value"].as_str().unwrap().to_owned(),
    ];
    values.sort();
    assert_eq!(values, ["台中市一路", "台中市二路"]);
}
