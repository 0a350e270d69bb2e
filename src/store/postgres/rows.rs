//! Rows into values: how each table's rows decode, and the queries whose
//! rows several operations share.

use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use super::super::error::Failure;
use super::super::{
    Record, StoreError, StoredAnalysis, TokenRecord, UserRecord, from_nanos, period_from_text,
};
use crate::model::walk::TimeOfDay;
use crate::model::{Area, AreaType, FindingState, FindingStatus, Kind, Observation, Walk};

pub(super) const OBSERVATION_COLUMNS: &str = "seq, id, kind, lon, lat, accuracy_m, observed_at_ns, \
     received_at_ns, category, severity, description, organisation, walk_id, status, \
     status_at_ns, status_by, assignee, submitted_by";

pub(super) fn corrupt(what: &str, value: &str) -> Failure {
    Failure::Corrupt(format!("unknown {what} {value:?}"))
}

pub(super) fn observation_row(row: &Row) -> Result<(i64, Observation), Failure> {
    let kind: String = row.try_get(2)?;
    let status: Option<String> = row.try_get(13)?;
    let finding = match status {
        None => None,
        Some(s) => Some(FindingState {
            status: s
                .parse::<FindingStatus>()
                .map_err(|_| corrupt("status", &s))?,
            changed_at: from_nanos(row.try_get::<_, Option<i64>>(14)?.unwrap_or(0)),
            changed_by: row.try_get(15)?,
            assignee: row.try_get(16)?,
        }),
    };
    let severity: i16 = row.try_get(9)?;
    Ok((
        row.try_get(0)?,
        Observation {
            id: row.try_get(1)?,
            kind: kind.parse::<Kind>().map_err(|_| corrupt("kind", &kind))?,
            lon: row.try_get(3)?,
            lat: row.try_get(4)?,
            accuracy_m: row.try_get(5)?,
            observed_at: from_nanos(row.try_get(6)?),
            received_at: from_nanos(row.try_get(7)?),
            category: row.try_get(8)?,
            severity: u8::try_from(severity)
                .map_err(|_| corrupt("severity", &severity.to_string()))?,
            description: row.try_get(10)?,
            organisation: row.try_get(11)?,
            walk_id: row.try_get(12)?,
            finding,
            submitted_by: row.try_get(17)?,
        },
    ))
}

pub(super) async fn select_observations(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<Vec<(i64, Observation)>, Failure> {
    client
        .query(
            &format!("SELECT {OBSERVATION_COLUMNS} FROM observations WHERE id = ANY($1)"),
            &[&ids],
        )
        .await?
        .iter()
        .map(observation_row)
        .collect()
}

pub(super) const WALK_COLUMNS: &str =
    "id, name, area_id, date, time_of_day, route, join_code, created_at, closed_at";

pub(super) fn walk_row(row: &Row) -> Result<Walk, Failure> {
    let tod: String = row.try_get(4)?;
    let route: serde_json::Value = row.try_get(5)?;
    Ok(Walk {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        area_id: row.try_get(2)?,
        date: row.try_get(3)?,
        time_of_day: TimeOfDay::parse(&tod).ok_or_else(|| corrupt("time of day", &tod))?,
        route: serde_json::from_value(route.clone())
            .map_err(|_| corrupt("route", &route.to_string()))?,
        join_code: row.try_get(6)?,
        created_at: from_nanos(row.try_get(7)?),
        closed_at: row.try_get::<_, Option<i64>>(8)?.map(from_nanos),
    })
}

pub(super) fn area_row(row: &Row) -> Result<Area, Failure> {
    let area_type: String = row.try_get(2)?;
    let geometry: String = row.try_get(3)?;
    Ok(Area {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        area_type: AreaType::parse(&area_type).ok_or_else(|| corrupt("area type", &area_type))?,
        geometry: crate::ingest::geometry::multipolygon_from_geojson(&geometry)
            .map_err(|_| corrupt("area geometry", &geometry))?,
        approximate: row.try_get(4)?,
    })
}

pub(super) fn token_row(row: &Row) -> Result<TokenRecord, Failure> {
    let role: String = row.try_get(2)?;
    let hash: Vec<u8> = row.try_get(0)?;
    Ok(TokenRecord {
        hash: hash
            .try_into()
            .map_err(|_| Failure::Corrupt("a token hash is not 32 bytes".into()))?,
        id: row.try_get(1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.try_get(3)?,
        walk_id: row.try_get(4)?,
        label: row.try_get(5)?,
        created_at: from_nanos(row.try_get(6)?),
        expires_at: row.try_get::<_, Option<i64>>(7)?.map(from_nanos),
    })
}

pub(super) fn user_row(row: &Row) -> Result<UserRecord, Failure> {
    let role: String = row.try_get(2)?;
    Ok(UserRecord {
        username: row.try_get(0)?,
        password_hash: row.try_get(1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.try_get(3)?,
        created_at: from_nanos(row.try_get(4)?),
    })
}

/// A unique violation as [`StoreError::AlreadyExists`] (naming `record`), else as is.
pub(super) fn already_exists(e: tokio_postgres::Error, record: impl FnOnce() -> Record) -> Failure {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        StoreError::AlreadyExists(record()).into()
    } else {
        e.into()
    }
}

pub(super) fn analysis_row(r: &Row) -> Result<StoredAnalysis, Failure> {
    Ok(StoredAnalysis {
        id: r.get(0),
        area_id: r.get(1),
        period: period_from_text(r.get::<_, &str>(2))?,
        created_at: from_nanos(r.get(3)),
        body: r.get(4),
    })
}
