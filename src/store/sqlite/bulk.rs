//! Bulk writes (batches and streamed imports): multi-row inserts inside
//! the writer's transaction, with the ids filed in key order.

use rusqlite::Connection;
use uuid::Uuid;

use super::super::error::Failure;
use super::super::{BatchPolicy, Inserted, StreamOutcome};
use super::observations::{existing_outcome, row_at, seq_of};
use super::record;
use super::rows::opt_uuid_col;
use crate::model::Observation;

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
pub(super) struct BulkInsert {
    pub(super) first_seq: i64,
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
    pub(super) fn new(c: &Connection) -> Result<Self, Failure> {
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
    pub(super) fn insert(
        &mut self,
        c: &Connection,
        observations: &[Observation],
        cells: &[u64],
    ) -> Result<(), Failure> {
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
                return Err(Failure::Corrupt(
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
    pub(super) fn finish(
        mut self,
        c: &Connection,
        policy: BatchPolicy,
    ) -> Result<(StreamOutcome, bool), Failure> {
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
fn file_ids(c: &Connection, ids: &[(Uuid, i64)], taken: &mut Vec<i64>) -> Result<(), Failure> {
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
