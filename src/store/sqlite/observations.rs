//! Single observations: look-up by id or sequence number, the idempotent
//! insert, and reading in commit order. Bulk writes are in `bulk.rs`.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::super::Inserted;
use super::super::error::Failure;
use super::record;
use super::rows::{blob, uuid_col};
use crate::model::Observation;

/// Selects `id, record` of the rows whose id is in `observation_ids` under
/// the condition that follows.
pub(super) const SELECT_BY_ID: &str =
    "SELECT o.id, o.record FROM observation_ids i JOIN observations o ON o.seq = i.seq WHERE i.id";

pub(super) fn get_observation(conn: &Connection, id: Uuid) -> Result<Option<Observation>, Failure> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_BY_ID} = ?1"))?;
    let mut rows = stmt.query([id.as_bytes()])?;
    match rows.next()? {
        Some(row) => Ok(Some(record::decode(id, blob(row, 1)?)?)),
        None => Ok(None),
    }
}

/// The sequence number stored under `id`.
pub(super) fn seq_of(conn: &Connection, id: Uuid) -> Result<Option<i64>, Failure> {
    Ok(conn
        .prepare_cached("SELECT seq FROM observation_ids WHERE id = ?1")?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?)
}

/// Inserts unless the id exists; reports what happened.
pub(super) fn insert_observation(
    conn: &Connection,
    obs: &Observation,
    cell: u64,
) -> Result<Inserted, Failure> {
    if seq_of(conn, obs.id)?.is_some() {
        return existing_outcome(conn, obs);
    }
    let record = record::encode(obs, cell, Vec::new())?;
    conn.prepare_cached("INSERT INTO observations (id, record) VALUES (?1, ?2)")?
        .execute(params![obs.id.as_bytes(), record])?;
    let seq = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO observation_ids (id, seq) VALUES (?1, ?2)")?
        .execute(params![obs.id.as_bytes(), seq])?;
    Ok(Inserted::Created {
        seq,
        observation: obs.clone(),
    })
}

/// Whether an observation whose id is taken is a duplicate or a conflict.
pub(super) fn existing_outcome(conn: &Connection, obs: &Observation) -> Result<Inserted, Failure> {
    let existing = get_observation(conn, obs.id)?
        .ok_or_else(|| Failure::Corrupt(format!("observation {} vanished", obs.id)))?;
    Ok(if existing.same_content(obs) {
        Inserted::Duplicate(existing)
    } else {
        Inserted::Conflict(existing)
    })
}

/// The observation stored under sequence number `seq`.
pub(super) fn row_at(c: &Connection, seq: i64) -> Result<Observation, Failure> {
    let mut stmt = c.prepare_cached("SELECT id, record FROM observations WHERE seq = ?1")?;
    let mut rows = stmt.query([seq])?;
    let row = rows
        .next()?
        .ok_or_else(|| Failure::Corrupt(format!("row {seq} vanished")))?;
    record::decode(uuid_col(row, 0)?, blob(row, 1)?)
}

/// Notes an edit or removal of observation `id` for index holders.
pub(super) fn note_change(c: &Connection, id: Uuid, change: &str, by: &str) -> Result<(), Failure> {
    c.prepare_cached(
        "INSERT INTO observation_changes (id, change, by, at_ns) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        id.as_bytes(),
        change,
        by,
        crate::store::nanos(time::OffsetDateTime::now_utc())
    ])?;
    Ok(())
}

/// Decodes the rows after sequence number `after_seq`, at most `limit`, in
/// commit order; removed ones (emptied) are passed over.
pub(super) fn rows_since<T>(
    c: &Connection,
    after_seq: i64,
    limit: usize,
    decode: impl Fn(i64, Uuid, &[u8]) -> Result<T, Failure>,
) -> Result<Vec<T>, Failure> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, id, record FROM observations WHERE seq > ?1 AND length(record) > 0 \
         ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after_seq, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row.get(0)?, uuid_col(row, 1)?, blob(row, 2)?)?);
    }
    Ok(out)
}
