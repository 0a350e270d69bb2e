//! Polygon geometry in and out of GeoJSON, for areas.

use geo::MultiPolygon;
use geojson::{Geometry, GeometryValue, Position};

use crate::model::Region;

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
