//! The PostgreSQL/PostGIS store, for municipal IT that runs PostgreSQL and
//! for several Trygg instances sharing one database.
//!
//! **Commit order.** Readers catch up by sequence number, so sequence numbers
//! must become visible in order. PostgreSQL hands out `bigserial` values at
//! insert time and commits in any order; every transaction that inserts
//! observations therefore first takes one transaction-level advisory lock
//! ([`bulk::WRITE_LOCK`]), held until its commit, across all instances. Writes are
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
//!
//! One concept per file: `writer.rs` (the group commit), `bulk.rs`
//! (`COPY`), `listen.rs`, `rows.rs` (decoding) and `migrate.rs` (the
//! schema). This file opens the store and implements [`Store`], naming
//! each operation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_postgres::{Client, Config, NoTls};
use uuid::Uuid;

use super::error::Failure;
use super::{
    AuditEntry, BatchOutcome, BatchPolicy, FindingUpdate, Inserted, ObservationEdit, Op, Record,
    Removal, Store, StoreError, StoredAnalysis, StreamOutcome, TokenRecord, UserRecord, from_nanos,
    nanos, period_from_text,
};
use crate::index::{IndexEntry, base_cell};
use crate::model::{Area, Observation, Walk};
use rows::{
    OBSERVATION_COLUMNS, WALK_COLUMNS, already_exists, analysis_row, area_row, corrupt,
    observation_row, select_observations, token_row, user_row, walk_row,
};
use writer::{Job, cells_of, rows_of};

mod bulk;
mod listen;
mod migrate;
mod rows;
mod writer;

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
        migrate::migrate(&mut client).await?;
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
            tokio::spawn(writer::writer_loop(config.clone(), rx)),
            tokio::spawn(listen::listen_loop(config, Arc::clone(&changes))),
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

    /// Runs `work` on a pooled connection: reads, and the writes that add no
    /// observation (so need no place in the commit order). Failures name `op`.
    async fn with_client<R, F, Fut>(&self, op: Op, work: F) -> Result<R, StoreError>
    where
        F: FnOnce(deadpool_postgres::Object) -> Fut,
        Fut: Future<Output = Result<R, Failure>>,
    {
        let client = self.client().await?;
        work(client).await.map_err(|f| f.during(op))
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

/// A new connection, driven by a task of its own.
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
                op: Op::new("inserting a batch of observations"),
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
                op: Op::new("importing observations"),
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
        let op = Op::on("reading", Record::Observation(id));
        self.with_client(op, |c| async move {
            Ok(select_observations(&**c, &[id])
                .await?
                .pop()
                .map(|(_, o)| o))
        })
        .await
    }

    async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Observation>, StoreError> {
        let op = Op::new("reading observations by id");
        self.with_client(op, |c| async move {
            let mut found: HashMap<Uuid, Observation> = select_observations(&**c, ids)
                .await?
                .into_iter()
                .map(|(_, o)| (o.id, o))
                .collect();
            Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let op = Op::new("counting observations");
        self.with_client(op, |c| async move {
            let n: i64 = c
                .query_one("SELECT count(*) FROM observations", &[])
                .await?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn index_entries_since(
        &self,
        after_seq: i64,
        limit_rows: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        let op = Op::new("reading index entries in commit order");
        self.with_client(op, |c| async move {
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
        })
        .await
    }

    async fn observations_since(
        &self,
        after_seq: i64,
        limit_rows: usize,
    ) -> Result<Vec<(i64, Observation)>, StoreError> {
        let op = Op::new("reading observations in commit order");
        self.with_client(op, |c| async move {
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
        })
        .await
    }

    async fn update_finding(
        &self,
        id: Uuid,
        update: FindingUpdate,
    ) -> Result<Observation, StoreError> {
        let op = Op::on("updating", Record::WalkFinding(id));
        self.with_client(op, |c| async move {
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
                return Err(StoreError::NotFound(Record::WalkFinding(id)).into());
            }
            select_observations(&**c, &[id])
                .await?
                .pop()
                .map(|(_, o)| o)
                .ok_or_else(|| StoreError::NotFound(Record::WalkFinding(id)).into())
        })
        .await
    }

    async fn edit_observation(
        &self,
        id: Uuid,
        edit: ObservationEdit,
    ) -> Result<Observation, StoreError> {
        self.with_client(
            Op::on("changing", Record::Observation(id)),
            |mut c| async move {
                let tx = c.transaction().await?;
                lock_for_change(&tx).await?;
                let changed = tx
                    .execute(
                        "UPDATE observations SET category = $2, severity = $3, description = $4 \
                     WHERE id = $1",
                        &[
                            &id,
                            &edit.category,
                            &i16::from(edit.severity),
                            &edit.description,
                        ],
                    )
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NotFound(Record::Observation(id)).into());
                }
                note_change(&tx, id, "edited", &edit.by).await?;
                let edited = select_observations(&*tx, &[id]).await?.pop();
                tx.commit().await?;
                edited
                    .map(|(_, o)| o)
                    .ok_or_else(|| StoreError::NotFound(Record::Observation(id)).into())
            },
        )
        .await
    }

    async fn remove_observation(
        &self,
        id: Uuid,
        by: &str,
        at_most: u64,
    ) -> Result<Removal, StoreError> {
        let op = Op::on("removing", Record::Observation(id));
        self.with_client(op, |mut c| async move {
            let tx = c.transaction().await?;
            lock_for_change(&tx).await?;
            let deleted = tx
                .execute("DELETE FROM observations WHERE id = $1", &[&id])
                .await?;
            if deleted == 0 {
                return Err(StoreError::NotFound(Record::Observation(id)).into());
            }
            let removed: i64 = tx
                .query_one(
                    "SELECT count(*) FROM observation_changes WHERE by = $1 AND change = 'removed'",
                    &[&by],
                )
                .await?
                .try_get(0)?;
            if u64::try_from(removed).unwrap_or(0) >= at_most {
                // Dropped uncommitted: the row stays.
                return Ok(Removal::LimitReached);
            }
            note_change(&tx, id, "removed", by).await?;
            tx.commit().await?;
            Ok(Removal::Removed)
        })
        .await
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        self.with_client(Op::new("reading the last change"), |c| async move {
            Ok(
                c.query_one("SELECT coalesce(max(seq), 0) FROM observation_changes", &[])
                    .await?
                    .try_get(0)?,
            )
        })
        .await
    }

    async fn create_walk(&self, w: &Walk) -> Result<(), StoreError> {
        let op = Op::on("creating", Record::Walk(w.id));
        self.with_client(op, |c| async move {
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
            .map_err(|e| already_exists(e, || Record::WalkOrJoinCode(w.id)))?;
            Ok(())
        })
        .await
    }

    async fn walk(&self, id: Uuid) -> Result<Option<Walk>, StoreError> {
        let op = Op::on("reading", Record::Walk(id));
        self.with_client(op, |c| async move {
            c.query_opt(
                &format!("SELECT {WALK_COLUMNS} FROM walks WHERE id = $1"),
                &[&id],
            )
            .await?
            .as_ref()
            .map(walk_row)
            .transpose()
        })
        .await
    }

    async fn walk_by_code(&self, code: &str) -> Result<Option<Walk>, StoreError> {
        let op = Op::new("reading a walk by join code");
        self.with_client(op, |c| async move {
            c.query_opt(
                &format!("SELECT {WALK_COLUMNS} FROM walks WHERE join_code = $1"),
                &[&code],
            )
            .await?
            .as_ref()
            .map(walk_row)
            .transpose()
        })
        .await
    }

    async fn list_walks(&self) -> Result<Vec<Walk>, StoreError> {
        let op = Op::new("listing walks");
        self.with_client(op, |c| async move {
            c.query(
                &format!("SELECT {WALK_COLUMNS} FROM walks ORDER BY date DESC, name"),
                &[],
            )
            .await?
            .iter()
            .map(walk_row)
            .collect()
        })
        .await
    }

    async fn close_walk(&self, id: Uuid, at: OffsetDateTime) -> Result<Walk, StoreError> {
        let op = Op::on("closing", Record::Walk(id));
        self.with_client(op, |c| async move {
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
            .ok_or_else(|| StoreError::NotFound(Record::Walk(id)).into())
        })
        .await
    }

    async fn put_area(&self, a: &Area) -> Result<(), StoreError> {
        let op = Op::on("storing", Record::Area(a.id.clone()));
        self.with_client(op, |c| async move {
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
        })
        .await
    }

    async fn list_areas(&self) -> Result<Vec<Area>, StoreError> {
        let op = Op::new("listing areas");
        self.with_client(op, |c| async move {
            c.query(
                "SELECT id, name, area_type, geojson, approximate FROM areas ORDER BY name",
                &[],
            )
            .await?
            .iter()
            .map(area_row)
            .collect()
        })
        .await
    }

    async fn put_action(&self, action: &crate::model::Action) -> Result<(), StoreError> {
        let op = Op::on("storing", Record::Action(action.id.clone()));
        self.with_client(op, |c| async move {
            let body = serde_json::to_value(action)
                .map_err(|e| Failure::Corrupt(format!("action: {e}")))?;
            c.execute(
                "INSERT INTO actions (id, area_id, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET area_id = excluded.area_id, body = excluded.body",
                &[&action.id, &action.area, &body],
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn list_actions(&self) -> Result<Vec<crate::model::Action>, StoreError> {
        let op = Op::new("listing actions");
        self.with_client(op, |c| async move {
            c.query("SELECT body FROM actions ORDER BY id", &[])
                .await?
                .iter()
                .map(|r| {
                    let mut action: crate::model::Action =
                        serde_json::from_value(r.get::<_, serde_json::Value>(0))
                            .map_err(|e| Failure::Corrupt(format!("action: {e}")))?;
                    // Actions stored before indicators had ids.
                    action.give_indicator_ids();
                    Ok(action)
                })
                .collect()
        })
        .await
    }

    async fn delete_action(&self, id: &str) -> Result<bool, StoreError> {
        let op = Op::on("deleting", Record::Action(id.to_owned()));
        self.with_client(op, |c| async move {
            // Entered values go with it (ON DELETE CASCADE).
            Ok(c.execute("DELETE FROM actions WHERE id = $1", &[&id])
                .await?
                > 0)
        })
        .await
    }

    async fn put_indicator_value(
        &self,
        v: &crate::model::IndicatorValue,
    ) -> Result<(), StoreError> {
        let op = Op::on(
            "entering a value of",
            Record::IndicatorValue {
                action: v.action.clone(),
                indicator: v.indicator.clone(),
            },
        );
        self.with_client(op, |c| async move {
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
                Ok(0) => Err(StoreError::NotFound(Record::Action(v.action.clone())).into()),
                Ok(_) => Ok(()),
                // The action was deleted between the check and the insert.
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => {
                    Err(StoreError::NotFound(Record::Action(v.action.clone())).into())
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn delete_indicator_value(
        &self,
        action: &str,
        indicator: &str,
        period: crate::model::Period,
    ) -> Result<bool, StoreError> {
        let op = Op::on(
            "deleting a value of",
            Record::IndicatorValue {
                action: action.to_owned(),
                indicator: indicator.to_owned(),
            },
        );
        self.with_client(op, |c| async move {
            Ok(c.execute(
                "DELETE FROM indicator_values \
                 WHERE action_id = $1 AND indicator_id = $2 AND period = $3",
                &[&action, &indicator, &period.to_string()],
            )
            .await?
                > 0)
        })
        .await
    }

    async fn list_indicator_values(&self) -> Result<Vec<crate::model::IndicatorValue>, StoreError> {
        let op = Op::new("listing indicator values");
        self.with_client(op, |c| async move {
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
        })
        .await
    }

    async fn save_analysis(&self, a: &StoredAnalysis) -> Result<(), StoreError> {
        let op = Op::on("saving", Record::Analysis(a.id));
        self.with_client(op, |c| async move {
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
        })
        .await
    }

    async fn list_analyses(&self, area_id: &str) -> Result<Vec<StoredAnalysis>, StoreError> {
        let op = Op::new("listing an area's analyses");
        self.with_client(op, |c| async move {
            c.query(
                "SELECT id, area_id, period, created_at, body FROM area_analyses \
                 WHERE area_id = $1 ORDER BY period DESC, id DESC",
                &[&area_id],
            )
            .await?
            .iter()
            .map(analysis_row)
            .collect()
        })
        .await
    }

    async fn get_analysis(&self, id: Uuid) -> Result<Option<StoredAnalysis>, StoreError> {
        let op = Op::on("reading", Record::Analysis(id));
        self.with_client(op, |c| async move {
            c.query_opt(
                "SELECT id, area_id, period, created_at, body FROM area_analyses WHERE id = $1",
                &[&id],
            )
            .await?
            .as_ref()
            .map(analysis_row)
            .transpose()
        })
        .await
    }

    async fn create_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let op = Op::on("creating", Record::Token(t.id));
        self.with_client(op, |c| async move {
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
            .map_err(|e| already_exists(e, || Record::Token(t.id)))?;
            Ok(())
        })
        .await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let op = Op::new("finding a token by its hash");
        self.with_client(op, |c| async move {
            c.query_opt(
                "SELECT hash, id, role, organisation, walk_id, label, created_at, expires_at \
                 FROM tokens WHERE hash = $1",
                &[&hash.as_slice()],
            )
            .await?
            .as_ref()
            .map(token_row)
            .transpose()
        })
        .await
    }

    async fn list_tokens(
        &self,
        include_participants: bool,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let op = Op::new("listing tokens");
        self.with_client(op, |c| async move {
            c.query(
                "SELECT hash, id, role, organisation, walk_id, label, created_at, expires_at \
                 FROM tokens WHERE $1 OR role <> 'walk_participant' ORDER BY created_at DESC, id",
                &[&include_participants],
            )
            .await?
            .iter()
            .map(token_row)
            .collect()
        })
        .await
    }

    async fn expire_token(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        let op = Op::on("expiring", Record::Token(id));
        self.with_client(op, |c| async move {
            Ok(c.execute(
                "UPDATE tokens SET expires_at = $2 WHERE id = $1",
                &[&id, &nanos(at)],
            )
            .await?
                > 0)
        })
        .await
    }

    async fn add_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let op = Op::on("adding", Record::User(u.username.clone()));
        self.with_client(op, |c| async move {
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
            .map_err(|e| already_exists(e, || Record::User(u.username.clone())))?;
            Ok(())
        })
        .await
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let op = Op::on("reading", Record::User(username.to_owned()));
        self.with_client(op, |c| async move {
            c.query_opt(
                "SELECT username, password_hash, role, organisation, created_at FROM users \
                 WHERE username = $1",
                &[&username],
            )
            .await?
            .as_ref()
            .map(user_row)
            .transpose()
        })
        .await
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let op = Op::new("appending to the audit log");
        self.with_client(op, |c| async move {
            c.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                &[&nanos(e.at), &e.actor, &e.action, &e.detail],
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn recent_audit(&self, limit_rows: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let op = Op::new("reading the audit log");
        self.with_client(op, |c| async move {
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
        })
        .await
    }
}

/// Takes the write lock for an edit or removal: changes are then numbered
/// in the order they commit, so that an instance that has seen the last
/// number has seen every change before it.
async fn lock_for_change(tx: &tokio_postgres::Transaction<'_>) -> Result<(), Failure> {
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({})",
        bulk::WRITE_LOCK
    ))
    .await?;
    Ok(())
}

/// Notes an edit or removal of observation `id` for every instance.
async fn note_change(
    tx: &tokio_postgres::Transaction<'_>,
    id: Uuid,
    change: &str,
    by: &str,
) -> Result<(), Failure> {
    tx.execute(
        "INSERT INTO observation_changes (id, change, by, at_ns) VALUES ($1, $2, $3, $4)",
        &[&id, &change, &by, &nanos(OffsetDateTime::now_utc())],
    )
    .await?;
    // Other instances rebuild at once rather than at their next poll.
    tx.execute("SELECT pg_notify($1, '')", &[&listen::CHANNEL])
        .await?;
    Ok(())
}
