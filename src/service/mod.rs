//! The running service's core: the store and the in-memory index, kept in
//! step. Every acknowledged write is in the store first and in the index
//! before the acknowledgement; writes made by other processes on the same
//! store (the CLI, other instances) are picked up by [`Service::catch_up`].

mod action_plan;
mod analyses;
mod areas;
mod background;
mod counts;
pub mod credentials;
pub mod export;
mod findings;
mod observations;
mod refused;
mod tiles;
mod walks;

pub use action_plan::PlanScope;
pub use background::Background;
pub use observations::{Imported, MAX_LISTED_REJECTIONS, RecordPage, import_into};
pub use refused::{Refused, permit};
pub use walks::{Joined, WalkRequest};

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use uuid::Uuid;

use crate::index::{BatchColumns, CellCache, IndexEntry, ObservationIndex, PreparedBulk};
use crate::model::{Observation, observation::ValidationContext};
use crate::model::{Region, Taxonomy};
use crate::store::{BatchOutcome, BatchPolicy, Inserted, Store, StoreError, StreamOutcome};
use crate::tiles::TileId;
use crate::tiles::cache::TileCache;

/// Most walk findings one area analysis reads back from the store.
const MAX_ANALYSED_FINDINGS: usize = 50_000;

/// Rows fetched per round trip when loading or catching up.
const LOAD_PAGE: usize = 250_000;

/// Store + index + the reference data validation needs.
pub struct Service {
    store: Arc<dyn Store>,
    index: RwLock<ObservationIndex>,
    /// Where catch-up goes on from.
    caught_up_to: Mutex<Cursor>,
    /// The last edit or removal in the store that the index reflects.
    changes_seen: AtomicI64,
    /// Held while the index is rebuilt after edits or removals.
    rebuilding: tokio::sync::Mutex<()>,
    /// Batches of ours being stored and indexed; catch-up waits for them
    /// rather than read their rows back (see [`Service::catch_up`]).
    imports_in_flight: AtomicUsize,
    /// Held while an analysis is compared with the stored ones and stored,
    /// so that two requests at once store one.
    storing_analysis: tokio::sync::Mutex<()>,
    /// Encoded tiles; told of every change to the index, under its lock.
    tiles: TileCache,
    pub taxonomy: Taxonomy,
    pub region: Region,
    /// How far back an anonymous report's `observed_at` may lie.
    anonymous_reach_back: Option<time::Duration>,
}

/// What storing an area analysis did.
pub enum StoredOutcome {
    /// A new analysis was stored.
    Created(crate::store::StoredAnalysis),
    /// The newest stored analysis of the area and period says the same:
    /// it is returned instead of a copy.
    Unchanged(crate::store::StoredAnalysis),
}

impl Service {
    /// Loads every stored observation and area into a fresh index. Tiles
    /// are not cached until [`Service::with_tile_cache`] gives them memory.
    pub async fn open(
        store: Arc<dyn Store>,
        taxonomy: Taxonomy,
        region: Region,
    ) -> Result<Self, StoreError> {
        let changes_seen = store.last_change().await?;
        let (index, after) = build_index(store.as_ref()).await?;
        Ok(Service {
            store,
            index: RwLock::new(index),
            caught_up_to: Mutex::new(Cursor {
                seq: after,
                generation: 0,
            }),
            changes_seen: AtomicI64::new(changes_seen),
            rebuilding: tokio::sync::Mutex::new(()),
            imports_in_flight: AtomicUsize::new(0),
            storing_analysis: tokio::sync::Mutex::new(()),
            tiles: TileCache::new(0),
            taxonomy,
            region,
            anonymous_reach_back: None,
        })
    }

    /// Refuses anonymous reports observed more than `reach_back` ago
    /// (`None`: any time in the past).
    #[must_use]
    pub fn with_anonymous_reach_back(mut self, reach_back: Option<time::Duration>) -> Self {
        self.anonymous_reach_back = reach_back;
        self
    }

    /// Caches encoded tiles in up to `max_bytes` (0: none).
    #[must_use]
    pub fn with_tile_cache(mut self, max_bytes: usize) -> Self {
        self.tiles = TileCache::new(max_bytes);
        self
    }

    /// The cache of encoded tiles.
    pub fn tile_cache(&self) -> &TileCache {
        &self.tiles
    }

    /// What a tile's cache key is made from, read together: the index's
    /// version and the tile's stamp (`None` past [`crate::tiles::STAMPED_ZOOM`]).
    ///
    /// Read under the index's read lock, before the tile is made from the
    /// index: writers raise stamps under the write lock after the change
    /// (see [`Service::change_index`]), so the data a tile is made from is
    /// at least as new as the stamp it is cached under.
    pub fn tile_versions(&self, tile: TileId) -> (u64, Option<u64>) {
        let index = self.index();
        (index.version(), self.tiles.stamp(tile))
    }

    /// The store, for the service's own modules: callers go through use
    /// cases, never to the store or the index.
    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Which store holds the data (`sqlite`, `postgres`).
    pub fn store_kind(&self) -> &'static str {
        self.store.kind()
    }

    /// Read access to the index. Hold it briefly: writers wait.
    fn index(&self) -> RwLockReadGuard<'_, ObservationIndex> {
        self.index.read().expect("index lock poisoned")
    }

    pub fn validation_context(&self) -> ValidationContext<'_> {
        ValidationContext::new(
            &self.taxonomy,
            &self.region,
            time::OffsetDateTime::now_utc(),
        )
    }

    /// Changes the index, then tells the tile cache which tiles that made
    /// stale: the points of the records `change` added, or everywhere when
    /// the index was rebuilt or its areas replaced.
    ///
    /// The stamps are raised after the change and before the write lock is
    /// let go. A tile request reads its stamp under the read lock before it
    /// reads the data ([`Service::tile_versions`]), so a tile made from data
    /// older than a stamp is never cached under that stamp, and stamps rise
    /// in the order of the index's versions.
    fn change_index<R>(
        &self,
        change: impl FnOnce(&mut ObservationIndex) -> (R, Option<Changed>),
    ) -> R {
        let mut index = self.index.write().expect("index lock poisoned");
        let first = index.len();
        let (out, changed) = change(&mut index);
        match changed {
            None => {}
            Some(Changed::Added) => self
                .tiles
                .changed(index.positions_from(first), index.version()),
            Some(Changed::Everywhere) => self.tiles.changed_everywhere(index.version()),
        }
        out
    }

    /// Inserts entries into the index (see [`Service::change_index`]);
    /// returns how many were new, and the index's generation they went into.
    fn insert_entries(&self, entries: &[IndexEntry]) -> (usize, u64) {
        self.change_index(|index| {
            let in_bulk = index.takes_in_bulk(entries.len());
            let added = index.insert_many(entries);
            let changed = if in_bulk {
                Changed::Everywhere
            } else {
                Changed::Added
            };
            ((added, self.generation()), (added > 0).then_some(changed))
        })
    }

    /// Which index the cursor is of: it grows when the index is rebuilt.
    /// Read under the index's lock, it names the index one holds.
    fn generation(&self) -> u64 {
        self.caught_up_to.lock().expect("cursor lock").generation
    }

    /// Stores one observation durably and indexes it.
    pub async fn submit(&self, observation: Observation) -> Result<Inserted, StoreError> {
        let inserted = self.store.insert(observation).await?;
        if let Inserted::Created { seq, observation } = &inserted {
            let (_, generation) =
                self.insert_entries(&[IndexEntry::from_observation(*seq, observation)]);
            self.advance_cursor(*seq, *seq, generation);
        }
        Ok(inserted)
    }

    /// Stores a batch in one transaction and indexes what was created.
    pub async fn import(
        &self,
        observations: Vec<Observation>,
        policy: BatchPolicy,
    ) -> Result<BatchOutcome, StoreError> {
        let _in_flight = ImportInFlight::new(self);
        let outcome = self.store.insert_batch(observations, policy).await?;
        let (_, generation) = self.insert_entries(&outcome.created);
        if let Some((first, last)) = outcome.seqs() {
            self.advance_cursor(first, last, generation);
        }
        Ok(outcome)
    }

    /// Indexes what a streamed import stored: through `prepared` when it
    /// fits, else by reading the records back from the store (when the
    /// store found some ids taken, or the index changed meanwhile).
    async fn index_streamed(
        &self,
        outcome: &StreamOutcome,
        prepared: Option<PreparedBulk>,
    ) -> Result<(), StoreError> {
        let Some((first, last)) = outcome.seqs else {
            return Ok(());
        };
        let taken = prepared.and_then(|p| {
            self.change_index(|index| {
                let taken = index.take_prepared(p, outcome.stored, last);
                (
                    taken.then(|| self.generation()),
                    taken.then_some(Changed::Everywhere),
                )
            })
        });
        let generation = if let Some(generation) = taken {
            generation
        } else {
            let (entries, _) = read_entries(self.store.as_ref(), first - 1, last).await?;
            self.insert_entries(&entries).1
        };
        self.advance_cursor(first, last, generation);
        Ok(())
    }

    /// Moves the catch-up cursor past our own writes `first..=last` (one
    /// transaction's: no other write lies among them) when nothing
    /// committed elsewhere lies between the cursor and them, so catch-up
    /// does not read back what is indexed already. Not when they went into
    /// an index since replaced (`generation`): catch-up reads them again.
    fn advance_cursor(&self, first: i64, last: i64, generation: u64) {
        let mut cursor = self.caught_up_to.lock().expect("cursor lock");
        if cursor.generation == generation && first == cursor.seq + 1 {
            cursor.seq = last;
        }
    }

    /// Indexes observations that other processes committed to the store.
    /// Returns how many were new.
    ///
    /// Skipped while a batch of ours is in flight: once committed, its rows
    /// would be read back and indexed twice over, racing the batch's own
    /// indexing.
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        if self.imports_in_flight.load(Ordering::Acquire) > 0 {
            return Ok(0);
        }
        let mut added = 0;
        loop {
            let after = *self.caught_up_to.lock().expect("cursor lock");
            let page = self.store.index_entries_since(after.seq, LOAD_PAGE).await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                return Ok(added);
            };
            let (new, generation) = self.insert_entries(&page);
            added += new;
            let mut cursor = self.caught_up_to.lock().expect("cursor lock");
            if generation != after.generation || cursor.generation != after.generation {
                // Rebuilt meanwhile: the next round reads on from the new cursor.
                return Ok(added);
            }
            cursor.seq = cursor.seq.max(last);
            if page.len() < LOAD_PAGE {
                return Ok(added);
            }
        }
    }

    /// Rebuilds the index from the store when observations were edited or
    /// removed since it was built, here or by another process: the index
    /// can add records but not take them out. Returns whether it rebuilt.
    /// Waits for imports of ours in flight (the next round rebuilds).
    pub async fn refresh_after_changes(&self) -> Result<bool, StoreError> {
        let _one_at_a_time = self.rebuilding.lock().await;
        let last = self.store.last_change().await?;
        if last <= self.changes_seen.load(Ordering::Acquire)
            || self.imports_in_flight.load(Ordering::Acquire) > 0
        {
            return Ok(false);
        }
        let (mut fresh, after) = build_index(self.store.as_ref()).await?;
        self.change_index(|index| {
            fresh.follow_versions_of(index);
            *index = fresh;
            // Under the index's lock: whatever went into the old index
            // after `after` is read again by catch-up.
            let mut cursor = self.caught_up_to.lock().expect("cursor lock");
            *cursor = Cursor {
                seq: after,
                generation: cursor.generation + 1,
            };
            ((), Some(Changed::Everywhere))
        });
        self.changes_seen.store(last, Ordering::Release);
        self.catch_up().await?;
        Ok(true)
    }

    /// Reloads area polygons into the index after a change.
    pub async fn reload_areas(&self) -> Result<(), StoreError> {
        let areas = self.store.list_areas().await?;
        self.change_index(|index| (index.set_areas(&areas), Some(Changed::Everywhere)));
        Ok(())
    }

    /// Whether the index holds this id.
    pub fn knows(&self, id: &Uuid) -> bool {
        self.index().contains_id(id)
    }

    pub fn observation_count(&self) -> usize {
        self.index().len()
    }

    /// Writes an audit entry of what `who` did; a failure is logged, not
    /// fatal to what was done.
    pub async fn audit(&self, who: &crate::model::Principal, action: &str, detail: String) {
        audit(self.store.as_ref(), who, action, detail).await;
    }
}

/// Where catch-up goes on from: every observation with a sequence number up
/// to `seq` is in the index of this `generation`.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    seq: i64,
    generation: u64,
}

/// An index of everything stored, and the last sequence number it holds.
async fn build_index(store: &dyn Store) -> Result<(ObservationIndex, i64), StoreError> {
    let (entries, after) = read_entries(store, 0, i64::MAX).await?;
    let areas = store.list_areas().await?;
    let index = tokio::task::spawn_blocking(move || {
        let mut index = ObservationIndex::from_entries(entries);
        index.set_areas(&areas);
        index
    })
    .await
    .map_err(|_| StoreError::Closed)?;
    Ok((index, after))
}

/// Writes an audit entry to `store`; a failure is logged, not fatal.
pub(crate) async fn audit(
    store: &dyn Store,
    who: &crate::model::Principal,
    action: &str,
    detail: String,
) {
    let entry = crate::store::AuditEntry {
        at: time::OffsetDateTime::now_utc(),
        actor: who.actor.clone(),
        action: action.into(),
        detail,
    };
    if let Err(e) = store.append_audit(&entry).await {
        tracing::error!(error = %crate::error_chain(&e), "audit write failed");
    }
}

/// The index entries stored after sequence number `after` up to `until`,
/// read page by page, and the last sequence number read (`after` if none).
async fn read_entries(
    store: &dyn Store,
    mut after: i64,
    until: i64,
) -> Result<(Vec<IndexEntry>, i64), StoreError> {
    let mut entries = Vec::new();
    while after < until {
        let page = store.index_entries_since(after, LOAD_PAGE).await?;
        let full = page.len() == LOAD_PAGE;
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        entries.extend(page.into_iter().filter(|e| e.seq <= until));
        after = last;
        if !full {
            break;
        }
    }
    Ok((entries, after))
}

/// Which cached tiles a change of the index made stale.
enum Changed {
    /// Those around the records added.
    Added,
    Everywhere,
}

/// Counts a batch as in flight for as long as it lives.
struct ImportInFlight<'a>(&'a AtomicUsize);

impl<'a> ImportInFlight<'a> {
    fn new(service: &'a Service) -> Self {
        service.imports_in_flight.fetch_add(1, Ordering::AcqRel);
        ImportInFlight(&service.imports_in_flight)
    }
}

impl Drop for ImportInFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a streamed import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Parse(#[from] crate::ingest::ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Prepares the index for a batch whose rows are all read, while the store
/// commits it (see [`crate::index::PreparedBulk`]).
pub type PrepareIndex = Box<dyn FnOnce(BatchColumns) -> Option<PreparedBulk> + Send>;

/// Parses and validates an input while the store writes what is already
/// validated, all in one transaction: the parse runs on a blocking thread,
/// the store's writer takes the chunks as they come. Nothing is stored when
/// parsing fails, or when a record is invalid and `partial` is false; the
/// store's own policy handles ids stored before with other content.
///
/// With `prepare`, the batch's index columns are gathered as the chunks
/// pass, and the parsing thread goes on to prepare the index for the batch
/// once it has handed the last chunk to the store, while the store files
/// the ids left and commits.
pub async fn store_while_parsing<F>(
    store: &dyn Store,
    partial: bool,
    parse: F,
    prepare: Option<PrepareIndex>,
) -> Result<(crate::ingest::Checked, StreamOutcome, Option<PreparedBulk>), ImportError>
where
    F: FnOnce(
            &mut (dyn FnMut(Vec<Observation>) + Send),
        ) -> Result<crate::ingest::Checked, crate::ingest::ParseError>
        + Send
        + 'static,
{
    use crate::store::ImportChunk;
    // Two chunks in flight: enough to keep both sides busy, little memory.
    let (tx, rx) = std::sync::mpsc::sync_channel::<ImportChunk>(2);
    let parsing = tokio::task::spawn_blocking(move || {
        // With `prepare`, the batch's columns are gathered here as it goes.
        let mut batch = prepare.as_ref().map(|_| BatchColumns::default());
        let mut cells = CellCache::default();
        let result = parse(&mut |chunk| {
            let cell_of: Vec<u64> = chunk.iter().map(|o| cells.cell(o.lon, o.lat)).collect();
            if let Some(batch) = &mut batch {
                let rows: Vec<(&Observation, u64)> =
                    chunk.iter().zip(cell_of.iter().copied()).collect();
                batch.add(&rows);
            }
            // A send fails only when the writer gave up; parsing finishes anyway
            // so that every rejection can be reported.
            let _ = tx.send(ImportChunk::Records(chunk, cell_of));
        });
        let mut prepared = None;
        if matches!(&result, Ok(c) if partial || c.rejected == 0) {
            let _ = tx.send(ImportChunk::Finish);
            prepared = prepare
                .zip(batch)
                .and_then(|(prepare, batch)| prepare(batch));
        }
        (result, prepared)
    });
    let policy = if partial {
        BatchPolicy::Partial
    } else {
        BatchPolicy::AllOrNothing
    };
    let stored = store.insert_stream(rx, policy).await;
    let (checked, prepared) = parsing.await.map_err(|_| StoreError::Closed)?;
    Ok((checked?, stored?, prepared))
}

impl Service {
    /// [`store_while_parsing`], then indexes what was stored.
    pub async fn import_streamed<F>(
        self: &Arc<Self>,
        partial: bool,
        parse: F,
    ) -> Result<(crate::ingest::Checked, StreamOutcome), ImportError>
    where
        F: FnOnce(
                &mut (dyn FnMut(Vec<Observation>) + Send),
            ) -> Result<crate::ingest::Checked, crate::ingest::ParseError>
            + Send
            + 'static,
    {
        let _in_flight = ImportInFlight::new(self);
        let service = Arc::clone(self);
        let prepare: PrepareIndex = Box::new(move |batch| {
            // The copy is taken under the read lock; the preparation holds none.
            let base = service.index().bulk_base(batch.len())?;
            base.prepare(batch)
        });
        let (checked, outcome, prepared) =
            store_while_parsing(self.store.as_ref(), partial, parse, Some(prepare)).await?;
        self.index_streamed(&outcome, prepared).await?;
        Ok((checked, outcome))
    }
}

impl Service {
    /// The analysis of one area and period (`None` for an unknown area):
    /// the index's figures, the walk findings' follow-up from the store,
    /// and the indicators of the area's actions.
    pub async fn analyse_area(
        self: &Arc<Self>,
        area_id: &str,
        period: crate::model::Period,
        base: crate::index::Filter,
    ) -> Result<Option<crate::analysis::AreaAnalysis>, StoreError> {
        let Some(area) = self
            .store
            .list_areas()
            .await?
            .into_iter()
            .find(|a| a.id == area_id)
        else {
            return Ok(None);
        };
        let (from, to) = period.unix_bounds();
        let finding_filter = crate::index::Filter {
            kinds: vec![crate::model::Kind::WalkFinding],
            area: Some(area.id.clone()),
            from: Some(from),
            to: Some(to),
            ..crate::index::Filter::default()
        };
        let (ids, _) = self
            .index()
            .select(&finding_filter, None, MAX_ANALYSED_FINDINGS);
        let findings = self.store.get_many(&ids).await?;
        let actions: Vec<crate::model::Action> = self
            .store
            .list_actions()
            .await?
            .into_iter()
            .filter(|a| a.area.as_deref() == Some(area_id))
            .collect();
        let service = Arc::clone(self);
        let analysis = tokio::task::spawn_blocking(move || {
            let input = crate::analysis::AreaInput {
                area: &area,
                period,
                base,
                region: service.region,
                findings: &findings,
                actions: &actions,
                now: time::OffsetDateTime::now_utc(),
            };
            crate::analysis::analyse_area(&service.index(), &input)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        Ok(Some(analysis))
    }

    /// Generates and stores the analysis of an area and period.
    pub async fn store_area_analysis(
        self: &Arc<Self>,
        area_id: &str,
        period: crate::model::Period,
    ) -> Result<Option<StoredOutcome>, StoreError> {
        let _one_at_a_time = self.storing_analysis.lock().await;
        let Some(analysis) = self
            .analyse_area(area_id, period, crate::index::Filter::default())
            .await?
        else {
            return Ok(None);
        };
        let body = serde_json::to_value(&analysis).map_err(|e| StoreError::Corrupt {
            op: crate::store::Op::new("encoding an area analysis"),
            reason: e.to_string(),
        })?;
        // The newest of this period (the list is newest period first, then
        // newest first): a second click stores no copy.
        let newest = self
            .store
            .list_analyses(area_id)
            .await?
            .into_iter()
            .find(|a| a.period == period);
        if let Some(newest) = newest
            && same_but_time(&newest.body, &body)
        {
            return Ok(Some(StoredOutcome::Unchanged(newest)));
        }
        let stored = crate::store::StoredAnalysis {
            id: Uuid::now_v7(),
            area_id: area_id.to_owned(),
            period,
            created_at: analysis.generated_at,
            body,
        };
        self.store.save_analysis(&stored).await?;
        Ok(Some(StoredOutcome::Created(stored)))
    }

    /// Stores the analysis of the last complete period of `kind` for every
    /// area that has none yet; returns how many were made.
    pub async fn scheduled_analyses(
        self: &Arc<Self>,
        kind: crate::model::PeriodKind,
        now: time::OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let period = crate::model::Period::containing_instant(kind, now).offset(-1);
        let mut made = 0;
        for area in self.store.list_areas().await? {
            let done = self
                .store
                .list_analyses(&area.id)
                .await?
                .iter()
                .any(|a| a.period == period);
            if !done
                && let Some(StoredOutcome::Created(_)) =
                    self.store_area_analysis(&area.id, period).await?
            {
                made += 1;
            }
        }
        Ok(made)
    }
}

/// Whether two analyses say the same, whenever each was generated. Both
/// go through JSON text first, as a stored one has: parsing a float back
/// may differ from the float written in its last bit.
fn same_but_time(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let without_time = |v: &serde_json::Value| {
        let mut v: serde_json::Value = serde_json::from_str(&v.to_string()).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("generated_at");
        }
        v
    };
    without_time(a) == without_time(b)
}
