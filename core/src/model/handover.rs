//! Territory handover (交接): the incoming manager's review of each open item, and which items are the outgoing manager's.
//!
//! A handover passes a territory from one manager (A, outgoing) to another (B,
//! incoming). The handover itself (who, when, the deadline) is the server's;
//! B's review of each open item is written **on the record**, in its
//! `handover` map keyed by the [`HandoverId`](crate::ids::HandoverId):
//! `{review: {reviewed|flagged|accepted: {by, at}}, reason}`. Accepting also
//! writes the record's `owner` in the same change (`Document::review`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use super::{Commitment, ExpenseClaim, Problem, Standing, Tracked};
use crate::calendar::Timestamp;
use crate::doc::DealerState;
use crate::ids::UserId;
use crate::lifecycle::Stage;
use crate::vocab::vocab;

vocab!(/// The incoming manager's review of one item: reviewed → flagged → accepted.
/// Accepting writes `reviewed` and `accepted` at once; a flagged item may be
/// accepted later; an accepted one is never flagged.
HandoverStage {
    /// Seen (every review starts here; written with the first real step).
    Reviewed = "reviewed",
    /// Not taken over as it is: the incoming manager says why (`reason`).
    Flagged = "flagged",
    /// Taken over: the incoming manager now owns the record.
    Accepted = "accepted",
});

impl Stage for HandoverStage {
    const START: Self = HandoverStage::Reviewed;
    fn rank(self) -> u8 {
        match self {
            HandoverStage::Reviewed => 0,
            HandoverStage::Flagged => 1,
            HandoverStage::Accepted => 2,
        }
    }
    fn may_follow(self, from: Self) -> bool {
        self.rank() > from.rank()
    }
    /// Still awaiting the incoming manager until accepted.
    fn is_open(self) -> bool {
        self != HandoverStage::Accepted
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// A review as it stands: the furthest step, its reason (flagged) and who took it when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub state: HandoverStage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub by: UserId,
    pub at: Timestamp,
}

/// Reads one handover item of a record (`record.handover[hid]`, kept as JSON in
/// the typed records): `None` when it holds no readable review step.
pub fn review_of(item: &Json) -> Option<Review> {
    let state = stage_of(item)?;
    let step = item.get("review")?.get(state.as_str())?;
    let by = step.get("by")?.as_str()?.parse().ok()?;
    let at = Timestamp(step.get("at")?.as_i64()?);
    let reason = item.get("reason").and_then(Json::as_str).map(str::to_owned);
    Some(Review {
        state,
        reason,
        by,
        at,
    })
}

/// The furthest review step of one handover item (see [`review_of`]).
pub(crate) fn stage_of(item: &Json) -> Option<HandoverStage> {
    item.get("review")?
        .as_object()?
        .keys()
        .filter_map(|k| k.parse::<HandoverStage>().ok())
        .max_by_key(|s| s.rank())
}

vocab!(/// The kind of record a handover item is.
ItemKind {
    Commitment = "commitment",
    Claim = "claim",
    Problem = "problem",
});

impl ItemKind {
    /// The dealer document's collection holding this kind.
    pub fn collection(self) -> &'static str {
        match self {
            ItemKind::Commitment => "commitments",
            ItemKind::Claim => "claims",
            ItemKind::Problem => "problems",
        }
    }
}

/// One open item a manager holds in a dealer document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// The record's id in its collection.
    pub id: String,
    /// What it is, in words (a commitment's `what`, a claim's `purpose`, a problem's `title`).
    pub title: String,
    /// When it was made, requested or raised.
    pub since: Timestamp,
}

/// Whether a record's status (as `Standing` reads it, decisions included) is still open.
fn is_open<R: Tracked>(r: &R) -> bool {
    Standing::status_of(r)
        .parse::<R::Stage>()
        .map_or(true, Stage::is_open)
}

/// The open items of `of` in one dealer: commitments still open (pending
/// approval included), claims neither rejected nor reconciled, problems not
/// resolved, whose holder ([`Commitment::holder`], [`ExpenseClaim::holder`],
/// [`Problem::holder`]) is `of`. What a handover passes on.
pub fn open_items(state: &DealerState, of: &UserId) -> Vec<Item> {
    let mut out = Vec::new();
    for (id, c) in &state.commitments {
        if c.holder() == of && is_open(c) {
            out.push(Item {
                kind: ItemKind::Commitment,
                id: id.to_string(),
                title: c.what.clone(),
                since: c.made_at,
            });
        }
    }
    for (id, c) in &state.claims {
        if c.holder() == Some(of) && is_open(c) {
            out.push(Item {
                kind: ItemKind::Claim,
                id: id.to_string(),
                title: c.purpose.clone(),
                since: c
                    .status
                    .step(super::ClaimStage::Requested)
                    .map_or(Timestamp(0), |s| s.at),
            });
        }
    }
    for (id, p) in &state.problems {
        if p.holder() == Some(of) && is_open(p) {
            out.push(Item {
                kind: ItemKind::Problem,
                id: id.to_string(),
                title: p.title.clone(),
                since: p.raised_at().unwrap_or(Timestamp(0)),
            });
        }
    }
    out
}

/// A record kind a handover passes on: it keeps the incoming managers' reviews
/// in its `handover` map and has an `owner` that accepting sets.
pub trait Handed: super::Record {
    /// Its reviews, keyed by handover id (JSON; [`review_of`] reads one).
    fn handover(&self) -> &BTreeMap<String, Json>;
}

macro_rules! handed {
    ($($ty:ty),*) => {$(
        impl Handed for $ty {
            fn handover(&self) -> &BTreeMap<String, Json> {
                &self.handover
            }
        }
    )*};
}
handed!(Commitment, ExpenseClaim, Problem);

/// Checks a handover item's reason (required when flagging).
pub(crate) fn check_reason(reason: &str) -> Result<(), super::ValidationError> {
    super::validation::text("flag reason", reason, super::validation::LONG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_review_reads_its_furthest_step() {
        let item = json!({"review": {"reviewed": {"by": "m2", "at": 5}, "flagged": {"by": "m2", "at": 5}}, "reason": "no receipt"});
        let r = review_of(&item).unwrap();
        assert_eq!(r.state, HandoverStage::Flagged);
        assert_eq!(r.reason.as_deref(), Some("no receipt"));
        assert_eq!(r.at, Timestamp(5));
        assert!(review_of(&json!({"reason": "x"})).is_none());
    }
}
