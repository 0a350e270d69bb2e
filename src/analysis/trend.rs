//! The Mann–Kendall test for a monotonic trend in a series.
//!
//! S = Σ_{i<j} sign(xⱼ − xᵢ); with ties (groups of tₚ equal values)
//! Var(S) = [n(n−1)(2n+5) − Σₚ tₚ(tₚ−1)(2tₚ+5)] / 18 (Kendall 1975, "Rank
//! Correlation Methods", ch. 4; Hipel & `McLeod` 1994, "Time Series Modelling
//! of Water Resources", eq. 23.3); the score with continuity correction Z = (S − sign(S)) / √Var(S) and a two-sided
//! p-value under the normal approximation. Kendall's τ (tau-a) = S / (n(n−1)/2).
//! The same figures as `pymannkendall.original_test`, which the tests check.

use super::gi_star::two_sided_p;

/// The test's result for one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    pub s: f64,
    pub var_s: f64,
    /// Standardised score: positive for an upward trend.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Kendall's τ (tau-a), −1..=1.
    pub tau: f64,
}

/// Mann–Kendall on `x` (in time order). Series shorter than two give no trend.
pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ties: f64 = sorted
        // Ties are exactly equal values.
        .chunk_by(|a, b| a.total_cmp(b).is_eq())
        .map(|group| {
            #[expect(clippy::cast_precision_loss, reason = "short series")]
            let t = group.len() as f64;
            t * (t - 1.0) * (2.0 * t + 5.0)
        })
        .sum();
    #[expect(clippy::cast_precision_loss, reason = "short series")]
    let (nf, s) = (n as f64, s as f64);
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var_s > 0.0 && s != 0.0 {
        (s - s.signum()) / var_s.sqrt()
    } else {
        0.0
    };
    let pairs = nf * (nf - 1.0) / 2.0;
    MannKendall {
        s,
        var_s,
        z,
        p: two_sided_p(z),
        tau: if pairs > 0.0 { s / pairs } else { 0.0 },
    }
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "exact results of exact arithmetic")]
mod tests {
    use super::*;

    /// Reference values from `pymannkendall.original_test` 1.4.3
    /// (`tests/fixtures/mann_kendall_pymannkendall.py`): series, S, Var(S), Z, p.
    const REFERENCE: &[(&[f64], f64, f64, f64, f64)] = &[
        (
            &[1., 2., 2., 3., 5., 4., 4., 4., 7., 9.],
            35.0,
            120.333_333_333_333_33,
            3.099_459_339_860_096_5,
            0.001_938_741_865_913_140_6,
        ),
        (
            &[3.2, 2.9, 3.1, 2.5, 2.4, 2.6, 1.9, 1.5, 1.6, 1.1, 0.9, 1.0],
            -56.0,
            212.666_666_666_666_66,
            -3.771_490_147_280_579,
            0.000_162_275_566_476_077_77,
        ),
        (
            &[
                0., 0., 0., 1., 0., 0., 0., 0., 2., 0., 0., 0., 0., 1., 0., 0., 0., 0., 0., 0., 0.,
                0., 0., 3.,
            ],
            5.0,
            674.333_333_333_333_4,
            0.154_036_157_813_641_66,
            0.877_581_225_983_350_2,
        ),
        (
            &[1.5, -0.3, 2.2, 0.4, -1.1, 0.9, 1.7, -0.6, 0.2, 1.1],
            -3.0,
            125.0,
            -0.178_885_438_199_983_18,
            0.858_027_656_987_521_1,
        ),
        (&[5., 5., 5., 5.], 0.0, 0.0, 0.0, 1.0),
    ];

    #[test]
    fn agrees_with_pymannkendall() {
        for (series, s, var_s, z, p) in REFERENCE {
            let r = mann_kendall(series);
            assert!((r.s - s).abs() < 1e-12, "{series:?}: S {}", r.s);
            assert!(
                (r.var_s - var_s).abs() < 1e-9,
                "{series:?}: Var {}",
                r.var_s
            );
            assert!((r.z - z).abs() < 1e-12, "{series:?}: Z {}", r.z);
            assert!((r.p - p).abs() < 1e-12, "{series:?}: p {}", r.p);
        }
    }

    #[test]
    fn hand_computed_short_series() {
        // 1, 3, 2: pairs (1,3)+ (1,2)+ (3,2)− → S = 1; Var = 3·2·11/18 = 11/3;
        // Z = (1 − 1)/√Var = 0.
        let r = mann_kendall(&[1.0, 3.0, 2.0]);
        assert_eq!(r.s, 1.0);
        assert!((r.var_s - 11.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.z, 0.0);
        assert!((r.tau - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(mann_kendall(&[]).z, 0.0);
        assert_eq!(mann_kendall(&[2.0]).p, 1.0);
    }
}
