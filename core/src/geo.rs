//! Places on Earth: a point (a dealer's address) and a GPS fix with its accuracy (a visit).

use serde::{Deserialize, Serialize};

/// Why a location is not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude {} is outside -90..=90", show(*.0))]
    Latitude(f64),
    #[error("longitude {} is outside -180..=180", show(*.0))]
    Longitude(f64),
    #[error("accuracy {} m must be a positive number of metres", show(*.0))]
    Accuracy(f64),
}

/// A number as JSON writes it (shortest round-trip form). Going through
/// serde_json's float printer, already in the build, keeps the standard
/// library's larger float formatting out of the browser's WebAssembly.
fn show(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "not a number".to_owned(), |n| n.to_string())
}

/// A latitude and longitude in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

crate::fields::from_fields!(GeoPoint, |f| GeoPoint {
    lat: f.req("lat")?,
    lon: f.req("lon")?,
});

impl GeoPoint {
    /// Checks the coordinates are on Earth.
    pub fn check(&self) -> Result<(), GeoError> {
        if !(-90.0..=90.0).contains(&self.lat) {
            return Err(GeoError::Latitude(self.lat));
        }
        if !(-180.0..=180.0).contains(&self.lon) {
            return Err(GeoError::Longitude(self.lon));
        }
        Ok(())
    }
}

/// Where a device was: a point, how sure it is, and whether a person typed it.
/// In JSON the point's fields sit beside the others: `{lat, lon, accuracy_m, manual}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "FlatFix", into = "FlatFix")]
pub struct GeoFix {
    pub point: GeoPoint,
    /// Radius of 68% confidence, in metres.
    pub accuracy_m: f64,
    /// True when entered by hand rather than read from the device.
    #[serde(default)]
    pub manual: bool,
}

/// `GeoFix` as stored and sent, written out flat instead of with `#[serde(flatten)]`,
/// which would compile serde's buffering deserializer into the wasm.
#[derive(Serialize)]
struct FlatFix {
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    #[serde(default)]
    manual: bool,
}

crate::fields::from_fields!(FlatFix, |f| FlatFix {
    lat: f.req("lat")?,
    lon: f.req("lon")?,
    accuracy_m: f.req("accuracy_m")?,
    manual: f.or_default("manual")?,
});

impl From<FlatFix> for GeoFix {
    fn from(f: FlatFix) -> Self {
        GeoFix {
            point: GeoPoint {
                lat: f.lat,
                lon: f.lon,
            },
            accuracy_m: f.accuracy_m,
            manual: f.manual,
        }
    }
}

impl From<GeoFix> for FlatFix {
    fn from(g: GeoFix) -> Self {
        FlatFix {
            lat: g.point.lat,
            lon: g.point.lon,
            accuracy_m: g.accuracy_m,
            manual: g.manual,
        }
    }
}

impl GeoFix {
    /// Checks the point and that the accuracy is a positive finite number.
    pub fn check(&self) -> Result<(), GeoError> {
        self.point.check()?;
        if !(self.accuracy_m.is_finite() && self.accuracy_m > 0.0) {
            return Err(GeoError::Accuracy(self.accuracy_m));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_off_the_earth_are_refused() {
        let ok = GeoFix {
            point: GeoPoint {
                lat: 25.03,
                lon: 121.56,
            },
            accuracy_m: 12.0,
            manual: false,
        };
        assert!(ok.check().is_ok());
        let bad_lat = GeoFix {
            point: GeoPoint {
                lat: 91.0,
                lon: 0.0,
            },
            ..ok
        };
        assert_eq!(bad_lat.check(), Err(GeoError::Latitude(91.0)));
        let bad_acc = GeoFix {
            accuracy_m: f64::NAN,
            ..ok
        };
        assert!(matches!(bad_acc.check(), Err(GeoError::Accuracy(_))));
        assert_eq!(
            bad_lat.check().unwrap_err().to_string(),
            "latitude 91.0 is outside -90..=90"
        );
    }

    #[test]
    fn a_fix_is_flat_json() {
        let fix = GeoFix {
            point: GeoPoint {
                lat: 25.03,
                lon: 121.56,
            },
            accuracy_m: 12.0,
            manual: false,
        };
        let text = serde_json::to_string(&fix).unwrap();
        assert_eq!(
            text,
            r#"{"lat":25.03,"lon":121.56,"accuracy_m":12.0,"manual":false}"#
        );
        let back: GeoFix =
            serde_json::from_str(r#"{"lat":25.03,"lon":121.56,"accuracy_m":12.0}"#).unwrap();
        assert_eq!(back, fix);
    }
}
