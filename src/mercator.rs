//! XYZ tiles in Web Mercator (EPSG:3857), y counted from the top (north):
//! tile addresses, their bounds, and WGS 84 points projected into them.
//! Formulas: <https://wiki.openstreetmap.org/wiki/Slippy_map_tilenames>.
//!
//! A leaf: it uses nothing else in the crate, so that the index can draw
//! cells in world coordinates without depending on [`crate::tiles`].

use std::f64::consts::PI;
use std::fmt;

/// Deepest zoom level served.
pub const MAX_ZOOM: u8 = 22;
/// Latitude limit of Web Mercator, degrees.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// A WGS 84 point in Web Mercator world coordinates: the unit square, x to
/// the east from 180° W, y down from the north edge. Tile `(z, x, y)` covers
/// `[x, x + 1] / 2^z` by `[y, y + 1] / 2^z`.
pub fn world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    (
        (lon + 180.0) / 360.0,
        (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0,
    )
}

/// A tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why a tile address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("zoom {0} is outside 0–{MAX_ZOOM}")]
    Zoom(u32),
    #[error("tile {x}/{y} does not exist at zoom {z} (x and y must be below {limit})")]
    OutOfRange { z: u8, x: u32, y: u32, limit: u64 },
    #[error("{0:?} is not a number")]
    NotANumber(String),
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

impl TileId {
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileError> {
        let z8 = u8::try_from(z)
            .ok()
            .filter(|z| *z <= MAX_ZOOM)
            .ok_or(TileError::Zoom(z))?;
        let limit = 1u64 << z8;
        if u64::from(x) >= limit || u64::from(y) >= limit {
            return Err(TileError::OutOfRange { z: z8, x, y, limit });
        }
        Ok(TileId { z: z8, x, y })
    }

    /// Parses the three path segments `z`, `x`, `y` (without extension).
    pub fn parse(z: &str, x: &str, y: &str) -> Result<Self, TileError> {
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| TileError::NotANumber(s.to_owned()))
        };
        TileId::new(num(z)?, num(x)?, num(y)?)
    }

    fn n(self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// The tile's bounds as `[west, south, east, north]` in WGS 84 degrees.
    pub fn bounds(self) -> [f64; 4] {
        let n = self.n();
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
        [
            lon(f64::from(self.x)),
            lat(f64::from(self.y) + 1.0),
            lon(f64::from(self.x) + 1.0),
            lat(f64::from(self.y)),
        ]
    }

    /// Position of a WGS 84 point in this tile's coordinates, `extent` units
    /// per tile side, x to the east, y down (south). Points outside the tile
    /// fall outside `0..extent`.
    pub fn project(self, lon: f64, lat: f64, extent: f64) -> (f64, f64) {
        let n = self.n();
        let (wx, wy) = world(lon, lat);
        let (fx, fy) = (wx * n, wy * n);
        (
            (fx - f64::from(self.x)) * extent,
            (fy - f64::from(self.y)) * extent,
        )
    }

    /// The tile at zoom `z` containing a WGS 84 point.
    pub fn containing(lon: f64, lat: f64, z: u8) -> TileId {
        let t = TileId { z, x: 0, y: 0 };
        let (fx, fy) = t.project(lon, lat, 1.0);
        let max = f64::from((1u32 << z) - 1);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to the tile range"
        )]
        TileId {
            z,
            x: fx.floor().clamp(0.0, max) as u32,
            y: fy.floor().clamp(0.0, max) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_tile() {
        // Södertälje centrum lies in tile 12/2248/1207 (OSM slippy-map formula).
        let t = TileId::containing(17.6267, 59.1917, 12);
        assert_eq!((t.x, t.y), (2248, 1207));
        let [w, s, e, n] = t.bounds();
        assert!(w <= 17.6267 && 17.6267 <= e && s <= 59.1917 && 59.1917 <= n);
        assert!((TileId::new(0, 0, 0).unwrap().bounds()[0] + 180.0).abs() < 1e-12);
    }

    #[test]
    fn bad_addresses_are_refused() {
        assert!(matches!(TileId::new(23, 0, 0), Err(TileError::Zoom(23))));
        assert!(matches!(
            TileId::new(2, 4, 0),
            Err(TileError::OutOfRange { .. })
        ));
        assert!(TileId::parse("9", "x", "1").is_err());
        assert!(TileId::parse("9", "-1", "1").is_err());
    }

    proptest! {
        #[test]
        fn projection_round_trips_with_bounds(z in 0u8..=20, lon in -179.9f64..179.9, lat in -85.0f64..85.0) {
            let t = TileId::containing(lon, lat, z);
            let (px, py) = t.project(lon, lat, 4096.0);
            prop_assert!((-1e-6..=4096.0 + 1e-6).contains(&px), "{px}");
            prop_assert!((-1e-6..=4096.0 + 1e-6).contains(&py), "{py}");
            let [w, s, e, n] = t.bounds();
            prop_assert!(w - 1e-9 <= lon && lon <= e + 1e-9);
            prop_assert!(s - 1e-9 <= lat && lat <= n + 1e-9);
            // Corners project to the tile's corners.
            let (x0, y0) = t.project(w, n, 4096.0);
            prop_assert!(x0.abs() < 1e-3 && y0.abs() < 1e-3, "{x0} {y0}");
        }
    }
}
