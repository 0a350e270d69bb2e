//! The writer thread: every write goes through it, and it commits them in
//! groups — one transaction, one fsync, a savepoint per write — so that
//! durability does not cap throughput. Bulk writes run alone in a
//! transaction of their own.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::super::error::Failure;
use super::super::{Op, StoreError};

/// Most writes committed in one group.
const MAX_GROUP: usize = 512;

/// A write waiting for the writer thread.
pub(super) trait WriteJob: Send {
    /// Runs inside the group's transaction; `false` means "roll my savepoint back".
    fn run(&mut self, conn: &Connection) -> bool;
    /// Called after the group's commit (or its failure).
    fn finish(self: Box<Self>, commit: Result<(), String>);
    /// Whether the job runs in a transaction of its own (bulk writes).
    fn alone(&self) -> bool;
}

/// A write's work: its value, and whether to keep its changes.
pub(super) type JobFn<R> = Box<dyn FnOnce(&Connection) -> Result<(R, bool), Failure> + Send>;

/// A write with its result type, and the operation it carries out (to
/// name in its errors).
pub(super) struct TypedJob<R> {
    op: Op,
    work: Option<JobFn<R>>,
    alone: bool,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<R> TypedJob<R> {
    /// The job, and where its result will arrive after the commit.
    pub(super) fn new(
        op: Op,
        work: JobFn<R>,
        alone: bool,
    ) -> (Box<Self>, oneshot::Receiver<Result<R, StoreError>>) {
        let (reply, rx) = oneshot::channel();
        let job = TypedJob {
            op,
            work: Some(work),
            alone,
            result: None,
            reply,
        };
        (Box::new(job), rx)
    }
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
                self.result = Some(Err(e.during(self.op.clone())));
                false
            }
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let outcome = match commit {
            Err(reason) => Err(StoreError::Commit {
                op: self.op,
                reason,
            }),
            Ok(()) => self.result.unwrap_or(Err(StoreError::Closed)),
        };
        // The caller may have gone away (client disconnected); the write stands.
        let _ = self.reply.send(outcome);
    }

    fn alone(&self) -> bool {
        self.alone
    }
}

pub(super) fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Box<dyn WriteJob>>) {
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
