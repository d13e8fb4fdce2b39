//! Materialisation: the rows head office's read model holds for one merged document.

use std::collections::BTreeMap;

use fieldsync_core::doc::{ConflictKind, DealerState, DocError, Document, Settled};
use fieldsync_core::model::claim_ageing::spent_on;
use fieldsync_core::model::{
    ActivityStatus, ClaimStage, Commitment, CommitmentStatus, EscalationStage, ItemKind,
    ProblemStatus, Standing, review_of,
};
use fieldsync_core::schema::ApprovalLimits;

/// A dealer's summary row.
#[derive(Debug, Clone, PartialEq)]
pub struct DealerRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub tier: i64,
    pub status: String,
    pub last_visit_at: Option<i64>,
    pub open_commitments: i64,
    pub open_problems: i64,
}

/// A visit row.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub id: String,
    pub manager: String,
    pub at: i64,
    /// JSON array of purposes.
    pub purposes: String,
    pub summary: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
}

/// A commitment row.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentRow {
    pub id: String,
    pub what: String,
    pub to_whom: String,
    pub owner: String,
    pub made_by: String,
    pub made_at: i64,
    pub due: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub status: String,
}

/// An expense claim row.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub id: String,
    pub category: String,
    pub purpose: String,
    pub amount_minor: i64,
    pub currency: String,
    pub spent_minor: Option<i64>,
    pub status: String,
    pub requested_by: String,
    pub requested_at: i64,
    /// Who carries it now (`ExpenseClaim::holder`: the incoming manager who took it over, else its requester).
    pub owner: String,
    /// The day it was spent on (`YYYY-MM-DD`, `model::claim_ageing::spent_on`), once spent.
    pub spent_on: Option<String>,
}

/// A problem row.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemRow {
    pub id: String,
    pub category: String,
    pub severity: String,
    pub title: String,
    pub status: String,
    pub raised_at: i64,
    /// When it was resolved, if it is.
    pub resolved_at: Option<i64>,
    /// Who resolved it, if it is.
    pub resolved_by: Option<String>,
    pub escalated: bool,
    /// Who works on it.
    pub owner: Option<String>,
    /// The `escalated` step of its escalation: who, when.
    pub escalated_by: Option<String>,
    pub escalated_at: Option<i64>,
    /// Head office's answer: who, when, what, and to whom it was assigned.
    pub responded_by: Option<String>,
    pub responded_at: Option<i64>,
    pub response: Option<String>,
    pub assigned_to: Option<String>,
}

/// A promotion or customer event held with the dealer.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub id: String,
    /// `promotion` or `customer_event`.
    pub kind: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub starts: String,
    pub ends: String,
    /// Midnight UTC of `starts` (epoch ms), for date-range filters.
    pub starts_at: i64,
    pub budget_minor: Option<i64>,
    pub currency: Option<String>,
    /// `planned`, `held` or `cancelled`, as head office decided between concurrent steps.
    pub status: String,
    /// Who planned it.
    pub planned_by: Option<String>,
    /// How many downline customers were invited, and how many of them came.
    pub invited: i64,
    pub attended: i64,
    /// How many people came in all, given when it was held.
    pub attendance: Option<i64>,
    pub result: Option<String>,
    pub photos: i64,
    /// The claim its budget became (the first by id, if two devices made one each).
    pub claim: Option<String>,
}

/// Every activity of a dealer, as the read model holds it.
pub fn activity_rows(s: &DealerState) -> Vec<ActivityRow> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    s.activities
        .iter()
        .map(|(id, a)| ActivityRow {
            id: id.to_string(),
            kind: a.kind.as_str().to_owned(),
            title: a.title.clone(),
            starts: a.starts.to_string(),
            ends: a.ends.to_string(),
            starts_at: a.starts.start().millis(),
            budget_minor: a.budget.map(|b| b.minor),
            currency: a.budget.map(|b| b.currency.to_string()),
            status: Standing::status_of(a).to_owned(),
            planned_by: a
                .status
                .step(ActivityStatus::Planned)
                .map(|s| s.by.to_string()),
            invited: count(a.invited.len()),
            attended: count(a.attended.len()),
            attendance: a.attendance.map(i64::from),
            result: Some(a.result.clone()).filter(|r| !r.is_empty()),
            photos: count(a.photos.len()),
            claim: s
                .claims
                .iter()
                .find(|(_, c)| c.activity.as_ref() == Some(id))
                .map(|(c, _)| c.to_string()),
        })
        .collect()
}

/// A conflicted field (values as JSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    /// Core's `Conflict::id`: the same on every replica.
    pub id: String,
    /// `field`, `steps` (concurrent steps of one rank) or `rule`.
    pub kind: &'static str,
    pub dealer: Option<String>,
    /// Keys from the root, as a JSON array.
    pub path: String,
    /// `{value, by, at}` as JSON.
    pub winner: String,
    /// `[{value, by, at}, …]` as JSON.
    pub others: String,
}

/// A territory's row and its managers (as listed in its document).
#[derive(Debug, Clone, PartialEq)]
pub struct TerritoryRow {
    pub id: String,
    pub name: String,
    pub region: String,
    pub managers: Vec<String>,
    /// The IANA zone its document names (`None`: the default zone).
    pub time_zone: Option<String>,
}

/// One record's review in a territory handover (core's `model::handover::review_of`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    /// `commitment`, `claim` or `problem`.
    pub kind: &'static str,
    pub record: String,
    pub handover: String,
    /// `reviewed`, `flagged` or `accepted`: the furthest step.
    pub state: &'static str,
    pub reason: Option<String>,
    pub by: String,
    pub at: i64,
}

/// One open item of the outgoing manager on a handover's list (stored by
/// `store::handovers`; defined here so the read model never imports the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub handover: String,
    pub dealer: String,
    /// `commitment`, `claim` or `problem`.
    pub kind: String,
    pub record: String,
    pub title: String,
    /// When the record was made, requested or raised (epoch ms).
    pub since: i64,
    pub listed_at: i64,
    /// Listed after the reassignment (the outgoing manager synced it later).
    pub late: bool,
}

/// A dealer document's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DealerRows {
    pub dealer: DealerRow,
    pub visits: Vec<VisitRow>,
    pub commitments: Vec<CommitmentRow>,
    pub claims: Vec<ClaimRow>,
    pub problems: Vec<ProblemRow>,
    pub activities: Vec<ActivityRow>,
    /// The hash of every photo the dealer's visits, claim receipts and activities name (who may read a photo).
    pub photos: Vec<String>,
    /// Every review of a record in a territory handover.
    pub reviews: Vec<ReviewRow>,
    /// Items of an open handover this commit lists late (the outgoing manager's records
    /// synced after the reassignment): not materialised here, set by the push (`engine::decide`).
    pub late_items: Vec<ItemRow>,
}

/// The document kind's rows.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadKind {
    Territory(TerritoryRow),
    Dealer(Box<DealerRows>),
}

/// Every read-model row of one document.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRows {
    pub kind: ReadKind,
    pub conflicts: Vec<ConflictRow>,
}

fn json_text(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// A commitment's status in the read model: `pending_approval` while above its
/// maker's `authority` and not yet approved (not counted as made: not open, not
/// overdue), `open` once approved (made, still to keep), else its current step.
fn commitment_status(
    c: &Commitment,
    authority: Option<&[fieldsync_core::money::Money]>,
) -> &'static str {
    match Standing::status_of(c) {
        s if s == CommitmentStatus::Approved.as_str() => CommitmentStatus::Open.as_str(),
        _ if c.is_pending(authority) => "pending_approval",
        s => s,
    }
}

/// Reads a merged document into read-model rows; a commitment's status is
/// decided against the commitment authority in `approvals` as it is now.
/// `settled`: what the push's checks already established (its conflicts).
pub fn materialise(
    doc: &mut Document,
    approvals: &ApprovalLimits,
    settled: Option<&Settled>,
) -> Result<ReadRows, DocError> {
    let authority = approvals.authority(doc.territory());
    let dealer_id = match doc.id() {
        fieldsync_core::doc::DocId::Dealer(d) => Some(d.to_string()),
        fieldsync_core::doc::DocId::Territory(_) => None,
    };
    let found = match settled {
        Some(s) => {
            let found = doc.conflicts_settled(s);
            // Every test push checks the shortcut against the whole search.
            debug_assert_eq!(found, doc.conflicts(), "settled conflicts differ");
            found
        }
        None => doc.conflicts(),
    };
    let conflicts = found
        .into_iter()
        .map(|c| ConflictRow {
            id: c.id.clone(),
            kind: match c.kind {
                ConflictKind::Field => "field",
                ConflictKind::Steps => "steps",
                ConflictKind::Rule => "rule",
            },
            dealer: dealer_id.clone(),
            path: json_text(&c.path),
            winner: json_text(&c.winner),
            others: json_text(&c.others),
        })
        .collect();
    let kind = match dealer_id {
        None => {
            let t = doc.territory_state()?;
            ReadKind::Territory(TerritoryRow {
                id: t.id.to_string(),
                name: t.profile.name,
                region: t.profile.region,
                managers: t.profile.managers.iter().map(|u| u.to_string()).collect(),
                time_zone: t.profile.time_zone,
            })
        }
        Some(_) => {
            let s = doc.dealer_state()?;
            let visits: Vec<VisitRow> = s
                .visits
                .iter()
                .map(|(id, v)| VisitRow {
                    id: id.to_string(),
                    manager: v.manager.to_string(),
                    at: v.at.millis(),
                    purposes: json_text(&v.purposes.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
                    summary: v.summary.clone(),
                    lat: v.gps.map(|g| g.point.lat),
                    lon: v.gps.map(|g| g.point.lon),
                    accuracy_m: v.gps.map(|g| g.accuracy_m),
                })
                .collect();
            let commitments: Vec<CommitmentRow> = s
                .commitments
                .iter()
                .map(|(id, c)| CommitmentRow {
                    id: id.to_string(),
                    what: c.what.clone(),
                    to_whom: c.to_whom.clone(),
                    owner: c.owner.to_string(),
                    made_by: c.made_by.to_string(),
                    made_at: c.made_at.millis(),
                    due: c.due.to_string(),
                    amount_minor: c.amount.map(|a| a.minor),
                    currency: c.amount.map(|a| a.currency.to_string()),
                    // As head office decided between concurrent steps, if it did (core's
                    // `Standing`); pending approval while above the maker's authority.
                    status: commitment_status(c, authority.as_deref()).to_owned(),
                })
                .collect();
            let claims = s
                .claims
                .iter()
                .map(|(id, c)| {
                    let requested = c.status.step(ClaimStage::Requested);
                    ClaimRow {
                        id: id.to_string(),
                        category: c.category.as_str().to_owned(),
                        purpose: c.purpose.clone(),
                        amount_minor: c.amount.minor,
                        currency: c.amount.currency.to_string(),
                        spent_minor: c.spent.map(|m| m.minor),
                        status: Standing::status_of(c).to_owned(),
                        requested_by: requested.map(|s| s.by.to_string()).unwrap_or_default(),
                        requested_at: requested.map(|s| s.at.millis()).unwrap_or_default(),
                        owner: c.holder().map(|u| u.to_string()).unwrap_or_default(),
                        spent_on: c
                            .status
                            .step(ClaimStage::Spent)
                            .and_then(|s| spent_on(s.at))
                            .map(|d| d.to_string()),
                    }
                })
                .collect();
            let problems: Vec<ProblemRow> = s
                .problems
                .iter()
                .map(|(id, p)| {
                    let esc = |s: EscalationStage| p.escalation.as_ref().and_then(|e| e.step(s));
                    let resolved = p.status.step(ProblemStatus::Resolved);
                    ProblemRow {
                        id: id.to_string(),
                        category: p.category.as_str().to_owned(),
                        severity: p.severity.as_str().to_owned(),
                        title: p.title.clone(),
                        status: p.status.current().as_str().to_owned(),
                        raised_at: p.raised_at().map(|t| t.millis()).unwrap_or_default(),
                        resolved_at: resolved.map(|s| s.at.millis()),
                        resolved_by: resolved.map(|s| s.by.to_string()),
                        escalated: p.escalated || p.escalation.is_some(),
                        owner: p.owner.as_ref().map(ToString::to_string),
                        escalated_by: esc(EscalationStage::Escalated).map(|s| s.by.to_string()),
                        escalated_at: esc(EscalationStage::Escalated).map(|s| s.at.millis()),
                        responded_by: esc(EscalationStage::Responded).map(|s| s.by.to_string()),
                        responded_at: esc(EscalationStage::Responded).map(|s| s.at.millis()),
                        response: p.response.clone(),
                        assigned_to: p.assigned_to.as_ref().map(ToString::to_string),
                    }
                })
                .collect();
            let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            let dealer = DealerRow {
                id: s.id.to_string(),
                name: s.profile.name.clone(),
                kind: s.profile.kind.as_str().to_owned(),
                tier: i64::from(s.profile.tier),
                status: s.profile.status.as_str().to_owned(),
                last_visit_at: visits.iter().map(|v| v.at).max(),
                open_commitments: count(commitments.iter().filter(|c| c.status == "open").count()),
                open_problems: count(s.problems.values().filter(|p| p.status.is_open()).count()),
            };
            let photos = s
                .visits
                .values()
                .flat_map(|v| v.photos.keys().map(ToString::to_string))
                .chain(
                    s.claims
                        .values()
                        .flat_map(|c| c.receipts.keys().map(ToString::to_string)),
                )
                .chain(
                    s.activities
                        .values()
                        .flat_map(|a| a.photos.keys().map(ToString::to_string)),
                )
                .collect();
            let reviews = reviews_of(&s);
            ReadKind::Dealer(Box::new(DealerRows {
                dealer,
                visits,
                commitments,
                claims,
                problems,
                activities: activity_rows(&s),
                photos,
                reviews,
                late_items: Vec::new(),
            }))
        }
    };
    Ok(ReadRows { kind, conflicts })
}

/// Every readable handover review of a dealer's commitments, claims and problems.
fn reviews_of(s: &DealerState) -> Vec<ReviewRow> {
    let of = |kind: ItemKind, id: String, reviews: &BTreeMap<String, serde_json::Value>| {
        reviews
            .iter()
            .filter_map(|(hid, item)| {
                let r = review_of(item)?;
                Some(ReviewRow {
                    kind: kind.as_str(),
                    record: id.clone(),
                    handover: hid.clone(),
                    state: r.state.as_str(),
                    reason: r.reason,
                    by: r.by.to_string(),
                    at: r.at.millis(),
                })
            })
            .collect::<Vec<_>>()
    };
    let commitments = s
        .commitments
        .iter()
        .flat_map(|(id, c)| of(ItemKind::Commitment, id.to_string(), &c.handover));
    let claims = s
        .claims
        .iter()
        .flat_map(|(id, c)| of(ItemKind::Claim, id.to_string(), &c.handover));
    let problems = s
        .problems
        .iter()
        .flat_map(|(id, p)| of(ItemKind::Problem, id.to_string(), &p.handover));
    commitments.chain(claims).chain(problems).collect()
}
