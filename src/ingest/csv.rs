//! CSV import: a header row naming the columns, then one observation per
//! row. Columns: `lon,lat,kind,category,observed_at` (required) and `id`,
//! `severity`, `description`, `accuracy_m`, `organisation`, `walk`
//! (optional), in any order. Coordinates are WGS 84 degrees. The `'` an
//! export puts before formula-like text ([`crate::csv_cell`]) is taken off.

use std::io::BufRead;

use super::{ParseError, Position, RecordResult, feature::parse_uuid};
use crate::model::{NewObservation, ValidationError};

/// Every column a CSV import may have, in the order `trygg export` writes them.
pub const COLUMNS: [&str; 11] = [
    "id",
    "lon",
    "lat",
    "kind",
    "category",
    "observed_at",
    "severity",
    "description",
    "accuracy_m",
    "organisation",
    "walk",
];

const REQUIRED: [&str; 5] = ["lon", "lat", "kind", "category", "observed_at"];

/// Parses CSV from `input`, calling `sink` per data row.
pub fn parse(
    input: impl BufRead,
    mut sink: impl FnMut(Position, RecordResult),
) -> Result<(), ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ParseError::Malformed(format!("cannot read the CSV header: {e}")))?
        .clone();
    // col[i] = position of COLUMNS[i] in the file.
    let mut col: [Option<usize>; COLUMNS.len()] = [None; COLUMNS.len()];
    for (pos, name) in headers.iter().enumerate() {
        let name = name
            .trim_start_matches('\u{feff}')
            .trim()
            .to_ascii_lowercase();
        let Some(i) = COLUMNS.iter().position(|c| *c == name) else {
            return Err(ParseError::Malformed(format!(
                "unknown CSV column {name:?}; accepted columns: {}",
                COLUMNS.join(",")
            )));
        };
        if col[i].replace(pos).is_some() {
            return Err(ParseError::Malformed(format!(
                "CSV column {name:?} appears twice"
            )));
        }
    }
    let missing: Vec<_> = REQUIRED
        .iter()
        .filter(|r| {
            col[COLUMNS
                .iter()
                .position(|c| c == *r)
                .expect("required is a column")]
            .is_none()
        })
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(ParseError::Malformed(format!(
            "the CSV header lacks required column(s) {}; the header must name lon,lat,kind,category,observed_at",
            missing.join(", ")
        )));
    }

    let mut row = csv::StringRecord::new();
    let mut record = 0;
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(ParseError::Io(std::io::Error::other(e.to_string())));
                }
                record += 1;
                let line = e.position().map(csv::Position::line);
                sink(
                    Position { record, line },
                    Err(vec![ValidationError::new("row", e.to_string())]),
                );
                continue;
            }
        }
        record += 1;
        let line = row.position().map(csv::Position::line);
        sink(Position { record, line }, read_row(&row, &col));
    }
    Ok(())
}

fn read_row(row: &csv::StringRecord, col: &[Option<usize>; COLUMNS.len()]) -> RecordResult {
    // Fields are trimmed here: the csv crate's own trimming copies each record.
    let get = |i: usize| {
        col[i]
            .and_then(|p| row.get(p))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut errors = Vec::new();
    let mut number = |i: usize| -> f64 {
        match get(i).map(str::parse::<f64>) {
            Some(Ok(v)) => v,
            Some(Err(_)) => {
                errors.push(ValidationError::new(
                    COLUMNS[i],
                    format!("{:?} is not a number", get(i).unwrap_or("")),
                ));
                f64::NAN
            }
            None => {
                errors.push(ValidationError::new(COLUMNS[i], "missing"));
                f64::NAN
            }
        }
    };
    let lon = number(1);
    let lat = number(2);
    let mut obs = NewObservation {
        lon,
        lat,
        kind: get(3).map(str::to_owned),
        category: get(4).map(str::to_owned),
        observed_at: get(5).map(str::to_owned),
        // Undo what `trygg export` does to formula-like text.
        description: get(7).map(|s| crate::csv_cell::restore(s).to_owned()),
        organisation: get(9).map(|s| crate::csv_cell::restore(s).to_owned()),
        ..NewObservation::default()
    };
    if let Some(s) = get(0) {
        match parse_uuid("id", s) {
            Ok(id) => obs.id = Some(id),
            Err(e) => errors.push(e),
        }
    }
    if let Some(s) = get(6) {
        match s.parse::<i64>() {
            Ok(v) => obs.severity = Some(v),
            Err(_) => errors.push(ValidationError::new(
                "severity",
                format!("{s:?} is not 1, 2 or 3"),
            )),
        }
    }
    if let Some(s) = get(8) {
        match s.parse::<f64>() {
            Ok(v) => obs.accuracy_m = Some(v),
            Err(_) => errors.push(ValidationError::new(
                "accuracy_m",
                format!("{s:?} is not a number"),
            )),
        }
    }
    if let Some(s) = get(10) {
        match parse_uuid("walk", s) {
            Ok(id) => obs.walk_id = Some(id),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(obs)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<(Position, RecordResult)>, ParseError> {
        let mut out = Vec::new();
        parse(text.as_bytes(), |p, r| out.push((p, r)))?;
        Ok(out)
    }

    #[test]
    fn reads_rows_in_any_column_order() {
        let rows = run("kind,lat,lon,category,observed_at,severity\n\
                        insecurity,59.196,17.626,dark_area,2026-01-01T20:00:00Z,3\n\
                        insecurity,x,17.626,dark_area,2026-01-01T20:00:00Z,\n")
        .unwrap();
        let obs = rows[0].1.as_ref().unwrap();
        assert_eq!((obs.lon, obs.lat, obs.severity), (17.626, 59.196, Some(3)));
        assert_eq!(
            rows[1].0,
            Position {
                record: 2,
                line: Some(3)
            }
        );
        assert_eq!(rows[1].1.as_ref().unwrap_err()[0].field, "lat");
    }

    #[test]
    fn header_problems_stop_the_import() {
        assert!(run("lon,lat,kind\n").is_err());
        assert!(run("lon,lat,kind,category,observed_at,colour\n").is_err());
        assert!(run("lon,lon,lat,kind,category,observed_at\n").is_err());
        assert!(run("").is_err());
    }
}
