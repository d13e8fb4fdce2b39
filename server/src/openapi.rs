//! The OpenAPI 3.1 document served at `/api/openapi.json`, kept beside the route table (a test checks they list the same endpoints).

use serde_json::{Map, Value, json};

/// One documented endpoint.
struct Op {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    query: &'static [(&'static str, &'static str, &'static str)],
    body: Option<&'static str>,
    ok: (&'static str, Value),
    auth: bool,
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": schema_ref(item)},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"}
        }
    })
}

const PAGE: [(&str, &str, &str); 2] = [
    ("page", "integer", "1-based page number (default 1)"),
    (
        "per_page",
        "integer",
        "items per page, 1..=500 (default 50)",
    ),
];

fn ops() -> Vec<Op> {
    let json_ok = |s: Value| ("application/json", s);
    vec![
        Op {
            method: "get",
            path: "/health",
            tag: "operations",
            summary: "Health: 200 when the database answers",
            query: &[],
            body: None,
            ok: json_ok(json!({"type": "object"})),
            auth: false,
        },
        Op {
            method: "get",
            path: "/metrics",
            tag: "operations",
            summary: "Prometheus metrics (syncs, changes accepted and rejected, bytes, latency)",
            query: &[],
            body: None,
            ok: ("text/plain", json!({"type": "string"})),
            auth: false,
        },
        Op {
            method: "get",
            path: "/api/openapi.json",
            tag: "operations",
            summary: "This document",
            query: &[],
            body: None,
            ok: json_ok(json!({"type": "object"})),
            auth: false,
        },
        Op {
            method: "post",
            path: "/v1/sync",
            tag: "sync",
            summary: "Sync protocol v1: push every pending change, pull every feed entry after the cursor (see ARCHITECTURE.md)",
            query: &[],
            body: Some("SyncRequest"),
            ok: json_ok(schema_ref("SyncResponse")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/v1/live",
            tag: "sync",
            summary: "WebSocket (token as ?token=): sends {\"type\":\"ready\"}, then {\"type\":\"sync\"} when a readable territory has new changes",
            query: &[("token", "string", "device token")],
            body: None,
            ok: json_ok(json!({"type": "object"})),
            auth: false,
        },
        Op {
            method: "get",
            path: "/v1/me",
            tag: "identity",
            summary: "The caller: user, name, role and readable territories",
            query: &[],
            body: None,
            ok: json_ok(schema_ref("Me")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/v1/docs/{doc_id}/automerge",
            tag: "sync",
            summary: "A document as Automerge bytes (territory:<id> or dealer:<id>)",
            query: &[],
            body: None,
            ok: (
                "application/octet-stream",
                json!({"type": "string", "format": "binary"}),
            ),
            auth: true,
        },
        Op {
            method: "put",
            path: "/v1/photos/{hash}",
            tag: "sync",
            summary: "Upload a visit photo: the body is the image (Content-Type image/*), the path its SHA-256 in hex; idempotent",
            query: &[],
            body: None,
            ok: json_ok(
                json!({"type": "object", "properties": {"hash": {"type": "string"}, "bytes": {"type": "integer"}, "stored": {"type": "boolean"}}}),
            ),
            auth: true,
        },
        Op {
            method: "get",
            path: "/v1/photos/{hash}",
            tag: "sync",
            summary: "A visit photo's bytes, by the SHA-256 named in the visit",
            query: &[],
            body: None,
            ok: ("image/*", json!({"type": "string", "format": "binary"})),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/territories",
            tag: "read",
            summary: "Territories the caller may read, with managers and dealer counts",
            query: &[],
            body: None,
            ok: json_ok(json!({"type": "array", "items": schema_ref("Territory")})),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/dealers",
            tag: "read",
            summary: "Dealers",
            query: &[
                ("territory", "string", ""),
                (
                    "manager",
                    "string",
                    "dealers in territories this user manages",
                ),
                ("status", "string", "prospect|active|dormant|terminated"),
                (
                    "kind",
                    "string",
                    "distributor|retailer|business_partner|bank_branch",
                ),
                ("q", "string", "name contains"),
            ],
            body: None,
            ok: json_ok(page_of("Dealer")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/visits",
            tag: "read",
            summary: "Visits, newest first",
            query: &[
                ("territory", "string", ""),
                ("manager", "string", ""),
                ("dealer", "string", ""),
                ("from", "integer", "epoch ms, inclusive"),
                ("to", "integer", "epoch ms, inclusive"),
            ],
            body: None,
            ok: json_ok(page_of("Visit")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/commitments",
            tag: "read",
            summary: "Commitments, by due date",
            query: &[
                ("status", "string", "open|kept|broken|cancelled"),
                ("overdue", "boolean", "open and past due"),
                ("territory", "string", ""),
                ("owner", "string", ""),
                ("manager", "string", "same as owner"),
                ("dealer", "string", ""),
                ("from", "integer", "made at, epoch ms, inclusive"),
                ("to", "integer", "made at, epoch ms, inclusive"),
            ],
            body: None,
            ok: json_ok(page_of("Commitment")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/claims",
            tag: "read",
            summary: "Expense claims, newest first",
            query: &[
                (
                    "status",
                    "string",
                    "requested|approved|rejected|spent|reconciled",
                ),
                ("territory", "string", ""),
                ("manager", "string", "who requested it"),
                ("dealer", "string", ""),
                ("category", "string", ""),
                ("from", "integer", "requested at, epoch ms, inclusive"),
                ("to", "integer", "requested at, epoch ms, inclusive"),
            ],
            body: None,
            ok: json_ok(page_of("Claim")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/problems",
            tag: "read",
            summary: "Problems, oldest first",
            query: &[
                ("status", "string", "open|in_progress|resolved"),
                ("category", "string", ""),
                ("severity", "string", ""),
                ("territory", "string", ""),
                ("manager", "string", "a manager of the dealer's territory"),
                ("dealer", "string", ""),
                ("from", "integer", "raised at, epoch ms, inclusive"),
                ("to", "integer", "raised at, epoch ms, inclusive"),
            ],
            body: None,
            ok: json_ok(page_of("Problem")),
            auth: true,
        },
        Op {
            method: "get",
            path: "/api/conflicts",
            tag: "read",
            summary: "Fields edited concurrently, with every value and its author",
            query: &[("territory", "string", ""), ("dealer", "string", "")],
            body: None,
            ok: json_ok(page_of("Conflict")),
            auth: true,
        },
        Op {
            method: "post",
            path: "/api/devices",
            tag: "admin",
            summary: "Issue a device token (head office, admin)",
            query: &[],
            body: Some("NewDevice"),
            ok: json_ok(schema_ref("IssuedDevice")),
            auth: true,
        },
        Op {
            method: "delete",
            path: "/api/devices/{id}",
            tag: "admin",
            summary: "Revoke a device token (head office, admin)",
            query: &[],
            body: None,
            ok: ("", Value::Null),
            auth: true,
        },
        Op {
            method: "post",
            path: "/api/users",
            tag: "admin",
            summary: "Create a user (admin)",
            query: &[],
            body: Some("NewUser"),
            ok: json_ok(json!({"type": "object"})),
            auth: true,
        },
    ]
}

/// Every documented (METHOD, path), upper-case method.
pub fn documented() -> Vec<(String, String)> {
    ops()
        .iter()
        .map(|o| (o.method.to_uppercase(), o.path.to_owned()))
        .collect()
}

fn schemas() -> Value {
    let s = |t: &str| json!({"type": t});
    let ns = |t: &str| json!({"type": [t, "null"]});
    let obj = |props: Value| json!({"type": "object", "properties": props});
    json!({
        "Error": {"type": "object", "required": ["code", "message"], "properties": {"code": s("string"), "message": s("string")}},
        "SyncRequest": obj(json!({
            "protocol": {"type": "integer", "const": 1},
            "cursor": {"type": "string", "example": "t-north:42,t-south:7"},
            "push": {"type": "array", "items": schema_ref("DocChanges")}
        })),
        "DocChanges": obj(json!({"doc": {"type": "string", "example": "dealer:d-lin"}, "changes": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}}})),
        "SyncResponse": obj(json!({
            "protocol": s("integer"),
            "accepted": {"type": "array", "items": obj(json!({"doc": s("string"), "hashes": {"type": "array", "items": s("string")}}))},
            "rejected": {"type": "array", "items": obj(json!({"doc": s("string"), "code": {"enum": ["malformed", "missing_dependencies", "forbidden", "invalid", "wrong_document", "schema_too_new", "too_large"]}, "message": s("string")}))},
            "changes": {"type": "array", "items": schema_ref("DocChanges")},
            "cursor": s("string"),
            "more": s("boolean")
        })),
        "Me": obj(json!({"user": s("string"), "name": s("string"), "role": {"enum": ["manager", "regional", "head_office", "admin"]}, "device": s("string"), "territories": {"type": "array", "items": obj(json!({"id": s("string"), "name": s("string")}))}})),
        "Territory": obj(json!({"id": s("string"), "name": s("string"), "region": s("string"), "managers": {"type": "array", "items": obj(json!({"id": s("string"), "name": s("string")}))}, "dealer_count": s("integer")})),
        "Dealer": obj(json!({"id": s("string"), "territory": s("string"), "name": s("string"), "kind": s("string"), "tier": s("integer"), "status": s("string"), "last_visit_at": ns("integer"), "open_commitments": s("integer"), "open_problems": s("integer")})),
        "Visit": obj(json!({"id": s("string"), "dealer": s("string"), "dealer_name": s("string"), "territory": s("string"), "manager": s("string"), "at": s("integer"), "purposes": {"type": "array", "items": s("string")}, "summary": s("string"), "lat": ns("number"), "lon": ns("number"), "accuracy_m": ns("number")})),
        "Commitment": obj(json!({"id": s("string"), "dealer": s("string"), "dealer_name": s("string"), "territory": s("string"), "what": s("string"), "to_whom": s("string"), "owner": s("string"), "made_by": s("string"), "made_at": s("integer"), "due": {"type": "string", "format": "date"}, "amount_minor": ns("integer"), "currency": ns("string"), "status": s("string")})),
        "Claim": obj(json!({"id": s("string"), "dealer": s("string"), "dealer_name": s("string"), "territory": s("string"), "category": s("string"), "purpose": s("string"), "amount_minor": s("integer"), "currency": s("string"), "spent_minor": ns("integer"), "status": s("string"), "requested_by": s("string"), "requested_at": s("integer")})),
        "Problem": obj(json!({"id": s("string"), "dealer": s("string"), "dealer_name": s("string"), "territory": s("string"), "category": s("string"), "severity": s("string"), "title": s("string"), "status": s("string"), "raised_at": s("integer"), "resolved_at": ns("integer"), "age_days": {"type": "integer", "description": "days open so far, or days it took to resolve"}, "escalated": s("boolean")})),
        "ConflictValue": obj(json!({"value": {}, "by": ns("string"), "at": ns("integer")})),
        "Conflict": obj(json!({"doc": s("string"), "dealer": ns("string"), "dealer_name": ns("string"), "territory": s("string"), "path": {"type": "array", "items": s("string")}, "winner": schema_ref("ConflictValue"), "others": {"type": "array", "items": schema_ref("ConflictValue")}})),
        "NewDevice": {"type": "object", "required": ["user"], "properties": {"user": s("string"), "label": s("string")}},
        "IssuedDevice": obj(json!({"device": s("string"), "user": s("string"), "token": s("string"), "login_url": {"type": "string", "example": "/#/login?token=fs_…"}})),
        "NewUser": {"type": "object", "required": ["id", "name", "role"], "properties": {"id": s("string"), "name": s("string"), "role": {"enum": ["manager", "regional", "head_office", "admin"]}, "territories": {"type": "array", "items": s("string")}}}
    })
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error")}}})
}

/// The whole OpenAPI document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in ops() {
        let mut params: Vec<Value> = op
            .query
            .iter()
            .map(|(name, ty, desc)| {
                json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": ty}})
            })
            .collect();
        if op
            .ok
            .1
            .get("properties")
            .and_then(|p| p.get("items"))
            .is_some()
        {
            params.extend(PAGE.iter().map(|(name, ty, desc)| {
                json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": ty}})
            }));
        }
        for seg in op.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        let mut responses = Map::new();
        let ok = if op.ok.0.is_empty() {
            ("204", json!({"description": "done"}))
        } else {
            (
                if op.method == "post" && op.path.starts_with("/api/") {
                    "201"
                } else {
                    "200"
                },
                json!({"description": "success", "content": {op.ok.0: {"schema": op.ok.1}}}),
            )
        };
        responses.insert(ok.0.into(), ok.1);
        if op.auth {
            responses.insert("400".into(), error_response("bad input"));
            responses.insert(
                "401".into(),
                error_response("missing or revoked device token"),
            );
            responses.insert(
                "403".into(),
                error_response("not allowed for this user or territory"),
            );
            responses.insert(
                "429".into(),
                error_response("this device has too many requests in flight"),
            );
        }
        if op.body.is_some() {
            responses.insert("413".into(), error_response("body too large"));
        }
        let mut operation = json!({
            "tags": [op.tag],
            "summary": op.summary,
            "parameters": params,
            "responses": responses,
        });
        if let Some(b) = op.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(b)}}});
        }
        if op.auth {
            operation["security"] = json!([{"bearer": []}]);
        }
        let entry = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "fieldsync server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Sync protocol v1 for offline-first devices, and head office's read API. All times are epoch milliseconds. Errors are {code, message}."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a device token (fs_…)"}}
        }
    })
}
