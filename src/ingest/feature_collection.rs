//! Streaming reader for a GeoJSON FeatureCollection: features are handed on
//! one by one as they are parsed, so a large file never sits in memory whole.

use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{ParseError, Position, RecordResult, feature};
use crate::model::ValidationError;

struct State<F> {
    sink: F,
    record: usize,
    type_name: Option<String>,
}

/// Parses a FeatureCollection from `input`.
pub fn parse(
    input: impl BufRead,
    sink: impl FnMut(Position, RecordResult),
) -> Result<(), ParseError> {
    let mut state = State {
        sink,
        record: 0,
        type_name: None,
    };
    let mut de = serde_json::Deserializer::from_reader(input);
    Root(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| {
            if e.is_io() {
                ParseError::Io(e.into())
            } else {
                ParseError::Malformed(format!("invalid GeoJSON FeatureCollection: {e}"))
            }
        })?;
    match state.type_name.as_deref() {
        Some("FeatureCollection") => Ok(()),
        Some(other) => Err(ParseError::Malformed(format!(
            "expected a GeoJSON FeatureCollection, found type {other:?}"
        ))),
        None => Err(ParseError::Malformed(
            "expected a GeoJSON FeatureCollection: the \"type\" member is missing".into(),
        )),
    }
}

struct Root<'a, F>(&'a mut State<F>);

impl<'de, F: FnMut(Position, RecordResult)> DeserializeSeed<'de> for Root<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Position, RecordResult)> Visitor<'de> for Root<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => self.0.type_name = Some(map.next_value()?),
                "features" => map.next_value_seed(Features(&mut *self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Features<'a, F>(&'a mut State<F>);

impl<'de, F: FnMut(Position, RecordResult)> DeserializeSeed<'de> for Features<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Position, RecordResult)> Visitor<'de> for Features<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of GeoJSON Features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            self.0.record += 1;
            let pos = Position {
                record: self.0.record,
                line: None,
            };
            let result = serde_json::from_value::<geojson::Feature>(value)
                .map_err(|e| {
                    vec![ValidationError::new(
                        "feature",
                        format!("not a GeoJSON Feature: {e}"),
                    )]
                })
                .and_then(|f| feature::from_feature(&f));
            (self.0.sink)(pos, result);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<(usize, bool)>, ParseError> {
        let mut seen = Vec::new();
        parse(text.as_bytes(), |p, r| seen.push((p.record, r.is_ok())))?;
        Ok(seen)
    }

    #[test]
    fn streams_features_in_order() {
        let point = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[17.6,59.2]},"properties":{"kind":"insecurity"}}"#;
        let text = format!(
            r#"{{"features":[{point},{{"type":"Feature"}},{point}],"bbox":[1,2,3,4],"type":"FeatureCollection"}}"#
        );
        assert_eq!(run(&text).unwrap(), [(1, true), (2, false), (3, true)]);
    }

    #[test]
    fn refuses_other_documents() {
        assert!(run(r#"{"type":"Feature","features":[]}"#).is_err());
        assert!(run(r#"{"features":[]}"#).is_err());
        assert!(run("[1,2]").is_err());
        assert!(run(r#"{"type":"FeatureCollection","features":[}"#).is_err());
        assert_eq!(
            run(r#"{"type":"FeatureCollection","features":[]}"#).unwrap(),
            []
        );
    }
}
