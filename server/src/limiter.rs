//! `Limiter`: at most N requests in flight per device, so one device cannot starve the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Per-device concurrency limit; a request over the limit is refused (429), not queued.
#[derive(Debug, Clone)]
pub struct Limiter {
    per_device: usize,
    devices: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Limiter {
    /// A limiter allowing `per_device` concurrent requests per device.
    pub fn new(per_device: usize) -> Self {
        Limiter {
            per_device: per_device.max(1),
            devices: Arc::default(),
        }
    }

    /// A permit for one request of `device`, or None if it has too many in flight.
    pub fn try_acquire(&self, device: &str) -> Option<OwnedSemaphorePermit> {
        let sem = {
            let mut map = self.devices.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 10_000 {
                // Forget idle devices so the map cannot grow without bound.
                map.retain(|_, s| s.available_permits() < self.per_device);
            }
            map.entry(device.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_device)))
                .clone()
        };
        sem.try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_device_is_refused_while_others_proceed() {
        let l = Limiter::new(2);
        let a1 = l.try_acquire("a");
        let a2 = l.try_acquire("a");
        assert!(a1.is_some() && a2.is_some());
        assert!(l.try_acquire("a").is_none());
        assert!(l.try_acquire("b").is_some());
        drop(a1);
        assert!(l.try_acquire("a").is_some());
    }
}
