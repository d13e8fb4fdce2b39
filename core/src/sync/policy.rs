//! Who may read and write what: roles, the authenticated principal, and the checks on an edit.

use crate::doc::{DealerState, TerritoryState};
use crate::ids::{TerritoryId, UserId};
use crate::model::ClaimStage;
use crate::set::Set;
use crate::vocab::vocab;

vocab!(/// What a user is allowed to do.
Role {
    /// 渠道經理: reads and writes only their own territories.
    Manager = "manager",
    /// 大區經理: oversees several territories; approves claims and reassigns within them.
    Regional = "regional",
    /// 總部: reads and writes everything.
    HeadOffice = "head_office",
    /// Manages users and devices; reads and writes everything.
    Admin = "admin",
});

impl Role {
    /// Whether this role may approve or reject expense claims and reassign territories.
    pub fn supervises(self) -> bool {
        !matches!(self, Role::Manager)
    }

    /// Whether this role sees every territory.
    pub fn sees_all(self) -> bool {
        matches!(self, Role::HeadOffice | Role::Admin)
    }
}

/// The authenticated user behind a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user: UserId,
    pub role: Role,
    /// The territories assigned to them (ignored for roles that see all).
    pub territories: Set<TerritoryId>,
}

/// Why an edit is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("you have no access to territory {0}")]
    NoAccess(TerritoryId),
    #[error("the {role} role may not {action}")]
    RoleMayNot { role: Role, action: &'static str },
    #[error("a change is signed by {claimed}, not by you ({actual})")]
    Impersonation { claimed: String, actual: UserId },
}

impl Principal {
    /// Whether they may read (and so also write) documents of `territory`.
    pub fn can_access(&self, territory: &TerritoryId) -> bool {
        self.role.sees_all() || self.territories.contains(territory)
    }

    fn access(&self, territory: &TerritoryId) -> Result<(), PolicyError> {
        if self.can_access(territory) {
            Ok(())
        } else {
            Err(PolicyError::NoAccess(territory.clone()))
        }
    }

    fn supervise(&self, action: &'static str) -> Result<(), PolicyError> {
        if self.role.supervises() {
            Ok(())
        } else {
            Err(PolicyError::RoleMayNot {
                role: self.role,
                action,
            })
        }
    }

    /// Checks an edit of a dealer document from `before` (absent when new) to `after`.
    pub fn check_dealer(
        &self,
        before: Option<&DealerState>,
        after: &DealerState,
    ) -> Result<(), PolicyError> {
        self.access(&after.territory)?;
        for (id, claim) in &after.claims {
            let old = before.and_then(|b| b.claims.get(id));
            for stage in [ClaimStage::Approved, ClaimStage::Rejected] {
                let had = old.is_some_and(|c| c.status.step(stage).is_some());
                if claim.status.step(stage).is_some() && !had {
                    self.supervise("approve or reject expense claims")?;
                }
            }
        }
        Ok(())
    }

    /// Checks an edit of a territory document from `before` (absent when new) to `after`.
    pub fn check_territory(
        &self,
        before: Option<&TerritoryState>,
        after: &TerritoryState,
    ) -> Result<(), PolicyError> {
        match before {
            None => {
                if !self.role.sees_all() {
                    return Err(PolicyError::RoleMayNot {
                        role: self.role,
                        action: "create territories",
                    });
                }
            }
            Some(b) => {
                self.access(&after.id)?;
                if b.profile.managers != after.profile.managers {
                    self.supervise("reassign a territory's managers")?;
                }
                if b.profile.name != after.profile.name || b.profile.region != after.profile.region
                {
                    self.supervise("rename a territory")?;
                }
            }
        }
        Ok(())
    }
}
