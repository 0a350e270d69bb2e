//! The embedded store: one SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a commit is on disk (the WAL is fsynced) before the
//! writer's future resolves.
//!
//! **Group commit.** All writes go through one writer thread. It takes every
//! write waiting in its queue, runs each in its own savepoint inside one
//! transaction, commits once — one fsync for the whole group — and only then
//! answers each caller. Under load many submissions share one fsync, so
//! durability does not cap throughput; alone, a write commits at once.
//!
//! **Checkpoints off the write path.** The writer's connection does not
//! checkpoint (copy the WAL back into the database file) when it commits; a
//! thread of its own does, every second. A commit is durable once its WAL
//! frames are synced, so nobody waits for the copy — not an import of a
//! million rows, not a submission that happens to fill the WAL.
//!
//! Reads use a small pool of separate connections (WAL lets readers run
//! beside the writer). Other processes (the CLI) may write to the same file
//! at the same time; SQLite's locking serialises them.
//!
//! One concept per file: `writer.rs` (the group commit), `checkpoint.rs`,
//! `bulk.rs` (batches and imports), `observations.rs`, `rows.rs` (decoding),
//! `record.rs` (the observation blob) and `migrate.rs` (the schema). This
//! file opens the store and implements [`Store`], naming each operation.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::Failure;
use super::{
    AuditEntry, BatchOutcome, BatchPolicy, FindingUpdate, Inserted, ObservationEdit, Op, Record,
    Removal, Store, StoreError, StoredAnalysis, StreamOutcome, TokenRecord, UserRecord,
    action_from_json, action_json, from_nanos, nanos, period_from_text,
};
use crate::index::{IndexEntry, base_cell};
use crate::model::{Area, FindingState, Kind, Observation, Walk};
use bulk::BulkInsert;
use observations::{
    SELECT_BY_ID, get_observation, insert_observation, note_change, row_at, rows_since, seq_of,
};
use rows::{
    StoredAnalysisRow, WALK_COLUMNS, already_exists, analysis_row, area_row, blob, token_row,
    user_row, uuid_col, walk_row,
};
use writer::{TypedJob, WriteJob};

mod bulk;
mod checkpoint;
mod migrate;
mod observations;
mod record;
mod rows;
mod writer;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "trygg.sqlite";

/// Page cache of the writer connection, in KiB (negative: SQLite's unit).
const WRITER_CACHE_KIB: i64 = -65_536;
/// Idle read connections kept open.
const READ_POOL: usize = 8;

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT_MS: u64 = 30_000;

/// The embedded SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Box<dyn WriteJob>>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Dropping the sender stops the checkpointer.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` and brings its
    /// schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let data_dir_error = |source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(data_dir_error)?;
        let path = data_dir.join(DB_FILE);
        let mut conn = open_connection(&path)?;
        migrate::migrate(&mut conn)?;
        configure_writer(&conn).map_err(|f| f.during(Op::new("configuring the writer")))?;
        let checkpointer = checkpoint::spawn_checkpointer(open_connection(&path)?, data_dir)?;

        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let thread = std::thread::Builder::new()
            .name("trygg-sqlite-writer".into())
            .spawn(move || writer::writer_loop(&conn, &rx))
            .map_err(data_dir_error)?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            checkpointer: Mutex::new(Some(checkpointer)),
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `work` in the writer thread, in its own savepoint of the next group
    /// commit; resolves after the commit is durable. Failures name `op`.
    async fn write<R, F>(&self, op: Op, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, Failure> + Send + 'static,
    {
        self.submit(op, Box::new(move |c| work(c).map(|r| (r, true))), false)
            .await
    }

    /// Runs a bulk write in a transaction of its own; `work` may ask for its
    /// changes to be rolled back while still returning a value.
    async fn write_alone<R, F>(&self, op: Op, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<(R, bool), Failure> + Send + 'static,
    {
        self.submit(op, Box::new(work), true).await
    }

    async fn submit<R: Send + 'static>(
        &self,
        op: Op,
        work: writer::JobFn<R>,
        alone: bool,
    ) -> Result<R, StoreError> {
        let (job, rx) = TypedJob::new(op, work, alone);
        {
            let writer = self.writer.lock().expect("writer lock");
            let sender = writer.as_ref().ok_or(StoreError::Closed)?;
            sender.send(job).map_err(|_| StoreError::Closed)?;
        }
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `work` on a pooled read connection in a blocking thread.
    /// Failures name `op`.
    async fn read<R, F>(&self, op: Op, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, Failure> + Send + 'static,
    {
        let pool = Arc::clone(&self.readers);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.lock().expect("pool lock").pop();
            let conn = match conn {
                Some(c) => c,
                None => open_connection(&path)?,
            };
            let result = work(&conn).map_err(|f| f.during(op));
            let mut idle = pool.lock().expect("pool lock");
            if idle.len() < READ_POOL {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Stops the writer after the writes already queued, and waits for it.
    pub fn close(&self) {
        self.writer.lock().expect("writer lock").take();
        if let Some(t) = self.writer_thread.lock().expect("thread lock").take() {
            let _ = t.join();
        }
        if let Some((stop, t)) = self.checkpointer.lock().expect("thread lock").take() {
            drop(stop);
            let _ = t.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// A connection to the database file, with the settings every connection needs.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let configure = || -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        // Takes effect only when the file is created; larger pages mean fewer
        // B-tree splits and WAL frames per imported row.
        conn.pragma_update(None, "page_size", 16_384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(conn)
    };
    configure().map_err(|source| StoreError::Sqlite {
        op: Op::new("opening the database"),
        source,
    })
}

/// Settings of the writer's connection alone.
fn configure_writer(conn: &Connection) -> Result<(), Failure> {
    // The writer's page cache holds a large batch without spilling to the WAL mid-transaction.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
    // Statement and savepoint journals stay small (a bulk import runs without
    // a savepoint); keeping them in memory spares a file write per page.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn insert(&self, observation: Observation) -> Result<Inserted, StoreError> {
        let cell = base_cell(observation.lon, observation.lat).map_or(0, u64::from);
        let op = Op::on("inserting", Record::Observation(observation.id));
        self.write(op, move |c| insert_observation(c, &observation, cell))
            .await
    }

    async fn insert_batch(
        &self,
        observations: Vec<Observation>,
        policy: BatchPolicy,
    ) -> Result<BatchOutcome, StoreError> {
        // Index entries (with their H3 cells) are computed before taking the writer.
        let entries: Vec<IndexEntry> = observations
            .par_iter()
            .map(|o| IndexEntry::from_observation(0, o))
            .collect();
        let op = Op::new("inserting a batch of observations");
        self.write_alone(op, move |c| {
            let mut bulk = BulkInsert::new(c)?;
            let cells: Vec<u64> = entries.iter().map(|e| e.cell).collect();
            bulk.insert(c, &observations, &cells)?;
            let first_seq = bulk.first_seq;
            let (out, keep) = bulk.finish(c, policy)?;
            let mut taken = [out.duplicates.as_slice(), &out.conflicts].concat();
            taken.sort_unstable();
            let created = entries
                .into_iter()
                .zip(first_seq..)
                .enumerate()
                .filter(|(pos, _)| keep && taken.binary_search(pos).is_err())
                .map(|(_, (entry, seq))| IndexEntry { seq, ..entry })
                .collect();
            let out = BatchOutcome {
                created,
                duplicates: out.duplicates,
                conflicts: out.conflicts,
            };
            Ok((out, keep))
        })
        .await
    }

    async fn insert_stream(
        &self,
        chunks: mpsc::Receiver<super::ImportChunk>,
        policy: BatchPolicy,
    ) -> Result<StreamOutcome, StoreError> {
        self.write_alone(Op::new("importing observations"), move |c| {
            let mut bulk = BulkInsert::new(c)?;
            loop {
                match chunks.recv() {
                    Ok(super::ImportChunk::Records(o, cells)) => bulk.insert(c, &o, &cells)?,
                    Ok(super::ImportChunk::Finish) => break,
                    // The sender gave up (a bad record, a broken stream): store nothing.
                    Err(_) => return Ok((StreamOutcome::default(), false)),
                }
            }
            bulk.finish(c, policy)
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Observation>, StoreError> {
        let op = Op::on("reading", Record::Observation(id));
        self.read(op, move |c| get_observation(c, id)).await
    }

    async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Observation>, StoreError> {
        let ids = ids.to_vec();
        self.read(Op::new("reading observations by id"), move |c| {
            let mut found = std::collections::HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(500) {
                let placeholders = vec!["?"; chunk.len()].join(",");
                let mut stmt = c.prepare(&format!("{SELECT_BY_ID} IN ({placeholders})"))?;
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(chunk.iter().map(Uuid::as_bytes)))?;
                while let Some(row) = rows.next()? {
                    let id = uuid_col(row, 0)?;
                    found.insert(id, record::decode(id, blob(row, 1)?)?);
                }
            }
            Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.read(Op::new("counting observations"), |c| {
            let n: i64 = c.query_row("SELECT count(*) FROM observation_ids", [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn index_entries_since(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        let op = Op::new("reading index entries in commit order");
        self.read(op, move |c| {
            rows_since(c, after_seq, limit, |seq, id, bytes| {
                record::decode_index_entry(seq, id, bytes)
            })
        })
        .await
    }

    async fn observations_since(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Observation)>, StoreError> {
        let op = Op::new("reading observations in commit order");
        self.read(op, move |c| {
            rows_since(c, after_seq, limit, |seq, id, bytes| {
                Ok((seq, record::decode(id, bytes)?))
            })
        })
        .await
    }

    async fn update_finding(
        &self,
        id: Uuid,
        update: FindingUpdate,
    ) -> Result<Observation, StoreError> {
        let op = Op::on("updating", Record::WalkFinding(id));
        self.write(op, move |c| {
            let not_found = || StoreError::NotFound(Record::WalkFinding(id));
            let seq = seq_of(c, id)?.ok_or_else(not_found)?;
            let mut obs = row_at(c, seq)?;
            if obs.kind != Kind::WalkFinding {
                return Err(not_found().into());
            }
            obs.finding = Some(FindingState {
                status: update.status,
                changed_at: update.at,
                changed_by: Some(update.by),
                assignee: update.assignee,
            });
            let cell = base_cell(obs.lon, obs.lat).map_or(0, u64::from);
            c.prepare_cached("UPDATE observations SET record = ?2 WHERE seq = ?1")?
                .execute(params![seq, record::encode(&obs, cell, Vec::new())?])?;
            Ok(obs)
        })
        .await
    }

    async fn edit_observation(
        &self,
        id: Uuid,
        edit: ObservationEdit,
    ) -> Result<Observation, StoreError> {
        self.write(Op::on("changing", Record::Observation(id)), move |c| {
            let seq = seq_of(c, id)?.ok_or(StoreError::NotFound(Record::Observation(id)))?;
            let mut obs = row_at(c, seq)?;
            obs.category = edit.category;
            obs.severity = edit.severity;
            obs.description = edit.description;
            let cell = base_cell(obs.lon, obs.lat).map_or(0, u64::from);
            c.prepare_cached("UPDATE observations SET record = ?2 WHERE seq = ?1")?
                .execute(params![seq, record::encode(&obs, cell, Vec::new())?])?;
            note_change(c, id, "edited", &edit.by)?;
            Ok(obs)
        })
        .await
    }

    async fn remove_observation(
        &self,
        id: Uuid,
        by: &str,
        at_most: u64,
    ) -> Result<Removal, StoreError> {
        let by = by.to_owned();
        self.write(Op::on("removing", Record::Observation(id)), move |c| {
            let seq = seq_of(c, id)?.ok_or(StoreError::NotFound(Record::Observation(id)))?;
            let removed: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM observation_changes WHERE by = ?1 AND change = 'removed'",
                )?
                .query_row([&by], |r| r.get(0))?;
            if u64::try_from(removed).unwrap_or(0) >= at_most {
                return Ok(Removal::LimitReached);
            }
            // The row stays, emptied, so that its number is never taken
            // again: sequence numbers are the catch-up cursor.
            c.prepare_cached("UPDATE observations SET record = x'' WHERE seq = ?1")?
                .execute([seq])?;
            c.prepare_cached("DELETE FROM observation_ids WHERE id = ?1")?
                .execute([id.as_bytes()])?;
            note_change(c, id, "removed", &by)?;
            Ok(Removal::Removed)
        })
        .await
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        self.read(Op::new("reading the last change"), |c| {
            Ok(c.query_row(
                "SELECT coalesce(max(seq), 0) FROM observation_changes",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn create_walk(&self, walk: &Walk) -> Result<(), StoreError> {
        let w = walk.clone();
        self.write(Op::on("creating", Record::Walk(w.id)), move |c| {
            c.execute(
                &format!(
                    "INSERT INTO walks ({WALK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ),
                params![
                    w.id.as_bytes(),
                    w.name,
                    w.area_id,
                    w.date.to_string(),
                    w.time_of_day.as_str(),
                    serde_json::to_string(&w.route).expect("positions serialise"),
                    w.join_code,
                    nanos(w.created_at),
                    w.closed_at.map(nanos),
                ],
            )
            .map_err(|e| already_exists(e, || Record::WalkOrJoinCode(w.id)))?;
            Ok(())
        })
        .await
    }

    async fn walk(&self, id: Uuid) -> Result<Option<Walk>, StoreError> {
        self.read(Op::on("reading", Record::Walk(id)), move |c| {
            Ok(c.query_row(
                &format!("SELECT {WALK_COLUMNS} FROM walks WHERE id = ?1"),
                [id.as_bytes()],
                walk_row,
            )
            .optional()?)
        })
        .await
    }

    async fn walk_by_code(&self, code: &str) -> Result<Option<Walk>, StoreError> {
        let code = code.to_owned();
        self.read(Op::new("reading a walk by join code"), move |c| {
            Ok(c.query_row(
                &format!("SELECT {WALK_COLUMNS} FROM walks WHERE join_code = ?1"),
                [code],
                walk_row,
            )
            .optional()?)
        })
        .await
    }

    async fn list_walks(&self) -> Result<Vec<Walk>, StoreError> {
        self.read(Op::new("listing walks"), |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WALK_COLUMNS} FROM walks ORDER BY date DESC, name"
            ))?;
            Ok(stmt
                .query_map([], walk_row)?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn close_walk(&self, id: Uuid, at: OffsetDateTime) -> Result<Walk, StoreError> {
        self.write(Op::on("closing", Record::Walk(id)), move |c| {
            c.execute(
                "UPDATE walks SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
                params![id.as_bytes(), nanos(at)],
            )?;
            c.query_row(
                &format!("SELECT {WALK_COLUMNS} FROM walks WHERE id = ?1"),
                [id.as_bytes()],
                walk_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(Record::Walk(id)).into())
        })
        .await
    }

    async fn put_area(&self, area: &Area) -> Result<(), StoreError> {
        let a = area.clone();
        self.write(Op::on("storing", Record::Area(a.id.clone())), move |c| {
            c.execute(
                "INSERT INTO areas (id, name, area_type, geometry, approximate) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, area_type = excluded.area_type, \
                 geometry = excluded.geometry, approximate = excluded.approximate",
                params![
                    a.id,
                    a.name,
                    a.area_type.as_str(),
                    crate::ingest::geometry::multipolygon_to_geojson(&a.geometry),
                    a.approximate
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_areas(&self) -> Result<Vec<Area>, StoreError> {
        self.read(Op::new("listing areas"), |c| {
            let mut stmt = c.prepare(
                "SELECT id, name, area_type, geometry, approximate FROM areas ORDER BY name",
            )?;
            Ok(stmt
                .query_map([], area_row)?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn put_action(&self, action: &crate::model::Action) -> Result<(), StoreError> {
        let op = Op::on("storing", Record::Action(action.id.clone()));
        let (id, area) = (action.id.clone(), action.area.clone());
        let body = action_json(action).map_err(|f| f.during(op.clone()))?;
        self.write(op, move |c| {
            c.execute(
                "INSERT INTO actions (id, area_id, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET area_id = excluded.area_id, body = excluded.body",
                params![id, area, body],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_actions(&self) -> Result<Vec<crate::model::Action>, StoreError> {
        self.read(Op::new("listing actions"), |c| {
            let mut stmt = c.prepare("SELECT body FROM actions ORDER BY id")?;
            let bodies = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            bodies.iter().map(|b| action_from_json(b)).collect()
        })
        .await
    }

    async fn delete_action(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(Op::on("deleting", Record::Action(id.clone())), move |c| {
            c.execute("DELETE FROM indicator_values WHERE action_id = ?1", [&id])?;
            Ok(c.execute("DELETE FROM actions WHERE id = ?1", [&id])? > 0)
        })
        .await
    }

    async fn put_indicator_value(
        &self,
        v: &crate::model::IndicatorValue,
    ) -> Result<(), StoreError> {
        let v = v.clone();
        let op = Op::on(
            "entering a value of",
            Record::IndicatorValue {
                action: v.action.clone(),
                indicator: v.indicator.clone(),
            },
        );
        self.write(op, move |c| {
            let known: bool = c.query_row(
                "SELECT EXISTS (SELECT 1 FROM actions WHERE id = ?1)",
                [&v.action],
                |r| r.get(0),
            )?;
            if !known {
                return Err(StoreError::NotFound(Record::Action(v.action)).into());
            }
            c.execute(
                "INSERT INTO indicator_values \
                 (action_id, indicator_id, period, value, note, entered_by, entered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (action_id, indicator_id, period) DO UPDATE SET \
                 value = excluded.value, note = excluded.note, \
                 entered_by = excluded.entered_by, entered_at = excluded.entered_at",
                params![
                    v.action,
                    v.indicator,
                    v.period.to_string(),
                    v.value,
                    v.note,
                    v.entered_by,
                    nanos(v.entered_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_indicator_value(
        &self,
        action: &str,
        indicator: &str,
        period: crate::model::Period,
    ) -> Result<bool, StoreError> {
        let key = (action.to_owned(), indicator.to_owned(), period.to_string());
        let op = Op::on(
            "deleting a value of",
            Record::IndicatorValue {
                action: key.0.clone(),
                indicator: key.1.clone(),
            },
        );
        self.write(op, move |c| {
            Ok(c.execute(
                "DELETE FROM indicator_values \
                 WHERE action_id = ?1 AND indicator_id = ?2 AND period = ?3",
                params![key.0, key.1, key.2],
            )? > 0)
        })
        .await
    }

    async fn list_indicator_values(&self) -> Result<Vec<crate::model::IndicatorValue>, StoreError> {
        type Row = (String, String, String, f64, String, String, i64);
        self.read(Op::new("listing indicator values"), |c| {
            let mut stmt = c.prepare(
                "SELECT action_id, indicator_id, period, value, note, entered_by, entered_at \
                     FROM indicator_values ORDER BY action_id, indicator_id, period",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect::<Result<Vec<Row>, _>>()?;
            rows.into_iter()
                .map(|(action, indicator, period, value, note, entered_by, at)| {
                    Ok(crate::model::IndicatorValue {
                        action,
                        indicator,
                        period: period_from_text(&period)?,
                        value,
                        note,
                        entered_by,
                        entered_at: from_nanos(at),
                    })
                })
                .collect()
        })
        .await
    }

    async fn save_analysis(&self, a: &StoredAnalysis) -> Result<(), StoreError> {
        let a = a.clone();
        self.write(Op::on("saving", Record::Analysis(a.id)), move |c| {
            c.execute(
                "INSERT INTO area_analyses (id, area_id, period, created_at, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    a.id.as_bytes(),
                    a.area_id,
                    a.period.to_string(),
                    nanos(a.created_at),
                    a.body.to_string()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_analyses(&self, area_id: &str) -> Result<Vec<StoredAnalysis>, StoreError> {
        let area_id = area_id.to_owned();
        let op = Op::new("listing an area's analyses");
        self.read(op, move |c| {
            let mut stmt = c.prepare(
                "SELECT id, area_id, period, created_at, body FROM area_analyses \
                 WHERE area_id = ?1 ORDER BY period DESC, id DESC",
            )?;
            let rows = stmt
                .query_map([area_id], analysis_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(StoredAnalysisRow::parse).collect()
        })
        .await
    }

    async fn get_analysis(&self, id: Uuid) -> Result<Option<StoredAnalysis>, StoreError> {
        self.read(Op::on("reading", Record::Analysis(id)), move |c| {
            let row = c
                .query_row(
                    "SELECT id, area_id, period, created_at, body FROM area_analyses WHERE id = ?1",
                    [id.as_bytes()],
                    analysis_row,
                )
                .optional()?;
            row.map(StoredAnalysisRow::parse).transpose()
        })
        .await
    }

    async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let t = token.clone();
        self.write(Op::on("creating", Record::Token(t.id)), move |c| {
            c.execute(
                "INSERT INTO tokens (hash, id, role, organisation, walk_id, label, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    t.hash,
                    t.id.as_bytes(),
                    t.role.as_str(),
                    t.organisation,
                    t.walk_id.as_ref().map(Uuid::as_bytes),
                    t.label,
                    nanos(t.created_at),
                    t.expires_at.map(nanos)
                ],
            )
            .map_err(|e| already_exists(e, || Record::Token(t.id)))?;
            Ok(())
        })
        .await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let hash = *hash;
        self.read(Op::new("finding a token by its hash"), move |c| {
            Ok(c.query_row(
                "SELECT hash, id, role, organisation, walk_id, label, created_at, expires_at \
                 FROM tokens WHERE hash = ?1",
                [hash],
                token_row,
            )
            .optional()?)
        })
        .await
    }

    async fn list_tokens(
        &self,
        include_participants: bool,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(Op::new("listing tokens"), move |c| {
            let mut stmt = c.prepare(
                "SELECT hash, id, role, organisation, walk_id, label, created_at, expires_at \
                 FROM tokens WHERE ?1 OR role <> 'walk_participant' ORDER BY created_at DESC, id",
            )?;
            Ok(stmt
                .query_map([include_participants], token_row)?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn expire_token(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(Op::on("expiring", Record::Token(id)), move |c| {
            Ok(c.execute(
                "UPDATE tokens SET expires_at = ?2 WHERE id = ?1",
                params![id.as_bytes(), nanos(at)],
            )? > 0)
        })
        .await
    }

    async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let u = user.clone();
        self.write(
            Op::on("adding", Record::User(u.username.clone())),
            move |c| {
                c.execute(
                    "INSERT INTO users (username, password_hash, role, organisation, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        u.username,
                        u.password_hash,
                        u.role.as_str(),
                        u.organisation,
                        nanos(u.created_at)
                    ],
                )
                .map_err(|e| already_exists(e, || Record::User(u.username.clone())))?;
                Ok(())
            },
        )
        .await
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = username.to_owned();
        self.read(Op::on("reading", Record::User(name.clone())), move |c| {
            Ok(c.query_row(
                "SELECT username, password_hash, role, organisation, created_at FROM users WHERE username = ?1",
                [name],
                user_row,
            )
            .optional()?)
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.write(Op::new("appending to the audit log"), move |c| {
            c.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![nanos(e.at), e.actor, e.action, e.detail],
            )?;
            Ok(())
        })
        .await
    }

    async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(Op::new("reading the audit log"), move |c| {
            let mut stmt = c.prepare(
                "SELECT at, actor, action, detail FROM audit_log ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(AuditEntry {
                    at: from_nanos(r.get(0)?),
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_audit_log_cannot_be_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .append_audit(&AuditEntry {
                at: OffsetDateTime::now_utc(),
                actor: "analyst-1".into(),
                action: "read".into(),
                detail: "10 observations".into(),
            })
            .await
            .unwrap();
        let err = store
            .write(Op::new("deleting the audit log"), |c| {
                Ok(c.execute("DELETE FROM audit_log", [])?)
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("SQLite"), "{err}");
        let err = store
            .write(Op::new("rewriting the audit log"), |c| {
                Ok(c.execute("UPDATE audit_log SET actor = 'x'", [])?)
            })
            .await;
        assert!(err.is_err());
        assert_eq!(store.recent_audit(10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_write_does_not_spoil_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        // Many writes at once land in shared groups; the failing ones roll back alone.
        let mut tasks = Vec::new();
        for i in 0..50 {
            let s = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                s.write(Op::new("storing an area"), move |c| {
                    c.execute(
                        "INSERT INTO areas (id, name, area_type, geometry, approximate) VALUES (?1, 'n', 'custom', '{}', 0)",
                        [format!("a{i}")],
                    )?;
                    if i % 5 == 0 {
                        return Err(Failure::Corrupt("deliberate".into()));
                    }
                    Ok(())
                })
                .await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 10);
        let n: i64 = store
            .read(Op::new("counting areas"), |c| {
                Ok(c.query_row("SELECT count(*) FROM areas", [], |r| r.get(0))?)
            })
            .await
            .unwrap();
        assert_eq!(n, 40);
    }
}
