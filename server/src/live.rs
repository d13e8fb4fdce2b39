//! The live channel: `GET /v1/live` (WebSocket) tells online devices to sync when a territory they read gets new feed entries.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::Principal;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::AppState;

/// In-process fan-out of "territory T has new feed entries".
#[derive(Debug, Clone)]
pub struct Live {
    tx: broadcast::Sender<TerritoryId>,
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
        Live { tx }
    }

    /// Announces new feed entries in `territory`.
    pub fn notify(&self, territory: TerritoryId) {
        // No listener is not an error.
        let _ = self.tx.send(territory);
    }

    fn subscribe(&self) -> broadcast::Receiver<TerritoryId> {
        self.tx.subscribe()
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

/// `?token=`: browsers cannot set headers on a WebSocket.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    #[serde(default)]
    token: String,
}

/// `GET /v1/live?token=…`: upgrades to a WebSocket that receives `{"type":"ready"}`
/// once subscribed, then `{"type":"sync"}` whenever the caller should pull.
pub async fn live(
    State(state): State<AppState>,
    Query(q): Query<LiveQuery>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let caller = authenticate(&state, &q.token).await?;
    let ws = ws.map_err(|e| ApiError::bad("not_websocket", e.body_text()))?;
    let principal = caller.principal.clone();
    // The concurrency permit is for requests, not for a long-lived socket.
    drop(caller);
    let rx = state.live.subscribe();
    Ok(ws.on_upgrade(move |socket| serve(socket, principal, rx)))
}

async fn serve(mut socket: WebSocket, who: Principal, mut rx: broadcast::Receiver<TerritoryId>) {
    let sync = || Message::Text(r#"{"type":"sync"}"#.into());
    if socket
        .send(Message::Text(r#"{"type":"ready"}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            event = rx.recv() => {
                let tell = match event {
                    Ok(t) => who.can_access(&t),
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if tell && socket.send(sync()).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}
