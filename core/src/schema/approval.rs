//! `ApprovalLimits`: the largest claim each role may approve, and a manager's commitment authority, per territory, as head office set them; the server checks every approval and commitment against them.

use serde::{Deserialize, Serialize};

use super::role::Role;
use crate::ids::TerritoryId;
use crate::money::Money;
use crate::vocab::vocab;

vocab!(/// What a limit bounds.
LimitKind {
    /// The largest expense claim (or commitment) `role` approves.
    Claim = "claim",
    /// A manager's commitment authority: a commitment above it is pending
    /// approval until a supervisor approves it (`model::commitment::pending`).
    Commitment = "commitment",
});

impl LimitKind {
    fn is_claim(&self) -> bool {
        *self == LimitKind::Claim
    }

    fn claim() -> Self {
        LimitKind::Claim
    }
}

/// One limit: `role` may approve a claim of at most `max` (in `max`'s currency),
/// in `territory`, or everywhere when `territory` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalLimit {
    /// Absent: a claim approval limit.
    #[serde(
        default = "LimitKind::claim",
        skip_serializing_if = "LimitKind::is_claim"
    )]
    pub kind: LimitKind,
    pub role: Role,
    /// The territory it applies to; absent: every territory without its own limit for this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<TerritoryId>,
    /// The largest claim amount approved, inclusive.
    pub max: Money,
}

crate::fields::from_fields!(ApprovalLimit, |f| ApprovalLimit {
    kind: f.or_else("kind", LimitKind::claim)?,
    role: f.req("role")?,
    territory: f.or_default("territory")?,
    max: f.req("max")?,
});

/// Every limit head office set. A role without any limit approves any amount
/// (head office, usually). A role with limits for a territory uses those there
/// (the territory's override), else its limits without a territory; among them
/// the one in the claim's currency decides, and a claim in a currency none of
/// them names is beyond the limit (head office decides).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApprovalLimits(pub Vec<ApprovalLimit>);

impl<'de> Deserialize<'de> for ApprovalLimits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A newtype of a list, read as serde reads the list (through `fields`).
        let value = serde_json::Value::deserialize(d)?;
        crate::fields::read_vec(value)
            .map(ApprovalLimits)
            .map_err(serde::de::Error::custom)
    }
}

/// The most `role` may approve in one territory: `None` is no limit; otherwise
/// the largest amount per currency (a currency not listed: nothing).
pub type Ceiling = Vec<Money>;

impl ApprovalLimits {
    /// What `role` may approve in `territory` (see the type's docs).
    pub fn ceiling(&self, role: Role, territory: &TerritoryId) -> Option<Ceiling> {
        self.find(LimitKind::Claim, role, territory)
    }

    /// The largest commitment a manager makes in `territory` without a
    /// supervisor's approval (`None`: no limit), chosen as [`Self::ceiling`].
    pub fn authority(&self, territory: &TerritoryId) -> Option<Ceiling> {
        self.find(LimitKind::Commitment, Role::Manager, territory)
    }

    fn find(&self, kind: LimitKind, role: Role, territory: &TerritoryId) -> Option<Ceiling> {
        let of = |t: Option<&TerritoryId>| -> Ceiling {
            self.0
                .iter()
                .filter(|l| l.kind == kind && l.role == role && l.territory.as_ref() == t)
                .map(|l| l.max)
                .collect()
        };
        let own = of(Some(territory));
        if !own.is_empty() {
            return Some(own);
        }
        let general = of(None);
        (!general.is_empty()).then_some(general)
    }
}

/// Whether `amount` is within `ceiling` (`None`: no limit).
pub fn within(ceiling: Option<&[Money]>, amount: &Money) -> bool {
    match ceiling {
        None => true,
        Some(c) => c
            .iter()
            .any(|m| m.currency == amount.currency && amount.minor <= m.minor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twd(minor: i64) -> Money {
        Money::new(minor, "TWD".parse().unwrap()).unwrap()
    }

    fn limits() -> ApprovalLimits {
        let t = |s: &str| Some(s.parse::<TerritoryId>().unwrap());
        ApprovalLimits(vec![
            ApprovalLimit {
                kind: LimitKind::Claim,
                role: Role::Regional,
                territory: None,
                max: twd(500_000),
            },
            ApprovalLimit {
                kind: LimitKind::Claim,
                role: Role::Regional,
                territory: t("t-north"),
                max: twd(1_000_000),
            },
            ApprovalLimit {
                kind: LimitKind::Commitment,
                role: Role::Manager,
                territory: None,
                max: twd(100_000),
            },
            ApprovalLimit {
                kind: LimitKind::Commitment,
                role: Role::Manager,
                territory: t("t-north"),
                max: twd(300_000),
            },
        ])
    }

    #[test]
    fn a_territory_overrides_the_general_limit_and_unlimited_roles_stay_so() {
        let l = limits();
        let north: TerritoryId = "t-north".parse().unwrap();
        let south: TerritoryId = "t-south".parse().unwrap();
        let at =
            |t: &TerritoryId, minor| within(l.ceiling(Role::Regional, t).as_deref(), &twd(minor));
        assert!(at(&south, 500_000));
        assert!(!at(&south, 500_001));
        assert!(at(&north, 1_000_000));
        assert!(!at(&north, 1_000_001));
        assert!(l.ceiling(Role::HeadOffice, &north).is_none());
        let cny = Money::new(1, "CNY".parse().unwrap()).unwrap();
        assert!(!within(l.ceiling(Role::Regional, &south).as_deref(), &cny));
        // A manager's commitment authority is its own kind: no claim limit for managers.
        assert!(l.ceiling(Role::Manager, &south).is_none());
        let auth = |t: &TerritoryId, minor| within(l.authority(t).as_deref(), &twd(minor));
        assert!(auth(&south, 100_000));
        assert!(!auth(&south, 100_001));
        assert!(auth(&north, 300_000));
        assert!(!auth(&north, 300_001));
        assert!(ApprovalLimits::default().authority(&north).is_none());
    }
}
