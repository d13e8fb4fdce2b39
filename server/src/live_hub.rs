//! The live channel's hub (`AppState::live`): in-process fan-out of "territory T has new feed
//! entries", revocations and access changes to every open channel, the count of open channels
//! per device, and the PostgreSQL relay of other replicas' commits. The WebSocket endpoint is
//! `crate::live`; this module knows nothing of requests, so the shared state can hold it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fieldsync_core::ids::TerritoryId;
use tokio::sync::broadcast;

/// What the hub fans out to every open channel.
#[derive(Debug, Clone)]
pub(crate) enum Event {
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

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// One more open channel for `device`, unless it already has `max`.
    pub(crate) fn open_slot(&self, device: &str, max: usize) -> Option<Slot> {
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
pub(crate) struct Slot {
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
