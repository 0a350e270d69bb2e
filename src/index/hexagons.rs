//! H3 aggregation: per-cell counts at resolutions 5–12 for any filter.
//!
//! A record is counted in the cell that holds its point at the asked
//! resolution — h3o's `to_cell` — which is usually, but not always, the
//! digit ancestor of its resolution-12 cell (see [`super::exact_cells`]).
//! The ancestor is found by rewriting bits of the index (H3 index layout:
//! resolution in bits 52–55, one 3-bit digit per resolution below it,
//! unused digits set to 7 — <https://h3geo.org/docs/core-library/h3Indexing>).
//! A query is one pass over the candidate records, or binary searches in
//! the cell runs (see [`super::cell_runs`]).

use std::borrow::Cow;

use h3o::{CellIndex, Resolution};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{Filter, ObservationIndex};
use crate::model::Kind;
use crate::model::Region;
use crate::privacy::Keyed;

/// Coarsest resolution served (cells of about 250 km²).
pub const MIN_RESOLUTION: Resolution = Resolution::Five;
/// Finest resolution served (cells of about 300 m²).
pub const MAX_RESOLUTION: Resolution = Resolution::Twelve;

/// The observations in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCount {
    pub cell: CellIndex,
    pub total: u32,
    /// Counts per kind, indexed by [`Kind::index`].
    pub by_kind: [u32; 3],
    /// Cell key of all the cell's observations, see [`crate::privacy`].
    pub key: u32,
    /// Cell keys per kind.
    pub kind_keys: [u32; 3],
}

impl CellCount {
    pub fn of_kind(&self, kind: Kind) -> u32 {
        self.by_kind[kind.index()]
    }

    /// The total with its cell key.
    pub fn keyed(&self) -> Keyed {
        Keyed {
            n: self.total,
            key: self.key,
        }
    }

    /// Each kind's count with its cell key, indexed by [`Kind::index`].
    pub fn keyed_kinds(&self) -> [Keyed; 3] {
        Kind::ALL.map(|kind| Keyed {
            n: self.by_kind[kind.index()],
            key: self.kind_keys[kind.index()],
        })
    }
}

/// The margin [`ObservationIndex::hexagon_counts_touching`] widens an area
/// by: every observation of a cell with one inside the area lies within it.
fn touching_margin_m(res: Resolution) -> f64 {
    res.edge_length_m() * 3.0
}

/// How far beyond an area [`ObservationIndex::hexagon_counts_touching`] may
/// count an observation: the margin, plus (where pre-aggregated runs answer)
/// a source cell's diameter, since runs are selected by their cells' centres.
pub fn touching_reach_m(res: Resolution) -> f64 {
    let source = Resolution::try_from(u8::from(res).max(super::cell_runs::COARSEST)).unwrap_or(res);
    touching_margin_m(res) + source.edge_length_m() * 2.2
}

/// Whether the runs hold the answer: kinds and a time range, at resolution
/// 11 or coarser.
fn runs_hold(res: Resolution, c: &super::filter::Compiled) -> bool {
    c.categories.is_none()
        && c.hours == super::HourSet::ALL
        && c.area.is_none()
        && c.walk.is_none()
        && c.organisation.is_none()
        && u8::from(res) <= super::cell_runs::FINEST
}

/// A box widened by `margin_m` metres on every side.
pub(super) fn widen(b: Region, margin_m: f64) -> Region {
    let dlat = margin_m / 111_320.0;
    let dlon = dlat
        / b.south
            .abs()
            .max(b.north.abs())
            .to_radians()
            .cos()
            .max(0.01);
    Region {
        west: (b.west - dlon).max(-180.0),
        south: (b.south - dlat).max(-90.0),
        east: (b.east + dlon).min(180.0),
        north: (b.north + dlat).min(90.0),
    }
}

/// Keeps the cells whose centre lies in `region`: which cells an answer
/// holds then depends on the cells, never on where their observations lie.
fn keep_centred_in(counts: &mut Vec<CellCount>, region: Region) {
    counts.retain(|c| {
        let centre = h3o::LatLng::from(c.cell);
        region.contains(centre.lng(), centre.lat())
    });
}

/// A cell's counts and its outline in Web Mercator world coordinates.
pub type CellOutline<'a> = (CellCount, Cow<'a, [(f64, f64)]>);

/// Tallies (total, three kinds, their cell keys) as cell counts, by cell.
pub(super) fn cell_counts(tally: impl IntoIterator<Item = (u64, [u32; 8])>) -> Vec<CellCount> {
    let mut out: Vec<CellCount> = tally
        .into_iter()
        .filter_map(|(cell, t)| cell_count(cell, t))
        .collect();
    out.sort_unstable_by_key(|c| c.cell);
    out
}

fn cell_count(cell: u64, [total, a, b, c, key, ka, kb, kc]: [u32; 8]) -> Option<CellCount> {
    Some(CellCount {
        cell: CellIndex::try_from(cell).ok()?,
        total,
        by_kind: [a, b, c],
        key,
        kind_keys: [ka, kb, kc],
    })
}

/// Records per parallel task in a full scan.
const PARALLEL_CHUNK: usize = 1 << 17;

/// What a per-cell aggregation accumulates; partial results of parallel
/// scans are merged with [`Tally::absorb`].
trait Tally: Default + Send {
    fn absorb(&mut self, other: Self);
}

/// Counts and cell keys alike add modulo 2³² (counts never get near it).
impl<const N: usize> Tally for [u32; N]
where
    [u32; N]: Default,
{
    fn absorb(&mut self, other: Self) {
        for (x, y) in self.iter_mut().zip(other) {
            *x = x.wrapping_add(y);
        }
    }
}

impl Tally for Vec<Keyed> {
    fn absorb(&mut self, other: Self) {
        if self.len() < other.len() {
            self.resize(other.len(), Keyed::default());
        }
        for (x, y) in self.iter_mut().zip(other) {
            x.absorb(y);
        }
    }
}

fn merge<T: Tally>(a: FxHashMap<u64, T>, b: FxHashMap<u64, T>) -> FxHashMap<u64, T> {
    let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (cell, n) in b {
        a.entry(cell).or_default().absorb(n);
    }
    a
}

/// The digit ancestor at `res` of a cell index at a finer resolution: the
/// coarser cell whose descendants it is among, which is not always the
/// coarser cell holding its area (H3 cells do not nest).
#[inline]
pub(super) fn ancestor(cell: u64, res: u8) -> u64 {
    const RES_MASK: u64 = 0xF << 52;
    let unused_digit_bits = u32::from(15 - res) * 3;
    (cell & !RES_MASK) | (u64::from(res) << 52) | ((1u64 << unused_digit_bits) - 1)
}

impl ObservationIndex {
    /// Counts of matching observations per H3 cell at `res`, ordered by cell.
    /// `res` must lie within [`MIN_RESOLUTION`]..=[`MAX_RESOLUTION`]. With a
    /// bounding box in the filter, only the observations inside it count.
    pub fn hexagon_counts(&self, res: Resolution, filter: &Filter) -> Vec<CellCount> {
        let Some(compiled) = filter.compile(self) else {
            return Vec::new();
        };
        if compiled.envelope.is_none()
            && let Some(fast) = self.fast_tally(res, &compiled, None)
        {
            return cell_counts(fast.into_iter().map(|t| (t.cell, t.tally)));
        }
        cell_counts(self.slow_tally(res, filter))
    }

    /// Counts per cell at `res` where a bounding box in the filter selects
    /// whole cells — those whose centre lies inside it — rather than the
    /// observations inside it. The answer then depends only on which cells
    /// the box covers, never on where in a cell an observation lies: moving
    /// an edge of the box across one observation changes nothing, so the
    /// box cannot be used to find one (see [`crate::privacy`]).
    pub fn hexagon_counts_whole_cells(&self, res: Resolution, filter: &Filter) -> Vec<CellCount> {
        let Some(bbox) = filter.bbox else {
            return self.hexagon_counts(res, filter);
        };
        // Every observation of a cell lies within this margin of its centre.
        let near = widen(bbox, touching_margin_m(res));
        let mut counts = self.hexagon_counts(
            res,
            &Filter {
                bbox: Some(near),
                ..filter.clone()
            },
        );
        keep_centred_in(&mut counts, bbox);
        counts
    }

    /// Whole counts of every cell at `res` with an observation inside `area`
    /// (a map tile), and of some cells around it. A bounding box in the
    /// filter itself still restricts the observations counted.
    pub fn hexagon_counts_touching(
        &self,
        res: Resolution,
        filter: &Filter,
        area: Region,
    ) -> Vec<CellCount> {
        let Some(compiled) = filter.compile(self) else {
            return Vec::new();
        };
        if compiled.envelope.is_none()
            && let Some(fast) = self.fast_tally(res, &compiled, Some(area))
        {
            return cell_counts(fast.into_iter().map(|t| (t.cell, t.tally)));
        }
        // A cell's observations lie within its hexagon, two edge lengths
        // across: a margin of three edge lengths takes every one of them in.
        // Only cells whose centre is within `keep` of the area are kept:
        // they hold every cell drawn in it, and all their observations lie
        // within the margin, so every count is whole — which cells a tile
        // shows never depends on where an observation lies in its cell.
        let keep = widen(area, res.edge_length_m() * 1.25);
        let near = widen(area, touching_margin_m(res));
        let b = filter.bbox.unwrap_or(near);
        let clipped = Filter {
            bbox: Some(Region {
                west: b.west.max(near.west),
                south: b.south.max(near.south),
                east: b.east.min(near.east),
                north: b.north.min(near.north),
            }),
            ..filter.clone()
        };
        let mut counts = cell_counts(self.slow_tally(res, &clipped));
        keep_centred_in(&mut counts, keep);
        counts
    }

    /// What [`Self::hexagon_counts_touching`] finds, in no particular order,
    /// each cell with its outline in Web Mercator world coordinates (see
    /// [`crate::mercator::world`]): what a map tile draws.
    pub fn cells_touching(
        &self,
        res: Resolution,
        filter: &Filter,
        area: Region,
    ) -> Vec<CellOutline<'_>> {
        if let Some(compiled) = filter.compile(self)
            && compiled.envelope.is_none()
            && let Some(fast) = self.fast_tally(res, &compiled, Some(area))
        {
            return fast
                .into_iter()
                .filter_map(|t| Some((cell_count(t.cell, t.tally)?, t.ring())))
                .collect();
        }
        self.hexagon_counts_touching(res, filter, area)
            .into_iter()
            .map(|c| {
                let ring = self.cell_ring(c.cell);
                (c, ring)
            })
            .collect()
    }

    /// Whether [`Self::hexagon_counts_touching`] answers from the
    /// pre-aggregated runs (cheaply) for this resolution and filter.
    pub fn answers_from_runs(&self, res: Resolution, filter: &Filter) -> bool {
        filter.bbox.is_none() && filter.compile(self).is_none_or(|c| runs_hold(res, &c))
    }

    /// The pre-aggregated runs' answer, when the filter is one they hold:
    /// kinds and a time range, at resolution 11 or coarser.
    fn fast_tally(
        &self,
        res: Resolution,
        c: &super::filter::Compiled,
        area: Option<Region>,
    ) -> Option<Vec<super::cell_runs::Tallied<'_>>> {
        runs_hold(res, c).then(|| self.runs.tally(u8::from(res), c.kinds, c.from, c.to, area))
    }

    /// Counts and cell keys per cell, one record at a time.
    pub(super) fn slow_tally(&self, res: Resolution, filter: &Filter) -> FxHashMap<u64, [u32; 8]> {
        assert!(
            (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&res),
            "resolution {res} outside the served range"
        );
        self.tally_by_cell(
            filter,
            |c: &mut [u32; 8], i| {
                let (kind, key) = (usize::from(self.columns.kinds[i]), self.columns.keys[i]);
                c[0] += 1;
                c[1 + kind] += 1;
                c[4] = c[4].wrapping_add(key);
                c[5 + kind] = c[5 + kind].wrapping_add(key);
            },
            u8::from(res),
        )
    }

    /// Counts of matching observations per cell at `res` and per time bin:
    /// bin `b` holds the observations made in `bounds[b]..bounds[b + 1]`
    /// (Unix seconds, ascending). Cells without any are left out; the
    /// result is ordered by cell.
    pub fn cell_bin_counts(
        &self,
        res: Resolution,
        filter: &Filter,
        bounds: &[i64],
    ) -> Vec<(CellIndex, Vec<Keyed>)> {
        assert!(
            (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&res),
            "resolution {res} outside the served range"
        );
        let bins = bounds.len().saturating_sub(1);
        let counts = self.tally_by_cell(
            filter,
            |c: &mut Vec<Keyed>, i| {
                let t = self.columns.times[i];
                // The bin whose start is the last bound at or before t.
                let b = bounds.partition_point(|&start| start <= t);
                if b == 0 || b > bins {
                    return;
                }
                if c.is_empty() {
                    c.resize(bins, Keyed::default());
                }
                c[b - 1].add(self.columns.keys[i]);
            },
            u8::from(res),
        );
        let mut out: Vec<(CellIndex, Vec<Keyed>)> = counts
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .filter_map(|(cell, c)| Some((CellIndex::try_from(cell).ok()?, c)))
            .collect();
        out.sort_unstable_by_key(|(cell, _)| *cell);
        out
    }

    /// One pass over the records matching `filter`, adding each to its
    /// cell's tally at resolution `res` — split over the cores when every
    /// record is a candidate.
    fn tally_by_cell<T: Tally>(
        &self,
        filter: &Filter,
        add: impl Fn(&mut T, usize) + Sync,
        res: u8,
    ) -> FxHashMap<u64, T> {
        let Some(compiled) = filter.compile(self) else {
            return FxHashMap::default();
        };
        let count_into = |counts: &mut FxHashMap<u64, T>, i: u32| {
            let i = i as usize;
            add(counts.entry(self.columns.cell_at(i, res)).or_default(), i);
        };
        if compiled.area.is_none() && compiled.envelope.is_none() {
            let n = u32::try_from(self.columns.cells.len()).expect("fewer than 2^32 records");
            (0..n)
                .into_par_iter()
                .with_min_len(PARALLEL_CHUNK)
                .fold(FxHashMap::default, |mut counts, i| {
                    if self.matches(&compiled, i) {
                        count_into(&mut counts, i);
                    }
                    counts
                })
                .reduce(FxHashMap::default, merge)
        } else {
            let mut counts = FxHashMap::default();
            self.for_each_match(&compiled, |i| count_into(&mut counts, i));
            counts
        }
    }
}

/// What one cell holds: counts by kind, by category and by month. A
/// category's and a month's counts are kept per kind, so that what is
/// shown of them can be the sum of its kinds as shown, as a cell's total is
/// (see [`crate::privacy`]): a category code may be used by two kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellSummary {
    pub total: Keyed,
    pub by_kind: [Keyed; 3],
    /// Category code and its count per kind, most frequent first.
    pub by_category: Vec<(String, [Keyed; 3])>,
    /// `(year, month)` in Swedish local time and its count per kind, in
    /// time order.
    pub by_month: Vec<((i32, u8), [Keyed; 3])>,
}

/// The number of observations in counts per kind.
pub fn sum_of_kinds(by_kind: &[Keyed; 3]) -> u32 {
    by_kind.iter().map(|k| k.n).sum()
}

impl ObservationIndex {
    /// The observations matching `filter` inside one cell (any served resolution).
    pub fn cell_summary(&self, cell: CellIndex, filter: &Filter) -> CellSummary {
        use geo::BoundingRect;
        let res = cell.resolution();
        let summary = CellSummary::default();
        if !(MIN_RESOLUTION..=MAX_RESOLUTION).contains(&res) {
            return summary;
        }
        let boundary = geo::LineString::from(
            cell.boundary()
                .iter()
                .map(|ll| (ll.lng(), ll.lat()))
                .collect::<Vec<_>>(),
        );
        let Some(rect) = boundary.bounding_rect() else {
            return summary;
        };
        let mut filter = filter.clone();
        // The cell's records lie in its hexagon; the box takes them all in
        // with room to spare, so the count is the one `hexagon_counts` gives.
        let cell_box = widen(
            crate::model::Region {
                west: rect.min().x,
                south: rect.min().y,
                east: rect.max().x,
                north: rect.max().y,
            },
            touching_margin_m(res),
        );
        filter.bbox = Some(match filter.bbox {
            None => cell_box,
            Some(b) => crate::model::Region {
                west: b.west.max(cell_box.west),
                south: b.south.max(cell_box.south),
                east: b.east.min(cell_box.east),
                north: b.north.min(cell_box.north),
            },
        });
        let (r, target) = (u8::from(res), u64::from(cell));
        self.summarise(&filter, |i| self.columns.cell_at(i, r) == target)
    }

    /// The observations matching `filter`: counts by kind, category and month.
    pub fn summary(&self, filter: &Filter) -> CellSummary {
        self.summarise(filter, |_| true)
    }

    fn summarise(&self, filter: &Filter, keep: impl Fn(usize) -> bool) -> CellSummary {
        let mut summary = CellSummary::default();
        let Some(compiled) = filter.compile(self) else {
            return summary;
        };
        let mut categories: FxHashMap<u16, [Keyed; 3]> = FxHashMap::default();
        let mut months: std::collections::BTreeMap<(i32, u8), [Keyed; 3]> =
            std::collections::BTreeMap::new();
        self.for_each_match(&compiled, |i| {
            let i = i as usize;
            if !keep(i) {
                return;
            }
            let key = self.columns.keys[i];
            let kind = usize::from(self.columns.kinds[i]);
            summary.total.add(key);
            summary.by_kind[kind].add(key);
            categories.entry(self.columns.categories[i]).or_default()[kind].add(key);
            if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(self.columns.times[i]) {
                let local = t.to_offset(crate::model::swedish_time::offset_at(t));
                months
                    .entry((local.year(), u8::from(local.month())))
                    .or_default()[kind]
                    .add(key);
            }
        });
        let mut by_category: Vec<(String, [Keyed; 3])> = categories
            .into_iter()
            .map(|(c, n)| {
                (
                    self.columns
                        .category_names
                        .name(u32::from(c))
                        .cloned()
                        .unwrap_or_default(),
                    n,
                )
            })
            .collect();
        by_category.sort_by(|a, b| {
            sum_of_kinds(&b.1)
                .cmp(&sum_of_kinds(&a.1))
                .then_with(|| a.0.cmp(&b.0))
        });
        summary.by_category = by_category;
        summary.by_month = months.into_iter().collect();
        summary
    }
}
