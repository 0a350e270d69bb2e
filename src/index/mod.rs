//! The in-memory index: every observation's position and filterable
//! attributes, column by column, with an R-tree over the points (grouped by
//! resolution-12 cell) and the observation's H3 cell at every served
//! resolution: its resolution-12 cell and where the coarser cells holding
//! it are not that cell's digit ancestors (`exact_cells`).
//!
//! Synchronous and self-contained: no store, no HTTP. The service loads it
//! from the store at start and inserts every acknowledged write into it; it
//! is never rebuilt for a single write.
//!
//! Memory per observation is about 130 bytes for the columns, R-tree leaf and
//! id map, about 70 more for the cell runs (`cell_runs`), and about 15 for
//! the exact coarser cells and the runs' movers.

mod bulk;
mod cell_cache;
mod cell_runs;
mod exact_cells;
mod filter;
mod hexagons;
mod interner;
mod point_tree;
mod spatial;

pub use filter::{Filter, HourSet};
pub use hexagons::{
    CellCount, CellSummary, MAX_RESOLUTION, MIN_RESOLUTION, sum_of_kinds, touching_reach_m,
};
pub use spatial::Nearby;

use geo::{BoundingRect, Contains, MultiPolygon, Point, Rect};
use h3o::{CellIndex, LatLng, Resolution};
use rayon::prelude::*;
use rstar::AABB;
use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::model::{Area, Kind, Observation, swedish_time};
pub use bulk::{BatchColumns, BulkBase, PreparedBulk};
pub use cell_cache::CellCache;
use exact_cells::{CellLocator, ExactCells};
use interner::Interner;
use point_tree::PointTree;

/// The finest H3 resolution kept per observation. Resolution 12 cells are
/// about 300 m² — finer than any position a phone reports outdoors.
pub const BASE_RESOLUTION: Resolution = Resolution::Twelve;

/// What the index needs of an observation: position, cell and the
/// attributes filters look at. Loaded from the store at start.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The store's commit sequence number, for catching up with writes made
    /// by other processes.
    pub seq: i64,
    pub id: Uuid,
    pub kind: Kind,
    pub lon: f64,
    pub lat: f64,
    /// H3 cell at [`BASE_RESOLUTION`], as its 64-bit index.
    pub cell: u64,
    /// `observed_at` as Unix seconds.
    pub observed_at: i64,
    pub category: String,
    pub walk_id: Option<Uuid>,
    pub organisation: Option<String>,
}

impl IndexEntry {
    pub fn from_observation(seq: i64, obs: &Observation) -> Self {
        Self::with_cell(seq, obs, base_cell(obs.lon, obs.lat).map_or(0, u64::from))
    }

    /// Like [`IndexEntry::from_observation`], with the cell known already.
    pub fn with_cell(seq: i64, obs: &Observation, cell: u64) -> Self {
        IndexEntry {
            seq,
            id: obs.id,
            kind: obs.kind,
            lon: obs.lon,
            lat: obs.lat,
            cell,
            observed_at: obs.observed_at.unix_timestamp(),
            category: obs.category.clone(),
            walk_id: obs.walk_id,
            organisation: obs.organisation.clone(),
        }
    }
}

/// What the index's columns take from a record, borrowed: from an
/// [`IndexEntry`], or from an [`Observation`] with its cell (an import
/// gathers its batch that way, without an entry per record).
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub id: Uuid,
    pub kind: Kind,
    pub lon: f64,
    pub lat: f64,
    pub cell: u64,
    /// Unix seconds.
    pub observed_at: i64,
    pub category: &'a str,
    pub walk_id: Option<Uuid>,
    pub organisation: Option<&'a str>,
}

/// A record the index's columns can take.
pub trait AsRow: Sync {
    fn row(&self) -> Row<'_>;
}

impl AsRow for IndexEntry {
    fn row(&self) -> Row<'_> {
        Row {
            id: self.id,
            kind: self.kind,
            lon: self.lon,
            lat: self.lat,
            cell: self.cell,
            observed_at: self.observed_at,
            category: &self.category,
            walk_id: self.walk_id,
            organisation: self.organisation.as_deref(),
        }
    }
}

/// An observation with its H3 cell at [`BASE_RESOLUTION`].
impl AsRow for (&Observation, u64) {
    fn row(&self) -> Row<'_> {
        let (obs, cell) = self;
        Row {
            id: obs.id,
            kind: obs.kind,
            lon: obs.lon,
            lat: obs.lat,
            cell: *cell,
            observed_at: obs.observed_at.unix_timestamp(),
            category: &obs.category,
            walk_id: obs.walk_id,
            organisation: obs.organisation.as_deref(),
        }
    }
}

/// One observation as [`ObservationIndex::visit`] shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visit<'a> {
    /// The index's record number, for [`ObservationIndex::cell_of`].
    pub record: u32,
    pub id: Uuid,
    pub lon: f64,
    pub lat: f64,
    /// Unix seconds.
    pub observed_at: i64,
    pub kind: Kind,
    pub category: &'a str,
    /// H3 cell at [`BASE_RESOLUTION`].
    pub cell: u64,
}

/// An observation as a map point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointRecord<'a> {
    /// The index's record number, stable for the life of the process.
    pub record: u32,
    pub lon: f64,
    pub lat: f64,
    pub kind: Kind,
    pub category: &'a str,
}

/// The H3 cell at [`BASE_RESOLUTION`] containing a WGS 84 point.
pub fn base_cell(lon: f64, lat: f64) -> Option<CellIndex> {
    LatLng::new(lat, lon)
        .ok()
        .map(|ll| ll.to_cell(BASE_RESOLUTION))
}

struct AreaMembers {
    id: String,
    name: String,
    geometry: MultiPolygon<f64>,
    bbox: Option<Rect<f64>>,
    /// Indices of member observations, ascending.
    members: Vec<u32>,
}

impl AreaMembers {
    fn contains(&self, lon: f64, lat: f64) -> bool {
        area_contains(self.bbox, &self.geometry, lon, lat)
    }
}

/// Whether an area with outline `geometry` (bounding box `bbox`) holds the point.
fn area_contains(
    bbox: Option<Rect<f64>>,
    geometry: &MultiPolygon<f64>,
    lon: f64,
    lat: f64,
) -> bool {
    let p = Point::new(lon, lat);
    bbox.is_some_and(|b| b.contains(&p) || b.min() == p.0 || b.max() == p.0)
        && geometry.contains(&p)
}

/// The index's per-record columns (record `i` is entry `i` of each) and
/// the interners behind them.
#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    by_id: FxHashMap<Uuid, u32>,
    points: Vec<[f64; 2]>,
    /// Resolution-12 cells; [`Columns::cell_at`] gives the coarser ones.
    cells: Vec<u64>,
    /// Where a record's coarser cells are not the digit ancestors.
    exact: ExactCells,
    times: Vec<i64>,
    /// Record keys for public rounding, see [`crate::privacy`].
    keys: Vec<u32>,
    hours: Vec<u8>,
    kinds: Vec<u8>,
    categories: Vec<u16>,
    walks: Vec<u32>,
    organisations: Vec<u16>,
    category_names: Interner<String>,
    walk_ids: Interner<Uuid>,
    organisation_names: Interner<String>,
}

impl Columns {
    /// Empty columns, with interned id 0 reserved for "none" (walks and
    /// organisations).
    fn new() -> Self {
        let mut c = Columns::default();
        c.walk_ids.intern(Uuid::nil());
        c.organisation_names.intern(String::new());
        c
    }

    /// Appends the entries with new ids (the first of any repeated id);
    /// the derived columns are computed in parallel. Returns how many were
    /// appended.
    fn push_many<E: AsRow>(&mut self, entries: &[E]) -> usize {
        let first = self.ids.len();
        self.by_id.reserve(entries.len());
        let mut fresh = Vec::with_capacity(entries.len());
        for e in entries {
            let row = e.row();
            let i = u32::try_from(first + fresh.len()).expect("fewer than 2^32 observations");
            if let std::collections::hash_map::Entry::Vacant(slot) = self.by_id.entry(row.id) {
                slot.insert(i);
                fresh.push(row);
            }
        }
        let derived: Vec<(u32, u8)> = fresh
            .par_iter()
            .map(|row| {
                (
                    crate::privacy::record_key(&row.id),
                    swedish_time::local_hour(row.observed_at),
                )
            })
            .collect();
        let n = fresh.len();
        self.ids.reserve(n);
        self.points.reserve(n);
        self.cells.reserve(n);
        self.times.reserve(n);
        self.keys.reserve(n);
        self.hours.reserve(n);
        self.kinds.reserve(n);
        self.categories.reserve(n);
        self.walks.reserve(n);
        self.organisations.reserve(n);
        for (row, (key, hour)) in fresh.into_iter().zip(derived) {
            self.push(row, key, hour);
        }
        n
    }

    /// Finds the exact cells of the records from `first` on, the last
    /// without them.
    fn locate_from(&mut self, first: usize) {
        debug_assert_eq!(self.exact.len(), first);
        let located = CellLocator::default().locate(&self.points[first..], &self.cells[first..]);
        self.exact.extend(located);
    }

    /// Record `i`'s H3 cell at `res` (5–12): the cell that holds its point.
    #[inline]
    fn cell_at(&self, i: usize, res: u8) -> u64 {
        self.exact.cell(i, self.cells[i], res)
    }

    /// Appends one record to every column but the id map and the exact
    /// cells (see [`Columns::locate_from`]), with its record key and local
    /// hour.
    fn push(&mut self, row: Row<'_>, key: u32, hour: u8) {
        self.ids.push(row.id);
        self.points.push([row.lon, row.lat]);
        self.cells.push(row.cell);
        self.times.push(row.observed_at);
        self.keys.push(key);
        self.hours.push(hour);
        self.kinds.push(row.kind as u8);
        let (category, walk, organisation) = intern_attributes(
            &mut self.category_names,
            &mut self.walk_ids,
            &mut self.organisation_names,
            row,
        );
        self.categories.push(category);
        self.walks.push(walk);
        self.organisations.push(organisation);
    }
}

/// The index. Record `i` is the `i`-th inserted observation; every column has
/// one entry per record.
#[derive(Default)]
pub struct ObservationIndex {
    columns: Columns,
    tree: PointTree,
    /// Per-cell runs answering kind + time questions without a scan.
    runs: cell_runs::CellRuns,
    areas: Vec<AreaMembers>,
    max_seq: i64,
    /// Bumped by every change, for cache validation (`ETag`s).
    version: u64,
}

/// The cell runs and the R-tree over these columns, built side by side.
fn build_search_structures(columns: &Columns) -> (cell_runs::CellRuns, PointTree) {
    rayon::join(
        || cell_runs::CellRuns::build(columns),
        || PointTree::build(&columns.points, &columns.cells),
    )
}

/// For each area (bounding box and outline), the records in `new` whose
/// point it holds, ascending.
fn new_members<'a>(
    areas: impl Iterator<Item = (Option<Rect<f64>>, &'a MultiPolygon<f64>)>,
    points: &[[f64; 2]],
    new: std::ops::Range<usize>,
) -> Vec<Vec<u32>> {
    areas
        .map(|(bbox, geometry)| {
            new.clone()
                .into_par_iter()
                .filter(|&i| area_contains(bbox, geometry, points[i][0], points[i][1]))
                .map(|i| u32::try_from(i).expect("fewer than 2^32 records"))
                .collect()
        })
        .collect()
}

/// The interned category, walk and organisation of `e`.
fn intern_attributes(
    categories: &mut Interner<String>,
    walks: &mut Interner<Uuid>,
    organisations: &mut Interner<String>,
    row: Row<'_>,
) -> (u16, u32, u16) {
    let category = match categories.get(row.category) {
        Some(c) => c,
        None => categories.intern(row.category.to_owned()),
    };
    let walk = row.walk_id.map_or(NONE, |w| walks.intern(w));
    let organisation = match row.organisation {
        None => 0,
        Some(o) => match organisations.get(o) {
            Some(id) => id,
            None => organisations.intern(o.to_owned()),
        },
    };
    (
        u16::try_from(category).expect("fewer than 65536 categories"),
        walk,
        u16::try_from(organisation).expect("fewer than 65536 organisations"),
    )
}

/// Interned id 0 means "none" for walks and organisations.
const NONE: u32 = 0;

impl ObservationIndex {
    pub fn new() -> Self {
        ObservationIndex {
            columns: Columns::new(),
            ..ObservationIndex::default()
        }
    }

    /// Builds an index from many entries at once (bulk-loading the R-tree).
    pub fn from_entries(entries: impl IntoIterator<Item = IndexEntry>) -> Self {
        let mut idx = ObservationIndex::new();
        idx.push_many(&entries.into_iter().collect::<Vec<_>>());
        idx.rebuild_search_structures();
        idx
    }

    pub fn len(&self) -> usize {
        self.columns.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.ids.is_empty()
    }

    /// Highest store sequence number seen.
    pub fn max_seq(&self) -> i64 {
        self.max_seq
    }

    pub fn contains_id(&self, id: &Uuid) -> bool {
        self.columns.by_id.contains_key(id)
    }

    /// Inserts one observation. Idempotent: an id already present is ignored
    /// (the same write may arrive from the writer and from catch-up).
    /// Returns whether it was new.
    pub fn insert(&mut self, entry: &IndexEntry) -> bool {
        self.max_seq = self.max_seq.max(entry.seq);
        if self.columns.by_id.contains_key(&entry.id) {
            return false;
        }
        let i = self.push_columns(entry);
        self.version += 1;
        self.tree.insert([entry.lon, entry.lat], entry.cell, i);
        let columns = &self.columns;
        self.runs.insert(
            |res| columns.cell_at(i as usize, res),
            columns.exact.moved(i as usize, u8::MAX),
            entry.kind as u8,
            entry.observed_at,
            columns.keys[i as usize],
        );
        for area in &mut self.areas {
            if area.contains(entry.lon, entry.lat) {
                area.members.push(i);
            }
        }
        true
    }

    /// Inserts many observations. Large batches rebuild the R-tree by bulk
    /// loading, which is faster than inserting one by one.
    pub fn insert_many(&mut self, entries: &[IndexEntry]) -> usize {
        if !self.takes_in_bulk(entries.len()) {
            return entries.iter().filter(|e| self.insert(e)).count();
        }
        let first_new = self.columns.ids.len();
        self.push_many(entries);
        if self.columns.ids.len() == first_new {
            return 0;
        }
        self.rebuild_search_structures();
        self.version += 1;
        let new = first_new..self.columns.ids.len();
        let added = new.len();
        let members = new_members(
            self.areas.iter().map(|a| (a.bbox, &a.geometry)),
            &self.columns.points,
            new,
        );
        for (area, members) in self.areas.iter_mut().zip(members) {
            area.members.extend(members);
        }
        added
    }

    /// Whether [`Self::insert_many`] takes a batch of `n` by rebuilding the
    /// search structures rather than inserting one by one.
    pub fn takes_in_bulk(&self, n: usize) -> bool {
        n >= 10_000 && n >= self.len() / 4
    }

    /// Appends the columns of the entries with new ids (the first of any
    /// repeated id).
    fn push_many(&mut self, entries: &[IndexEntry]) {
        if let Some(last) = entries.iter().map(|e| e.seq).max() {
            self.max_seq = self.max_seq.max(last);
        }
        let first = self.columns.ids.len();
        self.columns.push_many(entries);
        self.columns.locate_from(first);
    }

    fn push_columns(&mut self, e: &IndexEntry) -> u32 {
        self.max_seq = self.max_seq.max(e.seq);
        let i = u32::try_from(self.columns.ids.len()).expect("fewer than 2^32 observations");
        self.columns.by_id.insert(e.id, i);
        self.columns.push(
            e.row(),
            crate::privacy::record_key(&e.id),
            swedish_time::local_hour(e.observed_at),
        );
        let (bits, cells) = exact_cells::locate_one(e.lon, e.lat, e.cell);
        self.columns.exact.push(bits, cells);
        i
    }

    /// Rebuilds the R-tree and the cell runs from the columns.
    fn rebuild_search_structures(&mut self) {
        (self.runs, self.tree) = build_search_structures(&self.columns);
    }

    /// The positions (longitude, latitude) of the records from `first` on,
    /// in the order they were inserted: what a change from length `first`
    /// added.
    pub fn positions_from(&self, first: usize) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.columns
            .points
            .get(first..)
            .unwrap_or_default()
            .iter()
            .map(|p| (p[0], p[1]))
    }

    /// The H3 cell at `res` (5–12) holding a record's point.
    pub fn cell_of(&self, record: u32, res: Resolution) -> Option<CellIndex> {
        let i = record as usize;
        (i < self.len())
            .then(|| CellIndex::try_from(self.columns.cell_at(i, u8::from(res))).ok())
            .flatten()
    }

    /// A number that changes whenever the index does.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Makes this index, built to replace `previous`, count its versions on
    /// from there: answers kept under an older version are never taken for
    /// this one's.
    pub fn follow_versions_of(&mut self, previous: &ObservationIndex) {
        self.version = self.version.max(previous.version) + 1;
    }

    /// A cell's outline in Web Mercator world coordinates (see
    /// [`crate::mercator::world`]), kept after first use for cells with data.
    pub fn cell_ring(&self, cell: CellIndex) -> std::borrow::Cow<'_, [(f64, f64)]> {
        self.runs.ring(cell)
    }

    /// Each area's id, name and outline.
    pub fn areas(&self) -> impl Iterator<Item = (&str, &str, &MultiPolygon<f64>)> {
        self.areas
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str(), &a.geometry))
    }

    /// Matching observations as points: record number, position, kind and
    /// category; at most `limit`.
    pub fn points(&self, filter: &Filter, limit: usize) -> Vec<PointRecord<'_>> {
        let Some(compiled) = filter.compile(self) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        self.for_each_match(&compiled, |i| {
            if out.len() < limit {
                let r = i as usize;
                out.push(PointRecord {
                    record: i,
                    lon: self.columns.points[r][0],
                    lat: self.columns.points[r][1],
                    kind: Kind::from_index(self.columns.kinds[r]).unwrap_or(Kind::Insecurity),
                    category: self
                        .columns
                        .category_names
                        .name(u32::from(self.columns.categories[r]))
                        .map_or("", String::as_str),
                });
            }
        });
        out
    }

    /// Replaces the set of areas and computes their members.
    pub fn set_areas(&mut self, areas: &[Area]) {
        self.version += 1;
        self.areas = areas
            .iter()
            .map(|a| {
                let bbox = a.geometry.bounding_rect();
                let mut area = AreaMembers {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    geometry: a.geometry.clone(),
                    bbox,
                    members: Vec::new(),
                };
                if let Some(b) = bbox {
                    let env = AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
                    area.members = self
                        .tree
                        .locate_in_envelope(&env)
                        .filter(|p| {
                            area.geometry
                                .contains(&Point::new(p.geom()[0], p.geom()[1]))
                        })
                        .map(|p| p.data)
                        .collect();
                    area.members.sort_unstable();
                }
                area
            })
            .collect();
    }

    /// The ids of the areas that contain a point.
    pub fn areas_containing(&self, lon: f64, lat: f64) -> Vec<&str> {
        self.areas
            .iter()
            .filter(|a| a.contains(lon, lat))
            .map(|a| a.id.as_str())
            .collect()
    }

    /// Ids of matching observations, ascending, strictly after `after`, at
    /// most `limit`. Returns whether more remain. UUID v7 ids ascend with
    /// submission time, so pages run oldest first.
    pub fn select(&self, filter: &Filter, after: Option<Uuid>, limit: usize) -> (Vec<Uuid>, bool) {
        let Some(compiled) = filter.compile(self) else {
            return (Vec::new(), false);
        };
        // Keep the `limit + 1` smallest ids above the cursor in a max-heap.
        let mut heap = std::collections::BinaryHeap::with_capacity(limit.min(1 << 16) + 1);
        self.for_each_match(&compiled, |i| {
            let id = self.columns.ids[i as usize];
            if after.is_some_and(|a| id <= a) {
                return;
            }
            if heap.len() <= limit {
                heap.push(id);
            } else if heap.peek().is_some_and(|top| id < *top) {
                heap.pop();
                heap.push(id);
            }
        });
        let mut ids = heap.into_sorted_vec();
        let more = ids.len() > limit;
        ids.truncate(limit);
        (ids, more)
    }

    /// Calls `f` with every observation matching `filter`.
    pub fn visit(&self, filter: &Filter, mut f: impl FnMut(Visit<'_>)) {
        let Some(compiled) = filter.compile(self) else {
            return;
        };
        self.for_each_match(&compiled, |i| {
            let record = i;
            let i = i as usize;
            let [lon, lat] = self.columns.points[i];
            f(Visit {
                record,
                id: self.columns.ids[i],
                lon,
                lat,
                observed_at: self.columns.times[i],
                kind: Kind::from_index(self.columns.kinds[i]).unwrap_or(Kind::Insecurity),
                category: self
                    .columns
                    .category_names
                    .name(u32::from(self.columns.categories[i]))
                    .map_or("", String::as_str),
                cell: self.columns.cells[i],
            });
        });
    }

    /// How many observations match.
    pub fn count(&self, filter: &Filter) -> usize {
        let Some(compiled) = filter.compile(self) else {
            return 0;
        };
        let mut n = 0;
        self.for_each_match(&compiled, |_| n += 1);
        n
    }

    /// How many observations match, with their cell key (see [`crate::privacy`]).
    pub fn count_keyed(&self, filter: &Filter) -> crate::privacy::Keyed {
        let mut c = crate::privacy::Keyed::default();
        if let Some(compiled) = filter.compile(self) {
            self.for_each_match(&compiled, |i| c.add(self.columns.keys[i as usize]));
        }
        c
    }

    /// Calls `f` with the record number of every observation matching the
    /// filter, using the narrowest candidate set: an area's members, the
    /// R-tree for a bounding box, or every record.
    fn for_each_match(&self, c: &filter::Compiled, mut f: impl FnMut(u32)) {
        if let Some(a) = c.area {
            for &i in &self.areas[a].members {
                if self.matches(c, i) {
                    f(i);
                }
            }
        } else if let Some(env) = c.envelope {
            for p in self.tree.locate_in_envelope(&env) {
                if self.matches(c, p.data) {
                    f(p.data);
                }
            }
        } else {
            for i in 0..u32::try_from(self.columns.ids.len()).expect("fewer than 2^32") {
                if self.matches(c, i) {
                    f(i);
                }
            }
        }
    }

    #[inline]
    fn matches(&self, c: &filter::Compiled, record: u32) -> bool {
        let i = record as usize;
        let t = self.columns.times[i];
        c.kinds & (1 << self.columns.kinds[i]) != 0
            && t >= c.from
            && t < c.to
            && c.hours.contains(self.columns.hours[i])
            && c.categories
                .as_ref()
                .is_none_or(|set| set[self.columns.categories[i] as usize])
            && c.walk.is_none_or(|w| self.columns.walks[i] == w)
            && c.organisation
                .is_none_or(|o| self.columns.organisations[i] == o)
            && c.envelope.is_none_or(|env| {
                let [lon, lat] = self.columns.points[i];
                let (lo, hi) = (env.lower(), env.upper());
                lon >= lo[0] && lon <= hi[0] && lat >= lo[1] && lat <= hi[1]
            })
    }
}

#[cfg(test)]
mod tests;
