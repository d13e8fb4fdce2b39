//! The late rule of a territory handover: which of the outgoing manager's pushed changes are taken as they are, and which are held for the incoming manager.
//!
//! When head office (or the territory's regional manager) reassigns a
//! territory from A to B, A keeps reading it until the handover completes or
//! its deadline passes, and may still deliver what was recorded offline before
//! the reassignment. A change A pushes to a document of the territory is taken
//! only if all of these hold (else the push is refused, rule `handed_over`,
//! and the server holds it for B to release or decline):
//!
//! - (a) it was stamped before the reassignment (`stamp.at < reassigned_at`,
//!   A's device clock);
//! - (b) it reached the server before the grace period ended
//!   (`now < late_until`, the server's clock);
//! - (c) none of its dependencies is a change someone else pushed after the
//!   reassignment (`foreign_after`, which the server computes from its feed):
//!   a change built on such work was made after the reassignment, whatever
//!   its stamp says.
//!
//! The boundaries are late: a stamp equal to `reassigned_at`, a receipt at
//! `late_until`. One late change holds the document's whole push.
//! The handover itself (its dates, who is outgoing and incoming) is the
//! server's: this module only decides on the inputs it is given.

use std::collections::BTreeSet;

use automerge::ChangeHash;

use crate::calendar::Timestamp;
use crate::ids::{HandoverId, TerritoryId};

/// A territory the pushing user is the outgoing manager of (an open handover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub territory: TerritoryId,
    pub handover: HandoverId,
    /// When the territory was reassigned (server clock, ms).
    pub reassigned_at: Timestamp,
    /// The end of the grace period: `reassigned_at + grace`, or the completion
    /// time if the handover completed earlier (server clock, ms).
    pub late_until: Timestamp,
}

/// The pushing user's open handovers, as the server knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handovers {
    /// Territories handed over by this user (their outgoing manager).
    pub outgoing: Vec<Outgoing>,
    /// Handovers whose incoming manager this user is, with their territory.
    pub incoming: Vec<(TerritoryId, HandoverId)>,
}

/// No handovers (a `static` for [`super::ingest::Context::new`]).
pub(crate) static NONE: Handovers = Handovers {
    outgoing: Vec::new(),
    incoming: Vec::new(),
};

impl Handovers {
    /// The handover of `territory` this user is the outgoing manager of.
    pub fn outgoing_in(&self, territory: &TerritoryId) -> Option<&Outgoing> {
        self.outgoing.iter().find(|o| o.territory == *territory)
    }

    /// The handovers of `territory` this user is the incoming manager of
    /// (what `schema::Author::incoming` is given on the server).
    pub fn incoming_in(&self, territory: &TerritoryId) -> Vec<HandoverId> {
        self.incoming
            .iter()
            .filter(|(t, _)| t == territory)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

/// Why a change of the outgoing manager is late.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Late {
    #[error(
        "a change was made at {at}, not before the territory was handed over ({reassigned_at}): \
         it is kept for the incoming manager to review"
    )]
    Stamped {
        at: Timestamp,
        reassigned_at: Timestamp,
    },
    #[error(
        "the territory was handed over and its grace period ended at {late_until}: \
         the change is kept for the incoming manager to review"
    )]
    Received { late_until: Timestamp },
    #[error(
        "a change builds on work recorded after the territory was handed over: \
         it is kept for the incoming manager to review"
    )]
    BuiltOnForeign,
}

/// Checks one change of the outgoing manager (`stamped` by their device,
/// depending on `deps`) received at `now`: rules (a), (b), (c) of the module docs.
pub fn check_late(
    out: &Outgoing,
    stamped: Timestamp,
    deps: &[ChangeHash],
    now: Timestamp,
    foreign_after: &BTreeSet<ChangeHash>,
) -> Result<(), Late> {
    if stamped >= out.reassigned_at {
        return Err(Late::Stamped {
            at: stamped,
            reassigned_at: out.reassigned_at,
        });
    }
    if now >= out.late_until {
        return Err(Late::Received {
            late_until: out.late_until,
        });
    }
    if deps.iter().any(|d| foreign_after.contains(d)) {
        return Err(Late::BuiltOnForeign);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> Outgoing {
        Outgoing {
            territory: "t-north".parse().unwrap(),
            handover: "h1".parse().unwrap(),
            reassigned_at: Timestamp(1_000),
            late_until: Timestamp(2_000),
        }
    }

    #[test]
    fn the_boundaries_are_late() {
        let none = BTreeSet::new();
        let o = out();
        assert_eq!(
            check_late(&o, Timestamp(999), &[], Timestamp(1_999), &none),
            Ok(())
        );
        assert!(matches!(
            check_late(&o, Timestamp(1_000), &[], Timestamp(1_500), &none),
            Err(Late::Stamped { .. })
        ));
        assert!(matches!(
            check_late(&o, Timestamp(999), &[], Timestamp(2_000), &none),
            Err(Late::Received { .. })
        ));
        let h = ChangeHash([7; 32]);
        let foreign = BTreeSet::from([h]);
        assert_eq!(
            check_late(&o, Timestamp(999), &[h], Timestamp(1_500), &foreign),
            Err(Late::BuiltOnForeign)
        );
    }
}
