//! The OpenAPI 3.1 document's parts every handler names: its base (info, tags, the bearer scheme) and the
//! answers shared by many routes (`Always`, `Authed`, `WithBody`). The document itself is assembled in
//! `crate::routes` from every handler's `#[utoipa::path]` annotation; this module imports no handler and no
//! state, so any handler may import it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, DeviceId, HandoverId, TerritoryId, UserId};
use fieldsync_core::model::ContentHash;

use crate::error::ErrorBody;

/// Answers of the layers every route passes through (`crate::hardening`).
#[derive(Debug, IntoResponses)]
pub enum Always {
    /// The request took longer than the server allows (`timeout`).
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// The server is shedding load (`overloaded`) or its database is busy
    /// (`unavailable`); retry after `Retry-After` seconds.
    #[response(status = 503, headers(("Retry-After" = u32, description = "seconds to wait")))]
    Busy(ErrorBody),
}

/// Answers of every route that needs a device token (`crate::auth::Caller`).
#[derive(Debug, IntoResponses)]
pub enum Authed {
    /// No valid device token (`unauthorized`), an expired one (`token_expired`),
    /// or its user is disabled (`user_disabled`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// This device already has requests in flight (`too_many_requests`).
    #[response(status = 429)]
    TooMany(ErrorBody),
    /// The server failed (`internal`); details are in its log, never in the answer.
    #[response(status = 500)]
    Internal(ErrorBody),
}

/// Answers of every route that reads a request body.
#[derive(Debug, IntoResponses)]
pub enum WithBody {
    /// The body is larger than the server accepts (`too_large`).
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// A `Content-Encoding` other than identity or gzip (`unsupported_media_type`).
    #[response(status = 415)]
    Unsupported(ErrorBody),
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a device token (`fs_…`), from `POST /v1/login`"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fieldsync server",
        description = "Sync protocol v1 for offline-first devices, and head office's read API. \
            All times are epoch milliseconds. Every error answers `{code, message}` with a stable `code`."
    ),
    modifiers(&Bearer),
    // Schemas named only by parameters, which are not collected on their own.
    components(schemas(ErrorBody, DealerId, DeviceId, HandoverId, TerritoryId, UserId, DocId, ContentHash)),
    tags(
        (name = "operations", description = "Health, metrics and this document"),
        (name = "sync", description = "What devices use: sync, live channel, photos, exports"),
        (name = "identity", description = "Who the caller is, and logging in"),
        (name = "read", description = "Head office's read API over the materialised tables"),
        (name = "admin", description = "Devices and users"),
        (name = "handover", description = "Territory handover: reassignment, the incoming manager's review, items at risk, held late edits"),
    )
)]
struct Base;

/// The document's base: its info, tags, security scheme and the schemas named only
/// by parameters. `crate::routes::router` adds every route to it.
pub fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}
