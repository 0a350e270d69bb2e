//! Durable storage behind one trait, [`Store`], so the service can run on the
//! embedded SQLite store (the zero-setup default) or on PostgreSQL/PostGIS.
//!
//! The contract every implementation keeps (tested in
//! `tests/store_contract.rs` against each store):
//!
//! - a write is durable when its future resolves `Ok` — it survives a process
//!   kill and a power cut;
//! - inserting an observation is idempotent by id: the same content again is a
//!   [`Inserted::Duplicate`], different content a [`Inserted::Conflict`],
//!   never a second record;
//! - every committed observation gets a sequence number, increasing in commit
//!   order, so that readers can catch up with [`Store::index_entries_since`];
//! - the audit log only grows.

mod error;
pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::index::IndexEntry;
use crate::model::{Area, FindingStatus, Observation, Role, Walk};

use error::Failure;
pub use error::{Op, Record, StoreError};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Times are stored as Unix nanoseconds, which round-trip exactly.
fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn from_nanos(n: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The outcome of inserting one observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// Stored now, with its commit sequence number.
    Created { seq: i64, observation: Observation },
    /// The same id with the same content was stored before; nothing changed.
    Duplicate(Observation),
    /// The same id with different content was stored before; nothing changed.
    Conflict(Observation),
}

/// How a batch treats records whose id exists with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchPolicy {
    /// Any conflict rejects the whole batch.
    AllOrNothing,
    /// Conflicting records are skipped; the rest is stored.
    Partial,
}

/// The outcome of a batch insert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// Index entries of the observations stored now.
    pub created: Vec<IndexEntry>,
    /// Positions (in the batch) of records already stored with the same content.
    pub duplicates: Vec<usize>,
    /// Positions of records whose id is stored with other content.
    pub conflicts: Vec<usize>,
}

/// The outcome of a streamed import ([`Store::insert_stream`]): as a
/// [`BatchOutcome`], without index entries — the importer gathers what the
/// index needs as the records pass, instead of a copy of every one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamOutcome {
    /// How many observations were stored now.
    pub stored: usize,
    /// The least and the greatest sequence number they were stored under;
    /// no other write lies between.
    pub seqs: Option<(i64, i64)>,
    /// Positions (in the stream) of records already stored with the same content.
    pub duplicates: Vec<usize>,
    /// Positions of records whose id is stored with other content.
    pub conflicts: Vec<usize>,
}

impl BatchOutcome {
    /// The least and the greatest sequence number of what was stored.
    pub fn seqs(&self) -> Option<(i64, i64)> {
        let seqs = self.created.iter().map(|e| e.seq);
        seqs.clone().min().zip(seqs.max())
    }
}

impl From<BatchOutcome> for StreamOutcome {
    fn from(out: BatchOutcome) -> Self {
        StreamOutcome {
            stored: out.created.len(),
            seqs: out.seqs(),
            duplicates: out.duplicates,
            conflicts: out.conflicts,
        }
    }
}

/// A message of a streamed import (see [`Store::insert_stream`]).
#[derive(Debug)]
pub enum ImportChunk {
    /// Validated observations with their H3 cells (at
    /// [`crate::index::BASE_RESOLUTION`], as [`IndexEntry::cell`]).
    Records(Vec<Observation>, Vec<u64>),
    /// Everything has been sent: commit.
    Finish,
}

/// An API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// Public identifier, used in audit logs in place of the secret.
    pub id: Uuid,
    pub hash: [u8; 32],
    pub role: Role,
    pub organisation: Option<String>,
    pub walk_id: Option<Uuid>,
    pub label: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

/// A user account; the password is kept as an argon2id PHC string.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub organisation: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One line of the audit log of raw reads, exports and administrative acts.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    /// Who: a user name or token id, never a secret.
    pub actor: String,
    pub action: String,
    /// What, e.g. the query or the number of records read. No coordinates, no text.
    pub detail: String,
}

/// An area analysis as generated: immutable once stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnalysis {
    pub id: Uuid,
    pub area_id: String,
    pub period: crate::model::Period,
    pub created_at: OffsetDateTime,
    /// The whole analysis as JSON, exactly as it was generated.
    pub body: serde_json::Value,
}

fn action_json(action: &crate::model::Action) -> Result<String, Failure> {
    serde_json::to_string(action).map_err(|e| Failure::Corrupt(format!("action: {e}")))
}

fn action_from_json(text: &str) -> Result<crate::model::Action, Failure> {
    let mut action: crate::model::Action =
        serde_json::from_str(text).map_err(|e| Failure::Corrupt(format!("action: {e}")))?;
    // Actions stored before indicators had ids.
    action.give_indicator_ids();
    Ok(action)
}

fn period_from_text(text: &str) -> Result<crate::model::Period, Failure> {
    text.parse().map_err(Failure::Corrupt)
}

/// A change to a walk finding's follow-up state.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingUpdate {
    pub status: FindingStatus,
    pub assignee: Option<String>,
    pub by: String,
    pub at: OffsetDateTime,
}

/// What a walk participant may change of a finding they submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationEdit {
    pub category: String,
    pub severity: u8,
    pub description: Option<String>,
    /// Who changed it (a token's actor).
    pub by: String,
}

/// What removing an observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Its remover has removed as many as they may; nothing changed.
    LimitReached,
}

/// Durable storage for everything Trygg keeps.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name for `/health`: `embedded` or `postgres`.
    fn kind(&self) -> &'static str;

    /// Signalled when another process may have committed observations, so
    /// the service catches up at once instead of at its next poll.
    fn changes(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }

    // Observations.

    /// Stores one observation durably, idempotent by id.
    async fn insert(&self, observation: Observation) -> Result<Inserted, StoreError>;
    /// Stores many observations in one transaction.
    async fn insert_batch(
        &self,
        observations: Vec<Observation>,
        policy: BatchPolicy,
    ) -> Result<BatchOutcome, StoreError>;
    /// Stores chunks in one transaction as they arrive, so that parsing and
    /// writing overlap. Commits only after [`ImportChunk::Finish`]; if the
    /// sender goes away without it, nothing is stored. The receiver blocks:
    /// implementations read it on a thread of their own, never on the runtime.
    async fn insert_stream(
        &self,
        chunks: std::sync::mpsc::Receiver<ImportChunk>,
        policy: BatchPolicy,
    ) -> Result<StreamOutcome, StoreError>;
    async fn get(&self, id: Uuid) -> Result<Option<Observation>, StoreError>;
    /// The observations with these ids, in the order given; unknown ids are left out.
    async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<Observation>, StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
    /// Index entries of observations committed with a sequence number above
    /// `after_seq`, in sequence order, at most `limit`.
    async fn index_entries_since(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<IndexEntry>, StoreError>;
    /// Whole observations in sequence order after `after_seq`, for export.
    async fn observations_since(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Observation)>, StoreError>;
    /// Sets the follow-up state of a walk finding.
    async fn update_finding(
        &self,
        id: Uuid,
        update: FindingUpdate,
    ) -> Result<Observation, StoreError>;
    /// Changes what a participant may change of a stored observation, and
    /// notes the change for whoever indexes the store ([`Store::last_change`]).
    async fn edit_observation(
        &self,
        id: Uuid,
        edit: ObservationEdit,
    ) -> Result<Observation, StoreError>;
    /// Removes a stored observation for good, and notes the removal and
    /// who made it, unless `by` has removed `at_most` already (counted and
    /// removed in one transaction, so removals at once cannot pass the
    /// limit together). Its sequence number is never given to another.
    async fn remove_observation(
        &self,
        id: Uuid,
        by: &str,
        at_most: u64,
    ) -> Result<Removal, StoreError>;
    /// The number of the last edit or removal, 0 before any: an index of
    /// the store is out of date when this has grown since it was built.
    async fn last_change(&self) -> Result<i64, StoreError>;

    // Walks.

    async fn create_walk(&self, walk: &Walk) -> Result<(), StoreError>;
    async fn walk(&self, id: Uuid) -> Result<Option<Walk>, StoreError>;
    async fn walk_by_code(&self, code: &str) -> Result<Option<Walk>, StoreError>;
    async fn list_walks(&self) -> Result<Vec<Walk>, StoreError>;
    async fn close_walk(&self, id: Uuid, at: OffsetDateTime) -> Result<Walk, StoreError>;

    // Areas.

    /// Creates or replaces an area.
    async fn put_area(&self, area: &Area) -> Result<(), StoreError>;
    async fn list_areas(&self) -> Result<Vec<Area>, StoreError>;

    // Action plans.

    /// Creates or replaces an action.
    async fn put_action(&self, action: &crate::model::Action) -> Result<(), StoreError>;
    /// Every action, ordered by id.
    async fn list_actions(&self) -> Result<Vec<crate::model::Action>, StoreError>;
    /// Removes an action and its entered values; false when there was none.
    async fn delete_action(&self, id: &str) -> Result<bool, StoreError>;
    /// Enters (or replaces) a manual indicator's value for its period. The
    /// action must exist: [`StoreError::NotFound`] otherwise.
    async fn put_indicator_value(
        &self,
        value: &crate::model::IndicatorValue,
    ) -> Result<(), StoreError>;
    /// Removes an entered value; false when there was none.
    async fn delete_indicator_value(
        &self,
        action: &str,
        indicator: &str,
        period: crate::model::Period,
    ) -> Result<bool, StoreError>;
    /// Every entered value, by action, indicator and period.
    async fn list_indicator_values(&self) -> Result<Vec<crate::model::IndicatorValue>, StoreError>;

    // Area analyses: stored once, never changed.

    async fn save_analysis(&self, analysis: &StoredAnalysis) -> Result<(), StoreError>;
    /// An area's analyses, newest period first (then newest first).
    async fn list_analyses(&self, area_id: &str) -> Result<Vec<StoredAnalysis>, StoreError>;
    async fn get_analysis(&self, id: Uuid) -> Result<Option<StoredAnalysis>, StoreError>;

    // Credentials.

    async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError>;
    /// Tokens, newest first; `include_participants` adds walk participants'
    /// (one per person who joined a walk).
    async fn list_tokens(&self, include_participants: bool)
    -> Result<Vec<TokenRecord>, StoreError>;
    /// Makes a token expire at `at` (revocation); false when there is none.
    async fn expire_token(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError>;
    async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    // Audit.

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The newest audit entries, newest first.
    async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
