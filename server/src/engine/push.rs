//! Group commit: the documents of one request decided in parallel (bounded by cores) and committed together, as few transactions as the backend allows; nothing is acknowledged before it is durable, a retried push stores nothing twice, and the feed lists a group's documents in the order they were pushed.

use std::collections::BTreeSet;
use std::sync::Arc;

use fieldsync_core::automerge::ChangeHash;
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::schema::Rule;
use fieldsync_core::sync::{DocChanges, Hash, Principal, RejectCode, Rejection};

use super::actors::check_pushes;
use super::decide::{Against, Decided, Prepared, decide, refuse};
use super::error::EngineError;
use super::hold::hold;
use super::known::Known;
use crate::state::AppState;
use crate::store::{CommitDoc, StoredDoc};

/// How often a push is retried when another writer changed the same document meanwhile.
const MAX_ATTEMPTS: usize = 16;

/// Decides on and commits one document's push: a group of one (see `push_docs`).
pub async fn push_doc(
    state: &AppState,
    principal: &Principal,
    device: &str,
    origin: &str,
    push: &DocChanges,
    known: &Known,
    release: bool,
) -> Result<Outcome, EngineError> {
    let pushes = std::slice::from_ref(push);
    push_docs(state, principal, device, origin, pushes, known, release)
        .await?
        .pop()
        .ok_or_else(|| EngineError::Internal("a push of one document came back empty".into()))
}

/// One document's outcome: its acknowledged hashes, or the core's refusal.
pub type Outcome = Result<Vec<Hash>, Rejection>;

/// Decides on and commits the documents of one request, `GROUP_DOCS` at a time: each
/// group's documents are loaded together, decided in parallel (one blocking task each,
/// at most as many at once as the machine has cores) and the accepted ones committed
/// together in one transaction. Outcomes come back in the order of `pushes`. The outer
/// error is the server's fault (nothing acknowledged); an inner one is the core's refusal
/// of that document only. `release`: the incoming manager delivers held changes of the
/// outgoing one (the late rule is skipped). A push the late rule refuses is held
/// (`hold`), never acknowledged.
pub async fn push_docs(
    state: &AppState,
    principal: &Principal,
    device: &str,
    origin: &str,
    pushes: &[DocChanges],
    known: &Known,
    release: bool,
) -> Result<Vec<Outcome>, EngineError> {
    let mut outcomes = Vec::with_capacity(pushes.len());
    if pushes.is_empty() {
        return Ok(outcomes);
    }
    // One copy per request, shared by every blocking task.
    let shared = Arc::new((principal.clone(), known.clone()));
    let by = Pusher {
        state,
        device,
        origin,
        release,
        shared,
    };
    for group in pushes.chunks(GROUP_DOCS) {
        outcomes.extend(by.group(group).await?);
    }
    Ok(outcomes)
}

/// Most documents decided and committed together: bounds what one request holds in
/// memory (decided snapshots waiting for their commit) and how long a transaction runs.
const GROUP_DOCS: usize = 128;

/// How many documents of one request are decided at once: the machine's cores.
fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Who pushes, for every group of one request.
struct Pusher<'a> {
    state: &'a AppState,
    device: &'a str,
    origin: &'a str,
    release: bool,
    shared: Arc<(Principal, Known)>,
}

/// A document of a group still to be decided.
struct Job {
    push: Arc<DocChanges>,
    id: String,
    /// The devices whose changes this push may carry (`actors::check_pushes`).
    devices: Arc<Vec<String>>,
    /// Commits lost to another writer so far.
    lost: usize,
}

/// A document of a group ready to decide: what is stored, and late rule (c)'s input.
struct Ready {
    at: usize,
    stored: Option<StoredDoc>,
    foreign_after: BTreeSet<ChangeHash>,
}

impl Pusher<'_> {
    fn principal(&self) -> &Principal {
        &self.shared.0
    }

    fn known(&self) -> &Known {
        &self.shared.1
    }

    /// Decides on and commits one group (see `push_docs`), retrying the documents another
    /// writer changed meanwhile up to `MAX_ATTEMPTS` times each.
    async fn group(&self, group: &[DocChanges]) -> Result<Vec<Outcome>, EngineError> {
        let state = self.state;
        let mut outcomes: Vec<Option<Outcome>> = group.iter().map(|_| None).collect();
        let mut jobs: Vec<Option<Job>> = Vec::with_capacity(group.len());
        let checked = check_pushes(state, self.principal(), self.device, group).await?;
        for (at, (push, checked)) in group.iter().zip(checked).enumerate() {
            match checked {
                Ok(devices) => jobs.push(Some(Job {
                    push: Arc::new(push.clone()),
                    id: push.doc.to_string(),
                    devices: Arc::new(devices),
                    lost: 0,
                })),
                Err(r) => {
                    outcomes[at] = Some(Err(r));
                    jobs.push(None);
                }
            }
        }
        let mut pending: Vec<usize> = (0..group.len()).filter(|i| jobs[*i].is_some()).collect();
        while !pending.is_empty() {
            // A document named twice in one request is decided once per round: the
            // later copy waits for the next round, against what the first one stored.
            let mut names = BTreeSet::new();
            let (now, later): (Vec<usize>, Vec<usize>) = pending.iter().partition(|i| {
                jobs[**i]
                    .as_ref()
                    .is_some_and(|j| names.insert(j.id.clone()))
            });
            let ids: Vec<&str> = now
                .iter()
                .filter_map(|i| jobs[*i].as_ref().map(|j| j.id.as_str()))
                .collect();
            let mut stored = state.store.load_docs(&ids).await?;
            let mut ready = Vec::with_capacity(now.len());
            for at in now {
                let Some(job) = jobs[at].as_ref() else {
                    continue;
                };
                let doc = stored.remove(&job.id);
                match self.prepare(at, job, doc).await? {
                    Ok(r) => ready.push(r),
                    Err(r) => outcomes[at] = Some(Err(r)),
                }
            }
            let mut retry = later;
            let decided = self.decide_all(&jobs, ready).await?;
            let mut commits: Vec<(usize, Option<i64>, Prepared, Vec<Hash>)> = Vec::new();
            for (at, version, decided) in decided {
                let Some(job) = jobs[at].as_ref() else {
                    continue;
                };
                match decided {
                    Ok(Decided {
                        hashes,
                        commit: None,
                    }) => outcomes[at] = Some(Ok(hashes)),
                    Ok(Decided {
                        hashes,
                        commit: Some(p),
                    }) => commits.push((at, version, p, hashes)),
                    Err(r) => {
                        if !self.release && r.rule.as_deref() == Some(Rule::HandedOver.as_str()) {
                            hold(
                                state,
                                self.principal(),
                                self.device,
                                &job.push,
                                self.known(),
                            )
                            .await?;
                        }
                        outcomes[at] = Some(Err(r));
                    }
                }
            }
            let written = {
                let docs: Vec<CommitDoc<'_>> = commits
                    .iter_mut()
                    .filter_map(|(at, version, p, _)| {
                        let job = jobs[*at].as_ref()?;
                        let snapshot = std::mem::take(&mut p.snapshot);
                        let fresh = std::mem::take(&mut p.fresh);
                        let p: &Prepared = p;
                        Some(CommitDoc {
                            id: &job.id,
                            territory: p.territory.as_str(),
                            kind: job.push.doc.doc_type(),
                            expected_version: *version,
                            snapshot,
                            fresh,
                            device: self.device,
                            origin: self.origin,
                            read: &p.read,
                        })
                    })
                    .collect();
                let written = state.store.commit_docs(&docs).await?;
                let written = written.into_iter().map(|w| w.is_some());
                let fresh: Vec<u64> = docs.iter().map(|d| d.fresh.len() as u64).collect();
                written.zip(fresh).collect::<Vec<_>>()
            };
            let mut territories: BTreeSet<TerritoryId> = BTreeSet::new();
            for ((at, _, p, hashes), (stored, fresh)) in commits.into_iter().zip(written) {
                let Some(job) = jobs[at].as_mut() else {
                    continue;
                };
                if stored {
                    state.metrics.changes_accepted.inc_by(fresh);
                    territories.insert(p.territory);
                    outcomes[at] = Some(Ok(hashes));
                    continue;
                }
                job.lost += 1;
                if job.lost < MAX_ATTEMPTS {
                    tracing::debug!(doc = %job.id, "document changed meanwhile; retrying the push");
                    retry.push(at);
                    continue;
                }
                // Other writers kept winning: this document waits for the next sync; the
                // request's other documents are decided as usual.
                tracing::warn!(doc = %job.id, attempts = MAX_ATTEMPTS, "a push lost every race for its document");
                outcomes[at] = Some(Err(refuse(
                    &job.push.doc,
                    RejectCode::Busy,
                    "the document kept changing while the server decided on this push; \
                     nothing was stored, and the changes are sent again on the next sync",
                )));
            }
            if state.store.pg_url().is_none() {
                // On PostgreSQL the commit's NOTIFY reaches every replica (see live::relay).
                for t in territories {
                    state.live.notify(t);
                }
            }
            retry.sort_unstable();
            pending = retry;
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.ok_or_else(|| EngineError::Internal("a pushed document was not decided".into()))
            })
            .collect()
    }

    /// What one document is decided against besides its push: refused here if it is
    /// stored in a territory the pusher may not access.
    async fn prepare(
        &self,
        at: usize,
        job: &Job,
        stored: Option<StoredDoc>,
    ) -> Result<Result<Ready, Rejection>, EngineError> {
        let principal = self.principal();
        let territory = stored
            .as_ref()
            .map(|s| (s.territory.parse::<TerritoryId>().ok(), &s.territory));
        if let Some((t, name)) = &territory
            && !t.as_ref().is_some_and(|t| principal.can_access(t))
        {
            return Ok(Err(refuse(
                &job.push.doc,
                RejectCode::Forbidden,
                format!("you have no access to territory {name}"),
            )));
        }
        // Late rule (c): what others committed here after the territory was handed over.
        let outgoing = territory
            .and_then(|(t, _)| t)
            .and_then(|t| self.known().handovers.outgoing_in(&t).cloned());
        let foreign_after = match outgoing {
            Some(out) if !self.release => self
                .state
                .store
                .foreign_after(&job.id, out.reassigned_at.millis(), principal.user.as_str())
                .await?
                .iter()
                .filter_map(|h| h.parse::<ChangeHash>().ok())
                .collect(),
            _ => BTreeSet::new(),
        };
        Ok(Ok(Ready {
            at,
            stored,
            foreign_after,
        }))
    }

    /// Decides every ready document on blocking threads, at most `parallelism()` at once.
    /// Returns (position, loaded version, decision) in the group's order; a panic while
    /// working on one document's bytes refuses that document only (`malformed`).
    async fn decide_all(
        &self,
        jobs: &[Option<Job>],
        ready: Vec<Ready>,
    ) -> Result<Vec<(usize, Option<i64>, Result<Decided, Rejection>)>, EngineError> {
        let limit = parallelism();
        let limits = self.state.settings.limits;
        let release = self.release;
        let mut set = tokio::task::JoinSet::new();
        let mut done = Vec::with_capacity(ready.len());
        for r in ready {
            let Some(job) = jobs[r.at].as_ref() else {
                continue;
            };
            if set.len() >= limit
                && let Some(d) = set.join_next().await
            {
                done.push(
                    d.map_err(|e| EngineError::Internal(format!("a decision was lost: {e}")))?,
                );
            }
            let (push, devices, shared) =
                (job.push.clone(), job.devices.clone(), self.shared.clone());
            let Ready {
                at,
                stored,
                foreign_after,
            } = r;
            let version = stored.as_ref().map(|s| s.version);
            set.spawn(async move {
                let doc = push.doc.clone();
                let decided = tokio::task::spawn_blocking(move || {
                    let (principal, known) = &*shared;
                    decide(
                        stored.as_ref().map(|s| s.snapshot.as_slice()),
                        &push,
                        principal,
                        &devices,
                        limits,
                        Against {
                            known,
                            foreign_after: &foreign_after,
                            release,
                        },
                    )
                })
                .await;
                let decided = decided.unwrap_or_else(|e| {
                    // A panic while working on this document's bytes: refuse it, keep serving.
                    tracing::error!(%doc, error = %e, "processing a push panicked");
                    Err(refuse(
                        &doc,
                        RejectCode::Malformed,
                        "the server could not process these changes",
                    ))
                });
                (at, version, decided)
            });
        }
        while let Some(d) = set.join_next().await {
            done.push(d.map_err(|e| EngineError::Internal(format!("a decision was lost: {e}")))?);
        }
        // The request's order: the feed lists a group's documents as they were pushed.
        done.sort_unstable_by_key(|d| d.0);
        Ok(done)
    }
}
