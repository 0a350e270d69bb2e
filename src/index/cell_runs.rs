//! Pre-aggregated runs for the commonest hexagon question — counts per cell
//! by kind within a time range, for a map tile or the whole region — so that
//! answering it costs binary searches per cell instead of a pass over every
//! record.
//!
//! At resolutions 9, 10 and 11 every non-empty cell keeps its observations
//! as one run sorted by (kind, `observed_at`), with their record keys
//! alongside (for the cell keys of public rounding). A count for a time range
//! is two binary searches per kind; the cell key is the sum of the keys
//! between them. Each level holds the records' own cells there (see
//! [`super::exact_cells`]), so a record in a run at resolution 10 need not
//! be in a run at 11 whose parent that cell is.
//!
//! Coarser resolutions add up the resolution-9 runs by their digit
//! ancestor, then move the records whose cell there is not that ancestor
//! ("movers", a few per cent, each listed with its resolution-9 run) to
//! their own cell. A run's movers are grouped by the cell they move to and
//! sorted by time within it, with key sums like a run's, so a time filter
//! moves a group with binary searches, not a record at a time. An R-tree over the cells' centres finds the cells near a
//! tile. Writes insert into the runs in place (new observations sort last in
//! their kind, so little moves).

use std::sync::OnceLock;

use h3o::{CellIndex, LatLng};
use rayon::prelude::*;
use rstar::{AABB, RTree, primitives::GeomWithData};
use rustc_hash::FxHashMap;

use super::Columns;
use super::exact_cells::ExactCells;
use super::hexagons::{ancestor, widen};
use crate::model::Region;

/// Resolutions that keep runs; coarser ones are summed from the first.
const RUN_RESOLUTIONS: [u8; 3] = [9, 10, 11];
/// The finest resolution served from runs.
pub const FINEST: u8 = 11;
/// The coarsest resolution with runs of its own.
pub const COARSEST: u8 = RUN_RESOLUTIONS[0];

/// `observed_at` is stored offset by this much so that it sorts as unsigned.
const TIME_BIAS: i64 = 1 << 61;
const KIND_SHIFT: u32 = 62;

/// Kind in the top two bits, the biased time below: runs sort by kind,
/// then time.
fn order_key(kind: u8, t: i64) -> u64 {
    let t = t.clamp(-TIME_BIAS, TIME_BIAS - 1) + TIME_BIAS;
    (u64::from(kind) << KIND_SHIFT) | u64::try_from(t).unwrap_or(0)
}

struct Run {
    cell: u64,
    order: Vec<u64>,
    /// Record keys summed (mod 2³²) over `order[..i]`, for `i` up to its
    /// length: a range's cell key is a difference of two.
    prefix: Vec<u32>,
    /// Where each kind's entries end: kind `k` is `ends[k - 1]..ends[k]`.
    ends: [u32; 3],
    /// The cell's outline in Web Mercator world coordinates, made on first use.
    ring: OnceLock<Box<[(f64, f64)]>>,
    /// At [`COARSEST`], the records whose cell at a coarser resolution is
    /// not this cell's ancestor there: per resolution from 5, sorted like
    /// `order`.
    movers: Option<Box<[Vec<Mover>; MOVER_LEVELS]>>,
}

/// Resolutions summed from [`COARSEST`]: 5 to 8.
const MOVER_LEVELS: usize = COARSEST as usize - 5;

impl Run {
    fn new(cell: u64, order: Vec<u64>, keys: impl IntoIterator<Item = u32>) -> Self {
        let ends = [0u8, 1, 2].map(|k| {
            let end = order.partition_point(|&o| o < order_key(k + 1, i64::MIN));
            u32::try_from(end).unwrap_or(u32::MAX)
        });
        let mut prefix = Vec::with_capacity(order.len() + 1);
        prefix.push(0u32);
        let mut sum = 0u32;
        for k in keys {
            sum = sum.wrapping_add(k);
            prefix.push(sum);
        }
        Run {
            cell,
            order,
            prefix,
            ends,
            ring: OnceLock::new(),
            movers: None,
        }
    }

    fn insert(&mut self, kind: u8, order: u64, key: u32) {
        let at = self.order.partition_point(|&o| o <= order);
        self.order.insert(at, order);
        self.prefix.insert(at + 1, self.prefix[at]);
        for p in &mut self.prefix[at + 1..] {
            *p = p.wrapping_add(key);
        }
        for end in &mut self.ends[usize::from(kind)..] {
            *end += 1;
        }
    }

    /// Files a mover under its resolution, by cell and then time (new
    /// records sort last in their kind, so little moves).
    fn insert_mover(&mut self, m: Mover) {
        let level = usize::from(cell_resolution(m.cell)).wrapping_sub(5);
        if level < MOVER_LEVELS {
            let list = &mut self.movers.get_or_insert_with(Box::default)[level];
            let at = list.partition_point(|x| (x.cell, x.order) <= (m.cell, m.order));
            list.insert(at, m);
            let mut sum = if at == 0 { 0 } else { list[at - 1].upto };
            for x in &mut list[at..] {
                sum = sum.wrapping_add(x.key);
                x.upto = sum;
            }
        }
    }

    /// The movers to resolution `res` of the kinds in the bit set `kinds`
    /// with time in `from..to`, tallied per cell they move to: binary
    /// searches per cell, not a step per record.
    fn movers_in(
        &self,
        res: u8,
        kinds: u8,
        from: i64,
        to: i64,
    ) -> impl Iterator<Item = (u64, CellTally)> + '_ {
        let list = self
            .movers
            .as_ref()
            .and_then(|m| m.get(usize::from(res).wrapping_sub(5)))
            .map_or(&[][..], Vec::as_slice);
        // Key sum of `list[..i]`.
        let before = |i: usize| if i == 0 { 0 } else { list[i - 1].upto };
        let mut start = 0;
        std::iter::from_fn(move || {
            while start < list.len() {
                let (base, cell) = (start, list[start].cell);
                let group = &list[base..];
                let group = &group[..group.partition_point(|m| m.cell == cell)];
                start += group.len();
                let t = tally_of(kinds, |kind| {
                    let lo = base + group.partition_point(|m| m.order < order_key(kind, from));
                    let hi = base + group.partition_point(|m| m.order < order_key(kind, to));
                    let hi = hi.max(lo);
                    let n = u32::try_from(hi - lo).unwrap_or(u32::MAX);
                    (n, before(hi).wrapping_sub(before(lo)))
                });
                if t[0] > 0 {
                    return Some((cell, t));
                }
            }
            None
        })
    }

    /// Count and cell key of the entries of `kind` with time in `from..to`.
    #[inline]
    fn count(&self, kind: u8, from: i64, to: i64) -> (u32, u32) {
        let k = usize::from(kind);
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        let of_kind = &self.order[start..self.ends[k] as usize];
        let lo = if from == i64::MIN {
            0
        } else {
            of_kind.partition_point(|&o| o < order_key(kind, from))
        };
        let hi = if to == i64::MAX {
            of_kind.len()
        } else {
            of_kind.partition_point(|&o| o < order_key(kind, to))
        };
        if hi <= lo {
            return (0, 0);
        }
        let key = self.prefix[start + hi].wrapping_sub(self.prefix[start + lo]);
        (u32::try_from(hi - lo).unwrap_or(u32::MAX), key)
    }

    /// The counts of the kinds in the bit set `kinds` in `from..to`.
    #[inline]
    fn tally(&self, kinds: u8, from: i64, to: i64) -> CellTally {
        tally_of(kinds, |kind| self.count(kind, from, to))
    }
}

/// A tally from the count and cell key of each kind in the bit set `kinds`.
#[inline]
fn tally_of(kinds: u8, count: impl Fn(u8) -> (u32, u32)) -> CellTally {
    let mut t: CellTally = [0; 8];
    for kind in 0..3u8 {
        if kinds & (1 << kind) != 0 {
            let (n, key) = count(kind);
            let k = usize::from(kind);
            t[1 + k] = n;
            t[5 + k] = key;
        }
    }
    t[0] = t[1] + t[2] + t[3];
    t[4] = t[5].wrapping_add(t[6]).wrapping_add(t[7]);
    t
}

/// A record of a resolution-9 run whose cell at a coarser resolution is
/// not the run cell's ancestor there.
#[derive(Clone, Copy)]
struct Mover {
    /// The record's cell at the coarser resolution (which its index holds).
    cell: u64,
    order: u64,
    key: u32,
    /// Record keys summed (mod 2³²) over the list up to and including
    /// this one: a range's key is a difference of two.
    upto: u32,
}

struct Level {
    res: u8,
    runs: Vec<Run>,
    /// Cell → its run's position in `runs`.
    slots: FxHashMap<u64, u32>,
    /// Centres of the cells with runs; data: the run's position.
    centres: RTree<GeomWithData<[f64; 2], u32>>,
}

fn centre(cell: u64) -> Option<[f64; 2]> {
    let ll = LatLng::from(CellIndex::try_from(cell).ok()?);
    Some([ll.lng(), ll.lat()])
}

fn slot(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 cells")
}

impl Level {
    /// The level at `res` from rows `(cell at res, order key, record key)`
    /// sorted.
    fn from_sorted(res: u8, rows: &[Row]) -> Self {
        let runs: Vec<Run> = rows
            .chunk_by(|a, b| a.0 == b.0)
            .map(|group| {
                Run::new(
                    group[0].0,
                    group.iter().map(|r| r.1).collect(),
                    group.iter().map(|r| r.2),
                )
            })
            .collect();
        let slots = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.cell, slot(i)))
            .collect();
        let centres = RTree::bulk_load(
            runs.iter()
                .enumerate()
                .filter_map(|(i, r)| Some(GeomWithData::new(centre(r.cell)?, slot(i))))
                .collect(),
        );
        Level {
            res,
            runs,
            slots,
            centres,
        }
    }

    /// Adds one record, whose cell at this level's resolution is `cell`,
    /// returning its run's position.
    fn insert(&mut self, cell: u64, kind: u8, t: i64, key: u32) -> u32 {
        let i = if let Some(&i) = self.slots.get(&cell) {
            i as usize
        } else {
            let i = self.runs.len();
            self.runs
                .push(Run::new(cell, Vec::new(), Vec::<u32>::new()));
            self.slots.insert(cell, slot(i));
            if let Some(c) = centre(cell) {
                self.centres.insert(GeomWithData::new(c, slot(i)));
            }
            i
        };
        self.runs[i].insert(kind, order_key(kind, t), key);
        slot(i)
    }

    fn run(&self, cell: u64) -> Option<&Run> {
        self.slots.get(&cell).map(|&i| &self.runs[i as usize])
    }
}

/// A cell's outline in Web Mercator world coordinates.
pub fn world_ring(cell: CellIndex) -> Box<[(f64, f64)]> {
    cell.boundary()
        .iter()
        .map(|ll| crate::mercator::world(ll.lng(), ll.lat()))
        .collect()
}

/// Per-cell tallies as [`super::hexagons`] builds them: total, three kinds,
/// then the matching cell keys.
pub(super) type CellTally = [u32; 8];

/// One cell's tally from the runs.
pub(super) struct Tallied<'a> {
    pub cell: u64,
    pub tally: CellTally,
    /// The cell's own run, when it has one.
    run: Option<&'a Run>,
}

impl<'a> Tallied<'a> {
    /// The cell's outline in world coordinates.
    pub fn ring(&self) -> std::borrow::Cow<'a, [(f64, f64)]> {
        match (self.run, CellIndex::try_from(self.cell)) {
            (Some(run), Ok(cell)) => {
                std::borrow::Cow::Borrowed(run.ring.get_or_init(|| world_ring(cell)))
            }
            (None, Ok(cell)) => std::borrow::Cow::Owned(world_ring(cell).into_vec()),
            (_, Err(_)) => std::borrow::Cow::Borrowed(&[]),
        }
    }
}

/// The resolution a cell index holds (bits 52–55).
fn cell_resolution(cell: u64) -> u8 {
    u8::try_from((cell >> 52) & 0xF).unwrap_or(0)
}

/// Adds (or subtracts) one tally to another, entry by entry.
fn add(into: &mut CellTally, t: CellTally, op: fn(u32, u32) -> u32) {
    for (x, y) in into.iter_mut().zip(t) {
        *x = op(*x, y);
    }
}

/// The exception bits of [`COARSEST`] and every resolution coarser.
const COARSER_BITS: u8 = (ExactCells::bit(COARSEST) << 1) - 1;

/// A row of a level being built: cell, order key, record key, record.
type Row = (u64, u64, u32, u32);

/// Sorted rows of the level finer than `res` become the sorted rows of
/// `res`, in place: each record's cell there is usually the parent of its
/// cell one level finer, which keeps the rows grouped; the few others
/// ("movers") are taken out, sorted and merged back in.
fn coarsen(rows: &mut Vec<Row>, res: u8, columns: &Columns) {
    /// Marks a mover's place, taken out below.
    const GONE: u64 = u64::MAX;
    let finer = ExactCells::bit(res + 1) | ExactCells::bit(res);
    let mut movers: Vec<Row> = rows
        .par_iter_mut()
        .filter_map(|r| {
            let parent = ancestor(r.0, res);
            // Where neither cell is an exception, both are digit ancestors
            // of the record's resolution-12 cell, and the parent is its cell.
            let own = if columns.exact.moved(r.3 as usize, finer) == 0 {
                parent
            } else {
                columns.cell_at(r.3 as usize, res)
            };
            if own == parent {
                r.0 = own;
                None
            } else {
                r.0 = GONE;
                Some((own, r.1, r.2, r.3))
            }
        })
        .collect();
    if !movers.is_empty() {
        rows.retain(|r| r.0 != GONE);
    }
    rows.par_chunk_by_mut(|a, b| a.0 == b.0)
        .for_each(<[Row]>::sort);
    movers.par_sort_unstable();
    merge_in(rows, &movers);
}

/// Puts a few sorted rows into sorted `rows`, keeping them sorted: from
/// the back, a block at a time, without a second copy of `rows`. One
/// backward scan finds the places (a binary search per row would miss the
/// cache every step).
fn merge_in(rows: &mut Vec<Row>, few: &[Row]) {
    let mut end = rows.len();
    rows.resize(end + few.len(), (0, 0, 0, 0));
    for (placed, row) in few.iter().enumerate().rev() {
        let mut at = end;
        while at > 0 && rows[at - 1] > *row {
            at -= 1;
        }
        // Rows after `row` shift up by the movers still to place before them.
        rows.copy_within(at..end, at + placed + 1);
        rows[at + placed] = *row;
        end = at;
    }
}

/// The resolutions coarser than [`COARSEST`] where a record with cell
/// `cell9` there and exception bits `moved` (its cell at each resolution
/// given by `cell_at`) is not in that cell's ancestor: its cells there.
fn movers_of(cell9: u64, moved: u8, cell_at: impl Fn(u8) -> u64) -> impl Iterator<Item = u64> {
    (u8::from(super::hexagons::MIN_RESOLUTION)..COARSEST).filter_map(move |res| {
        // With neither cell an exception, both are digit ancestors of the
        // resolution-12 cell, and one is the other's ancestor.
        if moved & (ExactCells::bit(res) | ExactCells::bit(COARSEST)) == 0 {
            return None;
        }
        let own = cell_at(res);
        (own != ancestor(cell9, res)).then_some(own)
    })
}

/// The runs at every resolution that keeps them.
pub(super) struct CellRuns {
    levels: Vec<Level>,
}

impl Default for CellRuns {
    fn default() -> Self {
        CellRuns::build(&Columns::default())
    }
}

impl CellRuns {
    /// Runs for the records of `columns`.
    ///
    /// One sort, at the finest level. A parent's children are contiguous in
    /// H3 index order, so the rows sorted for one level are already grouped
    /// by parent for the next, each group made of its children's sorted
    /// runs, which a stable sort merges in near-linear time; the few
    /// records whose cell is not the parent are sorted apart and merged in.
    pub fn build(columns: &Columns) -> Self {
        let n = columns.cells.len();
        // Room for the movers merged in at coarser levels.
        let mut rows: Vec<Row> = Vec::with_capacity(n + n / 8);
        rows.par_extend((0..n).into_par_iter().map(|i| {
            (
                columns.cell_at(i, FINEST),
                order_key(columns.kinds[i], columns.times[i]),
                columns.keys[i],
                u32::try_from(i).expect("fewer than 2^32 records"),
            )
        }));
        rows.par_sort_unstable();
        let mut levels = Vec::with_capacity(RUN_RESOLUTIONS.len());
        levels.push(Level::from_sorted(FINEST, &rows));
        for &res in RUN_RESOLUTIONS.iter().rev().skip(1) {
            coarsen(&mut rows, res, columns);
            levels.push(Level::from_sorted(res, &rows));
        }
        drop(rows);
        // The movers, found in record order (the columns read in order),
        // then filed under their resolution-9 runs.
        let mut movers: Vec<(u64, Mover)> = (0..n)
            .into_par_iter()
            .filter(|&i| columns.exact.moved(i, COARSER_BITS) != 0)
            .flat_map_iter(|i| {
                let cell9 = columns.cell_at(i, COARSEST);
                let (order, key) = (
                    order_key(columns.kinds[i], columns.times[i]),
                    columns.keys[i],
                );
                movers_of(cell9, columns.exact.moved(i, COARSER_BITS), move |res| {
                    columns.cell_at(i, res)
                })
                .map(move |cell| {
                    let upto = 0;
                    (
                        cell9,
                        Mover {
                            cell,
                            order,
                            key,
                            upto,
                        },
                    )
                })
            })
            .collect();
        let coarsest = levels.last_mut().expect("a level");
        // By run, cell and time: each run's lists are filled in order.
        movers.par_sort_unstable_by_key(|(cell9, m)| (*cell9, m.cell, m.order));
        for (cell9, m) in movers {
            let run = coarsest.slots[&cell9] as usize;
            coarsest.runs[run].insert_mover(m);
        }
        levels.reverse();
        CellRuns { levels }
    }

    /// A cell's outline in world coordinates, kept for cells with runs.
    pub fn ring(&self, cell: CellIndex) -> std::borrow::Cow<'_, [(f64, f64)]> {
        let res = u8::from(cell.resolution());
        let run = self
            .levels
            .iter()
            .find(|l| l.res == res)
            .and_then(|l| l.run(u64::from(cell)));
        match run {
            Some(run) => std::borrow::Cow::Borrowed(run.ring.get_or_init(|| world_ring(cell))),
            None => std::borrow::Cow::Owned(world_ring(cell).into_vec()),
        }
    }

    /// Adds one record, whose cell at each resolution `cell_at` gives and
    /// whose exception bits are `moved`.
    pub fn insert(&mut self, cell_at: impl Fn(u8) -> u64, moved: u8, kind: u8, t: i64, key: u32) {
        for level in &mut self.levels {
            let cell = cell_at(level.res);
            let run = level.insert(cell, kind, t, key);
            if level.res == COARSEST {
                let order = order_key(kind, t);
                let movers = movers_of(cell, moved, &cell_at).map(|to| Mover {
                    cell: to,
                    order,
                    key,
                    upto: 0,
                });
                for m in movers {
                    level.runs[run as usize].insert_mover(m);
                }
            }
        }
    }

    /// Counts per cell at `res` (≤ [`FINEST`]) of the records of the kinds
    /// in the bit set `kinds` with time in `from..to`, in no particular
    /// order — whole cells, for every cell that touches `area` (everywhere
    /// when `None`), and perhaps a few more cells near it.
    pub fn tally(
        &self,
        res: u8,
        kinds: u8,
        from: i64,
        to: i64,
        area: Option<Region>,
    ) -> Vec<Tallied<'_>> {
        let source = res.max(COARSEST);
        let Some(level) = self.levels.iter().find(|l| l.res == source) else {
            return Vec::new();
        };
        let edge = |r: u8| h3o::Resolution::try_from(r).map_or(0.0, h3o::Resolution::edge_length_m);
        // Each run with its position in the level.
        let runs: Box<dyn Iterator<Item = (u32, &Run)>> = match area {
            Some(area) => {
                // A cell touching the area has its centre within about one
                // edge length of it (twice that, for safety). A coarser cell
                // is summed from its resolution-9 descendants, which lie
                // within its diameter of the area.
                let margin_m = if res >= COARSEST {
                    edge(res) * 2.0
                } else {
                    edge(res) * 3.0 + edge(COARSEST) * 1.5
                };
                let w = widen(area, margin_m);
                let env = AABB::from_corners([w.west, w.south], [w.east, w.north]);
                Box::new(
                    level
                        .centres
                        .locate_in_envelope(&env)
                        .map(|p| (p.data, &level.runs[p.data as usize])),
                )
            }
            None => Box::new((0..).zip(&level.runs)),
        };
        let counted = runs
            .map(|(i, run)| (i, run, run.tally(kinds, from, to)))
            .filter(|(_, _, t)| t[0] > 0);
        if res == source {
            return counted
                .map(|(_, run, tally)| Tallied {
                    cell: run.cell,
                    tally,
                    run: Some(run),
                })
                .collect();
        }
        let mut out: FxHashMap<u64, CellTally> = FxHashMap::default();
        for (_, run, mut t) in counted {
            for (cell, moved) in run.movers_in(res, kinds, from, to) {
                add(&mut t, moved, u32::wrapping_sub);
                add(out.entry(cell).or_default(), moved, u32::wrapping_add);
            }
            add(
                out.entry(ancestor(run.cell, res)).or_default(),
                t,
                u32::wrapping_add,
            );
        }
        out.into_iter()
            .filter(|(_, t)| t[0] > 0)
            .map(|(cell, tally)| Tallied {
                cell,
                tally,
                run: None,
            })
            .collect()
    }
}
