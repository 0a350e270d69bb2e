//! Emerging hot spots: how hot and cold spots change over time.
//!
//! The space-time cube holds one count per cell of the study region and per
//! period. For every period t and cell i, Gi* (see [`super::gi_star`]) is
//! computed with cell i's neighbours being the region's cells within grid
//! distance k in period t *and* in period t − 1 (the first period has only
//! its own), binary weights. This is the neighbourhood ArcGIS Pro's
//! Emerging Hot Spot Analysis describes ("neighborhood time step" 1). The
//! mean and standard deviation are, by default, those of the whole cube, as
//! in ArcGIS's space-time cube ([`Standardisation::Cube`]); R sfdep's
//! `local_g_spt()` takes period t's over the region's n cells
//! ([`Standardisation::Period`]), which turns a fall in a period's total
//! into heat, since the busier period t − 1 is in every neighbourhood.
//!
//! Each cell's series of Gi* z-scores then gets a Mann–Kendall trend test
//! ([`super::trend`]), and the cell a category after ArcGIS Pro's "How
//! Emerging Hot Spot Analysis works". Where ArcGIS's wording leaves room
//! (what "90 % of the time steps" counts, which test "no discernible trend"
//! means, what to do when the last step is not significant), the rules are
//! those of sfdep's `classify_hotspot()`, tried in its order with the first
//! match winning:
//!
//! | category | rule (n periods, sig = p < α, hot = sig ∧ z > 0, cold = sig ∧ z < 0) |
//! |---|---|
//! | new | exactly one significant period, the last, and it is hot (cold) |
//! | consecutive | the last period is hot (cold); the trailing run of significant periods is the only significance in the series; hot (cold) share < 90 % |
//! | intensifying | hot (cold) share ≥ 90 %, the last significant, trend up (down for cold) with p < α |
//! | persistent | hot (cold) share ≥ 90 %, trend p > α |
//! | diminishing | hot (cold) share ≥ 90 %, the last significant, trend down (up for cold) with p ≤ α |
//! | oscillating | the last period hot (cold), some earlier period cold (hot), hot (cold) share below 90 % |
//! | historical | hot (cold) share ≥ 90 % but the last z-score negative (positive) |
//! | sporadic | some hot (cold) periods, no cold (hot) ones, hot (cold) share < 90 % |
//!
//! One departure from sfdep: its intensifying *hot* spot counts significant
//! periods of either sign, so a fading cold spot would be called an
//! intensifying hot spot; here, as ArcGIS says, it counts hot periods.
//!
//! Significance is the normal-approximation p-value of each Gi* (as in
//! ArcGIS), not sfdep's permutation p-value, so a cube's categories are
//! reproducible.

use h3o::CellIndex;
use rustc_hash::FxHashMap;

use super::gi_star::{Standardisation, neighbour_lists, space_time_gi_star, two_sided_p};
use super::trend::{MannKendall, mann_kendall};

/// The ArcGIS categories, hot and cold, and "no pattern".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    NewHot,
    ConsecutiveHot,
    IntensifyingHot,
    PersistentHot,
    DiminishingHot,
    SporadicHot,
    OscillatingHot,
    HistoricalHot,
    NewCold,
    ConsecutiveCold,
    IntensifyingCold,
    PersistentCold,
    DiminishingCold,
    SporadicCold,
    OscillatingCold,
    HistoricalCold,
    NoPattern,
}

impl Pattern {
    pub const ALL: [Pattern; 17] = [
        Pattern::NewHot,
        Pattern::ConsecutiveHot,
        Pattern::IntensifyingHot,
        Pattern::PersistentHot,
        Pattern::DiminishingHot,
        Pattern::SporadicHot,
        Pattern::OscillatingHot,
        Pattern::HistoricalHot,
        Pattern::NewCold,
        Pattern::ConsecutiveCold,
        Pattern::IntensifyingCold,
        Pattern::PersistentCold,
        Pattern::DiminishingCold,
        Pattern::SporadicCold,
        Pattern::OscillatingCold,
        Pattern::HistoricalCold,
        Pattern::NoPattern,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::NewHot => "new_hot_spot",
            Pattern::ConsecutiveHot => "consecutive_hot_spot",
            Pattern::IntensifyingHot => "intensifying_hot_spot",
            Pattern::PersistentHot => "persistent_hot_spot",
            Pattern::DiminishingHot => "diminishing_hot_spot",
            Pattern::SporadicHot => "sporadic_hot_spot",
            Pattern::OscillatingHot => "oscillating_hot_spot",
            Pattern::HistoricalHot => "historical_hot_spot",
            Pattern::NewCold => "new_cold_spot",
            Pattern::ConsecutiveCold => "consecutive_cold_spot",
            Pattern::IntensifyingCold => "intensifying_cold_spot",
            Pattern::PersistentCold => "persistent_cold_spot",
            Pattern::DiminishingCold => "diminishing_cold_spot",
            Pattern::SporadicCold => "sporadic_cold_spot",
            Pattern::OscillatingCold => "oscillating_cold_spot",
            Pattern::HistoricalCold => "historical_cold_spot",
            Pattern::NoPattern => "no_pattern",
        }
    }
}

/// One cell's result.
#[derive(Debug, Clone, PartialEq)]
pub struct EmergingSpot {
    pub cell: CellIndex,
    /// Observations over all periods.
    pub total: u32,
    /// Gi* z-score per period.
    pub z: Vec<f64>,
    /// Two-sided p-value per period.
    pub p: Vec<f64>,
    /// Mann–Kendall on the z-scores.
    pub trend: MannKendall,
    pub pattern: Pattern,
}

/// What a space-time cube is analysed with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CubeSettings {
    /// Spatial neighbourhood: grid distance.
    pub k: u32,
    /// Significance level, for Gi* and the trend.
    pub alpha: f64,
    pub standardisation: Standardisation,
}

/// Emerging hot spots for `cells` (the study region) with `counts[t][i]`
/// per period and cell.
pub fn emerging_hot_spots(
    cells: &[CellIndex],
    counts: &[Vec<u32>],
    settings: &CubeSettings,
) -> Vec<EmergingSpot> {
    let CubeSettings {
        k,
        alpha,
        standardisation,
    } = *settings;
    let neighbours = neighbour_lists(cells, k);
    let x: Vec<Vec<f64>> = counts
        .iter()
        .map(|row| row.iter().map(|&c| f64::from(c)).collect())
        .collect();
    let z = space_time_gi_star(&x, &neighbours, standardisation);
    cells
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let zs: Vec<f64> = z.iter().map(|row| row[i]).collect();
            let ps: Vec<f64> = zs.iter().map(|&z| two_sided_p(z)).collect();
            let trend = mann_kendall(&zs);
            EmergingSpot {
                cell: *cell,
                total: counts.iter().map(|row| row[i]).sum(),
                pattern: classify(&zs, &ps, &trend, alpha),
                z: zs,
                p: ps,
                trend,
            }
        })
        .collect()
}

/// Emerging hot spots over the observations in `index` matching `filter`,
/// counted per cell of `res` (the study region `cells`) and per period:
/// period `t` runs from `bounds[t]` to `bounds[t + 1]` (Unix seconds).
/// Each count is taken as `d` shows it.
pub fn emerging_in(
    index: &crate::index::ObservationIndex,
    cells: &[CellIndex],
    res: h3o::Resolution,
    filter: &crate::index::Filter,
    bounds: &[i64],
    settings: &CubeSettings,
    d: crate::privacy::Disclosure,
) -> Vec<EmergingSpot> {
    let position: FxHashMap<CellIndex, usize> =
        cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut counts = vec![vec![0u32; cells.len()]; bounds.len().saturating_sub(1)];
    for (cell, bins) in index.cell_bin_counts(res, filter, bounds) {
        if let Some(&i) = position.get(&cell) {
            for (t, n) in bins.into_iter().enumerate() {
                counts[t][i] = d.shown(n);
            }
        }
    }
    emerging_hot_spots(cells, &counts, settings)
}

/// The category of one cell from its z-scores, p-values and trend.
pub fn classify(z: &[f64], p: &[f64], trend: &MannKendall, alpha: f64) -> Pattern {
    let n = z.len();
    if n == 0 {
        return Pattern::NoPattern;
    }
    let sig: Vec<bool> = p.iter().map(|&p| p < alpha).collect();
    let last = n - 1;
    #[expect(clippy::cast_precision_loss, reason = "a few dozen periods")]
    let share =
        |keep: &dyn Fn(usize) -> bool| (0..n).filter(|&t| keep(t)).count() as f64 / n as f64;
    let hot = |t: usize| sig[t] && z[t] > 0.0;
    let cold = |t: usize| sig[t] && z[t] < 0.0;
    let hot_share = share(&hot);
    let cold_share = share(&cold);
    let trailing_run = sig.iter().rev().take_while(|&&s| s).count();
    let only_final_run = sig[..n - trailing_run].iter().all(|&s| !s);
    let single_last = sig.iter().filter(|&&s| s).count() == 1 && sig[last];
    let (tau, trend_p) = (trend.tau, trend.p);

    let rules: [(Pattern, bool); 16] = [
        (Pattern::NewHot, single_last && z[last] > 0.0),
        (Pattern::NewCold, single_last && z[last] < 0.0),
        (
            Pattern::ConsecutiveHot,
            hot(last) && only_final_run && hot_share < 0.9,
        ),
        (
            Pattern::ConsecutiveCold,
            cold(last) && only_final_run && cold_share < 0.9,
        ),
        (
            Pattern::IntensifyingHot,
            hot_share >= 0.9 && sig[last] && tau > 0.0 && trend_p < alpha,
        ),
        (
            Pattern::IntensifyingCold,
            cold_share >= 0.9 && sig[last] && tau < 0.0 && trend_p <= alpha,
        ),
        (Pattern::PersistentHot, hot_share >= 0.9 && trend_p > alpha),
        (
            Pattern::PersistentCold,
            cold_share >= 0.9 && trend_p > alpha,
        ),
        (
            Pattern::DiminishingHot,
            hot_share >= 0.9 && sig[last] && tau < 0.0 && trend_p <= alpha,
        ),
        (
            Pattern::DiminishingCold,
            cold_share >= 0.9 && sig[last] && tau > 0.0 && trend_p <= alpha,
        ),
        (
            Pattern::OscillatingHot,
            hot_share <= 0.9 && hot(last) && (0..n).any(cold),
        ),
        (
            Pattern::OscillatingCold,
            cold_share < 0.9 && cold(last) && (0..n).any(hot),
        ),
        (Pattern::HistoricalHot, hot_share >= 0.9 && z[last] < 0.0),
        (Pattern::HistoricalCold, cold_share >= 0.9 && z[last] > 0.0),
        (
            Pattern::SporadicHot,
            hot_share < 0.9 && !(0..n).any(cold) && (0..n).any(hot),
        ),
        (
            Pattern::SporadicCold,
            cold_share < 0.9 && !(0..n).any(hot) && (0..n).any(cold),
        ),
    ];
    rules
        .iter()
        .find(|(_, holds)| *holds)
        .map_or(Pattern::NoPattern, |(pattern, _)| *pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALPHA: f64 = 0.05;
    /// z-scores standing for "hot", "cold" and "not significant".
    const H: f64 = 3.0;
    const C: f64 = -3.0;
    const O: f64 = 0.5;

    fn category(z: &[f64]) -> Pattern {
        let p: Vec<f64> = z.iter().map(|&z| two_sided_p(z)).collect();
        classify(z, &p, &mann_kendall(z), ALPHA)
    }

    /// One constructed series of z-scores per category (the cube's Gi*
    /// values for one cell), twenty periods long.
    #[test]
    fn one_series_per_category() {
        let rising: Vec<f64> = (0..20).map(|t| 2.0 + f64::from(t) * 0.2).collect();
        let falling: Vec<f64> = rising.iter().rev().copied().collect();
        let persistent: Vec<f64> = (0..20).map(|t| 3.0 + f64::from(t % 2)).collect();
        // Hot for 19 periods while cooling down, then not hot any more.
        let mut historical: Vec<f64> = (0..19).map(|t| 6.0 - f64::from(t) * 0.2).collect();
        historical.push(-0.5);
        let neg = |v: &[f64]| v.iter().map(|z| -z).collect::<Vec<_>>();
        let mut new = vec![O; 19];
        new.push(H);
        let mut consecutive = vec![O; 16];
        consecutive.extend([H, H, H, H]);
        let mut sporadic = vec![O; 20];
        sporadic[3] = H;
        sporadic[9] = H;
        sporadic[15] = H;
        let mut oscillating = vec![O; 20];
        oscillating[4] = C;
        oscillating[10] = H;
        oscillating[19] = H;

        let cases: Vec<(Vec<f64>, Pattern, Pattern)> = vec![
            (new, Pattern::NewHot, Pattern::NewCold),
            (
                consecutive,
                Pattern::ConsecutiveHot,
                Pattern::ConsecutiveCold,
            ),
            (rising, Pattern::IntensifyingHot, Pattern::IntensifyingCold),
            (persistent, Pattern::PersistentHot, Pattern::PersistentCold),
            (falling, Pattern::DiminishingHot, Pattern::DiminishingCold),
            (sporadic, Pattern::SporadicHot, Pattern::SporadicCold),
            (
                oscillating,
                Pattern::OscillatingHot,
                Pattern::OscillatingCold,
            ),
            (historical, Pattern::HistoricalHot, Pattern::HistoricalCold),
            (vec![O; 20], Pattern::NoPattern, Pattern::NoPattern),
        ];
        let mut seen = std::collections::HashSet::new();
        for (z, hot, cold) in cases {
            assert_eq!(category(&z), hot, "{z:?}");
            assert_eq!(category(&neg(&z)), cold, "{:?}", neg(&z));
            seen.insert(hot);
            seen.insert(cold);
        }
        assert_eq!(
            seen.len(),
            Pattern::ALL.len(),
            "every category is constructed"
        );
    }

    /// A whole cube, through space-time Gi*: a cell that heats up in the
    /// last three of twelve months in a quiet region is a consecutive hot spot.
    #[test]
    fn cube_with_a_hot_spot_appearing() {
        let centre: CellIndex = "89088645e97ffff".parse().unwrap();
        let mut cells = centre.grid_disk::<Vec<_>>(4);
        cells.sort_unstable();
        let at = cells.iter().position(|c| *c == centre).unwrap();
        let counts: Vec<Vec<u32>> = (0..12)
            .map(|t| {
                (0..cells.len())
                    .map(|i| if t >= 9 && i == at { 40 } else { 1 })
                    .collect()
            })
            .collect();
        let period = CubeSettings {
            k: 1,
            alpha: ALPHA,
            standardisation: Standardisation::Period,
        };
        let result = emerging_hot_spots(&cells, &counts, &period);
        let spot = result.iter().find(|s| s.cell == centre).unwrap();
        assert!(spot.z[..9].iter().all(|z| *z == 0.0), "{:?}", spot.z);
        // The first hot month is diluted by the quiet month before it (its
        // time neighbours); the next two are significant.
        assert!(spot.z[9] > 0.0 && spot.z[9] < 1.96, "{:?}", spot.z);
        assert!(spot.z[10..].iter().all(|z| *z > 2.58), "{:?}", spot.z);
        assert_eq!(spot.pattern, Pattern::ConsecutiveHot);
        assert_eq!(spot.total, counts.iter().map(|r| r[at]).sum::<u32>());
        // Against the whole cube the same cell is found the same way.
        let cube = CubeSettings {
            standardisation: Standardisation::Cube,
            ..period
        };
        let result = emerging_hot_spots(&cells, &counts, &cube);
        let spot = result.iter().find(|s| s.cell == centre).unwrap();
        assert_eq!(spot.pattern, Pattern::ConsecutiveHot, "{:?}", spot.z);
    }

    /// Eight quarters of the same pattern (counts 2–9 spread over the
    /// cells), the last at half the level — the summer after the dark
    /// months, or a quarter cut short. Period standardisation turns cells
    /// into new hot spots because the busier quarter before is in their
    /// neighbourhood; against the whole cube nothing is new and hot.
    #[test]
    fn a_seasonal_drop_makes_no_new_hot_spots_against_the_whole_cube() {
        let centre: CellIndex = "89088645e97ffff".parse().unwrap();
        let mut cells = centre.grid_disk::<Vec<_>>(8);
        cells.sort_unstable();
        let level = |i: usize| 2 + u32::try_from((i * 7919) % 8).unwrap();
        let counts: Vec<Vec<u32>> = (0..8)
            .map(|t| {
                (0..cells.len())
                    .map(|i| if t == 7 { level(i) / 2 } else { level(i) })
                    .collect()
            })
            .collect();
        let new_hot = |standardisation| {
            let settings = CubeSettings {
                k: 1,
                alpha: ALPHA,
                standardisation,
            };
            emerging_hot_spots(&cells, &counts, &settings)
                .iter()
                .filter(|s| s.pattern == Pattern::NewHot)
                .count()
        };
        let by_period = new_hot(Standardisation::Period);
        let by_cube = new_hot(Standardisation::Cube);
        assert!(
            by_period > cells.len() / 10,
            "{by_period} of {}",
            cells.len()
        );
        assert_eq!(by_cube, 0);
    }

    /// A centre and two rings, k = 1: in period 0 the centre holds 8 and
    /// every other cell 1; in period 1 the centre 19 and the rest 0. The
    /// centre's position and the z-scores.
    fn two_periods_of_19_cells(standardisation: Standardisation) -> (usize, Vec<Vec<f64>>) {
        let centre: CellIndex = "89088645e97ffff".parse().unwrap();
        let mut cells = centre.grid_disk::<Vec<_>>(2);
        cells.sort_unstable();
        let at = cells.iter().position(|c| *c == centre).unwrap();
        let neighbours = neighbour_lists(&cells, 1);
        let mut t0 = vec![1.0; 19];
        t0[at] = 8.0;
        let mut t1 = vec![0.0; 19];
        t1[at] = 19.0;
        (
            at,
            space_time_gi_star(&[t0, t1], &neighbours, standardisation),
        )
    }

    /// Whole-cube standardisation, by hand: two periods of a 19-cell region.
    #[test]
    fn hand_computed_whole_cube_gi_star() {
        let (at, z) = two_periods_of_19_cells(Standardisation::Cube);
        // 38 bins: x̄ = 45/38, Σx² = 82 + 361 = 443, S² = 443/38 − x̄².
        let (n, mean) = (38.0_f64, 45.0 / 38.0);
        let s = (443.0 / n - mean * mean).sqrt();
        let z_of = |wx: f64, w: f64| (wx - mean * w) / (s * ((n * w - w * w) / (n - 1.0)).sqrt());
        // Period 1's centre: W = 14, Σwx = 19 + 14 = 33.
        assert!((z[1][at] - z_of(33.0, 14.0)).abs() < 1e-12, "{}", z[1][at]);
        assert!((z[0][at] - z_of(14.0, 7.0)).abs() < 1e-12, "{}", z[0][at]);
    }

    /// Hand-computed space-time Gi* for two periods of a 19-cell region (a
    /// centre and two rings), k = 1.
    #[test]
    fn hand_computed_space_time_gi_star() {
        let (at, z) = two_periods_of_19_cells(Standardisation::Period);
        // Period 0 alone: x̄ = 26/19, Σx² = 82, S² = 82/19 − (26/19)²;
        // the centre: W = 7, Σwx = 8 + 6 = 14.
        let mean: f64 = 26.0 / 19.0;
        let s = (82.0_f64 / 19.0 - mean * mean).sqrt();
        let expected = (14.0 - mean * 7.0) / (s * ((19.0 * 7.0 - 49.0) / 18.0f64).sqrt());
        assert!((z[0][at] - expected).abs() < 1e-12, "{}", z[0][at]);
        // Period 1 with period 0 as time neighbours: x̄ = 1, S² = 361/19 − 1 = 18;
        // the centre: W = 2·7 = 14, Σwx = 19 + (8 + 6) = 33;
        // z = (33 − 14) / (√18 · √((19·14 − 14²)/18)) = 19/√70.
        assert!(
            (z[1][at] - 19.0 / 70f64.sqrt()).abs() < 1e-12,
            "{}",
            z[1][at]
        );
    }
}
