//! Parsing of submissions: a GeoJSON Feature, and bulk imports as a GeoJSON
//! FeatureCollection, CSV or NDJSON (one Feature per line). Parsers read from
//! any `BufRead` and hand each record to a callback, so an import of any size
//! streams through in constant memory; each bad record is reported with its
//! position and reasons instead of stopping the import.

pub mod csv;
pub mod feature;
pub mod feature_collection;
pub mod geometry;
pub mod sweref99;

use std::io::BufRead;

use rayon::prelude::*;

use crate::model::observation::ValidationContext;
use crate::model::{NewObservation, Observation, ValidationError};

/// A bulk import format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    NdJson,
}

impl Format {
    /// From a media type (`Content-Type`), ignoring parameters.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type
            .split(';')
            .next()?
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "application/geo+json" | "application/json" => Some(Format::GeoJson),
            "text/csv" => Some(Format::Csv),
            "application/x-ndjson" | "application/ndjson" | "application/geo+json-seq" => {
                Some(Format::NdJson)
            }
            _ => None,
        }
    }

    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "geojson" | "json" => Some(Format::GeoJson),
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "geojsonl" | "geojsons" => Some(Format::NdJson),
            _ => None,
        }
    }
}

/// Where a record sits in its input: the 1-based record number, and for the
/// line-based formats the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub record: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// A failure that stops the whole parse (as opposed to one bad record).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("reading the input failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Malformed(String),
}

/// The result for one record.
pub type RecordResult = Result<NewObservation, Vec<ValidationError>>;

/// Parses `input` in `format`, calling `sink` once per record.
pub fn parse(
    format: Format,
    input: impl BufRead,
    sink: impl FnMut(Position, RecordResult),
) -> Result<(), ParseError> {
    match format {
        Format::GeoJson => feature_collection::parse(input, sink),
        Format::Csv => csv::parse(input, sink),
        Format::NdJson => parse_ndjson(input, sink),
    }
}

/// A record that failed, with where it was.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejection {
    #[serde(flatten)]
    pub position: Position,
    pub errors: Vec<ValidationError>,
}

/// The outcome of parsing and validating a whole input.
#[derive(Debug, Default)]
pub struct Checked {
    pub accepted: Vec<Observation>,
    /// Ids of the accepted observations, in input order.
    pub accepted_ids: Vec<uuid::Uuid>,
    /// The first rejections, up to the limit asked for.
    pub rejections: Vec<Rejection>,
    /// How many records were rejected in all.
    pub rejected: usize,
}

/// Records validated per parallel step.
const CHUNK: usize = 32_768;

/// Parses `input` and validates every record, in parallel chunks. `allow`
/// may refuse a record before validation (e.g. a kind the caller may not
/// submit). At most `max_listed` rejections are kept with their reasons.
pub fn parse_and_validate(
    format: Format,
    input: impl BufRead,
    ctx: ValidationContext<'_>,
    allow: &(dyn Fn(&NewObservation) -> Result<(), ValidationError> + Sync),
    max_listed: usize,
) -> Result<Checked, ParseError> {
    let mut accepted = Vec::new();
    let mut checked =
        parse_and_validate_chunked(format, input, ctx, allow, max_listed, &mut |chunk| {
            accepted.extend(chunk);
        })?;
    checked.accepted = accepted;
    Ok(checked)
}

/// Like [`parse_and_validate`], but hands the accepted observations to
/// `on_accepted` chunk by chunk (in input order) instead of collecting them,
/// so that storing can start while parsing goes on. The returned
/// [`Checked`] has an empty `accepted`.
///
/// Two stages: this thread reads records while a second one validates the
/// chunk before (in parallel) and hands it on, so reading never waits for
/// validation nor validation for reading.
pub fn parse_and_validate_chunked(
    format: Format,
    input: impl BufRead,
    ctx: ValidationContext<'_>,
    allow: &(dyn Fn(&NewObservation) -> Result<(), ValidationError> + Sync),
    max_listed: usize,
    on_accepted: &mut (dyn FnMut(Vec<Observation>) + Send),
) -> Result<Checked, ParseError> {
    // One chunk waiting while one is validated: both stages stay busy.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Position, RecordResult)>>(1);
    std::thread::scope(|scope| {
        let validator = scope.spawn(move || {
            let mut checked = Checked::default();
            for pending in rx {
                validate_chunk(pending, ctx, allow, max_listed, &mut checked, on_accepted);
            }
            checked
        });
        let mut pending = Vec::with_capacity(CHUNK);
        let parsed = parse(format, input, |pos, rec| {
            pending.push((pos, rec));
            if pending.len() == CHUNK {
                // A send fails only if the validator died; its panic is raised below.
                let _ = tx.send(std::mem::replace(&mut pending, Vec::with_capacity(CHUNK)));
            }
        });
        if !pending.is_empty() {
            let _ = tx.send(pending);
        }
        drop(tx);
        let checked = validator
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        parsed.map(|()| checked)
    })
}

/// Validates one chunk in parallel, counts and lists its rejections, and
/// hands its accepted observations on.
fn validate_chunk(
    pending: Vec<(Position, RecordResult)>,
    ctx: ValidationContext<'_>,
    allow: &(dyn Fn(&NewObservation) -> Result<(), ValidationError> + Sync),
    max_listed: usize,
    checked: &mut Checked,
    on_accepted: &mut (dyn FnMut(Vec<Observation>) + Send),
) {
    let results: Vec<(Position, Result<Observation, Vec<ValidationError>>)> = pending
        .into_par_iter()
        .map(|(pos, rec)| {
            let r = rec.and_then(|new| {
                allow(&new).map_err(|e| vec![e])?;
                new.validate_nth(ctx, pos.record as u64)
            });
            (pos, r)
        })
        .collect();
    let mut chunk = Vec::with_capacity(results.len());
    for (position, r) in results {
        match r {
            Ok(o) => chunk.push(o),
            Err(errors) => {
                checked.rejected += 1;
                if checked.rejections.len() < max_listed {
                    checked.rejections.push(Rejection { position, errors });
                }
            }
        }
    }
    if !chunk.is_empty() {
        checked.accepted_ids.extend(chunk.iter().map(|o| o.id));
        on_accepted(chunk);
    }
}

fn parse_ndjson(
    input: impl BufRead,
    mut sink: impl FnMut(Position, RecordResult),
) -> Result<(), ParseError> {
    let mut record = 0;
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        record += 1;
        let pos = Position {
            record,
            line: Some(n as u64 + 1),
        };
        let result = feature::parse_feature(&line)
            .map_err(|e| vec![e])
            .and_then(|f| feature::from_feature(&f));
        sink(pos, result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_reports_lines() {
        let text = "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[17.6,59.2]},\"properties\":{\"kind\":\"insecurity\"}}\n\nnot json\n";
        let mut seen = Vec::new();
        parse(Format::NdJson, text.as_bytes(), |p, r| {
            seen.push((p, r.is_ok()));
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (
                    Position {
                        record: 1,
                        line: Some(1)
                    },
                    true
                ),
                (
                    Position {
                        record: 2,
                        line: Some(3)
                    },
                    false
                ),
            ]
        );
    }

    #[test]
    fn formats_from_media_types_and_paths() {
        assert_eq!(
            Format::from_media_type("text/csv; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_media_type("application/geo+json"),
            Some(Format::GeoJson)
        );
        assert_eq!(Format::from_media_type("image/png"), None);
        assert_eq!(
            Format::from_path("x/demo.ndjson".as_ref()),
            Some(Format::NdJson)
        );
    }
}
