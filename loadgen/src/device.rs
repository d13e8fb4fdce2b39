//! `Device`: a simulated manager's phone — a native `fieldsync_core` replica that records visits offline and syncs over HTTP the way the web app does (gzip bodies over 1 KB, a 413 makes the next request smaller, a 503's Retry-After honoured, backoff on other failures), keeping every acknowledgement it was given.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::ChangeHash;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, DeviceId, TerritoryId, UserId, VisitId};
use fieldsync_core::model::{
    DealerKind, DealerProfile, DealerStatus, Territory, Visit, VisitPurpose,
};
use fieldsync_core::set::Set;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{PushLimits, Rejection, Replica, SyncResponse};

use crate::rng::Rng;

/// Request bodies larger than this go gzip-compressed, as `web/js/api.js` sends them.
pub const GZIP_OVER: usize = 1024;

/// One request/response round, as the device saw it.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// From sending the request to having the whole response body.
    pub latency: Duration,
    /// Request body bytes as sent (gzipped when over 1 KB).
    pub sent: u64,
    /// Response body bytes as received (gzipped when the server chose to).
    pub received: u64,
    /// Changes the response acknowledged.
    pub accepted: u64,
    /// Changes the response brought from others.
    pub pulled: u64,
    pub more: bool,
    pub rejected: Vec<Rejection>,
}

/// Why a round did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// No usable answer: connection refused or broken, body cut short.
    #[error("network: {0}")]
    Network(String),
    /// 503: the server is shedding load; come back after its `Retry-After`, if it gave one.
    #[error("the server is busy (503)")]
    Overloaded(Option<Duration>),
    /// 413: the replica has made its next request smaller.
    #[error("the request was too large (413)")]
    TooLarge,
    /// 408, or no answer in time: the replica has made its next request
    /// smaller (`true`), or it pushed a single change (`false`: wait, send it again).
    #[error("the request took too long (408 or timeout)")]
    TooSlow(bool),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the response could not be used: {0}")]
    Response(String),
}

impl RoundError {
    /// Worth trying again (after a pause, for the first two).
    pub fn transient(&self) -> bool {
        matches!(
            self,
            RoundError::Network(_)
                | RoundError::Overloaded(_)
                | RoundError::TooLarge
                | RoundError::TooSlow(_)
        )
    }
}

/// How a device retries: the web app waits 1 s, 2 s, 4 s … up to a minute, each
/// ×0.75–1.25 (tests use a shorter base), except after a 503 with `Retry-After`: then
/// the server's time plus 0–1 s, so devices told the same second do not come back in
/// step. Gives up at `deadline`.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub base: Duration,
    pub max: Duration,
    pub deadline: Instant,
}

impl Retry {
    /// The web app's schedule (`web/js/sync.js`), until `deadline`.
    pub fn like_the_app(deadline: Instant) -> Retry {
        Retry {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            deadline,
        }
    }

    fn pause(&self, failures: u32, told: Option<Duration>, rng: &mut Rng) -> Duration {
        if let Some(after) = told {
            return after + Duration::from_millis(rng.range(0, 1_000));
        }
        let exp = self
            .base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        exp.min(self.max).mul_f64(rng.jitter())
    }
}

/// What one `sync` (rounds until nothing is left) took.
#[derive(Debug, Clone, Default)]
pub struct SyncStats {
    pub rounds: Vec<Round>,
    /// Rounds that failed and were retried (network, 503, 413, 408).
    pub failures: u32,
    pub overloaded: u32,
    pub too_large: u32,
    /// 408s and client timeouts.
    pub too_slow: u32,
    /// From the first request to the last response applied, pauses included.
    pub elapsed: Duration,
}

impl SyncStats {
    pub fn sent(&self) -> u64 {
        self.rounds.iter().map(|r| r.sent).sum()
    }
    pub fn received(&self) -> u64 {
        self.rounds.iter().map(|r| r.received).sum()
    }
    pub fn accepted(&self) -> u64 {
        self.rounds.iter().map(|r| r.accepted).sum()
    }
    pub fn pulled(&self) -> u64 {
        self.rounds.iter().map(|r| r.pulled).sum()
    }
    pub fn rejected(&self) -> Vec<Rejection> {
        self.rounds
            .iter()
            .flat_map(|r| r.rejected.clone())
            .collect()
    }
}

/// A simulated phone.
#[derive(Debug)]
pub struct Device {
    pub replica: Replica,
    pub user: UserId,
    pub id: DeviceId,
    pub token: String,
    pub base: String,
    http: reqwest::Client,
    clock: i64,
    /// Every change the server said it holds, by document: what a crash test
    /// checks is in the database.
    pub acked: BTreeMap<DocId, BTreeSet<ChangeHash>>,
    pub rng: Rng,
}

/// An HTTP client that hands back bodies as they came (no automatic gunzip), so bytes can be counted.
pub fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(120))
        .build()
        .context("HTTP client")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// A visit like the ones the browser tests record: two purposes, a summary, two attendees.
pub fn sample_visit(manager: &UserId, at: Timestamp, n: usize) -> Visit {
    let mut v = Visit::new(manager.clone(), at);
    v.purposes = Set([VisitPurpose::Training, VisitPurpose::JointVisit].into());
    v.summary = format!("離線拜訪第 {} 次：新品教育訓練，陪同拜訪下游門市", n + 1);
    v.attendees = Set(["老闆".to_owned(), "店員".to_owned()].into());
    v
}

pub fn sample_profile(n: usize) -> DealerProfile {
    let mut p = DealerProfile::new(
        format!("經銷商 Dealer {n:05}"),
        DealerKind::Retailer,
        2,
        DealerStatus::Active,
    );
    p.address = "台中市西屯區".into();
    p
}

pub fn sample_territory(name: &str, managers: &[UserId]) -> Territory {
    Territory {
        name: name.to_owned(),
        region: "north".to_owned(),
        managers: managers.iter().cloned().collect(),
        time_zone: None,
    }
}

impl Device {
    pub fn new(base: &str, user: &str, token: &str, http: reqwest::Client) -> Result<Device> {
        Ok(Device {
            replica: Replica::new().map_err(|e| anyhow::anyhow!("{e}"))?,
            user: user
                .parse()
                .map_err(|e| anyhow::anyhow!("user id {user}: {e}"))?,
            id: DeviceId::random().map_err(|e| anyhow::anyhow!("{e}"))?,
            token: token.to_owned(),
            base: base.to_owned(),
            http,
            clock: 0,
            acked: BTreeMap::new(),
            rng: Rng::from_entropy(),
        })
    }

    /// A device of `user` holding `token`, stamping its edits with the device id the
    /// server issued that token for (`GET /v1/me`, as the web app does): the server
    /// refuses a change stamped with another device (`forged_device`).
    pub async fn connect(
        base: &str,
        user: &str,
        token: &str,
        http: reqwest::Client,
    ) -> Result<Device> {
        let mut d = Device::new(base, user, token, http)?;
        #[derive(serde::Deserialize)]
        struct Me {
            device: String,
        }
        let resp = d
            .http
            .get(format!("{base}/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .context("GET /v1/me")?;
        if !resp.status().is_success() {
            bail!("GET /v1/me: {}", resp.status());
        }
        let me: Me = serde_json::from_slice(&resp.bytes().await.context("/v1/me body")?)
            .context("/v1/me")?;
        d.id = me
            .device
            .parse()
            .map_err(|e| anyhow::anyhow!("device id {}: {e}", me.device))?;
        Ok(d)
    }

    /// A stamp by this device's user, one second after the last.
    pub fn stamp(&mut self) -> Stamp {
        self.clock += 1_000;
        Stamp::new(
            self.user.clone(),
            self.id.clone(),
            Timestamp(1_767_225_600_000 + self.clock),
        )
    }

    /// Creates a territory document (head office).
    pub fn add_territory(&mut self, id: &TerritoryId, managers: &[UserId]) -> Result<()> {
        let s = self.stamp();
        self.replica
            .create_territory(
                id.clone(),
                &sample_territory(&format!("{id} 區"), managers),
                &s,
            )
            .context("create territory")
    }

    /// Creates dealer number `n` in `territory`.
    pub fn add_dealer(&mut self, territory: &TerritoryId, n: usize) -> Result<DealerId> {
        let id = DealerId::random().map_err(|e| anyhow::anyhow!("{e}"))?;
        let s = self.stamp();
        self.replica
            .create_dealer(territory, id.clone(), &sample_profile(n), &s)
            .context("create dealer")?;
        Ok(id)
    }

    /// Records the `n`th visit to `dealer`.
    pub fn record_visit(&mut self, dealer: &DealerId, n: usize) -> Result<()> {
        let s = self.stamp();
        let visit = sample_visit(&self.user, s.at, n);
        let id = VisitId::random().map_err(|e| anyhow::anyhow!("{e}"))?;
        self.replica
            .dealer_mut(dealer)
            .context("dealer")?
            .insert(&id, &visit, &s)
            .context("record visit")
    }

    /// One request and its response.
    pub async fn round(&mut self) -> Result<Round, RoundError> {
        let req = self.replica.sync_request();
        let json = serde_json::to_vec(&req).map_err(|e| RoundError::Response(e.to_string()))?;
        let gzipped = json.len() > GZIP_OVER;
        let body = if gzipped { gzip(&json) } else { json };
        let sent = body.len() as u64;
        let mut rb = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .header("accept-encoding", "gzip");
        if gzipped {
            rb = rb.header("content-encoding", "gzip");
        }
        let started = Instant::now();
        let resp = match rb.body(body).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(RoundError::TooSlow(self.replica.too_slow())),
            Err(e) => return Err(RoundError::Network(e.to_string())),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let encoded = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v == "gzip");
        let wire = resp
            .bytes()
            .await
            .map_err(|e| RoundError::Network(e.to_string()))?;
        let latency = started.elapsed();
        let text = if encoded {
            gunzip(&wire).map_err(|e| RoundError::Network(format!("gzip body: {e}")))?
        } else {
            wire.to_vec()
        };
        match status {
            200 => {}
            413 => {
                #[derive(serde::Deserialize)]
                struct TooLarge {
                    limits: Option<PushLimits>,
                }
                let limits = serde_json::from_slice::<TooLarge>(&text)
                    .ok()
                    .and_then(|t| t.limits);
                return if self.replica.too_large(limits) {
                    Err(RoundError::TooLarge)
                } else {
                    Err(RoundError::Status {
                        status,
                        body: String::from_utf8_lossy(&text).into_owned(),
                    })
                };
            }
            408 => return Err(RoundError::TooSlow(self.replica.too_slow())),
            503 => {
                // Whole seconds (HTTP's form); the pause adds 0–1 s.
                let after = retry_after
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                return Err(RoundError::Overloaded(after));
            }
            _ => {
                return Err(RoundError::Status {
                    status,
                    body: String::from_utf8_lossy(&text).into_owned(),
                });
            }
        }
        let resp: SyncResponse =
            serde_json::from_slice(&text).map_err(|e| RoundError::Response(e.to_string()))?;
        let report = self
            .replica
            .apply_response(&resp)
            .map_err(|e| RoundError::Response(e.to_string()))?;
        if let Some((doc, e)) = report.errors.first() {
            return Err(RoundError::Response(format!("{doc} did not apply: {e}")));
        }
        let mut accepted = 0;
        for a in &resp.accepted {
            accepted += a.hashes.len() as u64;
            self.acked
                .entry(a.doc.clone())
                .or_default()
                .extend(a.hashes.iter().map(|h| h.0));
        }
        Ok(Round {
            latency,
            sent,
            received: wire.len() as u64,
            accepted,
            pulled: resp.changes.iter().map(|c| c.changes.len() as u64).sum(),
            more: report.more,
            rejected: report.rejected,
        })
    }

    /// Syncs until the server has nothing more, retrying what is transient as
    /// `retry` says; fails on anything else or at the deadline.
    pub async fn sync(&mut self, retry: &Retry) -> Result<SyncStats> {
        let started = Instant::now();
        let mut stats = SyncStats::default();
        let mut failures = 0u32;
        for _ in 0..100_000 {
            match self.round().await {
                Ok(r) => {
                    failures = 0;
                    let more = r.more;
                    stats.rounds.push(r);
                    if !more {
                        stats.elapsed = started.elapsed();
                        return Ok(stats);
                    }
                }
                Err(e) if e.transient() => {
                    stats.failures += 1;
                    let mut told = None;
                    match e {
                        RoundError::Overloaded(after) => {
                            stats.overloaded += 1;
                            told = after;
                        }
                        RoundError::TooLarge => {
                            // The next request is already smaller: no pause.
                            stats.too_large += 1;
                            continue;
                        }
                        RoundError::TooSlow(shrunk) => {
                            stats.too_slow += 1;
                            if shrunk {
                                continue;
                            }
                        }
                        _ => {}
                    }
                    failures += 1;
                    let pause = retry.pause(failures, told, &mut self.rng);
                    if Instant::now() + pause > retry.deadline {
                        bail!(
                            "gave up at the deadline after {} failures: {e}",
                            stats.failures
                        );
                    }
                    tokio::time::sleep(pause).await;
                }
                Err(e) => bail!("sync failed: {e}"),
            }
        }
        bail!("sync never finished")
    }
}
