//! `DealerProfile` (經銷商): kind, tier, lifecycle status, contacts, address, brands and downline customers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::validation::{self, LONG, SHORT, ValidationError};
use crate::geo::GeoPoint;
use crate::ids::{ContactId, CustomerId};
use crate::vocab::vocab;

vocab!(/// What sort of partner a dealer is.
DealerKind {
    /// 分銷商
    Distributor = "distributor",
    /// 零售商
    Retailer = "retailer",
    /// 商業夥伴
    BusinessPartner = "business_partner",
    /// 支行 / 網點
    BankBranch = "bank_branch",
});

vocab!(/// Where a dealer stands with the company. Unlike records' statuses this may move back
/// (a dormant dealer can become active again), so it merges as a plain last-writer-wins field.
DealerStatus {
    Prospect = "prospect",
    Active = "active",
    Dormant = "dormant",
    Terminated = "terminated",
});

/// A person to talk to at the dealer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// No longer there (left the dealer): records are never deleted, so one is marked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

crate::fields::from_fields!(Contact, |f| Contact {
    name: f.req("name")?,
    role: f.or_default("role")?,
    phone: f.or_default("phone")?,
    email: f.or_default("email")?,
    gone: f.or_default("gone")?,
});

/// A brand the dealer carries, and whether only ours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Brand {
    #[serde(default)]
    pub exclusive: bool,
    /// No longer carried: records are never deleted, so one is marked (and unmarked if carried again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

crate::fields::from_fields!(Brand, |f| Brand {
    exclusive: f.or_default("exclusive")?,
    gone: f.or_default("gone")?,
});

/// A downline customer (下線客戶) of the dealer; core customers (核心客戶) are held close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownlineCustomer {
    pub name: String,
    #[serde(default)]
    pub core: bool,
    #[serde(default)]
    pub note: String,
}

crate::fields::from_fields!(DownlineCustomer, |f| DownlineCustomer {
    name: f.req("name")?,
    core: f.or_default("core")?,
    note: f.or_default("note")?,
});

/// A dealer's profile: the part of its document that is not a record collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DealerProfile {
    pub name: String,
    pub kind: DealerKind,
    /// 1 is the most important tier.
    pub tier: u8,
    pub status: DealerStatus,
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(default)]
    pub contacts: BTreeMap<ContactId, Contact>,
    /// Brands carried, keyed by brand name.
    #[serde(default)]
    pub brands: BTreeMap<String, Brand>,
    #[serde(default)]
    pub downline: BTreeMap<CustomerId, DownlineCustomer>,
}

crate::fields::from_fields!(DealerProfile, |f| DealerProfile {
    name: f.req("name")?,
    kind: f.req("kind")?,
    tier: f.req("tier")?,
    status: f.req("status")?,
    address: f.or_default("address")?,
    location: f.or_default("location")?,
    contacts: f.map("contacts")?,
    brands: f.map("brands")?,
    downline: f.map("downline")?,
});

impl DealerProfile {
    /// A new profile with no contacts, brands or customers.
    pub fn new(name: impl Into<String>, kind: DealerKind, tier: u8, status: DealerStatus) -> Self {
        DealerProfile {
            name: name.into(),
            kind,
            tier,
            status,
            address: String::new(),
            location: None,
            contacts: BTreeMap::new(),
            brands: BTreeMap::new(),
            downline: BTreeMap::new(),
        }
    }

    /// Checks the profile's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("dealer name", &self.name, SHORT)?;
        if !(1..=5).contains(&self.tier) {
            return Err(ValidationError::Tier(self.tier));
        }
        validation::optional_text("address", &self.address, LONG)?;
        if let Some(p) = &self.location {
            p.check().map_err(|source| ValidationError::Geo {
                field: "dealer location",
                source,
            })?;
        }
        for c in self.contacts.values() {
            validation::text("contact name", &c.name, SHORT)?;
        }
        for b in self.brands.keys() {
            validation::text("brand", b, SHORT)?;
        }
        for d in self.downline.values() {
            validation::text("downline customer name", &d.name, SHORT)?;
        }
        Ok(())
    }
}
