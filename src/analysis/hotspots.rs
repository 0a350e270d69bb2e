//! Hot-spot analysis on H3 cells: Getis–Ord Gi* (see [`super::gi_star`])
//! for every cell of a study region, in bins.
//!
//! Gi* equals the PySAL `esda` package's `G_Local(star=True,
//! transform='B').Zs`, which the tests check to 1e-9. Bins follow ArcGIS:
//! ±3, ±2, ±1 for 99, 95 and 90 % confidence, optionally after a False
//! Discovery Rate correction.

use std::collections::HashMap;

use geo::MultiPolygon;
use h3o::geom::TilerBuilder;
use h3o::{CellIndex, Resolution};

use super::gi_star::{Standardisation, neighbour_lists, space_time_gi_star, two_sided_p};

/// One cell's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotSpot {
    pub cell: CellIndex,
    pub count: u32,
    /// Gi* z-score.
    pub z: f64,
    /// Two-sided p-value, normal approximation.
    pub p: f64,
    /// +3/+2/+1 hot at 99/95/90 %, −3/−2/−1 cold, 0 not significant.
    pub bin: i8,
}

/// The cells of `res` whose centre lies in the region, or `Err` with an
/// estimate of their number when it exceeds `max`.
pub fn region_cells(
    region: &MultiPolygon<f64>,
    res: Resolution,
    max: usize,
) -> Result<Vec<CellIndex>, usize> {
    let mut tiler = TilerBuilder::new(res).build();
    for polygon in &region.0 {
        // An invalid ring is skipped rather than failing the whole analysis.
        let _ = tiler.add(polygon.clone());
    }
    let estimate = tiler.coverage_size_hint();
    if estimate > max.saturating_mul(2) {
        return Err(estimate);
    }
    let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
    cells.sort_unstable();
    cells.dedup();
    if cells.len() > max {
        return Err(cells.len());
    }
    Ok(cells)
}

/// The cells of recently analysed regions, so that repeated analyses of the
/// same area skip the polygon fill (about 70 ms for the 150,000
/// resolution-10 cells of the municipality). Keyed by the region's
/// coordinates, so a changed area polygon is a new key.
#[derive(Default)]
pub struct RegionCellCache {
    entries: std::sync::Mutex<rustc_hash::FxHashMap<(u64, u8), SharedCells>>,
}

type SharedCells = std::sync::Arc<Vec<CellIndex>>;

/// Regions kept before the cache starts over.
const CACHED_REGIONS: usize = 64;

impl RegionCellCache {
    /// [`region_cells`], from the cache when the region was seen before.
    pub fn cells(
        &self,
        region: &MultiPolygon<f64>,
        res: Resolution,
        max: usize,
    ) -> Result<std::sync::Arc<Vec<CellIndex>>, usize> {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        for polygon in &region.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                ring.0.len().hash(&mut hasher);
                for c in &ring.0 {
                    c.x.to_bits().hash(&mut hasher);
                    c.y.to_bits().hash(&mut hasher);
                }
            }
        }
        let key = (hasher.finish(), u8::from(res));
        let entries = || {
            self.entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(cells) = entries().get(&key).cloned() {
            return if cells.len() <= max {
                Ok(cells)
            } else {
                Err(cells.len())
            };
        }
        let cells = std::sync::Arc::new(region_cells(region, res, max)?);
        let mut map = entries();
        if map.len() >= CACHED_REGIONS {
            map.clear();
        }
        map.insert(key, cells.clone());
        Ok(cells)
    }
}

fn bin(z: f64, p: f64) -> i8 {
    let level = [0.01, 0.05, 0.10]
        .iter()
        .filter(|&&alpha| p < alpha)
        .count();
    let level = i8::try_from(level).unwrap_or(0);
    if z < 0.0 { -level } else { level }
}

/// Gi* for every cell of the region (`cells`, deduplicated), given counts
/// per cell (cells not in `counts` count zero) and the neighbourhood
/// distance `k` (≥ 1).
pub fn gi_star<S: std::hash::BuildHasher>(
    cells: &[CellIndex],
    counts: &HashMap<CellIndex, u32, S>,
    k: u32,
) -> Vec<HotSpot> {
    let x: Vec<f64> = cells
        .iter()
        .map(|c| f64::from(counts.get(c).copied().unwrap_or(0)))
        .collect();
    let neighbours = neighbour_lists(cells, k);
    // One period with no previous one: plain Gi*.
    let z = space_time_gi_star(
        std::slice::from_ref(&x),
        &neighbours,
        Standardisation::Period,
    )
    .pop()
    .unwrap_or_default();
    cells
        .iter()
        .zip(x)
        .zip(z)
        .map(|((cell, x), z)| {
            let p = two_sided_p(z);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "counts are u32"
            )]
            let count = x as u32;
            HotSpot {
                cell: *cell,
                count,
                z,
                p,
                bin: bin(z, p),
            }
        })
        .collect()
}

/// Gi* over the observations in `index` matching `filter`, counted per
/// cell of `res` as `d` shows them, for the study region `cells`.
pub fn hot_spots_in(
    index: &crate::index::ObservationIndex,
    cells: &[CellIndex],
    res: Resolution,
    filter: &crate::index::Filter,
    k: u32,
    d: crate::privacy::Disclosure,
) -> Vec<HotSpot> {
    let counts: rustc_hash::FxHashMap<CellIndex, u32> = index
        .hexagon_counts(res, filter)
        .into_iter()
        .map(|c| {
            (
                c.cell,
                d.cell(c.keyed(), c.keyed_kinds()).map_or(0, |s| s.total),
            )
        })
        .collect();
    gi_star(cells, &counts, k)
}

/// Benjamini–Hochberg False Discovery Rate correction, as ArcGIS applies it:
/// for each confidence level α (0.10, 0.05, 0.01), the cells whose p-value is
/// at most the largest `p(i)` with `p(i) ≤ (i/m)·α` keep that level. Only bins change.
pub fn fdr_bins(results: &mut [HotSpot]) {
    let m = results.len();
    let mut ps: Vec<f64> = results.iter().map(|r| r.p).collect();
    ps.sort_by(f64::total_cmp);
    let critical = |alpha: f64| {
        ps.iter()
            .enumerate()
            .filter(|&(i, p)| {
                #[expect(clippy::cast_precision_loss, reason = "few cells")]
                let rank = (i + 1) as f64 / m as f64;
                *p <= rank * alpha
            })
            .map(|(_, p)| *p)
            .next_back()
    };
    let cuts = [(0.01, 3i8), (0.05, 2), (0.10, 1)].map(|(a, level)| (critical(a), level));
    for r in results.iter_mut() {
        let level = cuts
            .iter()
            .find(|(cut, _)| cut.is_some_and(|c| r.p <= c))
            .map_or(0, |(_, level)| *level);
        r.bin = if r.z < 0.0 { -level } else { level };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_and_bins() {
        assert!((two_sided_p(1.959_963_984_540_054) - 0.05).abs() < 1e-12);
        assert!((two_sided_p(0.0) - 1.0).abs() < 1e-15);
        assert_eq!(bin(2.6, two_sided_p(2.6)), 3);
        assert_eq!(bin(-2.0, two_sided_p(-2.0)), -2);
        assert_eq!(bin(1.7, two_sided_p(1.7)), 1);
        assert_eq!(bin(1.0, two_sided_p(1.0)), 0);
    }

    /// A hand-computed case: seven cells (a centre and its ring), all
    /// neighbours of the centre with k = 1.
    #[test]
    fn hand_computed_centre_of_a_ring() {
        let centre: CellIndex = "89088645e97ffff".parse().unwrap();
        let cells: Vec<CellIndex> = {
            let mut v = centre.grid_disk::<Vec<_>>(1);
            v.sort_unstable();
            v
        };
        let counts: HashMap<CellIndex, u32> = cells
            .iter()
            .map(|c| (*c, if *c == centre { 8 } else { 1 }))
            .collect();
        let r = gi_star(&cells, &counts, 1);
        // n = 7, x̄ = 14/7 = 2, Σx² = 64 + 6 = 70, S = √(70/7 − 4) = √6.
        // Centre: W = 7, Σwx = 14 → numerator 14 − 2·7 = 0 → z = 0
        // (its neighbourhood is the whole region).
        let c = r.iter().find(|h| h.cell == centre).unwrap();
        assert!(c.z.abs() < 1e-12);
        // A ring cell: its disk holds itself, the centre and 2 ring cells: W = 4, Σwx = 8 + 3 = 11.
        // z = (11 − 2·4) / (√6 · √((7·4 − 16)/6)) = 3 / (√6 · √2) = 3/√12.
        let ring = r.iter().find(|h| h.cell != centre).unwrap();
        assert!((ring.z - 3.0 / 12f64.sqrt()).abs() < 1e-12, "{}", ring.z);
    }

    #[test]
    fn flat_counts_give_no_hot_spots() {
        let centre: CellIndex = "89088645e97ffff".parse().unwrap();
        let cells = centre.grid_disk::<Vec<_>>(2);
        let counts: HashMap<CellIndex, u32> = cells.iter().map(|c| (*c, 3)).collect();
        assert!(
            gi_star(&cells, &counts, 1)
                .iter()
                .all(|h| h.z == 0.0 && h.bin == 0)
        );
    }
}
