//! The schema: refinery's migrations (`migrations/sqlite/`), and moving
//! the rows of a schema before version 3 into its narrow tables.

use rusqlite::{Connection, Row, params};

use super::super::error::Failure;
use super::super::{Op, StoreError, from_nanos};
use super::record;
use super::rows::{corrupt, opt_uuid_col, uuid_col};
use crate::model::{FindingState, FindingStatus, Kind, Observation};

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// Brings the schema up to date.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    embedded::migrations::runner().run(conn)?;
    move_v2_observations(conn)
        .map_err(|f| f.during(Op::new("moving observations to the schema 3 layout")))
}

/// Moves the rows of the table schema version 3 replaced (`observations_v2`,
/// one column per field) into the narrow tables, then drops it; all in one
/// transaction, so an interrupted move starts again at the next open.
fn move_v2_observations(conn: &mut Connection) -> Result<(), Failure> {
    let pending: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'observations_v2'",
        [],
        |r| r.get(0),
    )?;
    if pending == 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut read = tx.prepare(
            "SELECT seq, id, kind, lon, lat, accuracy_m, observed_at, received_at, category, \
             severity, description, organisation, walk_id, status, status_at, status_by, \
             assignee, cell FROM observations_v2 ORDER BY seq",
        )?;
        let mut write =
            tx.prepare("INSERT INTO observations (seq, id, record) VALUES (?1, ?2, ?3)")?;
        let mut file_id = tx.prepare("INSERT INTO observation_ids (id, seq) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        let mut moved = 0_u64;
        while let Some(row) = rows.next()? {
            let (seq, obs) = v2_observation_row(row)?;
            let cell: i64 = row.get(17)?;
            let record = record::encode(&obs, u64::from_ne_bytes(cell.to_ne_bytes()), Vec::new())?;
            write.execute(params![seq, obs.id.as_bytes(), record])?;
            file_id.execute(params![obs.id.as_bytes(), seq])?;
            moved += 1;
        }
        if moved > 0 {
            tracing::info!(moved, "observations moved to the schema 3 layout");
        }
    }
    tx.execute_batch("DROP TABLE observations_v2")?;
    tx.commit()?;
    Ok(())
}

/// One row of `observations_v2`.
fn v2_observation_row(row: &Row<'_>) -> rusqlite::Result<(i64, Observation)> {
    let kind: String = row.get(2)?;
    let kind: Kind = kind.parse().map_err(|_| corrupt("kind", &kind))?;
    let status: Option<String> = row.get(13)?;
    let finding = match status {
        None => None,
        Some(s) => Some(FindingState {
            status: s
                .parse::<FindingStatus>()
                .map_err(|_| corrupt("status", &s))?,
            changed_at: from_nanos(row.get(14)?),
            changed_by: row.get(15)?,
            assignee: row.get(16)?,
        }),
    };
    let severity: i64 = row.get(9)?;
    Ok((
        row.get(0)?,
        Observation {
            id: uuid_col(row, 1)?,
            kind,
            lon: row.get(3)?,
            lat: row.get(4)?,
            accuracy_m: row.get(5)?,
            observed_at: from_nanos(row.get(6)?),
            received_at: from_nanos(row.get(7)?),
            category: row.get(8)?,
            severity: u8::try_from(severity)
                .map_err(|_| corrupt("severity", &severity.to_string()))?,
            description: row.get(10)?,
            organisation: row.get(11)?,
            walk_id: opt_uuid_col(row, 12)?,
            finding,
            submitted_by: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::index::base_cell;
    use crate::store::sqlite::{DB_FILE, SqliteStore, open_connection};
    use crate::store::{Inserted, Store};

    #[tokio::test]
    async fn observations_stored_before_schema_3_are_moved_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join(DB_FILE)).unwrap();
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(2))
            .run(&mut conn)
            .unwrap();
        let obs = |n: u128, kind: &str| {
            conn.execute(
                "INSERT INTO observations (id, kind, lon, lat, accuracy_m, cell, observed_at, \
                 received_at, category, severity, description, organisation, walk_id, status, \
                 status_at, status_by, assignee) VALUES (?1, ?2, 17.62, 59.19, NULL, ?3, \
                 1735689600000000000, 1735693200000000000, 'lighting', 2, 'Mörkt.', NULL, ?4, \
                 'assigned', 1735779600000000000, 'admin', 'Gatukontoret')",
                params![
                    Uuid::from_u128(n).as_bytes(),
                    kind,
                    i64::from_ne_bytes(u64::from(base_cell(17.62, 59.19).unwrap()).to_ne_bytes()),
                    Uuid::from_u128(99).as_bytes()
                ],
            )
            .unwrap();
        };
        obs(1, "walk_finding");
        obs(2, "walk_finding");
        drop(conn);

        let store = SqliteStore::open(dir.path()).unwrap();
        let moved = store.get(Uuid::from_u128(2)).await.unwrap().unwrap();
        assert_eq!(moved.kind, Kind::WalkFinding);
        assert_eq!(moved.description.as_deref(), Some("Mörkt."));
        assert_eq!(moved.walk_id, Some(Uuid::from_u128(99)));
        let finding = moved.finding.unwrap();
        assert_eq!(finding.status, FindingStatus::Assigned);
        assert_eq!(finding.assignee.as_deref(), Some("Gatukontoret"));
        let entries = store.index_entries_since(0, 10).await.unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[1].seq, entries[1].id), (2, Uuid::from_u128(2)));
        assert_eq!(entries[0].cell, u64::from(base_cell(17.62, 59.19).unwrap()));
        // The moved ids are still unique, and new rows follow the old ones.
        let next = Observation {
            id: Uuid::from_u128(3),
            ..store.get(Uuid::from_u128(1)).await.unwrap().unwrap()
        };
        assert!(matches!(
            store.insert(next.clone()).await.unwrap(),
            Inserted::Created { seq: 3, .. }
        ));
        assert!(matches!(
            store.insert(next).await.unwrap(),
            Inserted::Duplicate(_)
        ));
        drop(store);
        // Opening again finds nothing left to move.
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.count().await.unwrap(), 3);
    }
}
