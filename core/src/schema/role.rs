//! `Role`: what a user is allowed to do; the schema says which role may take which step.

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
    /// Whether this role may rename a territory (its managers are head office's: `sees_all`).
    pub fn supervises(self) -> bool {
        !matches!(self, Role::Manager)
    }

    /// Whether this role may approve or reject expense claims, and answer a
    /// problem escalated to head office (never an admin's job).
    pub fn approves_claims(self) -> bool {
        matches!(self, Role::Regional | Role::HeadOffice)
    }

    /// Whether this role sees every territory.
    pub fn sees_all(self) -> bool {
        matches!(self, Role::HeadOffice | Role::Admin)
    }
}
