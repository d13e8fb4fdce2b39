//! Identifier newtypes for every entity, with parsing, display and random generation.
//!
//! An id is 1 to 64 characters from `[A-Za-z0-9_-]`. Generated ids are 26
//! characters of lowercase base32 from 128 random bits; demo and test data may
//! use readable ids such as `t-north`.

use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} id is empty")]
    Empty { kind: &'static str },
    #[error("{kind} id is longer than 64 characters")]
    TooLong { kind: &'static str },
    #[error("{kind} id may contain only letters, digits, '-' and '_'")]
    BadCharacter { kind: &'static str },
    #[error("the random number source failed")]
    Random,
}

const MAX_LEN: usize = 64;

fn check(kind: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_LEN {
        return Err(IdError::TooLong { kind });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(IdError::BadCharacter { kind });
    }
    Ok(())
}

/// 128 random bits as 26 characters of lowercase Crockford base32.
pub fn random_token() -> Result<String, IdError> {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| IdError::Random)?;
    let mut n = u128::from_be_bytes(bytes);
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    Ok(out.iter().map(|&b| char::from(b)).collect())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Result<Self, IdError> {
                random_token().map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                check($kind, s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        $crate::text_serde::serde_as_text!($name);

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::id_schema($kind)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

id_type!(/// A territory (區域), the unit of ownership and access.
    TerritoryId, "territory");
id_type!(/// A dealer (經銷商) and so also its document.
    DealerId, "dealer");
id_type!(/// A person who signs in: manager, regional manager, head office or admin.
    UserId, "user");
id_type!(/// One device (a phone or a browser profile) of a user.
    DeviceId, "device");
id_type!(/// A visit (拜訪) to a dealer.
    VisitId, "visit");
id_type!(/// A commitment (承諾) made to a dealer.
    CommitmentId, "commitment");
id_type!(/// An expense claim (費用申報).
    ClaimId, "claim");
id_type!(/// A problem (問題) raised about a dealer.
    ProblemId, "problem");
id_type!(/// A joint promotion or customer event (活動).
    ActivityId, "activity");
id_type!(/// A downline customer (下線客戶) of a dealer.
    CustomerId, "customer");
id_type!(/// A contact person at a dealer.
    ContactId, "contact");
id_type!(/// One note appended to a visit, problem or commitment.
    NoteId, "note");
id_type!(/// A territory handover (交接): one manager's open work passed to another.
    HandoverId, "handover");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id: DealerId = "d-taipei_01".parse().unwrap();
        assert_eq!(id.to_string(), "d-taipei_01");
    }

    #[test]
    fn bad_ids_are_refused_with_a_reason() {
        assert_eq!(
            "".parse::<DealerId>(),
            Err(IdError::Empty { kind: "dealer" })
        );
        assert_eq!(
            "a b".parse::<VisitId>(),
            Err(IdError::BadCharacter { kind: "visit" })
        );
        assert_eq!(
            "x".repeat(65).parse::<UserId>(),
            Err(IdError::TooLong { kind: "user" })
        );
    }

    #[test]
    fn random_ids_are_distinct_and_valid() {
        let a = VisitId::random().unwrap();
        let b = VisitId::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 26);
        assert!(a.as_str().parse::<VisitId>().is_ok());
    }
}
