//! Columns into values: how each table's rows decode. A value that does
//! not decode is a conversion error naming the column's meaning.

use rusqlite::Row;
use time::Date;
use uuid::Uuid;

use super::super::error::Failure;
use super::super::{
    Record, StoreError, StoredAnalysis, TokenRecord, UserRecord, from_nanos, period_from_text,
};
use crate::model::walk::TimeOfDay;
use crate::model::{Area, AreaType, Walk};

pub(super) fn uuid_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let bytes: [u8; 16] = row.get(i)?;
    Ok(Uuid::from_bytes(bytes))
}

pub(super) fn opt_uuid_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    let bytes: Option<[u8; 16]> = row.get(i)?;
    Ok(bytes.map(Uuid::from_bytes))
}

pub(super) fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {value:?}").into(),
    )
}

/// The stored blob of column `i`.
pub(super) fn blob<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r [u8], Failure> {
    row.get_ref(i)?
        .as_blob()
        .map_err(|e| Failure::Corrupt(e.to_string()))
}

pub(super) fn walk_row(row: &Row<'_>) -> rusqlite::Result<Walk> {
    let date: String = row.get(3)?;
    let tod: String = row.get(4)?;
    let route: String = row.get(5)?;
    Ok(Walk {
        id: uuid_col(row, 0)?,
        name: row.get(1)?,
        area_id: row.get(2)?,
        date: Date::parse(&date, &time::format_description::well_known::Iso8601::DATE)
            .map_err(|_| corrupt("date", &date))?,
        time_of_day: TimeOfDay::parse(&tod).ok_or_else(|| corrupt("time of day", &tod))?,
        route: serde_json::from_str(&route).map_err(|_| corrupt("route", &route))?,
        join_code: row.get(6)?,
        created_at: from_nanos(row.get(7)?),
        closed_at: row.get::<_, Option<i64>>(8)?.map(from_nanos),
    })
}

pub(super) const WALK_COLUMNS: &str =
    "id, name, area_id, date, time_of_day, route, join_code, created_at, closed_at";

pub(super) fn area_row(row: &Row<'_>) -> rusqlite::Result<Area> {
    let area_type: String = row.get(2)?;
    let geometry: String = row.get(3)?;
    let geometry = crate::ingest::geometry::multipolygon_from_geojson(&geometry)
        .map_err(|_| corrupt("area geometry", &geometry))?;
    Ok(Area {
        id: row.get(0)?,
        name: row.get(1)?,
        area_type: AreaType::parse(&area_type).ok_or_else(|| corrupt("area type", &area_type))?,
        geometry,
        approximate: row.get(4)?,
    })
}

pub(super) fn token_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let role: String = row.get(2)?;
    Ok(TokenRecord {
        hash: row.get(0)?,
        id: uuid_col(row, 1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.get(3)?,
        walk_id: opt_uuid_col(row, 4)?,
        label: row.get(5)?,
        created_at: from_nanos(row.get(6)?),
        expires_at: row.get::<_, Option<i64>>(7)?.map(from_nanos),
    })
}

pub(super) fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let role: String = row.get(2)?;
    Ok(UserRecord {
        username: row.get(0)?,
        password_hash: row.get(1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.get(3)?,
        created_at: from_nanos(row.get(4)?),
    })
}

/// A constraint violation as [`StoreError::AlreadyExists`] (naming `record`), else as is.
pub(super) fn already_exists(e: rusqlite::Error, record: impl FnOnce() -> Record) -> Failure {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::AlreadyExists(record()).into()
        }
        other => other.into(),
    }
}

/// An `area_analyses` row before its text columns are parsed.
pub(super) struct StoredAnalysisRow {
    id: Vec<u8>,
    area_id: String,
    period: String,
    created_at: i64,
    body: String,
}

pub(super) fn analysis_row(r: &Row<'_>) -> rusqlite::Result<StoredAnalysisRow> {
    Ok(StoredAnalysisRow {
        id: r.get(0)?,
        area_id: r.get(1)?,
        period: r.get(2)?,
        created_at: r.get(3)?,
        body: r.get(4)?,
    })
}

impl StoredAnalysisRow {
    pub(super) fn parse(self) -> Result<StoredAnalysis, Failure> {
        Ok(StoredAnalysis {
            id: Uuid::from_slice(&self.id).map_err(|e| Failure::Corrupt(e.to_string()))?,
            area_id: self.area_id,
            period: period_from_text(&self.period)?,
            created_at: from_nanos(self.created_at),
            body: serde_json::from_str(&self.body)
                .map_err(|e| Failure::Corrupt(format!("analysis: {e}")))?,
        })
    }
}
