//! Observations out: GeoJSON Features (RFC 7946: `[lon, lat]`, WGS 84, no
//! `crs`) and CSV rows in the same columns the CSV import reads, so an export
//! can be imported elsewhere unchanged.

use std::io::Write;

use serde_json::{Value, json};

use crate::csv_cell::neutralise;
use crate::ingest::Format;
use crate::ingest::csv::COLUMNS;
use crate::model::Observation;
use crate::model::observation::format_timestamp;

/// An observation as a GeoJSON Feature.
pub fn observation_feature(o: &Observation) -> Value {
    let f = o.finding.as_ref();
    json!({
        "type": "Feature",
        "id": o.id.to_string(),
        "geometry": { "type": "Point", "coordinates": [o.lon, o.lat] },
        "properties": {
            "id": o.id.to_string(),
            "kind": o.kind.as_str(),
            "category": o.category,
            "observed_at": format_timestamp(o.observed_at),
            "received_at": format_timestamp(o.received_at),
            "severity": o.severity,
            "description": o.description,
            "accuracy_m": o.accuracy_m,
            "organisation": o.organisation,
            "walk": o.walk_id.map(|w| w.to_string()),
            "status": f.map(|f| f.status.as_str()),
            "status_changed_at": f.map(|f| format_timestamp(f.changed_at)),
            "status_changed_by": f.and_then(|f| f.changed_by.clone()),
            "assignee": f.and_then(|f| f.assignee.clone()),
        }
    })
}

/// Writes the CSV header row.
pub fn write_csv_header(w: &mut csv::Writer<impl Write>) -> csv::Result<()> {
    w.write_record(COLUMNS)
}

/// Writes one observation as a CSV row in [`COLUMNS`] order. Free-text
/// cells are [`neutralise`]d; numbers are written as numbers.
pub fn write_csv_row(w: &mut csv::Writer<impl Write>, o: &Observation) -> csv::Result<()> {
    let text = |s: Option<&str>| neutralise(s.unwrap_or_default()).into_owned();
    w.write_record([
        o.id.to_string(),
        o.lon.to_string(),
        o.lat.to_string(),
        o.kind.as_str().to_owned(),
        text(Some(&o.category)),
        format_timestamp(o.observed_at),
        o.severity.to_string(),
        text(o.description.as_deref()),
        o.accuracy_m.map(|a| a.to_string()).unwrap_or_default(),
        text(o.organisation.as_deref()),
        o.walk_id.map(|w| w.to_string()).unwrap_or_default(),
    ])
}

/// Observations written one by one to a file or stream in a [`Format`]:
/// a GeoJSON FeatureCollection, CSV with a header row, or one Feature per
/// line. [`ObservationWriter::finish`] closes the document.
pub enum ObservationWriter<W: Write> {
    Csv(Box<csv::Writer<W>>),
    GeoJson { out: W, written: usize },
    NdJson(W),
}

impl<W: Write> ObservationWriter<W> {
    /// Starts a document: the CSV header or the FeatureCollection's opening.
    pub fn new(format: Format, mut out: W) -> std::io::Result<Self> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                write_csv_header(&mut w)?;
                ObservationWriter::Csv(Box::new(w))
            }
            Format::GeoJson => {
                out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
                ObservationWriter::GeoJson { out, written: 0 }
            }
            Format::NdJson => ObservationWriter::NdJson(out),
        })
    }

    pub fn write(&mut self, o: &Observation) -> std::io::Result<()> {
        match self {
            ObservationWriter::Csv(w) => write_csv_row(w, o)?,
            ObservationWriter::GeoJson { out, written } => {
                if *written > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut *out, &observation_feature(o))?;
                *written += 1;
            }
            ObservationWriter::NdJson(out) => {
                serde_json::to_writer(&mut *out, &observation_feature(o))?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    /// Closes the document, flushes it and hands back the output.
    pub fn finish(self) -> std::io::Result<W> {
        let mut out = match self {
            ObservationWriter::Csv(w) => w.into_inner().map_err(csv::IntoInnerError::into_error)?,
            ObservationWriter::GeoJson { mut out, .. } => {
                out.write_all(b"\n]}\n")?;
                out
            }
            ObservationWriter::NdJson(out) => out,
        };
        out.flush()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{self, Format};
    use crate::model::{Region, Taxonomy, observation::ValidationContext};

    fn sample() -> Observation {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let ctx = ValidationContext::new(&tax, &region, time::OffsetDateTime::now_utc());
        crate::model::NewObservation {
            kind: Some("place_observation".into()),
            lon: 17.625_432_1,
            lat: 59.195_123_4,
            observed_at: Some("2026-03-01T21:30:00.5+01:00".into()),
            category: Some("vandalism".into()),
            description: Some("Krossad ruta, \"busskur\", vid torget".into()),
            organisation: Some("Telge Bostäder".into()),
            accuracy_m: Some(8.0),
            ..Default::default()
        }
        .validate(ctx)
        .unwrap()
    }

    #[test]
    fn csv_export_imports_back_unchanged() {
        let o = sample();
        let mut w = csv::Writer::from_writer(Vec::new());
        write_csv_header(&mut w).unwrap();
        write_csv_row(&mut w, &o).unwrap();
        let bytes = w.into_inner().unwrap();
        let mut back = Vec::new();
        ingest::parse(Format::Csv, bytes.as_slice(), |_, r| back.push(r.unwrap())).unwrap();
        let n = &back[0];
        assert_eq!((n.id, n.lon, n.lat), (Some(o.id), o.lon, o.lat));
        assert_eq!(n.description, o.description);
        assert_eq!(n.organisation, o.organisation);
    }

    #[test]
    fn csv_export_quotes_formulas_and_imports_them_back() {
        let mut o = sample();
        o.lon = -17.625;
        o.description = Some("=HYPERLINK(\"http://evil.example\",\"x\")".into());
        o.organisation = Some("@Bolaget".into());
        let mut w = csv::Writer::from_writer(Vec::new());
        write_csv_header(&mut w).unwrap();
        write_csv_row(&mut w, &o).unwrap();
        let bytes = w.into_inner().unwrap();
        let mut r = csv::Reader::from_reader(bytes.as_slice());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(&row[1], "-17.625", "a number stays a number");
        assert_eq!(&row[7], "'=HYPERLINK(\"http://evil.example\",\"x\")");
        assert_eq!(&row[9], "'@Bolaget");
        let mut back = Vec::new();
        ingest::parse(Format::Csv, bytes.as_slice(), |_, r| back.push(r.unwrap())).unwrap();
        assert_eq!(back[0].description, o.description);
        assert_eq!(back[0].organisation, o.organisation);
    }

    #[test]
    fn geojson_export_imports_back_unchanged() {
        let o = sample();
        let fc = json!({"type": "FeatureCollection", "features": [observation_feature(&o)]});
        let mut back = Vec::new();
        ingest::parse(Format::GeoJson, fc.to_string().as_bytes(), |_, r| {
            back.push(r.unwrap());
        })
        .unwrap();
        assert_eq!(back[0].id, Some(o.id));
        assert_eq!(
            back[0].observed_at.as_deref(),
            Some("2026-03-01T20:30:00.5Z")
        );
    }

    #[test]
    fn every_format_written_reads_back_as_written() {
        let first = sample();
        let mut second = sample();
        second.id = uuid::Uuid::from_u128(2);
        second.description = None;
        for format in [Format::Csv, Format::GeoJson, Format::NdJson] {
            let mut w = ObservationWriter::new(format, Vec::new()).unwrap();
            w.write(&first).unwrap();
            w.write(&second).unwrap();
            let bytes = w.finish().unwrap();
            let mut back = Vec::new();
            ingest::parse(format, bytes.as_slice(), |_, r| back.push(r.unwrap())).unwrap();
            let ids: Vec<_> = back.iter().map(|n| n.id).collect();
            assert_eq!(ids, [Some(first.id), Some(second.id)], "{format:?}");
            assert_eq!(back[1].description, None, "{format:?}");
        }
    }
}
