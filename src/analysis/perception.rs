//! Perception versus incidents: where people feel unsafe out of proportion
//! to the incidents recorded there, and the reverse. The right action
//! differs — situational measures and information where insecurity runs
//! ahead of incidents, presence and enforcement where incidents go unfelt.
//!
//! Per cell, `a` perceived-insecurity reports and `b` incident-type place
//! observations (`incident = true` in the taxonomy), `n = a + b`. Over the
//! study region the share of reports is π = Σa / Σ(a + b). A cell's share is
//! compared with π by the binomial score z = (a − nπ) / √(nπ(1 − π)):
//! z ≥ 1.96 is `more_insecurity`, z ≤ −1.96 `more_incidents`, otherwise
//! `balanced`; cells with fewer than `min_n` observations are `too_few`.

use h3o::CellIndex;

use crate::privacy::{Disclosure, Keyed};

/// How a cell's perceived insecurity compares with its incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gap {
    MoreInsecurity,
    MoreIncidents,
    Balanced,
    TooFew,
}

impl Gap {
    pub fn as_str(self) -> &'static str {
        match self {
            Gap::MoreInsecurity => "more_insecurity",
            Gap::MoreIncidents => "more_incidents",
            Gap::Balanced => "balanced",
            Gap::TooFew => "too_few",
        }
    }
}

/// One cell's comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerceptionCell {
    pub cell: CellIndex,
    pub insecurity: u32,
    pub incidents: u32,
    /// Cell keys of the two counts, for public rounding ([`crate::privacy`]).
    pub keys: [u32; 2],
    /// Binomial score of the cell's share of insecurity reports against the region's.
    pub z: f64,
    pub gap: Gap,
}

/// Compares every cell of `counts` (cell, insecurity reports, incidents).
pub fn perception_gaps(counts: &[(CellIndex, u32, u32)], min_n: u32) -> Vec<PerceptionCell> {
    let a_total: f64 = counts.iter().map(|c| f64::from(c.1)).sum();
    let n_total: f64 = counts.iter().map(|c| f64::from(c.1) + f64::from(c.2)).sum();
    let pi = if n_total > 0.0 {
        a_total / n_total
    } else {
        0.0
    };
    counts
        .iter()
        .map(|&(cell, a, b)| {
            let n = f64::from(a) + f64::from(b);
            let variance = n * pi * (1.0 - pi);
            let z = if variance > 0.0 {
                (f64::from(a) - n * pi) / variance.sqrt()
            } else {
                0.0
            };
            let gap = if a + b < min_n.max(1) {
                Gap::TooFew
            } else if z >= 1.96 {
                Gap::MoreInsecurity
            } else if z <= -1.96 {
                Gap::MoreIncidents
            } else {
                Gap::Balanced
            };
            PerceptionCell {
                cell,
                insecurity: a,
                incidents: b,
                keys: [0, 0],
                z,
                gap,
            }
        })
        .collect()
}

/// Per-cell counts of insecurity reports and incidents at `res` for the
/// observations matching `filter` (its kinds and categories are replaced),
/// as `d` shows them: the scores are computed from the shown counts, so
/// they tell a caller nothing the counts do not, and cells that show
/// nothing are left out.
pub fn perception_in(
    index: &crate::index::ObservationIndex,
    res: h3o::Resolution,
    filter: &crate::index::Filter,
    incident_codes: &[String],
    min_n: u32,
    d: Disclosure,
) -> Vec<PerceptionCell> {
    use crate::index::Filter;
    use crate::model::Kind;
    let reports = index.hexagon_counts(
        res,
        &Filter {
            kinds: vec![Kind::Insecurity],
            categories: Vec::new(),
            ..filter.clone()
        },
    );
    let incidents = if incident_codes.is_empty() {
        Vec::new()
    } else {
        index.hexagon_counts(
            res,
            &Filter {
                kinds: vec![Kind::PlaceObservation],
                categories: incident_codes.to_vec(),
                ..filter.clone()
            },
        )
    };
    // Both are ordered by cell: merge them.
    let mut counts = Vec::with_capacity(reports.len().max(incidents.len()));
    let mut keys = Vec::with_capacity(counts.capacity());
    let (mut i, mut j) = (0, 0);
    while i < reports.len() || j < incidents.len() {
        let r = reports.get(i);
        let c = incidents.get(j);
        match (r, c) {
            (Some(r), Some(c)) if r.cell == c.cell => {
                counts.push((r.cell, r.total, c.total));
                keys.push([r.key, c.key]);
                i += 1;
                j += 1;
            }
            (Some(r), Some(c)) if r.cell < c.cell => {
                counts.push((r.cell, r.total, 0));
                keys.push([r.key, 0]);
                i += 1;
            }
            (Some(r), None) => {
                counts.push((r.cell, r.total, 0));
                keys.push([r.key, 0]);
                i += 1;
            }
            (_, Some(c)) => {
                counts.push((c.cell, 0, c.total));
                keys.push([0, c.key]);
                j += 1;
            }
            (None, None) => break,
        }
    }
    let shown = |n: u32, key: u32| d.shown(Keyed { n, key });
    // For the public, incidents are the sum of the incident categories as
    // shown one by one: categories of 1..k−1 each must not add up to a
    // shown count (`/api/v1/cells` shows them one at a time).
    let by_category = (!d.is_exact()).then(|| {
        let mut sums: rustc_hash::FxHashMap<CellIndex, u32> = rustc_hash::FxHashMap::default();
        for code in incident_codes {
            let one = Filter {
                kinds: vec![Kind::PlaceObservation],
                categories: vec![code.clone()],
                ..filter.clone()
            };
            for c in index.hexagon_counts(res, &one) {
                *sums.entry(c.cell).or_default() += d.shown(c.keyed());
            }
        }
        sums
    });
    for ((cell, a, b), [ka, kb]) in counts.iter_mut().zip(&keys) {
        *a = shown(*a, *ka);
        *b = match &by_category {
            Some(sums) => sums.get(cell).copied().unwrap_or(0),
            None => shown(*b, *kb),
        };
    }
    let mut cells = perception_gaps(&counts, min_n);
    for (c, k) in cells.iter_mut().zip(keys) {
        c.keys = k;
    }
    cells.retain(|c| c.insecurity + c.incidents > 0);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_gaps() {
        let cells: Vec<CellIndex> = {
            let centre: CellIndex = "89088645e97ffff".parse().unwrap();
            let mut v = centre.grid_disk::<Vec<_>>(1);
            v.sort_unstable();
            v
        };
        // Region: Σa = 60, Σb = 60 → π = 0.5.
        let counts = [
            (cells[0], 30, 5),  // n 35: z = (30 − 17.5)/√8.75 = 4.23
            (cells[1], 5, 30),  // z = −4.23
            (cells[2], 10, 10), // z = 0
            (cells[3], 13, 13), // z = 0
            (cells[4], 2, 1),   // too few
            (cells[5], 0, 1),
        ];
        let r = perception_gaps(&counts, 5);
        assert!((r[0].z - 12.5 / 8.75f64.sqrt()).abs() < 1e-12);
        assert_eq!(r[0].gap, Gap::MoreInsecurity);
        assert_eq!(r[1].gap, Gap::MoreIncidents);
        assert_eq!(r[2].gap, Gap::Balanced);
        assert_eq!(r[4].gap, Gap::TooFew);
        assert_eq!(r[5].gap, Gap::TooFew);
        // No incidents anywhere: π = 1, no variance, no gap.
        let only = perception_gaps(&[(cells[0], 9, 0)], 5);
        assert_eq!(only[0].gap, Gap::Balanced);
    }
}
