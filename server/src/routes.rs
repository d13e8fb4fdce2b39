//! The route table: every handler, registered through its `#[utoipa::path]` annotation, and the OpenAPI 3.1
//! document served at `/api/openapi.json`, derived from the same registrations and the `ToSchema` types they
//! name, so the router and the document cannot drift. The top of the module graph: it imports the handlers
//! (`api`, `sync`, `live`), nothing imports it but the crate root.

use std::sync::OnceLock;

use axum::response::IntoResponse;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::state::AppState;
use crate::{api, live, openapi, sync};

/// Every API route: each handler's `#[utoipa::path]` annotation gives its
/// method, path, parameters, bodies and status codes, so the router and the
/// OpenAPI document ([`router`]) are built from this one list.
pub fn all() -> Vec<UtoipaMethodRouter<AppState>> {
    vec![
        utoipa_axum::routes!(api::ops::health),
        utoipa_axum::routes!(api::ops::metrics),
        utoipa_axum::routes!(openapi_json),
        utoipa_axum::routes!(sync::sync_handler),
        utoipa_axum::routes!(live::live),
        utoipa_axum::routes!(api::me::me),
        utoipa_axum::routes!(api::me::login),
        utoipa_axum::routes!(api::me::new_login_code),
        utoipa_axum::routes!(api::me::export),
        utoipa_axum::routes!(api::cursor::now),
        utoipa_axum::routes!(api::photos::put_photo),
        utoipa_axum::routes!(api::photos::get_photo),
        utoipa_axum::routes!(api::read::territories),
        utoipa_axum::routes!(api::read::dealers),
        utoipa_axum::routes!(api::read::dealer),
        utoipa_axum::routes!(api::history::history),
        utoipa_axum::routes!(api::read::manager),
        utoipa_axum::routes!(api::read::visits),
        utoipa_axum::routes!(api::read::commitments),
        utoipa_axum::routes!(api::read::claims),
        utoipa_axum::routes!(api::read::problems),
        utoipa_axum::routes!(api::read::conflicts),
        utoipa_axum::routes!(api::activities::activities),
        utoipa_axum::routes!(api::sales::sales),
        utoipa_axum::routes!(api::sales::set_sales),
        utoipa_axum::routes!(api::sales_import::import_sales),
        utoipa_axum::routes!(api::pnl::pnl),
        utoipa_axum::routes!(api::admin::create_device),
        utoipa_axum::routes!(api::admin::revoke_device),
        utoipa_axum::routes!(api::admin::create_user),
        utoipa_axum::routes!(api::admin::set_user_territories),
        utoipa_axum::routes!(api::admin::reset_user_secret),
        utoipa_axum::routes!(api::approvals::get_limits, api::approvals::put_limits),
        utoipa_axum::routes!(api::ageing::get_ageing, api::ageing::put_ageing),
        utoipa_axum::routes!(api::handovers::reassign),
        utoipa_axum::routes!(api::handovers::list),
        utoipa_axum::routes!(api::handovers::at_risk),
        utoipa_axum::routes!(api::handovers::complete),
        utoipa_axum::routes!(api::handovers::held),
        utoipa_axum::routes!(api::handovers::release),
        utoipa_axum::routes!(api::handovers::decline),
    ]
}

/// This document, derived from the handlers' annotations.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", body = Object),
        openapi::Always,
    )
)]
async fn openapi_json() -> impl IntoResponse {
    axum::Json(json())
}

/// Every route of [`all`] with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    all()
        .into_iter()
        .fold(OpenApiRouter::with_openapi(openapi::base()), |r, route| {
            r.routes(route)
        })
}

/// The whole OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    router().into_openapi()
}

/// The document as served (built once).
pub fn json() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(document()).unwrap_or_default())
}

/// Every (METHOD, path) the router serves: read from the same registrations.
pub fn routed() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, paths, _) in all() {
        let Ok(serde_json::Value::Object(paths)) = serde_json::to_value(&paths) else {
            continue;
        };
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|o| o.keys()) {
                if [
                    "get", "put", "post", "delete", "patch", "head", "options", "trace",
                ]
                .contains(&method.as_str())
                {
                    out.push((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}
