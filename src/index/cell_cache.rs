//! The resolution-12 cell of many points, faster than asking h3o for each.
//!
//! An import's points cluster: a million demo observations fall in about
//! 90,000 resolution-12 cells. h3o computes a cell from scratch in about
//! 1.3 µs (Sweden lies in a pentagon base cell, whose digits h3o rotates
//! one resolution at a time), which made H3 a fifth of an import's CPU time.
//! This cache remembers the outline of each cell it has computed, filed
//! under the small grid squares it was asked about, and answers a point that
//! lies clearly inside a remembered outline without h3o.
//!
//! "Clearly inside" is by [`MARGIN_DEG`], about a centimetre, in a plane
//! local to the cell (x = longitude × cos latitude, y = latitude). Between
//! the sphere and that plane a resolution-12 outline moves by well under a
//! millimetre, so a point that far inside is inside on the sphere, where h3o
//! would give the same cell. Anything nearer an edge, and every cell whose
//! outline is not a plain hexagon (pentagons, cells cut by an icosahedron
//! edge, at the antimeridian or near the poles), goes to h3o.

use h3o::{CellIndex, LatLng};
use rustc_hash::FxHashMap;

use super::BASE_RESOLUTION;

/// How far inside an outline a point must be to be answered from the cache,
/// in degrees of latitude (or of longitude × cos latitude): about 1 cm.
const MARGIN_DEG: f64 = 1e-7;

/// Grid square size in degrees: about 9 m × 9 m at Swedish latitudes, the
/// size of a resolution-12 cell, so a square touches a few cells at most.
const SQUARE_LAT: f64 = 8e-5;
const SQUARE_LON: f64 = 1.6e-4;

/// Cells remembered per grid square.
const PER_SQUARE: usize = 4;

const NONE: u32 = u32::MAX;

/// A cell's outline as six half-planes in the cell's local plane.
struct Hexagon {
    cell: u64,
    cos_lat: f64,
    /// Per edge `[a, b, c]`, scaled so that `a·x + b·y + c` is the distance
    /// inside the edge, in degrees.
    edges: [[f64; 3]; 6],
}

impl Hexagon {
    /// `None` for any outline that is not a plain hexagon away from the
    /// antimeridian and the poles: those points always go to h3o.
    fn new(cell: CellIndex) -> Option<Self> {
        let outline = cell.boundary();
        let centre = LatLng::from(cell);
        if outline.len() != 6 || centre.lat().abs() > 80.0 {
            return None;
        }
        let (min, max) = outline.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| {
            (lo.min(v.lng()), hi.max(v.lng()))
        });
        if max - min > 1.0 {
            return None;
        }
        let cos_lat = centre.lat_radians().cos();
        let plane = |p: &LatLng| (p.lng() * cos_lat, p.lat());
        let (cx, cy) = plane(&centre);
        let mut edges = [[0.0; 3]; 6];
        for (i, edge) in edges.iter_mut().enumerate() {
            let (x1, y1) = plane(&outline[i]);
            let (x2, y2) = plane(&outline[(i + 1) % 6]);
            let length = (x2 - x1).hypot(y2 - y1);
            let (mut a, mut b) = ((y1 - y2) / length, (x2 - x1) / length);
            let mut c = -(a * x1 + b * y1);
            if a * cx + b * cy + c < 0.0 {
                (a, b, c) = (-a, -b, -c);
            }
            *edge = [a, b, c];
        }
        Some(Hexagon {
            cell: u64::from(cell),
            cos_lat,
            edges,
        })
    }

    fn clearly_holds(&self, lon: f64, lat: f64) -> bool {
        let x = lon * self.cos_lat;
        self.edges
            .iter()
            .all(|[a, b, c]| a * x + b * lat + c > MARGIN_DEG)
    }
}

/// Resolution-12 cells of points, remembered. One per import: it grows with
/// the number of distinct cells asked about (about 200 bytes each).
#[derive(Default)]
pub struct CellCache {
    squares: FxHashMap<u64, [u32; PER_SQUARE]>,
    hexagons: Vec<Hexagon>,
    by_cell: FxHashMap<u64, u32>,
}

impl CellCache {
    /// The cell at [`BASE_RESOLUTION`] holding the point, as
    /// [`super::base_cell`] gives it (0 for an invalid coordinate).
    pub fn cell(&mut self, lon: f64, lat: f64) -> u64 {
        let Ok(point) = LatLng::new(lat, lon) else {
            return 0;
        };
        // Offsets make both coordinates positive, so truncation is floor.
        #[expect(clippy::cast_possible_truncation, reason = "bounded by ±180°/step")]
        let (row, col) = (
            ((lat + 90.0) / SQUARE_LAT) as i64,
            ((lon + 180.0) / SQUARE_LON) as i64,
        );
        let found = self.remembered(square_key(row, col), lon, lat).or_else(|| {
            // A square seen for the first time usually lies in cells its
            // neighbours know.
            (-1..=1)
                .flat_map(|dr| (-1..=1).map(move |dc| (dr, dc)))
                .filter(|&d| d != (0, 0))
                .find_map(|(dr, dc)| self.remembered(square_key(row + dr, col + dc), lon, lat))
        });
        let hexagon = match found {
            Some(i) => Ok(i),
            None => self.compute(point, lon, lat),
        };
        match hexagon {
            Ok(i) => {
                let slots = self
                    .squares
                    .entry(square_key(row, col))
                    .or_insert([NONE; PER_SQUARE]);
                if !slots.contains(&i) {
                    slots.rotate_right(1);
                    slots[0] = i;
                }
                self.hexagons[i as usize].cell
            }
            Err(cell) => cell,
        }
    }

    /// The remembered hexagon of square `key` that clearly holds the point.
    fn remembered(&self, key: u64, lon: f64, lat: f64) -> Option<u32> {
        self.squares.get(&key).and_then(|slots| {
            slots.iter().copied().find(|&i| {
                self.hexagons
                    .get(i as usize)
                    .is_some_and(|h| h.clearly_holds(lon, lat))
            })
        })
    }

    /// Asks h3o; the cell's hexagon if it can be remembered and clearly
    /// holds the point, else the cell itself.
    fn compute(&mut self, point: LatLng, lon: f64, lat: f64) -> Result<u32, u64> {
        let cell = point.to_cell(BASE_RESOLUTION);
        let key = u64::from(cell);
        let i = if let Some(&i) = self.by_cell.get(&key) {
            i
        } else {
            let Some(hexagon) = Hexagon::new(cell) else {
                return Err(key);
            };
            let i = u32::try_from(self.hexagons.len()).map_err(|_| key)?;
            self.hexagons.push(hexagon);
            self.by_cell.insert(key, i);
            i
        };
        if self.hexagons[i as usize].clearly_holds(lon, lat) {
            Ok(i)
        } else {
            Err(key)
        }
    }
}

fn square_key(row: i64, col: i64) -> u64 {
    #[expect(clippy::cast_sign_loss, reason = "a bit pattern, not a number")]
    let (row, col) = (row as u64, col as u64);
    (row << 32) ^ (col & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::index::base_cell;

    fn exact(lon: f64, lat: f64) -> u64 {
        base_cell(lon, lat).map_or(0, u64::from)
    }

    /// A deterministic stream of numbers in `0..1`.
    fn uniform(seed: u64) -> impl Iterator<Item = f64> {
        let mut s = seed | 1;
        std::iter::repeat_with(move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // 21 random bits: steps of a millimetre or so over a cluster.
            f64::from(u32::try_from(s >> 43).unwrap()) / f64::from(1u32 << 21)
        })
    }

    #[test]
    fn dense_points_in_sodertalje_match_h3o_and_mostly_hit() {
        let mut cache = CellCache::default();
        let mut u = uniform(7);
        let mut computed_cells = std::collections::HashSet::new();
        for _ in 0..200_000 {
            let lon = 17.60 + u.next().unwrap() * 0.02;
            let lat = 59.19 + u.next().unwrap() * 0.01;
            let cell = exact(lon, lat);
            assert_eq!(cache.cell(lon, lat), cell, "{lon},{lat}");
            computed_cells.insert(cell);
        }
        // Every cell's outline is computed once; most points needed none.
        assert_eq!(cache.hexagons.len(), computed_cells.len());
        assert!(computed_cells.len() < 20_000, "{}", computed_cells.len());
    }

    #[test]
    fn points_on_and_next_to_outlines_match_h3o() {
        let mut cache = CellCache::default();
        let centre = base_cell(17.625, 59.195).unwrap();
        for cell in centre.grid_disk::<Vec<_>>(6) {
            let outline = cell.boundary();
            let c = LatLng::from(cell);
            for v in outline.iter() {
                // Along the line from the centre to each vertex, and a hair
                // past the vertex: near-edge points must all go to h3o.
                for t in [0.2, 0.9, 0.999_999, 1.0, 1.000_001] {
                    let lat = c.lat() + (v.lat() - c.lat()) * t;
                    let lon = c.lng() + (v.lng() - c.lng()) * t;
                    assert_eq!(cache.cell(lon, lat), exact(lon, lat), "{lon},{lat}");
                }
            }
        }
    }

    #[test]
    fn invalid_coordinates_give_zero_like_base_cell() {
        let mut cache = CellCache::default();
        assert_eq!(cache.cell(f64::NAN, 59.0), 0);
        assert_eq!(cache.cell(17.0, f64::INFINITY), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Clusters anywhere on Earth, including near the poles and the
        /// antimeridian, give h3o's cells.
        #[test]
        fn clusters_anywhere_match_h3o(
            lon in -180.0f64..180.0,
            lat in -89.9f64..89.9,
            seed in any::<u64>(),
        ) {
            let mut cache = CellCache::default();
            let mut u = uniform(seed);
            for _ in 0..2_000 {
                let plon = (lon + (u.next().unwrap() - 0.5) * 0.002).clamp(-180.0, 180.0);
                let plat = (lat + (u.next().unwrap() - 0.5) * 0.001).clamp(-90.0, 90.0);
                prop_assert_eq!(cache.cell(plon, plat), exact(plon, plat));
            }
        }
    }
}
