//! Amounts of money: integer minor units (cents, fen) plus an ISO 4217 currency code.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Why an amount is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not a three-letter currency code such as TWD or CNY")]
    BadCurrency(String),
    #[error("amount {0} is negative")]
    Negative(i64),
}

/// An ISO 4217 currency code: three uppercase ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The code as text, e.g. `TWD`.
    pub fn as_str(&self) -> &str {
        // Construction guarantees three ASCII uppercase letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(MoneyError::BadCurrency(s.chars().take(10).collect()))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in minor units (1 TWD = 100 minor units) of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

crate::fields::from_fields!(Money, |f| Money {
    minor: f.req("minor")?,
    currency: f.req("currency")?,
});

impl Money {
    /// An amount, refused if negative.
    pub fn new(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        let m = Money { minor, currency };
        m.check()?;
        Ok(m)
    }

    /// Checks the amount is not negative.
    pub fn check(&self) -> Result<(), MoneyError> {
        if self.minor < 0 {
            Err(MoneyError::Negative(self.minor))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}.{:02}",
            self.currency,
            self.minor / 100,
            (self.minor % 100).abs()
        )
    }
}

crate::text_serde::serde_as_text!(Currency);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_amounts_are_refused() {
        let twd: Currency = "TWD".parse().unwrap();
        assert_eq!(Money::new(-1, twd), Err(MoneyError::Negative(-1)));
        assert_eq!(Money::new(150_050, twd).unwrap().to_string(), "TWD 1500.50");
    }

    #[test]
    fn currency_codes_are_three_capitals() {
        assert!("twd".parse::<Currency>().is_err());
        assert!("TWDX".parse::<Currency>().is_err());
        assert_eq!("CNY".parse::<Currency>().unwrap().as_str(), "CNY");
    }
}
