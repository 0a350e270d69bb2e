//! The Getis–Ord Gi* kernel on H3 cells, shared by hot spots
//! ([`super::hotspots`]) and emerging hot spots ([`super::emerging`]).
//!
//! For a study region (all cells of one resolution whose centre lies in it,
//! zero-count cells included), cell i's neighbours are the region's cells
//! within grid distance `k` of it, itself included, with binary weights.
//! With n cells, counts x, mean x̄ and S = √(Σx²/n − x̄²):
//!
//! ```text
//!        Σⱼ wᵢⱼ xⱼ − x̄ Wᵢ
//! Gᵢ* = ─────────────────────────────,   Wᵢ = Σⱼ wᵢⱼ  (= Σⱼ wᵢⱼ² for binary weights)
//!        S √((n Wᵢ − Wᵢ²) / (n − 1))
//! ```
//!
//! Gi* is a z-score (Ord & Getis 1995, "Local Spatial Autocorrelation
//! Statistics", Geographical Analysis 27(4), eq. 14; the form the Hot Spot
//! Analysis tool of ArcGIS documents). In a space-time cube a bin's
//! neighbourhood also holds the same cells in the previous period. p-values
//! are two-sided under the normal approximation.

use h3o::CellIndex;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Two-sided p-value of a standard normal z-score: erfc(|z|/√2).
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Against what each bin's neighbourhood sum is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standardisation {
    /// The mean and standard deviation of the whole cube (all cells, all
    /// periods), as ArcGIS Pro's space-time cube does. The default: a period
    /// whose total falls (the summer after the dark months, a period cut
    /// short) then shows lower z-scores everywhere instead of turning every
    /// cell whose previous period was busier into a hot spot.
    Cube,
    /// Period t's own mean and standard deviation over the region's cells,
    /// as sfdep's `local_g_spt()` does. The neighbourhood also holds period
    /// t − 1, so a fall in the total reads as heat.
    Period,
}

impl Standardisation {
    pub fn as_str(self) -> &'static str {
        match self {
            Standardisation::Cube => "cube",
            Standardisation::Period => "period",
        }
    }
}

/// Space-time Gi*: `counts[t][i]` is cell `i`'s count in period `t`;
/// returns `z[t][i]`. `neighbours[i]` lists the positions of cell `i`'s
/// spatial neighbours in the region, itself included.
pub fn space_time_gi_star(
    counts: &[Vec<f64>],
    neighbours: &[Vec<u32>],
    standardisation: Standardisation,
) -> Vec<Vec<f64>> {
    let n = neighbours.len();
    // Number of bins, mean and standard deviation of some periods' counts.
    #[expect(clippy::cast_precision_loss, reason = "cell counts are far below 2^52")]
    let moments = |rows: &[Vec<f64>]| {
        let bins = (rows.len() * n) as f64;
        let mean = rows.iter().flatten().sum::<f64>() / bins;
        let s = (rows.iter().flatten().map(|v| v * v).sum::<f64>() / bins - mean * mean)
            .max(0.0)
            .sqrt();
        (bins, mean, s)
    };
    let cube = moments(counts);
    counts
        .iter()
        .enumerate()
        .map(|(t, x)| {
            let previous = t.checked_sub(1).map(|p| &counts[p]);
            let (nf, mean, s) = match standardisation {
                Standardisation::Cube => cube,
                Standardisation::Period => moments(std::slice::from_ref(x)),
            };
            neighbours
                .par_iter()
                .with_min_len(1024)
                .map(|nbs| {
                    let mut wx: f64 = nbs.iter().map(|&j| x[j as usize]).sum();
                    #[expect(clippy::cast_precision_loss, reason = "a handful of neighbours")]
                    let mut w = nbs.len() as f64;
                    if let Some(prev) = previous {
                        wx += nbs.iter().map(|&j| prev[j as usize]).sum::<f64>();
                        w *= 2.0;
                    }
                    let variance = (nf * w - w * w) / (nf - 1.0);
                    if nf > 1.0 && s > 0.0 && variance > 0.0 {
                        (wx - mean * w) / (s * variance.sqrt())
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// The positions of each cell's neighbours within grid distance `k` among
/// `cells`, itself included.
pub fn neighbour_lists(cells: &[CellIndex], k: u32) -> Vec<Vec<u32>> {
    let position: FxHashMap<CellIndex, u32> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, u32::try_from(i).expect("fewer than 2^32 cells")))
        .collect();
    cells
        .par_iter()
        .with_min_len(1024)
        .map_init(Vec::new, |disk, c| {
            grid_disk_into(*c, k, disk);
            disk.iter()
                .filter_map(|nb| position.get(nb).copied())
                .collect()
        })
        .collect()
}

/// `cell.grid_disk(k)` into a reused buffer: the fast algorithm, and the
/// safe one near pentagons, where the fast one gives up.
fn grid_disk_into(cell: CellIndex, k: u32, out: &mut Vec<CellIndex>) {
    out.clear();
    for nb in cell.grid_disk_fast(k) {
        let Some(nb) = nb else {
            out.clear();
            out.extend(cell.grid_disk_safe(k));
            return;
        };
        out.push(nb);
    }
}
