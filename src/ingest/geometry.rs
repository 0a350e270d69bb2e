//! Polygon geometry in and out of GeoJSON, for areas.

use geo::{ChamberlainDuquetteArea, MultiPolygon};
use geojson::{Geometry, GeometryValue, Position};

use crate::model::{Region, ValidationError};

/// Most positions a walk route may have.
pub const MAX_ROUTE_POSITIONS: usize = 10_000;

/// Parses a GeoJSON Polygon or MultiPolygon geometry (WGS 84).
pub fn multipolygon_from_geojson(text: &str) -> Result<MultiPolygon<f64>, String> {
    let geometry: Geometry = serde_json::from_str(text).map_err(|e| e.to_string())?;
    multipolygon_from_value(&geometry.value)
}

/// Converts a Polygon or MultiPolygon geometry value.
pub fn multipolygon_from_value(value: &GeometryValue) -> Result<MultiPolygon<f64>, String> {
    // The conversion indexes positions blindly: check them first.
    let rings: Vec<&Vec<geojson::Position>> = match value {
        GeometryValue::Polygon { coordinates } => coordinates.iter().collect(),
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().flatten().collect(),
        _ => Vec::new(),
    };
    for position in rings.into_iter().flatten() {
        lon_lat(position)?;
    }
    match value {
        GeometryValue::Polygon { .. } => geo::Polygon::try_from(value)
            .map(|p| MultiPolygon::new(vec![p]))
            .map_err(|e| e.to_string()),
        GeometryValue::MultiPolygon { .. } => {
            MultiPolygon::try_from(value).map_err(|e| e.to_string())
        }
        other => Err(format!(
            "expected a Polygon or MultiPolygon geometry, found {}",
            other.type_name()
        )),
    }
}

/// Checks every ring of an area's Polygon or MultiPolygon, exterior and
/// interior alike: at least four positions, closed, every position inside
/// `region`, and an area no ring can plausibly have (more than the
/// region's bounding box, which only a ring that winds over itself
/// reaches; a hole as large as its polygon; an exterior enclosing
/// nothing). Each error names its ring and where it is in `coordinates`.
/// Call after [`multipolygon_from_value`] accepted `value`.
pub fn check_area_rings(value: &GeometryValue, region: &Region) -> Vec<ValidationError> {
    let polygons: Vec<(Option<usize>, &Vec<Vec<Position>>)> = match value {
        GeometryValue::Polygon { coordinates } => vec![(None, coordinates)],
        GeometryValue::MultiPolygon { coordinates } => coordinates
            .iter()
            .enumerate()
            .map(|(i, p)| (Some(i), p))
            .collect(),
        _ => Vec::new(),
    };
    let region_m2 = geo::Rect::new((region.west, region.south), (region.east, region.north))
        .to_polygon()
        .chamberlain_duquette_unsigned_area();
    let mut errors = Vec::new();
    for (polygon, rings) in polygons {
        // Holes are compared with a valid exterior only.
        let mut exterior_m2 = None;
        for (r, ring) in rings.iter().enumerate() {
            let name = ring_name(polygon, r);
            let mut fail = |reason: String| {
                errors.push(ValidationError::new(
                    "geometry",
                    format!("{name}: {reason}"),
                ));
            };
            let points: Vec<[f64; 2]> = ring.iter().filter_map(|p| lon_lat(p).ok()).collect();
            if points.len() < 4 {
                fail(format!(
                    "{} positions; a ring needs at least 4",
                    points.len()
                ));
                continue;
            }
            if points.first() != points.last() {
                fail("not closed: the last position must repeat the first".into());
                continue;
            }
            if let Some(e) = points
                .iter()
                .find_map(|&[lon, lat]| region.check(lon, lat).err())
            {
                fail(e.reason);
                continue;
            }
            let m2 = geo::Polygon::new(points.into_iter().map(geo::Coord::from).collect(), vec![])
                .chamberlain_duquette_unsigned_area();
            if m2 > region_m2 {
                fail(format!(
                    "encloses {:.0} km², more than the served region's {:.0} km² (does it cross itself?)",
                    m2 / 1e6,
                    region_m2 / 1e6
                ));
            } else if r == 0 && m2 <= 0.0 {
                fail("encloses no area".into());
            } else if r == 0 {
                exterior_m2 = Some(m2);
            } else if let Some(outer) = exterior_m2.filter(|outer| m2 >= *outer) {
                fail(format!(
                    "a hole of {:.3} km² in an exterior ring of {:.3} km²",
                    m2 / 1e6,
                    outer / 1e6
                ));
            }
        }
    }
    errors
}

/// `exterior ring (coordinates[0])`, `interior ring 2 of polygon 1 (coordinates[0][2])`.
fn ring_name(polygon: Option<usize>, ring: usize) -> String {
    let what = if ring == 0 {
        "exterior ring".to_owned()
    } else {
        format!("interior ring {ring}")
    };
    match polygon {
        None => format!("{what} (coordinates[{ring}])"),
        Some(p) => format!("{what} of polygon {} (coordinates[{p}][{ring}])", p + 1),
    }
}

/// Converts every position of a Polygon or MultiPolygon from SWEREF 99 TM
/// (`[easting, northing]`, EPSG:3006) to WGS 84 `[lon, lat]`, in place.
/// Positions that are not two or three finite numbers are left for the
/// parser to refuse.
pub fn sweref99tm_to_wgs84(value: &mut GeometryValue) {
    let rings: Vec<&mut Vec<Position>> = match value {
        GeometryValue::Polygon { coordinates } => coordinates.iter_mut().collect(),
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter_mut().flatten().collect(),
        _ => Vec::new(),
    };
    for position in rings.into_iter().flatten() {
        if let Ok([e, n]) = lon_lat(position) {
            let (lon, lat) = super::sweref99::to_wgs84(e, n);
            let p = position.as_slice_mut();
            p[0] = lon;
            p[1] = lat;
        }
    }
}

/// `[longitude, latitude]` of a position with two or three finite numbers.
fn lon_lat(position: &Position) -> Result<[f64; 2], String> {
    match position.as_slice() {
        &[lon, lat] | &[lon, lat, _] if lon.is_finite() && lat.is_finite() => Ok([lon, lat]),
        other => Err(format!(
            "a position must be [longitude, latitude], found {other:?}"
        )),
    }
}

/// A walk route: a GeoJSON LineString geometry whose positions all lie in
/// `region`.
pub fn route_from_value(
    value: &serde_json::Value,
    region: &Region,
) -> Result<Vec<[f64; 2]>, String> {
    let geometry: Geometry = serde_json::from_value(value.clone())
        .map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
    let GeometryValue::LineString { coordinates } = geometry.value else {
        return Err("must be a LineString".into());
    };
    if coordinates.len() > MAX_ROUTE_POSITIONS {
        return Err(format!("at most {MAX_ROUTE_POSITIONS} positions"));
    }
    coordinates
        .iter()
        .map(|p| {
            let [lon, lat] = lon_lat(p)?;
            region
                .check(lon, lat)
                .map(|()| [lon, lat])
                .map_err(|e| e.reason)
        })
        .collect()
}

/// Serialises a multipolygon as a GeoJSON geometry object.
pub fn multipolygon_to_geojson(mp: &MultiPolygon<f64>) -> String {
    serde_json::to_string(&Geometry::new(GeometryValue::from(mp))).expect("geometry serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_positions_are_refused_not_a_panic() {
        // Found by the `config` fuzz target.
        let text = r#"{"type":"MultiPolygon","coordinates":[[[[34.6,59.1],[1.1]]]]}"#;
        assert!(
            multipolygon_from_geojson(text)
                .unwrap_err()
                .contains("[1.1]")
        );
    }

    #[test]
    fn every_ring_of_an_area_is_checked() {
        let region = Region::sodertalje();
        let check = |geometry: serde_json::Value| {
            let value: Geometry = serde_json::from_value(geometry).unwrap();
            multipolygon_from_value(&value.value).unwrap();
            check_area_rings(&value.value, &region)
                .into_iter()
                .map(|e| e.reason)
                .collect::<Vec<_>>()
        };
        let outer = serde_json::json!([
            [17.60, 59.18],
            [17.64, 59.18],
            [17.64, 59.21],
            [17.60, 59.21],
            [17.60, 59.18]
        ]);
        let hole = serde_json::json!([
            [17.61, 59.19],
            [17.62, 59.19],
            [17.62, 59.20],
            [17.61, 59.19]
        ]);
        let polygon =
            |rings: serde_json::Value| serde_json::json!({"type": "Polygon", "coordinates": rings});
        assert!(check(polygon(serde_json::json!([outer, hole]))).is_empty());

        // The security review's hole: finite, but nowhere on Earth.
        let far = serde_json::json!([
            [1e308, 59.19],
            [17.62, 59.19],
            [17.62, 59.20],
            [1e308, 59.19]
        ]);
        let e = check(polygon(serde_json::json!([outer, far])));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("interior ring 1 (coordinates[1])"),
            "{e:?}"
        );
        assert!(e[0].contains("not a WGS 84 position"), "{e:?}");

        let open = serde_json::json!([
            [17.61, 59.19],
            [17.62, 59.19],
            [17.62, 59.20],
            [17.61, 59.20]
        ]);
        assert!(check(polygon(serde_json::json!([outer, open])))[0].contains("not closed"));
        let short = serde_json::json!([[17.61, 59.19], [17.62, 59.19], [17.61, 59.19]]);
        assert!(check(polygon(serde_json::json!([outer, short])))[0].contains("at least 4"));
        let swallowing = serde_json::json!([
            [17.59, 59.17],
            [17.65, 59.17],
            [17.65, 59.22],
            [17.59, 59.22],
            [17.59, 59.17]
        ]);
        assert!(check(polygon(serde_json::json!([outer, swallowing])))[0].contains("a hole of"));
        let outside = serde_json::json!([
            [18.07, 59.33],
            [18.08, 59.33],
            [18.08, 59.34],
            [18.07, 59.33]
        ]);
        let e = check(
            serde_json::json!({"type": "MultiPolygon", "coordinates": [[outer], [outer, outside]]}),
        );
        assert!(
            e[0].starts_with("interior ring 1 of polygon 2 (coordinates[1][1])"),
            "{e:?}"
        );

        // A ring that runs round the whole region twice encloses twice its area.
        let (w, s, e, n) = (region.west, region.south, region.east, region.north);
        let twice = serde_json::json!([
            [w, s],
            [e, s],
            [e, n],
            [w, n],
            [w, s],
            [e, s],
            [e, n],
            [w, n],
            [w, s]
        ]);
        let e = check(polygon(serde_json::json!([twice])));
        assert!(
            e[0].starts_with("exterior ring") && e[0].contains("more than the served region"),
            "{e:?}"
        );
    }

    #[test]
    fn routes_are_line_strings_inside_the_region() {
        let region = Region::sodertalje();
        let route = |coords: serde_json::Value| {
            route_from_value(
                &serde_json::json!({"type": "LineString", "coordinates": coords}),
                &region,
            )
        };
        assert_eq!(
            route(serde_json::json!([
                [17.585, 59.179],
                [17.589, 59.181, 12.0]
            ]))
            .unwrap(),
            [[17.585, 59.179], [17.589, 59.181]]
        );
        assert!(
            route(serde_json::json!([[59.179, 17.585]])).is_err(),
            "swapped"
        );
        assert!(
            route(serde_json::json!([[17.585]]))
                .unwrap_err()
                .contains("[17.585]")
        );
        let point = serde_json::json!({"type": "Point", "coordinates": [17.585, 59.179]});
        assert!(route_from_value(&point, &region).is_err());
    }

    #[test]
    fn round_trip() {
        let text = r#"{"type":"Polygon","coordinates":[[[17.0,59.0],[17.1,59.0],[17.1,59.1],[17.0,59.0]]]}"#;
        let mp = multipolygon_from_geojson(text).unwrap();
        assert_eq!(mp.0.len(), 1);
        let back = multipolygon_from_geojson(&multipolygon_to_geojson(&mp)).unwrap();
        assert_eq!(mp, back);
        assert!(multipolygon_from_geojson(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
    }
}
