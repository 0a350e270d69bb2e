//! The writer task: one per instance. It sends every waiting single insert
//! in one transaction (group commit) and runs a batch or an import alone in
//! a transaction of its own. While PostgreSQL is away it reconnects at the
//! next write and answers [`StoreError::Unavailable`] meanwhile.

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, Config};

use super::super::error::Failure;
use super::super::{BatchOutcome, BatchPolicy, Inserted, Op, StoreError};
use super::bulk::{RowOutcome, write_rows};
use super::connect;
use crate::index::{IndexEntry, base_cell};
use crate::model::Observation;

/// Most submissions committed in one group.
const MAX_GROUP: usize = 512;

/// A write waiting for the writer task.
pub(super) enum Job {
    Insert {
        observation: Box<Observation>,
        cell: u64,
        reply: oneshot::Sender<Result<Inserted, StoreError>>,
    },
    /// A batch or an import, in a transaction of its own.
    Batch {
        /// What the batch is, for its errors.
        op: Op,
        rows: Rows,
        policy: BatchPolicy,
        reply: oneshot::Sender<Result<BatchOutcome, StoreError>>,
    },
}

/// The rows of one write as they arrive: chunks of observations with their
/// H3 cells, then `None` when complete. A sender that goes away without
/// `None` abandons the write.
pub(super) type Rows = mpsc::Receiver<Option<(Vec<Observation>, Vec<u64>)>>;

/// All rows at once.
pub(super) fn rows_of(observations: Vec<Observation>, cells: Vec<u64>) -> Rows {
    let (tx, rx) = mpsc::channel(2);
    tx.try_send(Some((observations, cells)))
        .and_then(|()| tx.try_send(None))
        .expect("a channel of two has room for two");
    rx
}

/// The H3 cell of each observation, at the base resolution.
pub(super) fn cells_of(observations: &[Observation]) -> Vec<u64> {
    observations
        .iter()
        .map(|o| base_cell(o.lon, o.lat).map_or(0, u64::from))
        .collect()
}

pub(super) async fn writer_loop(config: Config, mut rx: mpsc::Receiver<Job>) {
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
                op,
                mut rows,
                policy,
                reply,
            } => {
                let result = match client.as_mut() {
                    Some(c) => write_batch(c, &mut rows, policy)
                        .await
                        .map_err(|f| f.during(op)),
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
                status text, status_at_ns int8, status_by text, assignee text,
                submitted_by text
            ) ON COMMIT DELETE ROWS",
        )
        .await
        .map_err(|e| Failure::from(e).during(Op::new("creating the staging table")))?;
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
        Some(c) => write_committed(c, &mut rows)
            .await
            .map_err(|f| f.during(Op::new("inserting a group of observations"))),
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
) -> Result<Option<(Vec<Observation>, Vec<RowOutcome>)>, Failure> {
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
) -> Result<BatchOutcome, Failure> {
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
