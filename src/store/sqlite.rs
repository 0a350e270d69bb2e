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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::{Date, OffsetDateTime};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{
    AuditEntry, BatchOutcome, BatchPolicy, FindingUpdate, Inserted, Store, StoreError,
    StoredAnalysis, StreamOutcome, TokenRecord, UserRecord, action_from_json, action_json,
    from_nanos, nanos, period_from_text,
};
use crate::index::{IndexEntry, base_cell};
use crate::model::walk::TimeOfDay;
use crate::model::{Area, AreaType, FindingState, FindingStatus, Kind, Observation, Walk};

mod record;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "trygg.sqlite";
/// Most writes committed in one group.
const MAX_GROUP: usize = 512;
/// Page cache of the writer connection, in KiB (negative: SQLite's unit).
const WRITER_CACHE_KIB: i64 = -65_536;
/// Idle read connections kept open.
const READ_POOL: usize = 8;
/// How often committed WAL frames are copied into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a growing WAL is flushed to disk ahead of its commit.
const WAL_SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT_MS: u64 = 30_000;

/// A write waiting for the writer thread.
trait WriteJob: Send {
    /// Runs inside the group's transaction; `false` means "roll my savepoint back".
    fn run(&mut self, conn: &Connection) -> bool;
    /// Called after the group's commit (or its failure).
    fn finish(self: Box<Self>, commit: Result<(), String>);
    /// Whether the job runs in a transaction of its own (bulk writes).
    fn alone(&self) -> bool;
}

type JobFn<R> = Box<dyn FnOnce(&Connection) -> Result<(R, bool), StoreError> + Send>;

struct TypedJob<R> {
    work: Option<JobFn<R>>,
    alone: bool,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<R: Send> WriteJob for TypedJob<R> {
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        match work(conn) {
            Ok((value, keep)) => {
                self.result = Some(Ok(value));
                keep
            }
            Err(e) => {
                self.result = Some(Err(e));
                false
            }
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let outcome = match commit {
            Err(e) => Err(StoreError::Commit(e)),
            Ok(()) => self.result.unwrap_or(Err(StoreError::Closed)),
        };
        // The caller may have gone away (client disconnected); the write stands.
        let _ = self.reply.send(outcome);
    }

    fn alone(&self) -> bool {
        self.alone
    }
}

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
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = open_connection(&path)?;
        embedded::migrations::runner().run(&mut conn)?;
        move_v2_observations(&mut conn)?;
        // The writer's page cache holds a large batch without spilling to the WAL mid-transaction.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        // Statement and savepoint journals stay small (a bulk import runs without
        // a savepoint); keeping them in memory spares a file write per page.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = spawn_checkpointer(open_connection(&path)?, data_dir)?;

        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let thread = std::thread::Builder::new()
            .name("trygg-sqlite-writer".into())
            .spawn(move || writer_loop(&conn, &rx))
            .map_err(|source| StoreError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            checkpointer: Mutex::new(Some(checkpointer)),
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `work` in the writer thread, in its own savepoint of the next group
    /// commit; resolves after the commit is durable.
    async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit(move |c| work(c).map(|r| (r, true)), false)
            .await
    }

    /// Runs a bulk write in a transaction of its own; `work` may ask for its
    /// changes to be rolled back while still returning a value.
    async fn write_alone<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<(R, bool), StoreError> + Send + 'static,
    {
        self.submit(work, true).await
    }

    async fn submit<R, F>(&self, work: F, alone: bool) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<(R, bool), StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = Box::new(TypedJob {
            work: Some(Box::new(work)),
            alone,
            result: None,
            reply,
        });
        {
            let writer = self.writer.lock().expect("writer lock");
            let sender = writer.as_ref().ok_or(StoreError::Closed)?;
            sender.send(job).map_err(|_| StoreError::Closed)?;
        }
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `work` on a pooled read connection in a blocking thread.
    async fn read<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let pool = Arc::clone(&self.readers);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.lock().expect("pool lock").pop();
            let conn = match conn {
                Some(c) => c,
                None => open_connection(&path)?,
            };
            let result = work(&conn);
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

/// Starts the thread that checkpoints the WAL every [`CHECKPOINT_EVERY`]
/// until its sender is dropped. Passive checkpoints: they copy what no
/// reader still needs and never block a reader or the writer.
///
/// Between checkpoints it also flushes the WAL file to disk while it grows:
/// a long transaction (an import) writes its pages to the WAL as it goes but
/// syncs only when it commits, which would then wait for every page written
/// since it began (about 0.3 s for a million rows). Syncing early through
/// another descriptor only starts that work sooner; the commit still syncs.
fn spawn_checkpointer(
    conn: Connection,
    data_dir: &Path,
) -> Result<(mpsc::Sender<()>, std::thread::JoinHandle<()>), StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let wal_path = data_dir.join(format!("{DB_FILE}-wal"));
    let thread = std::thread::Builder::new()
        .name("trygg-sqlite-checkpoint".into())
        .spawn(move || {
            let mut synced_len = 0;
            let mut last_checkpoint = std::time::Instant::now();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(WAL_SYNC_EVERY) {
                if let Ok(wal) = std::fs::File::open(&wal_path) {
                    let len = wal.metadata().map_or(0, |m| m.len());
                    if len > synced_len {
                        let _ = wal.sync_data();
                    }
                    synced_len = len;
                }
                if last_checkpoint.elapsed() < CHECKPOINT_EVERY {
                    continue;
                }
                last_checkpoint = std::time::Instant::now();
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
    Ok((stop, thread))
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    // Takes effect only when the file is created; larger pages mean fewer
    // B-tree splits and WAL frames per imported row.
    conn.pragma_update(None, "page_size", 16_384)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Box<dyn WriteJob>>) {
    let mut waiting: Option<Box<dyn WriteJob>> = None;
    loop {
        let first = match waiting.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        if first.alone() {
            commit_group(conn, vec![first], false);
            continue;
        }
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) if job.alone() => {
                    waiting = Some(job);
                    break;
                }
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "groups are small")]
        metrics::histogram!("trygg_store_group_commit_size").record(group.len() as f64);
        commit_group(conn, group, true);
    }
}

/// Runs `group` in one transaction and answers each job after the commit.
/// With `savepoints`, each job can roll back its own part; a job alone in its
/// transaction rolls back the transaction instead, which spares SQLite the
/// savepoint journal (a copy of every page a big import touches).
fn commit_group(conn: &Connection, mut group: Vec<Box<dyn WriteJob>>, savepoints: bool) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for job in group {
            job.finish(Err(msg.clone()));
        }
        return;
    }
    let mut keep = true;
    for job in &mut group {
        if !savepoints {
            keep = job.run(conn);
            continue;
        }
        let ok = conn.execute_batch("SAVEPOINT job").is_ok() && job.run(conn);
        let end = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(e) = conn.execute_batch(end) {
            tracing::error!(error = %e, "savepoint handling failed");
        }
    }
    let end = if keep { "COMMIT" } else { "ROLLBACK" };
    let commit = conn.execute_batch(end).map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        e.to_string()
    });
    for job in group {
        job.finish(commit.clone());
    }
}

// Encoding helpers.

fn uuid_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let bytes: [u8; 16] = row.get(i)?;
    Ok(Uuid::from_bytes(bytes))
}

fn opt_uuid_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    let bytes: Option<[u8; 16]> = row.get(i)?;
    Ok(bytes.map(Uuid::from_bytes))
}

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {value:?}").into(),
    )
}

/// The stored blob of column `i`.
fn blob<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
    row.get_ref(i)?
        .as_blob()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Selects `id, record` of the rows whose id is in `observation_ids` under
/// the condition that follows.
const SELECT_BY_ID: &str =
    "SELECT o.id, o.record FROM observation_ids i JOIN observations o ON o.seq = i.seq WHERE i.id";

fn get_observation(conn: &Connection, id: Uuid) -> Result<Option<Observation>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_BY_ID} = ?1"))?;
    let mut rows = stmt.query([id.as_bytes()])?;
    match rows.next()? {
        Some(row) => Ok(Some(record::decode(id, blob(row, 1)?)?)),
        None => Ok(None),
    }
}

/// The sequence number stored under `id`.
fn seq_of(conn: &Connection, id: Uuid) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM observation_ids WHERE id = ?1")?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?)
}

/// Inserts unless the id exists; reports what happened.
fn insert_observation(
    conn: &Connection,
    obs: &Observation,
    cell: u64,
) -> Result<Inserted, StoreError> {
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
fn existing_outcome(conn: &Connection, obs: &Observation) -> Result<Inserted, StoreError> {
    let existing = get_observation(conn, obs.id)?
        .ok_or_else(|| StoreError::Corrupt(format!("observation {} vanished", obs.id)))?;
    Ok(if existing.same_content(obs) {
        Inserted::Duplicate(existing)
    } else {
        Inserted::Conflict(existing)
    })
}

/// Rows per multi-row `INSERT` in bulk writes: SQLite's per-statement work
/// (reset, cursors, halt) is then shared by many rows.
const BULK_ROWS: usize = 32;

/// `OR IGNORE`: with no constraint left that could abort the statement
/// midway, SQLite keeps no statement journal (a copy of every page the
/// statement touches). Nothing is expected to be ignored — the sequence
/// numbers are the writer's own — and [`BulkInsert`] checks that nothing was.
fn bulk_insert_sql(table: &str, columns: &str, rows: usize) -> String {
    let arity = columns.split(',').count();
    let row = format!("({})", vec!["?"; arity].join(", "));
    format!(
        "INSERT OR IGNORE INTO {table} ({columns}) VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// A bulk write in progress inside the writer's transaction.
///
/// Rows go into `observations` in input order, numbered on from the
/// greatest sequence number (the transaction holds SQLite's write lock, so
/// no other process can take them meanwhile). Their ids go into `observation_ids`
/// in key order, so that the B-tree is appended to rather than written all
/// over: ids above every one filed so far — the ids an import makes up
/// ascend (see [`crate::model::observation::IdSequence`]) — are filed with
/// their chunk if most of the chunk's ids are; the others at the end, all of
/// them sorted. An id that is
/// taken by then — stored before, or earlier in the same import — has its
/// row deleted again and is reported as a duplicate or a conflict.
struct BulkInsert {
    first_seq: i64,
    /// The greatest id in `observation_ids`.
    greatest_filed: Option<Uuid>,
    /// Id and sequence number of every row whose id is filed at the end.
    deferred: Vec<(Uuid, i64)>,
    /// Sequence numbers of the rows whose id was taken.
    taken: Vec<i64>,
    /// How many rows were written.
    written: i64,
    /// Encoded records of the chunk being written.
    buf: Vec<u8>,
}

impl BulkInsert {
    fn new(c: &Connection) -> Result<Self, StoreError> {
        let first_seq = c.query_row(
            "SELECT coalesce(max(seq), 0) + 1 FROM observations",
            [],
            |r| r.get(0),
        )?;
        let greatest_filed = c.query_row("SELECT max(id) FROM observation_ids", [], |r| {
            opt_uuid_col(r, 0)
        })?;
        Ok(Self {
            first_seq,
            greatest_filed,
            deferred: Vec::new(),
            taken: Vec::new(),
            written: 0,
            buf: Vec::new(),
        })
    }

    fn next_seq(&self) -> i64 {
        self.first_seq + self.written
    }

    /// Writes one chunk of records (with their H3 cells).
    fn insert(
        &mut self,
        c: &Connection,
        observations: &[Observation],
        cells: &[u64],
    ) -> Result<(), StoreError> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut ends = Vec::with_capacity(observations.len());
        for (obs, &cell) in observations.iter().zip(cells) {
            buf = record::encode(obs, cell, buf)?;
            ends.push(buf.len());
        }
        // No sequence number is given: SQLite takes the next one and appends
        // without a seek, where a given one would be looked up first. Which
        // it took is checked against the one expected.
        let columns = "id, record";
        let full_sql = bulk_insert_sql("observations", columns, BULK_ROWS);
        let mut seq = self.next_seq();
        let greatest_before = self.greatest_filed;
        let mut ascending = Vec::with_capacity(observations.len());
        let first_deferred = self.deferred.len();
        let mut start = 0;
        for (group, group_ends) in observations.chunks(BULK_ROWS).zip(ends.chunks(BULK_ROWS)) {
            let mut stmt = if group.len() == BULK_ROWS {
                c.prepare_cached(&full_sql)?
            } else {
                c.prepare_cached(&bulk_insert_sql("observations", columns, group.len()))?
            };
            let mut param = 1;
            for (obs, &end) in group.iter().zip(group_ends) {
                stmt.raw_bind_parameter(param, obs.id.as_bytes().as_slice())?;
                stmt.raw_bind_parameter(param + 1, &buf[start..end])?;
                if self.greatest_filed.is_none_or(|g| obs.id > g) {
                    self.greatest_filed = Some(obs.id);
                    ascending.push((obs.id, seq));
                } else {
                    self.deferred.push((obs.id, seq));
                }
                param += 2;
                seq += 1;
                start = end;
            }
            if stmt.raw_execute()? != group.len() || c.last_insert_rowid() != seq - 1 {
                return Err(StoreError::Corrupt(
                    "sequence numbers taken during an import".into(),
                ));
            }
        }
        if ascending.len() < observations.len() - observations.len() / 8 {
            // Ids in no order: the few that happened to ascend would be
            // scattered over the key range, and every id filed at the end
            // would then go in among them instead of being appended.
            self.deferred.append(&mut ascending);
            self.greatest_filed = greatest_before;
        }
        file_ids(c, &ascending, &mut self.taken)?;
        // Sorted now, while parsing goes on, the chunks merge quickly at the end.
        self.deferred[first_deferred..].sort_unstable();
        self.written = seq - self.first_seq;
        self.buf = buf;
        Ok(())
    }

    /// Files the remaining ids, reports the records whose id was taken, and
    /// says whether to keep the changes.
    fn finish(
        mut self,
        c: &Connection,
        policy: BatchPolicy,
    ) -> Result<(StreamOutcome, bool), StoreError> {
        // Equal ids sort by sequence number: the first in the input wins.
        // A stable sort finds the chunks' sorted runs and merges them.
        self.deferred.sort();
        let mut taken = std::mem::take(&mut self.taken);
        file_ids(c, &self.deferred, &mut taken)?;
        let mut out = StreamOutcome::default();
        taken.sort_unstable();
        for &seq in &taken {
            let pos = usize::try_from(seq - self.first_seq).expect("our own sequence number");
            let ours = row_at(c, seq)?;
            match existing_outcome(c, &ours)? {
                Inserted::Duplicate(_) => out.duplicates.push(pos),
                _ => out.conflicts.push(pos),
            }
        }
        out.duplicates.sort_unstable();
        out.conflicts.sort_unstable();
        if policy == BatchPolicy::AllOrNothing && !out.conflicts.is_empty() {
            return Ok((out, false));
        }
        // Runs of taken rows go in one statement each (a file imported twice
        // is one run).
        for run in taken.chunk_by(|a, b| b - a == 1) {
            c.prepare_cached("DELETE FROM observations WHERE seq BETWEEN ?1 AND ?2")?
                .execute([run[0], run[run.len() - 1]])?;
        }
        let mut created =
            (self.first_seq..self.next_seq()).filter(|seq| taken.binary_search(seq).is_err());
        let first = created.next();
        out.seqs = first.map(|first| (first, created.next_back().unwrap_or(first)));
        out.stored = usize::try_from(self.written).expect("rows written") - taken.len();
        Ok((out, true))
    }
}

/// Files `ids` (sorted; equal ids in input order) in `observation_ids`, and
/// adds the sequence numbers of the rows whose id was taken to `taken`.
fn file_ids(c: &Connection, ids: &[(Uuid, i64)], taken: &mut Vec<i64>) -> Result<(), StoreError> {
    let columns = "id, seq";
    let full_sql = bulk_insert_sql("observation_ids", columns, BULK_ROWS * 2);
    for group in ids.chunks(BULK_ROWS * 2) {
        let mut stmt = if group.len() == BULK_ROWS * 2 {
            c.prepare_cached(&full_sql)?
        } else {
            c.prepare_cached(&bulk_insert_sql("observation_ids", columns, group.len()))?
        };
        for (param, (id, seq)) in (1..).step_by(2).zip(group) {
            stmt.raw_bind_parameter(param, id.as_bytes().as_slice())?;
            stmt.raw_bind_parameter(param + 1, *seq)?;
        }
        if stmt.raw_execute()? < group.len() {
            for &(id, seq) in group {
                if seq_of(c, id)? != Some(seq) {
                    taken.push(seq);
                }
            }
        }
    }
    Ok(())
}

/// The observation stored under sequence number `seq`.
fn row_at(c: &Connection, seq: i64) -> Result<Observation, StoreError> {
    let mut stmt = c.prepare_cached("SELECT id, record FROM observations WHERE seq = ?1")?;
    let mut rows = stmt.query([seq])?;
    let row = rows
        .next()?
        .ok_or_else(|| StoreError::Corrupt(format!("row {seq} vanished")))?;
    record::decode(uuid_col(row, 0)?, blob(row, 1)?)
}

/// Moves the rows of the table schema version 3 replaced (`observations_v2`,
/// one column per field) into the narrow tables, then drops it; all in one
/// transaction, so an interrupted move starts again at the next open.
fn move_v2_observations(conn: &mut Connection) -> Result<(), StoreError> {
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
        },
    ))
}

/// Decodes the rows after sequence number `after_seq`, at most `limit`, in
/// commit order.
fn rows_since<T>(
    c: &Connection,
    after_seq: i64,
    limit: usize,
    decode: impl Fn(i64, Uuid, &[u8]) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, id, record FROM observations WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after_seq, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row.get(0)?, uuid_col(row, 1)?, blob(row, 2)?)?);
    }
    Ok(out)
}

fn walk_row(row: &Row<'_>) -> rusqlite::Result<Walk> {
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

const WALK_COLUMNS: &str =
    "id, name, area_id, date, time_of_day, route, join_code, created_at, closed_at";

fn area_row(row: &Row<'_>) -> rusqlite::Result<Area> {
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

fn token_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
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

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let role: String = row.get(2)?;
    Ok(UserRecord {
        username: row.get(0)?,
        password_hash: row.get(1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.get(3)?,
        created_at: from_nanos(row.get(4)?),
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn insert(&self, observation: Observation) -> Result<Inserted, StoreError> {
        let cell = base_cell(observation.lon, observation.lat).map_or(0, u64::from);
        self.write(move |c| insert_observation(c, &observation, cell))
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
        self.write_alone(move |c| {
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
        self.write_alone(move |c| {
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
        self.read(move |c| get_observation(c, id)).await
    }

    async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Observation>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |c| {
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
        self.read(|c| {
            let n: i64 = c.query_row("SELECT count(*) FROM observations", [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn index_entries_since(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        self.read(move |c| {
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
        self.read(move |c| {
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
        self.write(move |c| {
            let not_found = || StoreError::NotFound(format!("walk finding {id}"));
            let seq = seq_of(c, id)?.ok_or_else(not_found)?;
            let mut obs = row_at(c, seq)?;
            if obs.kind != Kind::WalkFinding {
                return Err(not_found());
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

    async fn create_walk(&self, walk: &Walk) -> Result<(), StoreError> {
        let w = walk.clone();
        self.write(move |c| {
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
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists(format!("walk {} or its join code", w.id))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn walk(&self, id: Uuid) -> Result<Option<Walk>, StoreError> {
        self.read(move |c| {
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
        self.read(move |c| {
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
        self.read(|c| {
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
        self.write(move |c| {
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
            .ok_or_else(|| StoreError::NotFound(format!("walk {id}")))
        })
        .await
    }

    async fn put_area(&self, area: &Area) -> Result<(), StoreError> {
        let a = area.clone();
        self.write(move |c| {
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
        self.read(|c| {
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
        let (id, area, body) = (action.id.clone(), action.area.clone(), action_json(action)?);
        self.write(move |c| {
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
        let bodies: Vec<String> = self
            .read(|c| {
                let mut stmt = c.prepare("SELECT body FROM actions ORDER BY id")?;
                Ok(stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        bodies.iter().map(|b| action_from_json(b)).collect()
    }

    async fn delete_action(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |c| {
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
        self.write(move |c| {
            let known: bool = c.query_row(
                "SELECT EXISTS (SELECT 1 FROM actions WHERE id = ?1)",
                [&v.action],
                |r| r.get(0),
            )?;
            if !known {
                return Err(StoreError::NotFound(format!("action {:?}", v.action)));
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
        self.write(move |c| {
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
        let rows: Vec<Row> = self
            .read(|c| {
                let mut stmt = c.prepare(
                    "SELECT action_id, indicator_id, period, value, note, entered_by, entered_at \
                     FROM indicator_values ORDER BY action_id, indicator_id, period",
                )?;
                Ok(stmt
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
                    .collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
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
    }

    async fn save_analysis(&self, a: &StoredAnalysis) -> Result<(), StoreError> {
        let a = a.clone();
        self.write(move |c| {
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
        let rows = self
            .read(move |c| {
                let mut stmt = c.prepare(
                    "SELECT id, area_id, period, created_at, body FROM area_analyses \
                     WHERE area_id = ?1 ORDER BY period DESC, id DESC",
                )?;
                Ok(stmt
                    .query_map([area_id], analysis_row)?
                    .collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        rows.into_iter().map(StoredAnalysisRow::parse).collect()
    }

    async fn get_analysis(&self, id: Uuid) -> Result<Option<StoredAnalysis>, StoreError> {
        let row = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT id, area_id, period, created_at, body FROM area_analyses WHERE id = ?1",
                    [id.as_bytes()],
                    analysis_row,
                )
                .optional()?)
            })
            .await?;
        row.map(StoredAnalysisRow::parse).transpose()
    }

    async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let t = token.clone();
        self.write(move |c| {
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
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists(format!("token {}", t.id))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let hash = *hash;
        self.read(move |c| {
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
        self.read(move |c| {
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
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE tokens SET expires_at = ?2 WHERE id = ?1",
                params![id.as_bytes(), nanos(at)],
            )? > 0)
        })
        .await
    }

    async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let u = user.clone();
        self.write(move |c| {
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
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists(format!("user {:?}", u.username))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = username.to_owned();
        self.read(move |c| {
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
        self.write(move |c| {
            c.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![nanos(e.at), e.actor, e.action, e.detail],
            )?;
            Ok(())
        })
        .await
    }

    async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |c| {
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

/// An `area_analyses` row before its text columns are parsed.
struct StoredAnalysisRow {
    id: Vec<u8>,
    area_id: String,
    period: String,
    created_at: i64,
    body: String,
}

fn analysis_row(r: &Row<'_>) -> rusqlite::Result<StoredAnalysisRow> {
    Ok(StoredAnalysisRow {
        id: r.get(0)?,
        area_id: r.get(1)?,
        period: r.get(2)?,
        created_at: r.get(3)?,
        body: r.get(4)?,
    })
}

impl StoredAnalysisRow {
    fn parse(self) -> Result<StoredAnalysis, StoreError> {
        Ok(StoredAnalysis {
            id: Uuid::from_slice(&self.id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            area_id: self.area_id,
            period: period_from_text(&self.period)?,
            created_at: from_nanos(self.created_at),
            body: serde_json::from_str(&self.body)
                .map_err(|e| StoreError::Corrupt(format!("analysis: {e}")))?,
        })
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
            .write(|c| Ok(c.execute("DELETE FROM audit_log", [])?))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("SQLite"), "{err}");
        let err = store
            .write(|c| Ok(c.execute("UPDATE audit_log SET actor = 'x'", [])?))
            .await;
        assert!(err.is_err());
        assert_eq!(store.recent_audit(10).await.unwrap().len(), 1);
    }

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

    #[tokio::test]
    async fn a_failed_write_does_not_spoil_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        // Many writes at once land in shared groups; the failing ones roll back alone.
        let mut tasks = Vec::new();
        for i in 0..50 {
            let s = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                s.write(move |c| {
                    c.execute(
                        "INSERT INTO areas (id, name, area_type, geometry, approximate) VALUES (?1, 'n', 'custom', '{}', 0)",
                        [format!("a{i}")],
                    )?;
                    if i % 5 == 0 {
                        return Err(StoreError::Corrupt("deliberate".into()));
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
            .read(|c| Ok(c.query_row("SELECT count(*) FROM areas", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 40);
    }
}
