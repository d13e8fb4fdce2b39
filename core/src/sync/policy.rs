//! Who may read and write what: the authenticated principal and its access to territories.
//!
//! What a principal may change inside a document (approve a claim, rename a
//! territory, …) is the schema's (`crate::schema`), checked on every change.

use crate::ids::{TerritoryId, UserId};
use crate::set::Set;

pub use crate::schema::Role;

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
}

impl Principal {
    /// Whether they may read (and so also write) documents of `territory`.
    pub fn can_access(&self, territory: &TerritoryId) -> bool {
        self.role.sees_all() || self.territories.contains(territory)
    }

    /// Whether they may create the document of a new territory (head office only).
    pub fn may_create_territory(&self) -> Result<(), PolicyError> {
        if self.role.sees_all() {
            Ok(())
        } else {
            Err(PolicyError::RoleMayNot {
                role: self.role,
                action: "create territories",
            })
        }
    }
}
