//! GeoJSON Feature ⇄ observation submission.

use geojson::{Feature, GeometryValue, JsonValue, feature::Id};
use uuid::Uuid;

use crate::model::{NewObservation, ValidationError};

/// Properties a submitted Feature may carry. Anything else is refused, so a
/// client cannot believe it set something (a status, a received time) that
/// the server ignored.
pub const PROPERTIES: [&str; 9] = [
    "id",
    "kind",
    "category",
    "observed_at",
    "severity",
    "description",
    "accuracy_m",
    "organisation",
    "walk",
];

/// Properties the server sets. They appear in exports and are ignored on
/// input, so an export can be imported again; they can never be set this way.
pub const READ_ONLY_PROPERTIES: [&str; 6] = [
    "received_at",
    "status",
    "status_changed_at",
    "status_changed_by",
    "assignee",
    "distance_m",
];

/// Reads a submission out of a GeoJSON Feature with a Point geometry.
pub fn from_feature(feature: &Feature) -> Result<NewObservation, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let mut obs = NewObservation::default();

    match feature.geometry.as_ref().map(|g| &g.value) {
        Some(GeometryValue::Point { coordinates }) => {
            let p = coordinates.as_slice();
            obs.lon = p[0];
            obs.lat = p[1];
        }
        Some(other) => errors.push(ValidationError::new(
            "geometry",
            format!("must be a Point, not a {}", other.type_name()),
        )),
        None => errors.push(ValidationError::new(
            "geometry",
            "missing: a Point [longitude, latitude] is required",
        )),
    }

    let feature_id = match &feature.id {
        None => None,
        Some(Id::String(s)) => parse_uuid("id", s).map_err(|e| errors.push(e)).ok(),
        Some(Id::Number(_)) => {
            errors.push(ValidationError::new(
                "id",
                "must be a UUID string, not a number",
            ));
            None
        }
    };
    obs.id = feature_id;

    if let Some(props) = &feature.properties {
        for (key, value) in props {
            if value.is_null() || READ_ONLY_PROPERTIES.contains(&key.as_str()) {
                continue;
            }
            let r = match key.as_str() {
                "id" => string(key, value)
                    .and_then(|s| parse_uuid(key, s))
                    .and_then(|id| {
                        if feature_id.is_some_and(|f| f != id) {
                            Err(ValidationError::new(
                                "id",
                                "the Feature id and properties.id differ",
                            ))
                        } else {
                            obs.id = Some(id);
                            Ok(())
                        }
                    }),
                "kind" => string(key, value).map(|s| obs.kind = Some(s.to_owned())),
                "category" => string(key, value).map(|s| obs.category = Some(s.to_owned())),
                "observed_at" => string(key, value).map(|s| obs.observed_at = Some(s.to_owned())),
                "description" => string(key, value).map(|s| obs.description = Some(s.to_owned())),
                "organisation" => string(key, value).map(|s| obs.organisation = Some(s.to_owned())),
                "walk" => string(key, value)
                    .and_then(|s| parse_uuid(key, s))
                    .map(|w| obs.walk_id = Some(w)),
                "severity" => value
                    .as_i64()
                    .ok_or_else(|| ValidationError::new(key, "must be the integer 1, 2 or 3"))
                    .map(|s| obs.severity = Some(s)),
                "accuracy_m" => value
                    .as_f64()
                    .ok_or_else(|| ValidationError::new(key, "must be a number of metres"))
                    .map(|a| obs.accuracy_m = Some(a)),
                other => Err(ValidationError::new(
                    other,
                    format!("unknown property; accepted: {}", PROPERTIES.join(", ")),
                )),
            };
            if let Err(e) = r {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(obs)
    } else {
        Err(errors)
    }
}

fn string<'a>(key: &str, value: &'a JsonValue) -> Result<&'a str, ValidationError> {
    value
        .as_str()
        .ok_or_else(|| ValidationError::new(key, "must be a string"))
}

pub(crate) fn parse_uuid(field: &str, s: &str) -> Result<Uuid, ValidationError> {
    let id = Uuid::parse_str(s.trim())
        .map_err(|_| ValidationError::new(field, format!("{s:?} is not a UUID")))?;
    // Placeholders, not ids: the first record to use one would block everyone else's.
    if id.is_nil() || id.is_max() {
        return Err(ValidationError::new(
            field,
            format!("{s:?} is the nil or max UUID; use a random (v4) or time-ordered (v7) UUID"),
        ));
    }
    Ok(id)
}

/// Parses one Feature from JSON text, describing syntax errors precisely.
pub fn parse_feature(text: &[u8]) -> Result<Feature, ValidationError> {
    let value: JsonValue = serde_json::from_slice(text)
        .map_err(|e| ValidationError::new("body", format!("invalid JSON: {e}")))?;
    match value.get("type").and_then(JsonValue::as_str) {
        Some("Feature") => {}
        Some(other) => {
            return Err(ValidationError::new(
                "type",
                format!("expected a GeoJSON Feature, found {other:?}"),
            ));
        }
        None => {
            return Err(ValidationError::new(
                "type",
                "missing: expected \"Feature\"",
            ));
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ValidationError::new("body", format!("invalid GeoJSON Feature: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<NewObservation, Vec<ValidationError>> {
        from_feature(&parse_feature(s.as_bytes()).map_err(|e| vec![e])?)
    }

    #[test]
    fn reads_a_point_feature() {
        let obs = parse(
            r#"{"type":"Feature","id":"0190f7a4-1c2b-7d3e-8f40-0123456789ab","geometry":{"type":"Point","coordinates":[17.626,59.196]},
               "properties":{"kind":"insecurity","category":"dark_area","observed_at":"2026-01-01T20:00:00Z","severity":3,"description":null}}"#,
        )
        .unwrap();
        assert_eq!((obs.lon, obs.lat), (17.626, 59.196));
        assert_eq!(obs.severity, Some(3));
        assert_eq!(
            obs.id.unwrap().to_string(),
            "0190f7a4-1c2b-7d3e-8f40-0123456789ab"
        );
        assert_eq!(obs.description, None);
    }

    #[test]
    fn nil_and_max_uuids_are_not_ids() {
        assert!(parse_uuid("id", "0190f7a4-1c2b-7d3e-8f40-0123456789ab").is_ok());
        for s in [
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        ] {
            assert_eq!(parse_uuid("id", s).unwrap_err().field, "id", "{s}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let errs = parse(
            r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[17.6,59.1],[17.7,59.2]]},
               "properties":{"colour":"red","severity":"high","walk":"nope"}}"#,
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"geometry"));
        assert!(fields.contains(&"colour"));
        assert!(fields.contains(&"severity"));
        assert!(fields.contains(&"walk"));
        assert!(parse(r#"{"type":"FeatureCollection","features":[]}"#).is_err());
        assert!(
            parse(r#"{"type":"Feature""#).unwrap_err()[0]
                .reason
                .contains("invalid JSON")
        );
        assert!(parse(r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[17.6]},"properties":{}}"#).is_err());
    }
}
