//! The PostgreSQL/PostGIS store, for municipal IT that runs PostgreSQL and
//! for several Trygg instances sharing one database.
//!
//! **Commit order.** Readers catch up by sequence number, so sequence numbers
//! must become visible in order. PostgreSQL hands out `bigserial` values at
//! insert time and commits in any order; every transaction that inserts
//! observations therefore first takes one transaction-level advisory lock
//! ([`WRITE_LOCK`]), held until its commit, across all instances. Writes are
//! grouped as in the embedded store: one writer task per instance sends every
//! waiting submission in one transaction, so the lock is taken once per group.
//!
//! **Bulk import** goes through `COPY … FROM STDIN (FORMAT binary)` into a
//! temporary table and one `INSERT … SELECT … ON CONFLICT DO NOTHING`.
//!
//! **Other instances** learn of new observations by `NOTIFY` (sent inside
//! the writing transaction, so delivered only on commit); each instance keeps
//! a listening connection, reconnects when it drops and then catches up by
//! sequence number, so nothing is missed while it was away.
//!
//! While PostgreSQL is unreachable every call fails with
//! [`StoreError::Unavailable`] (the HTTP layer answers 503) and the store
//! reconnects by itself.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{AsyncMessage, Client, Config, GenericClient, NoTls, Row};
use uuid::Uuid;

use super::{
    AuditEntry, BatchOutcome, BatchPolicy, FindingUpdate, Inserted, Store, StoreError,
    StoredAnalysis, StreamOutcome, TokenRecord, UserRecord, from_nanos, nanos, period_from_text,
};
use crate::index::{IndexEntry, base_cell};
use crate::model::walk::TimeOfDay;
use crate::model::{Area, AreaType, FindingState, FindingStatus, Kind, Observation, Walk};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Key of the advisory lock that orders observation commits.
const WRITE_LOCK: i64 = 0x0074_7279_6767; // "trygg"
/// Key of the advisory lock that keeps two starting instances from both migrating.
const MIGRATION_LOCK: i64 = WRITE_LOCK + 1;
/// Channel on which committed observations are announced.
const CHANNEL: &str = "trygg_observations";
/// Most submissions committed in one group.
const MAX_GROUP: usize = 512;
/// Submissions waiting for the writer before callers are told to come back
/// later: a bound on memory when PostgreSQL is slow or away.
const WRITER_QUEUE: usize = 4096;
/// Connections in the read pool.
const POOL_SIZE: usize = 16;
/// How long a call waits for a pooled connection or a new one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL/PostGIS store.
pub struct PgStore {
    pool: Pool,
    writer: mpsc::Sender<Job>,
    changes: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

enum Job {
    Insert {
        observation: Box<Observation>,
        cell: u64,
        reply: oneshot::Sender<Result<Inserted, StoreError>>,
    },
    Batch {
        rows: Rows,
        policy: BatchPolicy,
        reply: oneshot::Sender<Result<BatchOutcome, StoreError>>,
    },
}

/// The rows of one write as they arrive: chunks of observations with their
/// H3 cells, then `None` when complete. A sender that goes away without
/// `None` abandons the write.
type Rows = mpsc::Receiver<Option<(Vec<Observation>, Vec<u64>)>>;

/// All rows at once.
fn rows_of(observations: Vec<Observation>, cells: Vec<u64>) -> Rows {
    let (tx, rx) = mpsc::channel(2);
    tx.try_send(Some((observations, cells)))
        .and_then(|()| tx.try_send(None))
        .expect("a channel of two has room for two");
    rx
}

fn cells_of(observations: &[Observation]) -> Vec<u64> {
    observations
        .iter()
        .map(|o| base_cell(o.lon, o.lat).map_or(0, u64::from))
        .collect()
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or key=value string), brings
    /// the schema up to date and starts the writer and the listener.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("bad database URL: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("trygg");

        let mut client = connect(&config).await?;
        // Two instances starting at once must not both create the schema.
        client
            .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await?;
        let migrated = embedded::migrations::runner().run_async(&mut client).await;
        client
            .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await?;
        migrated?;
        drop(client);

        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;

        let (writer, rx) = mpsc::channel(WRITER_QUEUE);
        let changes = Arc::new(Notify::new());
        let tasks = vec![
            tokio::spawn(writer_loop(config.clone(), rx)),
            tokio::spawn(listen_loop(config, Arc::clone(&changes))),
        ];
        Ok(PgStore {
            pool,
            writer,
            changes,
            tasks,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn submit<R>(
        &self,
        job: Job,
        rx: oneshot::Receiver<Result<R, StoreError>>,
    ) -> Result<R, StoreError> {
        self.writer.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable("too many writes are waiting".into())
            }
            mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn connect(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

// The writer.

async fn writer_loop(config: Config, mut rx: mpsc::Receiver<Job>) {
    let mut client: Option<Client> = None;
    let mut waiting: Option<Job> = None;
    loop {
        let first = match waiting.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        if client.as_ref().is_none_or(Client::is_closed) {
            client = connect_writer(&config).await.ok();
        }
        match first {
            Job::Batch {
                mut rows,
                policy,
                reply,
            } => {
                let result = match client.as_mut() {
                    Some(c) => write_batch(c, &mut rows, policy).await,
                    None => Err(unreachable_error()),
                };
                let _ = reply.send(result);
            }
            Job::Insert {
                observation,
                cell,
                reply,
            } => {
                let mut group = vec![(*observation, cell, reply)];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(Job::Insert {
                            observation,
                            cell,
                            reply,
                        }) => group.push((*observation, cell, reply)),
                        Ok(other) => {
                            waiting = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                #[expect(clippy::cast_precision_loss, reason = "groups are small")]
                metrics::histogram!("trygg_store_group_commit_size").record(group.len() as f64);
                write_group(client.as_mut(), group).await;
            }
        }
    }
}

fn unreachable_error() -> StoreError {
    StoreError::Unavailable("cannot connect to PostgreSQL".into())
}

/// A writer connection with its staging table for `COPY`.
async fn connect_writer(config: &Config) -> Result<Client, StoreError> {
    let client = connect(config).await?;
    client
        .batch_execute(
            "CREATE TEMPORARY TABLE incoming (
                pos int4, id uuid, kind text, lon float8, lat float8, accuracy_m float8,
                cell int8, observed_at_ns int8, received_at_ns int8, category text,
                severity int2, description text, organisation text, walk_id uuid,
                status text, status_at_ns int8, status_by text, assignee text
            ) ON COMMIT DELETE ROWS",
        )
        .await?;
    Ok(client)
}

type Reply = oneshot::Sender<Result<Inserted, StoreError>>;

async fn write_group(client: Option<&mut Client>, group: Vec<(Observation, u64, Reply)>) {
    let mut replies = Vec::with_capacity(group.len());
    let (observations, cells): (Vec<Observation>, Vec<u64>) = group
        .into_iter()
        .map(|(o, c, reply)| {
            replies.push(reply);
            (o, c)
        })
        .unzip();
    let mut rows = rows_of(observations, cells);
    let result = match client {
        Some(c) => write_committed(c, &mut rows).await,
        None => Err(unreachable_error()),
    };
    match result {
        Ok(Some((observations, outcomes))) => {
            for ((observation, reply), outcome) in
                observations.into_iter().zip(replies).zip(outcomes)
            {
                let _ = reply.send(Ok(match outcome {
                    RowOutcome::Created(seq) => Inserted::Created { seq, observation },
                    RowOutcome::Duplicate(o) => Inserted::Duplicate(o),
                    RowOutcome::Conflict(o) => Inserted::Conflict(o),
                }));
            }
        }
        Ok(None) => unreachable!("rows_of always completes"),
        Err(e) => {
            // Every caller in the group gets the failure; errors cannot be cloned.
            let message = crate::error_chain(&e);
            for reply in replies {
                let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}

async fn write_committed(
    client: &mut Client,
    rows: &mut Rows,
) -> Result<Option<(Vec<Observation>, Vec<RowOutcome>)>, StoreError> {
    let tx = client.transaction().await?;
    let written = write_rows(&tx, rows).await?;
    if written.is_some() {
        tx.commit().await?;
    }
    Ok(written)
}

async fn write_batch(
    client: &mut Client,
    rows: &mut Rows,
    policy: BatchPolicy,
) -> Result<BatchOutcome, StoreError> {
    let tx = client.transaction().await?;
    // Abandoned by the sender: nothing is stored (dropping `tx` rolls back).
    let Some((observations, outcomes)) = write_rows(&tx, rows).await? else {
        return Ok(BatchOutcome::default());
    };
    let mut out = BatchOutcome::default();
    for (pos, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            RowOutcome::Created(seq) => out
                .created
                .push(IndexEntry::from_observation(seq, &observations[pos])),
            RowOutcome::Duplicate(_) => out.duplicates.push(pos),
            RowOutcome::Conflict(_) => out.conflicts.push(pos),
        }
    }
    if policy == BatchPolicy::AllOrNothing && !out.conflicts.is_empty() {
        out.created.clear();
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(out)
}

enum RowOutcome {
    Created(i64),
    Duplicate(Observation),
    Conflict(Observation),
}

/// Inserts the rows inside `tx` (in input order; the first of repeated ids
/// wins) and says what became of each; `None` when the sender abandoned them.
async fn write_rows(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &mut Rows,
) -> Result<Option<(Vec<Observation>, Vec<RowOutcome>)>, StoreError> {
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
        .await?;
    let Some(observations) = copy_incoming(tx, rows).await? else {
        return Ok(None);
    };
    let created = tx
        .query(
            "INSERT INTO observations (id, kind, lon, lat, accuracy_m, cell, observed_at_ns, \
             received_at_ns, category, severity, description, organisation, walk_id, status, \
             status_at_ns, status_by, assignee) \
             SELECT id, kind, lon, lat, accuracy_m, cell, observed_at_ns, received_at_ns, \
             category, severity, description, organisation, walk_id, status, status_at_ns, \
             status_by, assignee \
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
                    .ok_or_else(|| StoreError::Corrupt(format!("observation {} vanished", o.id)))?;
                Ok(if stored.same_content(o) {
                    RowOutcome::Duplicate(stored)
                } else {
                    RowOutcome::Conflict(stored)
                })
            }
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some((observations, outcomes)))
}

/// Streams the rows into the `incoming` staging table with binary `COPY` as
/// they arrive; all of them, or `None` when the sender abandoned the write.
async fn copy_incoming(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &mut Rows,
) -> Result<Option<Vec<Observation>>, StoreError> {
    let sink = tx
        .copy_in(
            "COPY incoming (pos, id, kind, lon, lat, accuracy_m, cell, observed_at_ns, \
             received_at_ns, category, severity, description, organisation, walk_id, status, \
             status_at_ns, status_by, assignee) FROM STDIN (FORMAT binary)",
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
                .map_err(|_| StoreError::Corrupt("more than 2^31 records in one write".into()))?;
            let f = o.finding.as_ref();
            let row: [&(dyn ToSql + Sync); 18] = [
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
            ];
            writer.as_mut().write(&row).await?;
            all.push(o);
        }
    }
    writer.finish().await?;
    Ok(Some(all))
}

// The listener.

async fn listen_loop(mut config: Config, changes: Arc<Notify>) {
    // Named apart so that operators (and tests) can tell it from the pool.
    config.application_name("trygg-listener");
    loop {
        match listen_once(&config, &changes).await {
            Ok(()) => tracing::warn!("PostgreSQL notification connection closed; reconnecting"),
            Err(e) => tracing::warn!(
                error = %crate::error_chain(&e),
                "cannot listen for PostgreSQL notifications"
            ),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Listens until the connection drops. After (re)connecting it signals a
/// change once, so that whatever was committed meanwhile is caught up.
async fn listen_once(config: &Config, changes: &Notify) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let sql = format!("LISTEN {CHANNEL}");
    let listen = client.batch_execute(&sql);
    // The connection must be driven while LISTEN runs.
    let mut listen = pin!(listen);
    loop {
        tokio::select! {
            done = &mut listen => { done?; break; }
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
    changes.notify_one();
    while let Some(message) = messages.next().await {
        if let AsyncMessage::Notification(_) = message? {
            changes.notify_one();
        }
    }
    Ok(())
}

// Row decoding.

const OBSERVATION_COLUMNS: &str = "seq, id, kind, lon, lat, accuracy_m, observed_at_ns, \
     received_at_ns, category, severity, description, organisation, walk_id, status, \
     status_at_ns, status_by, assignee";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn observation_row(row: &Row) -> Result<(i64, Observation), StoreError> {
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
        },
    ))
}

async fn select_observations(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<Vec<(i64, Observation)>, StoreError> {
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

const WALK_COLUMNS: &str =
    "id, name, area_id, date, time_of_day, route, join_code, created_at, closed_at";

fn walk_row(row: &Row) -> Result<Walk, StoreError> {
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

fn area_row(row: &Row) -> Result<Area, StoreError> {
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

fn token_row(row: &Row) -> Result<TokenRecord, StoreError> {
    let role: String = row.try_get(2)?;
    let hash: Vec<u8> = row.try_get(0)?;
    Ok(TokenRecord {
        hash: hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("a token hash is not 32 bytes".into()))?,
        id: row.try_get(1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.try_get(3)?,
        walk_id: row.try_get(4)?,
        label: row.try_get(5)?,
        created_at: from_nanos(row.try_get(6)?),
        expires_at: row.try_get::<_, Option<i64>>(7)?.map(from_nanos),
    })
}

fn user_row(row: &Row) -> Result<UserRecord, StoreError> {
    let role: String = row.try_get(2)?;
    Ok(UserRecord {
        username: row.try_get(0)?,
        password_hash: row.try_get(1)?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        organisation: row.try_get(3)?,
        created_at: from_nanos(row.try_get(4)?),
    })
}

/// A unique violation as [`StoreError::AlreadyExists`] (naming `what`), else as is.
fn already_exists(e: tokio_postgres::Error, what: impl FnOnce() -> String) -> StoreError {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        StoreError::AlreadyExists(what())
    } else {
        e.into()
    }
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn changes(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.changes))
    }

    async fn insert(&self, observation: Observation) -> Result<Inserted, StoreError> {
        let cell = base_cell(observation.lon, observation.lat).map_or(0, u64::from);
        let (reply, rx) = oneshot::channel();
        self.submit(
            Job::Insert {
                observation: Box::new(observation),
                cell,
                reply,
            },
            rx,
        )
        .await
    }

    async fn insert_batch(
        &self,
        observations: Vec<Observation>,
        policy: BatchPolicy,
    ) -> Result<BatchOutcome, StoreError> {
        let cells = cells_of(&observations);
        let (reply, rx) = oneshot::channel();
        self.submit(
            Job::Batch {
                rows: rows_of(observations, cells),
                policy,
                reply,
            },
            rx,
        )
        .await
    }

    async fn insert_stream(
        &self,
        chunks: std::sync::mpsc::Receiver<super::ImportChunk>,
        policy: BatchPolicy,
    ) -> Result<StreamOutcome, StoreError> {
        // The chunks come from a blocking parser thread; a blocking thread
        // hands them on to the async writer, which COPYs them as they come.
        let (tx, rows) = mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            loop {
                let next = match chunks.recv() {
                    Ok(super::ImportChunk::Records(o, cells)) => Some((o, cells)),
                    Ok(super::ImportChunk::Finish) => None,
                    // Abandoned: dropping `tx` without `None` tells the writer.
                    Err(_) => return,
                };
                let done = next.is_none();
                if tx.blocking_send(next).is_err() || done {
                    return;
                }
            }
        });
        let (reply, rx) = oneshot::channel();
        self.submit(
            Job::Batch {
                rows,
                policy,
                reply,
            },
            rx,
        )
        .await
        .map(StreamOutcome::from)
    }

    async fn get(&self, id: Uuid) -> Result<Option<Observation>, StoreError> {
        let c = self.client().await?;
        Ok(select_observations(&**c, &[id])
            .await?
            .pop()
            .map(|(_, o)| o))
    }

    async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Observation>, StoreError> {
        let c = self.client().await?;
        let mut found: HashMap<Uuid, Observation> = select_observations(&**c, ids)
            .await?
            .into_iter()
            .map(|(_, o)| (o.id, o))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT count(*) FROM observations", &[])
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn index_entries_since(
        &self,
        after_seq: i64,
        limit_rows: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT seq, id, kind, lon, lat, cell, observed_at_ns, category, walk_id, \
                 organisation FROM observations WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .await?;
        c.query(&stmt, &[&after_seq, &limit(limit_rows)])
            .await?
            .iter()
            .map(|row| {
                let kind: String = row.try_get(2)?;
                let cell: i64 = row.try_get(5)?;
                let observed: i64 = row.try_get(6)?;
                Ok(IndexEntry {
                    seq: row.try_get(0)?,
                    id: row.try_get(1)?,
                    kind: kind.parse().map_err(|_| corrupt("kind", &kind))?,
                    lon: row.try_get(3)?,
                    lat: row.try_get(4)?,
                    cell: u64::from_ne_bytes(cell.to_ne_bytes()),
                    observed_at: observed.div_euclid(1_000_000_000),
                    category: row.try_get(7)?,
                    walk_id: row.try_get(8)?,
                    organisation: row.try_get(9)?,
                })
            })
            .collect()
    }

    async fn observations_since(
        &self,
        after_seq: i64,
        limit_rows: usize,
    ) -> Result<Vec<(i64, Observation)>, StoreError> {
        let c = self.client().await?;
        c.query(
            &format!(
                "SELECT {OBSERVATION_COLUMNS} FROM observations WHERE seq > $1 ORDER BY seq LIMIT $2"
            ),
            &[&after_seq, &limit(limit_rows)],
        )
        .await?
        .iter()
        .map(observation_row)
        .collect()
    }

    async fn update_finding(
        &self,
        id: Uuid,
        update: FindingUpdate,
    ) -> Result<Observation, StoreError> {
        let c = self.client().await?;
        let changed = c
            .execute(
                "UPDATE observations SET status = $2, status_at_ns = $3, status_by = $4, \
                 assignee = $5 WHERE id = $1 AND kind = 'walk_finding'",
                &[
                    &id,
                    &update.status.as_str(),
                    &nanos(update.at),
                    &update.by,
                    &update.assignee,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("walk finding {id}")));
        }
        select_observations(&**c, &[id])
            .await?
            .pop()
            .map(|(_, o)| o)
            .ok_or_else(|| StoreError::NotFound(format!("walk finding {id}")))
    }

    async fn create_walk(&self, w: &Walk) -> Result<(), StoreError> {
        let c = self.client().await?;
        let route = serde_json::to_value(&w.route).expect("positions serialise");
        c.execute(
            &format!(
                "INSERT INTO walks ({WALK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &w.id,
                &w.name,
                &w.area_id,
                &w.date,
                &w.time_of_day.as_str(),
                &route,
                &w.join_code,
                &nanos(w.created_at),
                &w.closed_at.map(nanos),
            ],
        )
        .await
        .map_err(|e| already_exists(e, || format!("walk {} or its join code", w.id)))?;
        Ok(())
    }

    async fn walk(&self, id: Uuid) -> Result<Option<Walk>, StoreError> {
        let c = self.client().await?;
        c.query_opt(
            &format!("SELECT {WALK_COLUMNS} FROM walks WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(walk_row)
        .transpose()
    }

    async fn walk_by_code(&self, code: &str) -> Result<Option<Walk>, StoreError> {
        let c = self.client().await?;
        c.query_opt(
            &format!("SELECT {WALK_COLUMNS} FROM walks WHERE join_code = $1"),
            &[&code],
        )
        .await?
        .as_ref()
        .map(walk_row)
        .transpose()
    }

    async fn list_walks(&self) -> Result<Vec<Walk>, StoreError> {
        let c = self.client().await?;
        c.query(
            &format!("SELECT {WALK_COLUMNS} FROM walks ORDER BY date DESC, name"),
            &[],
        )
        .await?
        .iter()
        .map(walk_row)
        .collect()
    }

    async fn close_walk(&self, id: Uuid, at: OffsetDateTime) -> Result<Walk, StoreError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE walks SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
            &[&id, &nanos(at)],
        )
        .await?;
        c.query_opt(
            &format!("SELECT {WALK_COLUMNS} FROM walks WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(walk_row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("walk {id}")))
    }

    async fn put_area(&self, a: &Area) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO areas (id, name, area_type, geojson, approximate) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, area_type = excluded.area_type, \
             geojson = excluded.geojson, approximate = excluded.approximate",
            &[
                &a.id,
                &a.name,
                &a.area_type.as_str(),
                &crate::ingest::geometry::multipolygon_to_geojson(&a.geometry),
                &a.approximate,
            ],
        )
        .await?;
        Ok(())
    }

    async fn list_areas(&self) -> Result<Vec<Area>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT id, name, area_type, geojson, approximate FROM areas ORDER BY name",
            &[],
        )
        .await?
        .iter()
        .map(area_row)
        .collect()
    }

    async fn put_action(&self, action: &crate::model::Action) -> Result<(), StoreError> {
        let body = serde_json::to_value(action).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let c = self.client().await?;
        c.execute(
            "INSERT INTO actions (id, area_id, body) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET area_id = excluded.area_id, body = excluded.body",
            &[&action.id, &action.area, &body],
        )
        .await?;
        Ok(())
    }

    async fn list_actions(&self) -> Result<Vec<crate::model::Action>, StoreError> {
        let c = self.client().await?;
        c.query("SELECT body FROM actions ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| {
                let mut action: crate::model::Action =
                    serde_json::from_value(r.get::<_, serde_json::Value>(0))
                        .map_err(|e| StoreError::Corrupt(format!("action: {e}")))?;
                // Actions stored before indicators had ids.
                action.give_indicator_ids();
                Ok(action)
            })
            .collect()
    }

    async fn delete_action(&self, id: &str) -> Result<bool, StoreError> {
        let c = self.client().await?;
        // Entered values go with it (ON DELETE CASCADE).
        Ok(c.execute("DELETE FROM actions WHERE id = $1", &[&id])
            .await?
            > 0)
    }

    async fn put_indicator_value(
        &self,
        v: &crate::model::IndicatorValue,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        // Inserts nothing when the action does not exist.
        let stored = c
            .execute(
                "INSERT INTO indicator_values \
                 (action_id, indicator_id, period, value, note, entered_by, entered_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM actions WHERE id = $1) \
                 ON CONFLICT (action_id, indicator_id, period) DO UPDATE SET \
                 value = excluded.value, note = excluded.note, \
                 entered_by = excluded.entered_by, entered_at = excluded.entered_at",
                &[
                    &v.action,
                    &v.indicator,
                    &v.period.to_string(),
                    &v.value,
                    &v.note,
                    &v.entered_by,
                    &nanos(v.entered_at),
                ],
            )
            .await;
        match stored {
            Ok(0) => Err(StoreError::NotFound(format!("action {:?}", v.action))),
            Ok(_) => Ok(()),
            // The action was deleted between the check and the insert.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(StoreError::NotFound(format!("action {:?}", v.action)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_indicator_value(
        &self,
        action: &str,
        indicator: &str,
        period: crate::model::Period,
    ) -> Result<bool, StoreError> {
        let c = self.client().await?;
        Ok(c.execute(
            "DELETE FROM indicator_values \
             WHERE action_id = $1 AND indicator_id = $2 AND period = $3",
            &[&action, &indicator, &period.to_string()],
        )
        .await?
            > 0)
    }

    async fn list_indicator_values(&self) -> Result<Vec<crate::model::IndicatorValue>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT action_id, indicator_id, period, value, note, entered_by, entered_at \
             FROM indicator_values ORDER BY action_id, indicator_id, period",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(crate::model::IndicatorValue {
                action: r.try_get(0)?,
                indicator: r.try_get(1)?,
                period: period_from_text(r.try_get(2)?)?,
                value: r.try_get(3)?,
                note: r.try_get(4)?,
                entered_by: r.try_get(5)?,
                entered_at: from_nanos(r.try_get(6)?),
            })
        })
        .collect()
    }

    async fn save_analysis(&self, a: &StoredAnalysis) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO area_analyses (id, area_id, period, created_at, body) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &a.id,
                &a.area_id,
                &a.period.to_string(),
                &nanos(a.created_at),
                &a.body,
            ],
        )
        .await?;
        Ok(())
    }

    async fn list_analyses(&self, area_id: &str) -> Result<Vec<StoredAnalysis>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT id, area_id, period, created_at, body FROM area_analyses \
             WHERE area_id = $1 ORDER BY period DESC, id DESC",
            &[&area_id],
        )
        .await?
        .iter()
        .map(analysis_row)
        .collect()
    }

    async fn get_analysis(&self, id: Uuid) -> Result<Option<StoredAnalysis>, StoreError> {
        let c = self.client().await?;
        c.query_opt(
            "SELECT id, area_id, period, created_at, body FROM area_analyses WHERE id = $1",
            &[&id],
        )
        .await?
        .as_ref()
        .map(analysis_row)
        .transpose()
    }

    async fn create_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO tokens (hash, id, role, organisation, walk_id, label, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &t.hash.as_slice(),
                &t.id,
                &t.role.as_str(),
                &t.organisation,
                &t.walk_id,
                &t.label,
                &nanos(t.created_at),
                &t.expires_at.map(nanos),
            ],
        )
        .await
        .map_err(|e| already_exists(e, || format!("token {}", t.id)))?;
        Ok(())
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let c = self.client().await?;
        c.query_opt(
            "SELECT hash, id, role, organisation, walk_id, label, created_at, expires_at \
             FROM tokens WHERE hash = $1",
            &[&hash.as_slice()],
        )
        .await?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    async fn list_tokens(
        &self,
        include_participants: bool,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT hash, id, role, organisation, walk_id, label, created_at, expires_at \
             FROM tokens WHERE $1 OR role <> 'walk_participant' ORDER BY created_at DESC, id",
            &[&include_participants],
        )
        .await?
        .iter()
        .map(token_row)
        .collect()
    }

    async fn expire_token(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE tokens SET expires_at = $2 WHERE id = $1",
            &[&id, &nanos(at)],
        )
        .await?
            > 0)
    }

    async fn add_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO users (username, password_hash, role, organisation, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &u.username,
                &u.password_hash,
                &u.role.as_str(),
                &u.organisation,
                &nanos(u.created_at),
            ],
        )
        .await
        .map_err(|e| already_exists(e, || format!("user {:?}", u.username)))?;
        Ok(())
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let c = self.client().await?;
        c.query_opt(
            "SELECT username, password_hash, role, organisation, created_at FROM users \
             WHERE username = $1",
            &[&username],
        )
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
            &[&nanos(e.at), &e.actor, &e.action, &e.detail],
        )
        .await?;
        Ok(())
    }

    async fn recent_audit(&self, limit_rows: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let c = self.client().await?;
        c.query(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY seq DESC LIMIT $1",
            &[&limit(limit_rows)],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                at: from_nanos(r.try_get(0)?),
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                detail: r.try_get(3)?,
            })
        })
        .collect()
    }
}

fn analysis_row(r: &Row) -> Result<StoredAnalysis, StoreError> {
    Ok(StoredAnalysis {
        id: r.get(0),
        area_id: r.get(1),
        period: period_from_text(r.get::<_, &str>(2))?,
        created_at: from_nanos(r.get(3)),
        body: r.get(4),
    })
}
