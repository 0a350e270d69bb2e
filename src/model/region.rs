//! The geographic region a deployment serves. Points outside it are almost
//! always mistakes — most often longitude and latitude given in the wrong
//! order — so they are rejected with a message that says so.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A WGS 84 bounding box in degrees: `[west, south, east, north]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Region {
    /// Södertälje municipality, generously bounded (Järna and Hölö included).
    pub fn sodertalje() -> Self {
        Region {
            west: 17.30,
            south: 58.90,
            east: 17.95,
            north: 59.32,
        }
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.west..=self.east).contains(&lon) && (self.south..=self.north).contains(&lat)
    }

    /// Accepts a point inside the region; otherwise says what is wrong.
    pub fn check(&self, lon: f64, lat: f64) -> Result<(), ValidationError> {
        let err = |reason: String| Err(ValidationError::new("geometry", reason));
        if !lon.is_finite() || !lat.is_finite() {
            return err("coordinates must be finite numbers".into());
        }
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return err(format!(
                "[{lon}, {lat}] is not a WGS 84 position: longitude must be within ±180 and latitude within ±90"
            ));
        }
        if self.contains(lon, lat) {
            return Ok(());
        }
        if self.contains(lat, lon) {
            return err(format!(
                "[{lon}, {lat}] lies outside the served region, but [{lat}, {lon}] lies inside: \
                 longitude and latitude look swapped (GeoJSON order is [longitude, latitude])"
            ));
        }
        err(format!(
            "[{lon}, {lat}] lies outside the served region [{}, {}, {}, {}] (west, south, east, north)",
            self.west, self.south, self.east, self.north
        ))
    }

    /// Parses `west,south,east,north`.
    pub fn parse_bbox(s: &str) -> Result<Self, String> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                format!("{s:?} is not four comma-separated numbers west,south,east,north")
            })?;
        let [west, south, east, north] = parts[..] else {
            return Err(format!(
                "{s:?} has {} numbers; expected west,south,east,north",
                parts.len()
            ));
        };
        let r = Region {
            west,
            south,
            east,
            north,
        };
        if !parts.iter().all(|v| v.is_finite())
            || !(-180.0..=180.0).contains(&west)
            || !(-180.0..=180.0).contains(&east)
            || !(-90.0..=90.0).contains(&south)
            || !(-90.0..=90.0).contains(&north)
        {
            return Err(format!("{s:?} is outside WGS 84 bounds"));
        }
        if west > east || south > north {
            return Err(format!(
                "{s:?}: west must not exceed east, nor south exceed north"
            ));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_coordinates_are_named() {
        let r = Region::sodertalje();
        assert!(r.check(17.626, 59.196).is_ok());
        let e = r.check(59.196, 17.626).unwrap_err();
        assert!(e.reason.contains("swapped"));
        let e = r.check(18.07, 59.33).unwrap_err();
        assert!(e.reason.contains("outside the served region"));
        let e = r.check(200.0, 10.0).unwrap_err();
        assert!(e.reason.contains("±180"));
        assert!(r.check(f64::NAN, 59.0).is_err());
    }

    #[test]
    fn bbox_parsing() {
        assert_eq!(
            Region::parse_bbox("17.5,59.1,17.7,59.3").unwrap(),
            Region {
                west: 17.5,
                south: 59.1,
                east: 17.7,
                north: 59.3
            }
        );
        assert!(Region::parse_bbox("17.5,59.1,17.7").is_err());
        assert!(Region::parse_bbox("17.7,59.1,17.5,59.3").is_err());
        assert!(Region::parse_bbox("a,b,c,d").is_err());
        assert!(Region::parse_bbox("17,95,18,96").is_err());
    }
}
