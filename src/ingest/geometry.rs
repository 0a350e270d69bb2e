//! Polygon geometry in and out of GeoJSON, for areas.

use geo::MultiPolygon;
use geojson::{Geometry, GeometryValue};

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
        let p = position.as_slice();
        if !(2..=3).contains(&p.len()) || !p.iter().all(|v| v.is_finite()) {
            return Err(format!(
                "a position must be [longitude, latitude], found {p:?}"
            ));
        }
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
    fn round_trip() {
        let text = r#"{"type":"Polygon","coordinates":[[[17.0,59.0],[17.1,59.0],[17.1,59.1],[17.0,59.0]]]}"#;
        let mp = multipolygon_from_geojson(text).unwrap();
        assert_eq!(mp.0.len(), 1);
        let back = multipolygon_from_geojson(&multipolygon_to_geojson(&mp)).unwrap();
        assert_eq!(mp, back);
        assert!(multipolygon_from_geojson(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
    }
}
