//! The OpenAPI document (derived from the handlers' annotations): a structural check against OpenAPI 3.1, and what it must say about the sync protocol's types and every route's answers.

use std::collections::BTreeSet;

use fieldsync_core::sync::RejectCode;
use serde_json::Value;

fn doc() -> &'static Value {
    fieldsync_server::routes::json()
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r);
            }
            o.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[test]
fn the_document_is_structurally_valid_openapi_3_1() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    assert!(d["info"]["title"].is_string() && d["info"]["version"].is_string());
    let paths = d["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    let schemes = d["components"]["securitySchemes"].as_object().unwrap();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths {
        assert!(path.starts_with('/'), "{path}");
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            let here = format!("{method} {path}");
            if let Some(id) = op["operationId"].as_str() {
                assert!(
                    operation_ids.insert(id.to_owned()),
                    "{here}: operationId {id} twice"
                );
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut in_path = BTreeSet::new();
            let mut seen = BTreeSet::new();
            for p in &params {
                let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
                assert!(
                    ["path", "query", "header", "cookie"].contains(&place),
                    "{here}"
                );
                assert!(seen.insert((name, place)), "{here}: parameter {name} twice");
                assert!(p["schema"].is_object(), "{here}: {name} has no schema");
                if place == "path" {
                    assert_eq!(p["required"], true, "{here}: path parameter {name}");
                    in_path.insert(name);
                }
            }
            assert_eq!(in_path, templated, "{here}: path parameters");
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{here}");
            for (status, r) in responses {
                let code: u16 = status
                    .parse()
                    .unwrap_or_else(|_| panic!("{here}: {status}"));
                assert!((100..600).contains(&code), "{here}: {status}");
                assert!(
                    r["description"].is_string(),
                    "{here} {status}: no description"
                );
            }
            for s in op["security"].as_array().into_iter().flatten() {
                for name in s.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{here}: security {name}");
                }
            }
        }
    }
    // Every reference resolves.
    let mut all = Vec::new();
    refs(d, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(d.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

fn schema(name: &str) -> &'static Value {
    &doc()["components"]["schemas"][name]
}

#[test]
fn the_sync_types_are_the_wire_types() {
    let codes: BTreeSet<&str> = schema("RejectCode")["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: BTreeSet<&str> = RejectCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all);
    for code in [
        "too_deep",
        "compressed_change",
        "foreign_actor",
        "reserved_actor",
        "bad_sequence",
    ] {
        assert!(codes.contains(code), "{code}");
    }
    let rejection = &schema("Rejection")["properties"];
    assert!(rejection["rule"].is_object(), "a rejection names its rule");
    let response = &schema("SyncResponse")["properties"];
    for field in [
        "accepted", "rejected", "changes", "cursor", "more", "reset", "limits",
    ] {
        assert!(response[field].is_object(), "SyncResponse.{field}");
    }
    let request = &schema("SyncRequest")["properties"];
    for field in ["protocol", "cursor", "push", "replica"] {
        assert!(request[field].is_object(), "SyncRequest.{field}");
    }
    assert_eq!(
        schema("DocId")["pattern"],
        fieldsync_core::openapi::DOC_ID_PATTERN
    );
}

fn operation(method: &str, path: &str) -> &'static Value {
    &doc()["paths"][path][method]
}

fn statuses(method: &str, path: &str) -> BTreeSet<String> {
    operation(method, path)["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path}"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_route_documents_the_answers_it_gives() {
    for (method, path) in fieldsync_server::routes::routed() {
        let method = method.to_lowercase();
        let got = statuses(&method, &path);
        // Every request passes the timeout and load-shedding layers.
        for s in ["408", "503"] {
            assert!(got.contains(s), "{method} {path} lacks {s}");
        }
        let op = operation(&method, &path);
        if op["security"].is_array() {
            for s in ["401", "429", "500"] {
                assert!(got.contains(s), "{method} {path} lacks {s}");
            }
        }
        if op["requestBody"].is_object() {
            for s in ["413", "415"] {
                assert!(got.contains(s), "{method} {path} lacks {s}");
            }
        }
        if path.contains('{') && path != "/v1/live" {
            assert!(got.contains("404"), "{method} {path} lacks 404");
        }
    }
    assert!(statuses("post", "/v1/sync").contains("400"));
    assert!(statuses("post", "/api/users").contains("409"));
    for (method, path, status) in [
        ("post", "/api/territories/{id}/handover", "409"),
        ("post", "/api/territories/{id}/handover", "403"),
        ("post", "/api/handovers/{id}/complete", "409"),
        ("get", "/api/handovers", "200"),
        ("get", "/api/handovers/at-risk", "200"),
        ("get", "/api/handovers/{id}/held", "200"),
        ("post", "/api/handovers/{id}/held/{doc}/release", "409"),
        ("post", "/api/handovers/{id}/held/{doc}/decline", "200"),
    ] {
        assert!(
            statuses(method, path).contains(status),
            "{method} {path} lacks {status}"
        );
    }
    assert!(statuses("get", "/v1/live").contains("101"));
}

#[test]
fn parameters_state_their_real_constraints() {
    let lists = [
        "/api/dealers",
        "/api/visits",
        "/api/commitments",
        "/api/claims",
        "/api/problems",
        "/api/conflicts",
        "/api/handovers/at-risk",
    ];
    for path in lists {
        let params = operation("get", path)["parameters"].as_array().unwrap();
        let find = |n: &str| {
            params
                .iter()
                .find(|p| p["name"] == n)
                .unwrap_or_else(|| panic!("{path} {n}"))["schema"]
                .clone()
        };
        assert_eq!(find("page")["minimum"], 1, "{path}");
        assert_eq!(find("per_page")["minimum"], 1, "{path}");
        assert_eq!(find("per_page")["maximum"], 500, "{path}");
    }
    // Ids in paths name their schema, which carries the id pattern.
    let d = doc();
    for (path, param) in [
        ("/api/dealers/{id}", "DealerId"),
        ("/api/managers/{id}", "UserId"),
        ("/v1/docs/{doc_id}/automerge", "DocId"),
        ("/v1/photos/{hash}", "ContentHash"),
    ] {
        let p = &operation("get", path)["parameters"][0]["schema"];
        let target = p["$ref"].as_str().unwrap_or_else(|| panic!("{path}: {p}"));
        assert_eq!(target, format!("#/components/schemas/{param}"));
        let s = d.pointer(target.trim_start_matches('#')).unwrap();
        assert!(s["pattern"].is_string(), "{param} has a pattern");
    }
}
