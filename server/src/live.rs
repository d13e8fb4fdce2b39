//! The live channel: `GET /v1/live` (WebSocket, authenticated by its first message) tells online devices to sync
//! when a territory they read gets new feed entries or their access changes; limited per device, pinged, closed when
//! the token stops working.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use fieldsync_core::sync::Principal;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::auth::{authenticate, bearer_of, principal_of, refusal};
use crate::error::ApiError;
use crate::live_hub::{Event, Slot};
use crate::state::AppState;
use crate::store::now_millis;

/// The first message a browser sends on the channel: `{"type":"auth","token":"…"}`.
#[derive(Debug, Deserialize)]
struct AuthMessage {
    r#type: String,
    token: String,
}

/// An authenticated channel: who, and its place in the device's count.
#[derive(Debug)]
struct Admitted {
    device: String,
    user: String,
    principal: Principal,
    _slot: Slot,
}

/// Authenticates a channel's token and counts it against its device.
async fn admit(state: &AppState, token: &str) -> Result<Admitted, ApiError> {
    let caller = authenticate(state, token).await?;
    let slot = state
        .live
        .open_slot(&caller.device, state.settings.hardening.live_per_device)
        .ok_or(ApiError::TooManyChannels)?;
    // The concurrency permit in `caller` is for requests, not for a long-lived socket.
    Ok(Admitted {
        device: caller.device.clone(),
        user: caller.user.id.clone(),
        principal: caller.principal.clone(),
        _slot: slot,
    })
}

/// `GET /v1/live`: upgrades to a WebSocket. The device token never goes in the URL: a browser
/// sends `{"type":"auth","token":"…"}` as its first message (within `live_auth_timeout`), other
/// clients may send `Authorization: Bearer …` with the upgrade. The server then sends
/// `{"type":"ready"}`, and `{"type":"sync"}` whenever the caller should pull (new feed entries in
/// a territory it reads, or its territories changed); it pings every `live_ping` (re-reading the
/// caller's access), and closes with `{"type":"closed","code":…}` when the token stops working.
#[utoipa::path(
    get,
    path = "/v1/live",
    tag = "sync",
    responses(
        (status = 101, description = "A WebSocket. First message `{\"type\":\"auth\",\"token\":…}` (unless the upgrade carried `Authorization: Bearer`); then the server sends `{\"type\":\"ready\"}`, `{\"type\":\"sync\"}` when a readable territory has new changes or the caller's territories changed, and `{\"type\":\"closed\",\"code\":…}` when the token stops working"),
        (status = 400, description = "Not a WebSocket upgrade (`not_websocket`)", body = crate::error::ErrorBody),
        (status = 401, description = "The upgrade's bearer token is not valid (`unauthorized`, `token_expired`, `user_disabled`)", body = crate::error::ErrorBody),
        (status = 429, description = "This device has too many live channels open (`too_many_live_channels`)", body = crate::error::ErrorBody),
        (status = 500, description = "The server failed (`internal`)", body = crate::error::ErrorBody),
        crate::openapi::Always,
    )
)]
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::bad("not_websocket", e.body_text()))?;
    let admitted = match bearer_of(&headers) {
        Some(token) => Some(admit(&state, token).await?),
        None => None,
    };
    let max = state.settings.hardening.live_max_message;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(socket, state, admitted)))
}

fn text(v: &serde_json::Value) -> Message {
    Message::Text(v.to_string().into())
}

fn refusal_message(kind: &str, e: &ApiError) -> Message {
    text(&serde_json::json!({"type": kind, "code": e.status_code().1, "message": e.to_string()}))
}

/// Waits for the first message and authenticates it.
async fn first_message(socket: &mut WebSocket, state: &AppState) -> Result<Admitted, ApiError> {
    let wait = state.settings.hardening.live_auth_timeout;
    let msg = match tokio::time::timeout(wait, socket.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => t,
        _ => return Err(ApiError::Unauthorized),
    };
    let auth: AuthMessage =
        serde_json::from_str(msg.as_str()).map_err(|_| ApiError::Unauthorized)?;
    if auth.r#type != "auth" {
        return Err(ApiError::Unauthorized);
    }
    admit(state, &auth.token).await
}

/// Whether the channel's device may still listen; refreshes its territories and
/// says whether they changed (the device should then sync: a lost territory's
/// documents are removed by the sync's answer, a new one's are brought).
async fn recheck(state: &AppState, who: &mut Admitted) -> Result<bool, ApiError> {
    let session = state
        .store
        .device_session(&who.device)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if let Some(e) = refusal(&session, now_millis()) {
        return Err(e);
    }
    let user = state
        .store
        .user(&who.user)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let now = principal_of(state, &user).await?;
    let changed = now != who.principal;
    who.principal = now;
    Ok(changed)
}

async fn serve(mut socket: WebSocket, state: AppState, admitted: Option<Admitted>) {
    // Subscribed before "ready", so nothing committed after it is missed.
    let mut rx = state.live.subscribe();
    let mut who = match admitted {
        Some(a) => a,
        None => match first_message(&mut socket, &state).await {
            Ok(a) => a,
            Err(e) => {
                let _ = socket.send(refusal_message("error", &e)).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        },
    };
    let sync = || Message::Text(r#"{"type":"sync"}"#.into());
    if socket
        .send(Message::Text(r#"{"type":"ready"}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    let every = state.settings.hardening.live_ping;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            event = rx.recv() => {
                let tell = match event {
                    Ok(Event::Feed(t)) => who.principal.can_access(&t),
                    Ok(Event::CloseDevice(d)) if d == who.device => {
                        let _ = socket.send(refusal_message("closed", &ApiError::Unauthorized)).await;
                        break;
                    }
                    Ok(Event::CloseDevice(_)) => false,
                    Ok(Event::Access(u)) if u == who.user => match recheck(&state, &mut who).await {
                        Ok(changed) => changed,
                        Err(e) => {
                            let _ = socket.send(refusal_message("closed", &e)).await;
                            break;
                        }
                    },
                    Ok(Event::Access(_)) => false,
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if tell && socket.send(sync()).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // Too large a message is an error here: the channel closes.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => heard = tokio::time::Instant::now(),
            },
            _ = ping.tick() => {
                if heard.elapsed() > every * 2 {
                    // Nothing came back (not even a pong) for two pings: the phone is gone.
                    break;
                }
                match recheck(&state, &mut who).await {
                    Ok(true) => {
                        if socket.send(sync()).await.is_err() {
                            break;
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        let _ = socket.send(refusal_message("closed", &e)).await;
                        break;
                    }
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
