//! `Word`: a short text drawn mostly from fieldsync's own vocabulary (field names, ids, stages), so generated edits hit real paths.

use arbitrary::{Arbitrary, Result, Unstructured};

/// Keys, ids and values that appear in fieldsync documents.
pub const VOCABULARY: &[&str] = &[
    // skeleton and collections
    "schema",
    "doc_type",
    "id",
    "territory",
    "profile",
    "visits",
    "commitments",
    "claims",
    "problems",
    "activities",
    "dealers",
    // fields
    "name",
    "kind",
    "tier",
    "status",
    "address",
    "location",
    "contacts",
    "brands",
    "downline",
    "manager",
    "at",
    "gps",
    "purposes",
    "summary",
    "notes",
    "attendees",
    "photos",
    "customers",
    "what",
    "to_whom",
    "made_by",
    "owner",
    "made_at",
    "due",
    "amount",
    "visit",
    "minor",
    "currency",
    "category",
    "purpose",
    "spent",
    "severity",
    "title",
    "resolution",
    "starts",
    "ends",
    "budget",
    "description",
    "by",
    "text",
    "region",
    "managers",
    "added_by",
    "added_at",
    "lat",
    "lon",
    "accuracy_m",
    "escalated",
    "exclusive",
    "mime",
    "bytes",
    "taken_at",
    // stages
    "requested",
    "approved",
    "rejected",
    "reconciled",
    "open",
    "kept",
    "broken",
    "cancelled",
    "in_progress",
    "resolved",
    "planned",
    "held",
    // ids and values in the scene
    "v1",
    "n1",
    "k1",
    "c1",
    "c2",
    "p1",
    "m1",
    "m2",
    "r1",
    "ho",
    "d-lin",
    "t-north",
    "t-south",
    "TWD",
    "USD",
    "retailer",
    "active",
    "2026-12-01",
    "placement",
    "high",
    "dealer",
];

/// A text: a vocabulary word, or (less often) any short string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word(pub String);

impl<'a> Arbitrary<'a> for Word {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.ratio(7, 8)? {
            Ok(Word((*u.choose(VOCABULARY)?).to_owned()))
        } else {
            let len = u.int_in_range(0..=24)?;
            let mut s = String::new();
            for _ in 0..len {
                s.push(char::arbitrary(u)?);
            }
            Ok(Word(s))
        }
    }
}

impl Word {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
