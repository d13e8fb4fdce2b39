//! `GET /api/dealers/{id}/history`: the per-field audit history of one record of a dealer, from the stored document's changes (their stamps) and the feed's receive times.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use fieldsync_core::doc::Document;
use fieldsync_core::doc::history::{FieldHistory, FieldWrite, LostValue, RecordKind, RecordRef};
use fieldsync_core::geo::GeoFix;
use fieldsync_core::ids::{DealerId, DeviceId, UserId};
use fieldsync_core::sync::Hub;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Always, Authed};
use crate::state::AppState;

/// Which record's history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// profile, contact, downline, visit, commitment, claim, problem or activity.
    kind: String,
    /// The record's id (none for the profile).
    record: Option<String>,
}

/// A value that lost to a concurrent write of the same field.
#[derive(Debug, Serialize, ToSchema)]
pub struct LostOut {
    /// The value (`null`: a delete).
    #[schema(value_type = Object)]
    value: Value,
    /// The change (hex hash) that wrote it.
    change: String,
    #[schema(value_type = Option<UserId>)]
    user: Option<String>,
    #[schema(value_type = Option<DeviceId>)]
    device: Option<String>,
    /// The device's clock when it was written (epoch ms).
    at: Option<i64>,
    /// When the server received its change (epoch ms), if it came through the feed.
    received_at: Option<i64>,
}

/// One write to a field.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteOut {
    /// The value written (`null`: deleted).
    #[schema(value_type = Object)]
    value: Value,
    /// The change (hex hash) that wrote it.
    change: String,
    #[schema(value_type = Option<UserId>)]
    user: Option<String>,
    #[schema(value_type = Option<DeviceId>)]
    device: Option<String>,
    /// The device's clock when the edit was made (epoch ms).
    at: Option<i64>,
    /// When the server received the change (epoch ms, the feed's commit time).
    received_at: Option<i64>,
    /// The GPS fix taken with the edit: `{lat, lon, accuracy_m, manual}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    gps: Option<GeoFix>,
    /// A write made concurrently to this one won over it.
    lost: bool,
    /// The concurrent writes this one won over.
    lost_values: Vec<LostOut>,
}

/// Every write to one field, oldest first (causal order).
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOut {
    /// The field; nested keys are dotted (`status.kept.at`, `notes.<id>.text`).
    field: String,
    writes: Vec<WriteOut>,
}

/// A record's audit history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    #[schema(value_type = DealerId)]
    dealer: String,
    kind: String,
    record: Option<String>,
    /// By field name.
    fields: Vec<FieldOut>,
}

/// `GET /api/dealers/{id}/history?kind=commitment&record=c-…`: each field of the
/// record with every write: value, user, device, the device's time, the server's
/// receive time, the GPS fix, and the values that lost a concurrent edit.
#[utoipa::path(
    get,
    path = "/api/dealers/{id}/history",
    tag = "read",
    security(("bearer" = [])),
    params(("id" = DealerId, Path, description = "The dealer"), HistoryQuery),
    responses(
        (status = 200, description = "The record's fields, each with its writes", body = HistoryOut),
        (status = 400, description = "An unknown kind (`bad_kind`) or a missing or malformed record id (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The dealer is not in a territory the caller may read (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such dealer, or no such record (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<HistoryOut>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad("bad_query", e.body_text()))?;
    let kind: RecordKind =
        q.kind
            .parse()
            .map_err(|e: fieldsync_core::doc::history::HistoryError| {
                ApiError::bad("bad_kind", e.to_string())
            })?;
    let record_id = q.record.unwrap_or_default();
    if kind != RecordKind::Profile && record_id.is_empty() {
        return Err(ApiError::bad("bad_query", "name the record (`record=`)"));
    }
    let record =
        RecordRef::new(kind, &record_id).map_err(|e| ApiError::bad("bad_query", e.to_string()))?;
    let doc_id = format!("dealer:{id}");
    let stored = state.store.load_doc(&doc_id).await?;
    // A caller limited to some territories learns nothing of other dealers, not even
    // whether they exist.
    let forbidden = || ApiError::Forbidden(format!("dealer {id} is not in your territories"));
    let stored = match stored {
        Some(s) if caller.can_access(&s.territory) => s,
        None if caller.sees_all() => return Err(ApiError::NotFound(format!("no dealer {id}"))),
        _ => return Err(forbidden()),
    };
    let received = state.store.received_at(&doc_id).await?;
    let named = (kind != RecordKind::Profile).then(|| record_id.clone());
    let fields = tokio::task::spawn_blocking(move || {
        let mut doc = Document::load(&stored.snapshot, Hub::actor())
            .map_err(|e| ApiError::Internal(format!("stored dealer does not load: {e}")))?;
        doc.history(&record)
            .ok_or_else(|| ApiError::NotFound(format!("no {kind} {record_id} at this dealer")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(HistoryOut {
        dealer: id,
        kind: kind.name().to_owned(),
        record: named,
        fields: fields
            .into_iter()
            .map(|f| field_out(f, &received))
            .collect(),
    }))
}

fn field_out(f: FieldHistory, received: &HashMap<String, i64>) -> FieldOut {
    FieldOut {
        field: f.field,
        writes: f
            .writes
            .into_iter()
            .map(|w| write_out(w, received))
            .collect(),
    }
}

fn write_out(w: FieldWrite, received: &HashMap<String, i64>) -> WriteOut {
    WriteOut {
        received_at: received.get(&w.change).copied(),
        value: w.value,
        change: w.change,
        user: w.user.map(|u| u.to_string()),
        device: w.device.map(|d| d.to_string()),
        at: w.at.map(|t| t.0),
        gps: w.gps,
        lost: w.lost,
        lost_values: w
            .lost_values
            .into_iter()
            .map(|l| lost_out(l, received))
            .collect(),
    }
}

fn lost_out(l: LostValue, received: &HashMap<String, i64>) -> LostOut {
    LostOut {
        received_at: received.get(&l.change).copied(),
        value: l.value,
        change: l.change,
        user: l.user.map(|u| u.to_string()),
        device: l.device.map(|d| d.to_string()),
        at: l.at.map(|t| t.0),
    }
}
