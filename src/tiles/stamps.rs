//! Which map tiles each change touches, so that cached tiles (and their
//! `ETag`s) change only where the data did.
//!
//! A hexagon tile at zoom z counts observations up to a reach beyond its
//! edges ([`crate::index::touching_reach_m`] at the zoom's resolution); a
//! new observation therefore stamps, at every zoom up to [`STAMPED_ZOOM`],
//! the tiles within that reach of it. Big batches and
//! area changes stamp everything at once instead.
//!
//! Stamps are the index's versions ([`crate::index::ObservationIndex::version`]):
//! whoever changes the index stamps with the version it reached, after the
//! change (see [`super::cache::TileCache::changed`]).

use rustc_hash::FxHashMap;

use super::{TileId, resolution_for_zoom};

/// Deepest zoom with stamps; deeper tiles use the index's version.
pub const STAMPED_ZOOM: u8 = 16;

/// How far, in metres, a hexagon tile at zoom `z` reaches beyond its edges.
pub fn tile_margin_m(z: u8) -> f64 {
    crate::index::touching_reach_m(resolution_for_zoom(z))
}

/// The version at which each tile up to [`STAMPED_ZOOM`] last changed.
#[derive(Default)]
pub struct TileStamps {
    stamps: FxHashMap<(u8, u32, u32), u64>,
    /// Every tile has changed at least at this version.
    floor: u64,
}

impl TileStamps {
    /// Records that an observation at `(lon, lat)` arrived at `version`.
    pub fn touch(&mut self, lon: f64, lat: f64, version: u64) {
        for z in 0..=STAMPED_ZOOM {
            let dlat = tile_margin_m(z) / 111_320.0;
            let dlon = dlat / lat.to_radians().cos().max(0.01);
            let nw = TileId::containing(lon - dlon, lat + dlat, z);
            let se = TileId::containing(lon + dlon, lat - dlat, z);
            for x in nw.x..=se.x {
                for y in nw.y..=se.y {
                    self.stamps.insert((z, x, y), version);
                }
            }
        }
    }

    /// Records that everything may have changed at `version`.
    pub fn touch_all(&mut self, version: u64) {
        self.floor = version;
        self.stamps.clear();
    }

    /// The version at which `tile` last changed, or `None` past [`STAMPED_ZOOM`].
    pub fn stamp(&self, tile: TileId) -> Option<u64> {
        (tile.z <= STAMPED_ZOOM).then(|| {
            self.stamps
                .get(&(tile.z, tile.x, tile.y))
                .copied()
                .unwrap_or(0)
                .max(self.floor)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nearby_tiles_change() {
        let mut s = TileStamps::default();
        s.touch_all(1);
        s.touch(17.6267, 59.1917, 2);
        let here = TileId::containing(17.6267, 59.1917, 14);
        let far = TileId::containing(17.40, 59.05, 14);
        assert_eq!(s.stamp(here), Some(2));
        assert_eq!(s.stamp(far), Some(1));
        // Every zoom is stamped, up to the deepest.
        for z in 0..=STAMPED_ZOOM {
            assert_eq!(s.stamp(TileId::containing(17.6267, 59.1917, z)), Some(2));
        }
        assert_eq!(s.stamp(TileId::containing(17.6267, 59.1917, 17)), None);
        s.touch_all(3);
        assert_eq!(s.stamp(here), Some(3));
    }
}
