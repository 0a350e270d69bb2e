//! Writing many observations at once: binary `COPY` into the writer's
//! temporary `incoming` table, then one `INSERT … SELECT … ON CONFLICT DO
//! NOTHING`, under the advisory lock that keeps commits in sequence order.

use std::collections::HashMap;
use std::pin::pin;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use super::super::error::Failure;
use super::super::nanos;
use super::listen::CHANNEL;
use super::rows::select_observations;
use super::writer::Rows;
use crate::model::Observation;

/// Key of the advisory lock that orders observation commits.
pub(super) const WRITE_LOCK: i64 = 0x0074_7279_6767; // "trygg"

pub(super) enum RowOutcome {
    Created(i64),
    Duplicate(Observation),
    Conflict(Observation),
}

/// Inserts the rows inside `tx` (in input order; the first of repeated ids
/// wins) and says what became of each; `None` when the sender abandoned them.
pub(super) async fn write_rows(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &mut Rows,
) -> Result<Option<(Vec<Observation>, Vec<RowOutcome>)>, Failure> {
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
        .await?;
    let Some(observations) = copy_incoming(tx, rows).await? else {
        return Ok(None);
    };
    let created = tx
        .query(
            "INSERT INTO observations (id, kind, lon, lat, accuracy_m, cell, observed_at_ns, \
             received_at_ns, category, severity, description, organisation, walk_id, status, \
             status_at_ns, status_by, assignee, submitted_by) \
             SELECT id, kind, lon, lat, accuracy_m, cell, observed_at_ns, received_at_ns, \
             category, severity, description, organisation, walk_id, status, status_at_ns, \
             status_by, assignee, submitted_by \
             FROM (SELECT DISTINCT ON (id) * FROM incoming ORDER BY id, pos) AS firsts \
             ORDER BY pos \
             ON CONFLICT (id) DO NOTHING RETURNING id, seq",
            &[],
        )
        .await?;
    let created: HashMap<Uuid, i64> = created.iter().map(|r| (r.get(0), r.get(1))).collect();
    if !created.is_empty() {
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL]).await?;
    }

    let mut first_pos: HashMap<Uuid, usize> = HashMap::with_capacity(observations.len());
    for (pos, o) in observations.iter().enumerate() {
        first_pos.entry(o.id).or_insert(pos);
    }
    let skipped: Vec<Uuid> = observations
        .iter()
        .enumerate()
        .filter(|(pos, o)| !(created.contains_key(&o.id) && first_pos[&o.id] == *pos))
        .map(|(_, o)| o.id)
        .collect();
    let existing: HashMap<Uuid, Observation> = if skipped.is_empty() {
        HashMap::new()
    } else {
        select_observations(tx, &skipped)
            .await?
            .into_iter()
            .map(|(_, o)| (o.id, o))
            .collect()
    };
    let outcomes = observations
        .iter()
        .enumerate()
        .map(|(pos, o)| match created.get(&o.id) {
            Some(&seq) if first_pos[&o.id] == pos => Ok(RowOutcome::Created(seq)),
            _ => {
                let stored = existing
                    .get(&o.id)
                    .cloned()
                    .ok_or_else(|| Failure::Corrupt(format!("observation {} vanished", o.id)))?;
                Ok(if stored.same_content(o) {
                    RowOutcome::Duplicate(stored)
                } else {
                    RowOutcome::Conflict(stored)
                })
            }
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(Some((observations, outcomes)))
}

/// Streams the rows into the `incoming` staging table with binary `COPY` as
/// they arrive; all of them, or `None` when the sender abandoned the write.
async fn copy_incoming(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &mut Rows,
) -> Result<Option<Vec<Observation>>, Failure> {
    let sink = tx
        .copy_in(
            "COPY incoming (pos, id, kind, lon, lat, accuracy_m, cell, observed_at_ns, \
             received_at_ns, category, severity, description, organisation, walk_id, status, \
             status_at_ns, status_by, assignee, submitted_by) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let types = [
        Type::INT4,
        Type::UUID,
        Type::TEXT,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::INT2,
        Type::TEXT,
        Type::TEXT,
        Type::UUID,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ];
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    let mut all: Vec<Observation> = Vec::new();
    loop {
        let (observations, cells) = match rows.recv().await {
            Some(Some(chunk)) => chunk,
            Some(None) => break,
            // Dropping the unfinished writer aborts the COPY.
            None => return Ok(None),
        };
        for (o, cell) in observations.into_iter().zip(cells) {
            let pos = i32::try_from(all.len())
                .map_err(|_| Failure::Corrupt("more than 2^31 records in one write".into()))?;
            let f = o.finding.as_ref();
            let row: [&(dyn ToSql + Sync); 19] = [
                &pos,
                &o.id,
                &o.kind.as_str(),
                &o.lon,
                &o.lat,
                &o.accuracy_m,
                &i64::from_ne_bytes(cell.to_ne_bytes()),
                &nanos(o.observed_at),
                &nanos(o.received_at),
                &o.category,
                &i16::from(o.severity),
                &o.description,
                &o.organisation,
                &o.walk_id,
                &f.map(|f| f.status.as_str()),
                &f.map(|f| nanos(f.changed_at)),
                &f.and_then(|f| f.changed_by.as_deref()),
                &f.and_then(|f| f.assignee.as_deref()),
                &o.submitted_by,
            ];
            writer.as_mut().write(&row).await?;
            all.push(o);
        }
    }
    writer.finish().await?;
    Ok(Some(all))
}
