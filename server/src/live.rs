//! The live channel: `GET /v1/live` (WebSocket, authenticated by its first message) tells online devices to sync
//! when a territory they read gets new feed entries or their access changes; limited per device, pinged, closed when
//! the token stops working.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::Principal;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::auth::{authenticate, bearer_of, principal_of, refusal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::now_millis;

/// What the hub fans out to every open channel.
#[derive(Debug, Clone)]
enum Event {
    /// Territory T has new feed entries.
    Feed(TerritoryId),
    /// A device's token was revoked: its channels close.
    CloseDevice(String),
    /// A user's access changed (territories assigned here): their channels re-read it at once.
    Access(String),
}

/// In-process fan-out of "territory T has new feed entries" (and of revocations), and the count
/// of open channels per device.
#[derive(Debug, Clone)]
pub struct Live {
    tx: broadcast::Sender<Event>,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    /// A channel with no listeners.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Live {
            tx,
            open: Arc::default(),
        }
    }

    /// Announces new feed entries in `territory`.
    pub fn notify(&self, territory: TerritoryId) {
        // No listener is not an error.
        let _ = self.tx.send(Event::Feed(territory));
    }

    /// Closes this server's open channels of `device` at once (its token was revoked here;
    /// other replicas, and a revocation from the command line, close them at their next ping).
    pub fn close_device(&self, device: &str) {
        let _ = self.tx.send(Event::CloseDevice(device.to_owned()));
    }

    /// `user`'s territories were changed on this server: their open channels re-read their
    /// access now and are told to sync (which removes what they lost), or close if they may no
    /// longer listen. A change from the command line reaches them at their next ping.
    pub fn access_changed(&self, user: &str) {
        let _ = self.tx.send(Event::Access(user.to_owned()));
    }

    /// How many channels `device` has open on this server.
    pub fn open_channels(&self, device: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(device).copied().unwrap_or(0)
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// One more open channel for `device`, unless it already has `max`.
    fn open_slot(&self, device: &str, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(device.to_owned()).or_insert(0);
        if *n >= max.max(1) {
            return None;
        }
        *n += 1;
        Some(Slot {
            device: device.to_owned(),
            open: self.open.clone(),
        })
    }
}

/// An open channel counted against its device; uncounted when dropped.
#[derive(Debug)]
struct Slot {
    device: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.device) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.device);
            }
        }
    }
}

/// Listens on PostgreSQL for commits of every server replica sharing the
/// database and relays them to this replica's live channel. The LISTEN is in
/// place when this returns; the relay runs until the task is aborted.
pub async fn relay_postgres(
    url: &str,
    live: Live,
) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    use sqlx::postgres::PgListener;
    let mut listener = PgListener::connect(url).await?;
    listener.listen(crate::store::FEED_CHANNEL).await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(n) => match n.payload().parse::<TerritoryId>() {
                    Ok(t) => live.notify(t),
                    Err(_) => tracing::warn!(payload = n.payload(), "unreadable feed notification"),
                },
                Err(e) => {
                    // PgListener reconnects by itself on the next recv; pause a moment.
                    tracing::warn!(error = %e, "feed notification listener failed");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }))
}

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
