//! How the embedded store keeps an observation: its sequence number and id
//! as columns, everything else in one `record` blob in postcard's binary
//! format (a documented, stable wire format; see `V3__narrow_observations.sql`
//! for the field order).
//!
//! Why a blob: the store answers only "by id" and "after sequence number";
//! every filter runs in the in-memory index. Binding and storing one value
//! per row instead of sixteen is most of what a million-row import costs the
//! writer (1.7 s against 0.8 s for the rows alone, measured with rusqlite).
//! `trygg export` gives the data as CSV or GeoJSON for anyone who wants to
//! read it outside Trygg.
//!
//! Who submitted a participant's finding follows the record, as a postcard
//! string of its own, only when there is one: records written before it
//! existed read back unchanged.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::index::IndexEntry;
use crate::model::{FindingState, FindingStatus, Kind, Observation};
use crate::store::error::Failure;
use crate::store::{from_nanos, nanos};

/// The encoded fields, in their stored order. Times are Unix nanoseconds.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    kind: u8,
    lon: f64,
    lat: f64,
    accuracy_m: Option<f64>,
    /// H3 cell at the index's base resolution.
    cell: u64,
    observed_at: i64,
    received_at: i64,
    category: &'a str,
    severity: u8,
    description: Option<&'a str>,
    organisation: Option<&'a str>,
    walk_id: Option<[u8; 16]>,
    finding: Option<Finding<'a>>,
}

#[derive(Serialize, Deserialize)]
struct Finding<'a> {
    status: u8,
    changed_at: i64,
    changed_by: Option<&'a str>,
    assignee: Option<&'a str>,
}

/// Appends the encoding of `obs` (whose base cell is `cell`) to `out`.
pub(super) fn encode(obs: &Observation, cell: u64, out: Vec<u8>) -> Result<Vec<u8>, Failure> {
    let finding = obs.finding.as_ref().map(|f| Finding {
        status: f.status as u8,
        changed_at: nanos(f.changed_at),
        changed_by: f.changed_by.as_deref(),
        assignee: f.assignee.as_deref(),
    });
    let record = Record {
        kind: obs.kind as u8,
        lon: obs.lon,
        lat: obs.lat,
        accuracy_m: obs.accuracy_m,
        cell,
        observed_at: nanos(obs.observed_at),
        received_at: nanos(obs.received_at),
        category: &obs.category,
        severity: obs.severity,
        description: obs.description.as_deref(),
        organisation: obs.organisation.as_deref(),
        walk_id: obs.walk_id.map(Uuid::into_bytes),
        finding,
    };
    let encoding = |e: postcard::Error| Failure::Corrupt(format!("encoding: {e}"));
    let out = postcard::to_extend(&record, out).map_err(encoding)?;
    match obs.submitted_by.as_deref() {
        Some(by) => postcard::to_extend(by, out).map_err(encoding),
        None => Ok(out),
    }
}

/// The record stored as `bytes`, and who submitted it if that follows.
fn parse(id: Uuid, bytes: &[u8]) -> Result<(Record<'_>, Option<&str>), Failure> {
    let corrupt = |e: postcard::Error| Failure::Corrupt(format!("observation {id}: {e}"));
    let (record, rest) = postcard::take_from_bytes::<Record>(bytes).map_err(corrupt)?;
    let submitted_by = if rest.is_empty() {
        None
    } else {
        Some(postcard::from_bytes::<&str>(rest).map_err(corrupt)?)
    };
    Ok((record, submitted_by))
}

fn kind(id: Uuid, code: u8) -> Result<Kind, Failure> {
    Kind::from_index(code)
        .ok_or_else(|| Failure::Corrupt(format!("observation {id}: kind code {code}")))
}

/// The observation stored under `id` as `bytes`.
pub(super) fn decode(id: Uuid, bytes: &[u8]) -> Result<Observation, Failure> {
    let (r, submitted_by) = parse(id, bytes)?;
    let finding = match r.finding {
        None => None,
        Some(f) => Some(FindingState {
            status: FindingStatus::from_index(f.status).ok_or_else(|| {
                Failure::Corrupt(format!("observation {id}: status code {}", f.status))
            })?,
            changed_at: from_nanos(f.changed_at),
            changed_by: f.changed_by.map(str::to_owned),
            assignee: f.assignee.map(str::to_owned),
        }),
    };
    Ok(Observation {
        id,
        kind: kind(id, r.kind)?,
        lon: r.lon,
        lat: r.lat,
        accuracy_m: r.accuracy_m,
        observed_at: from_nanos(r.observed_at),
        received_at: from_nanos(r.received_at),
        category: r.category.to_owned(),
        severity: r.severity,
        description: r.description.map(str::to_owned),
        organisation: r.organisation.map(str::to_owned),
        walk_id: r.walk_id.map(Uuid::from_bytes),
        finding,
        submitted_by: submitted_by.map(str::to_owned),
    })
}

/// What the index needs of the observation stored under `id` as `bytes`.
pub(super) fn decode_index_entry(seq: i64, id: Uuid, bytes: &[u8]) -> Result<IndexEntry, Failure> {
    let (r, _) = parse(id, bytes)?;
    Ok(IndexEntry {
        seq,
        id,
        kind: kind(id, r.kind)?,
        lon: r.lon,
        lat: r.lat,
        cell: r.cell,
        observed_at: r.observed_at.div_euclid(1_000_000_000),
        category: r.category.to_owned(),
        walk_id: r.walk_id.map(Uuid::from_bytes),
        organisation: r.organisation.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn finding() -> Observation {
        Observation {
            id: Uuid::from_u128(0x0194_7a7e_09e0_7031_a976_6502_9d3d_8cc7),
            kind: Kind::WalkFinding,
            lon: 17.627_232,
            lat: 59.192_401,
            accuracy_m: Some(12.5),
            observed_at: datetime!(2025-11-03 18:42:07.123_456_789 UTC),
            received_at: datetime!(2025-11-03 19:00 UTC),
            category: "lighting".into(),
            severity: 3,
            description: Some("Trasig gatlampa vid gångtunneln.".into()),
            organisation: None,
            walk_id: Some(Uuid::from_u128(7)),
            finding: Some(FindingState {
                status: FindingStatus::Assigned,
                changed_at: datetime!(2025-11-05 08:00 UTC),
                changed_by: Some("admin".into()),
                assignee: Some("Gatukontoret".into()),
            }),
            submitted_by: Some("token:0194".into()),
        }
    }

    #[test]
    fn observations_come_back_as_they_went_in() {
        let mut report = finding();
        report.kind = Kind::Insecurity;
        report.accuracy_m = None;
        report.description = None;
        report.walk_id = None;
        report.finding = None;
        // As every record written before submitters were kept.
        report.submitted_by = None;
        for obs in [finding(), report] {
            let bytes = encode(&obs, 0x08c1_f053_63a4_d1ff, Vec::new()).unwrap();
            assert_eq!(decode(obs.id, &bytes).unwrap(), obs);
            let entry = decode_index_entry(42, obs.id, &bytes).unwrap();
            assert_eq!(
                entry,
                IndexEntry {
                    seq: 42,
                    cell: 0x08c1_f053_63a4_d1ff,
                    ..IndexEntry::from_observation(42, &obs)
                }
            );
        }
    }

    #[test]
    fn damaged_records_are_reported_not_trusted() {
        let obs = finding();
        let bytes = encode(&obs, 1, Vec::new()).unwrap();
        assert!(matches!(
            decode(obs.id, &bytes[..bytes.len() / 2]),
            Err(Failure::Corrupt(_))
        ));
        let mut bad_kind = bytes.clone();
        bad_kind[0] = 9;
        assert!(decode(obs.id, &bad_kind).is_err());
    }
}
