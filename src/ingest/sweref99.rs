//! SWEREF 99 TM (EPSG:3006), the Swedish national grid, to and from WGS 84.
//!
//! Transverse Mercator on GRS 80 (central meridian 15° E, scale 0.9996,
//! false easting 500 000 m) with Krüger's series to the fourth order of n,
//! as Lantmäteriet publishes them in "Gauss–Krügers formler" — accurate to
//! well under a millimetre over Sweden. SWEREF 99 and WGS 84 agree to within
//! the decimetre that separates their realisations, which is below anything
//! a district boundary means.

use std::f64::consts::PI;

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_222_101;
const CENTRAL_MERIDIAN: f64 = 15.0;
const SCALE: f64 = 0.9996;
const FALSE_EASTING: f64 = 500_000.0;

struct Constants {
    e2: f64,
    a_hat: f64,
    n: f64,
}

fn constants() -> Constants {
    let e2 = F * (2.0 - F);
    let n = F / (2.0 - F);
    let a_hat = A / (1.0 + n) * (1.0 + n * n / 4.0 + n.powi(4) / 64.0);
    Constants { e2, a_hat, n }
}

/// `(easting, northing)` in metres to `(lon, lat)` in degrees.
pub fn to_wgs84(easting: f64, northing: f64) -> (f64, f64) {
    let Constants { e2, a_hat, n } = constants();
    let delta = [
        n / 2.0 - 2.0 * n * n / 3.0 + 37.0 * n.powi(3) / 96.0 - n.powi(4) / 360.0,
        n * n / 48.0 + n.powi(3) / 15.0 - 437.0 * n.powi(4) / 1440.0,
        17.0 * n.powi(3) / 480.0 - 37.0 * n.powi(4) / 840.0,
        4397.0 * n.powi(4) / 161_280.0,
    ];
    let a_star = e2 + e2.powi(2) + e2.powi(3) + e2.powi(4);
    let b_star = -(7.0 * e2.powi(2) + 17.0 * e2.powi(3) + 30.0 * e2.powi(4)) / 6.0;
    let c_star = (224.0 * e2.powi(3) + 889.0 * e2.powi(4)) / 120.0;
    let d_star = -(4279.0 * e2.powi(4)) / 1260.0;
    let xi = northing / (SCALE * a_hat);
    let eta = (easting - FALSE_EASTING) / (SCALE * a_hat);
    let mut xi_p = xi;
    let mut eta_p = eta;
    for (j, d) in delta.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "1..=4")]
        let k = 2.0 * (j + 1) as f64;
        xi_p -= d * (k * xi).sin() * (k * eta).cosh();
        eta_p -= d * (k * xi).cos() * (k * eta).sinh();
    }
    let phi_star = (xi_p.sin() / eta_p.cosh()).asin();
    let d_lambda = (eta_p.sinh() / xi_p.cos()).atan();
    let s2 = phi_star.sin().powi(2);
    let phi = phi_star
        + phi_star.sin()
            * phi_star.cos()
            * (a_star + b_star * s2 + c_star * s2 * s2 + d_star * s2.powi(3));
    (CENTRAL_MERIDIAN + d_lambda * 180.0 / PI, phi * 180.0 / PI)
}

/// `(lon, lat)` in degrees to `(easting, northing)` in metres.
pub fn from_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let Constants { e2, a_hat, n } = constants();
    let beta = [
        n / 2.0 - 2.0 * n * n / 3.0 + 5.0 * n.powi(3) / 16.0 + 41.0 * n.powi(4) / 180.0,
        13.0 * n * n / 48.0 - 3.0 * n.powi(3) / 5.0 + 557.0 * n.powi(4) / 1440.0,
        61.0 * n.powi(3) / 240.0 - 103.0 * n.powi(4) / 140.0,
        49561.0 * n.powi(4) / 161_280.0,
    ];
    let a = e2;
    let b = (5.0 * e2.powi(2) - e2.powi(3)) / 6.0;
    let c = (104.0 * e2.powi(3) - 45.0 * e2.powi(4)) / 120.0;
    let d = 1237.0 * e2.powi(4) / 1260.0;
    let phi = lat.to_radians();
    let s2 = phi.sin().powi(2);
    let phi_star = phi - phi.sin() * phi.cos() * (a + b * s2 + c * s2 * s2 + d * s2.powi(3));
    let d_lambda = (lon - CENTRAL_MERIDIAN).to_radians();
    let xi_p = (phi_star.tan() / d_lambda.cos()).atan();
    let eta_p = (phi_star.cos() * d_lambda.sin()).atanh();
    let mut x = xi_p;
    let mut y = eta_p;
    for (j, bj) in beta.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "1..=4")]
        let k = 2.0 * (j + 1) as f64;
        x += bj * (k * xi_p).sin() * (k * eta_p).cosh();
        y += bj * (k * xi_p).cos() * (k * eta_p).sinh();
    }
    (SCALE * a_hat * y + FALSE_EASTING, SCALE * a_hat * x)
}

/// Whether a CRS name (GeoJSON 2008 `crs` member, a query parameter) means
/// SWEREF 99 TM; `Some(false)` for WGS 84 / CRS84, `None` for anything else.
pub fn is_sweref99tm(name: &str) -> Option<bool> {
    let upper = name.trim().to_ascii_uppercase();
    let code = upper
        .rsplit([':', '/'])
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    match code {
        "3006" => Some(true),
        "4326" | "CRS84" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from PROJ (pyproj 3, `EPSG:4326` → `EPSG:3006`).
    const PROJ: &[(f64, f64, f64, f64)] = &[
        (17.626, 59.196, 649_986.503_509_686_8, 6_564_830.073_255_993),
        (17.5868, 59.18, 647_817.385_661_642_9, 6_562_961.761_526_879),
        (11.97, 57.7, 319_439.772_069_869_45, 6_399_348.061_292_004),
        (24.0, 68.0, 875_127.875_477_113_8, 7_570_253.576_657_235),
        (13.0, 55.6, 373_988.371_642_901_6, 6_163_377.116_250_091),
    ];

    #[test]
    fn agrees_with_proj_both_ways() {
        for &(lon, lat, e, n) in PROJ {
            let (ge, gn) = from_wgs84(lon, lat);
            assert!(
                (ge - e).abs() < 1e-3 && (gn - n).abs() < 1e-3,
                "{lon},{lat}: {ge},{gn}"
            );
            let (glon, glat) = to_wgs84(e, n);
            // 1e-8 degrees is about a millimetre.
            assert!(
                (glon - lon).abs() < 1e-8 && (glat - lat).abs() < 1e-8,
                "{e},{n}: {glon},{glat}"
            );
        }
    }

    #[test]
    fn crs_names() {
        for yes in [
            "EPSG:3006",
            "urn:ogc:def:crs:EPSG::3006",
            "http://www.opengis.net/def/crs/EPSG/0/3006",
        ] {
            assert_eq!(is_sweref99tm(yes), Some(true), "{yes}");
        }
        for wgs in ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "CRS84"] {
            assert_eq!(is_sweref99tm(wgs), Some(false), "{wgs}");
        }
        assert_eq!(is_sweref99tm("EPSG:3857"), None);
    }
}
