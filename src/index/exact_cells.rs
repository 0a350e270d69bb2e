//! Each record's H3 cell at every served resolution coarser than 12: the
//! cell h3o's `LatLng::to_cell` gives for its coordinates.
//!
//! H3 cells do not nest. A resolution-12 cell's digit ancestor (its index
//! with the finer digits cut off, see [`super::hexagons::ancestor`]) is the
//! coarser cell holding the point most of the time, but a child sticks out
//! of its parent's hexagon, so within some metres of a coarser cell's edge
//! the point lies in a neighbour of the ancestor: 2–6 % of records at a
//! given resolution. Each record keeps its resolution-12 cell and one bit
//! per resolution 5–11 saying whether its cell there is not the ancestor;
//! the cells of those that are not are kept in a map per resolution.
//!
//! Finding them at ingest without asking h3o seven times per point: within
//! one icosahedron face a cell's edges are straight lines in the face's
//! gnomonic projection, which are great circles on the sphere, so a cell is
//! the intersection of the half-spaces through its edges (the origin
//! included). A resolution-12 cell lying wholly inside one coarser cell —
//! all six of its corners inside it by [`MARGIN`] — settles all of its
//! points at once. The points of a resolution-12 cell that straddles an
//! edge are tested one by one against the ancestor and its neighbours, and
//! a point within [`MARGIN`] of an edge, or in a cell whose half-spaces
//! cannot be trusted (a degenerate edge), goes to h3o. Half-spaces only
//! ever shrink a cell (their intersection lies inside it even where an
//! outline bends at an icosahedron edge), so a point they place is placed
//! right.

use h3o::{CellIndex, LatLng, Resolution};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::hexagons::ancestor;

/// The resolutions with an exception bit: bit `r - FIRST` is resolution `r`.
pub(super) const FIRST: u8 = 5;
pub(super) const LAST: u8 = 11;
const LEVELS: usize = (LAST - FIRST + 1) as usize;

/// How far inside a cell's edges a point must be to be placed without h3o,
/// in radians on the unit sphere: about 6 mm. Far above the rounding of
/// either computation (about 1e-15), far below any position's precision.
const MARGIN: f64 = 1e-9;

type Vector = [f64; 3];

fn vector(ll: LatLng) -> Vector {
    let (sin_lat, cos_lat) = ll.lat_radians().sin_cos();
    let (sin_lng, cos_lng) = ll.lng_radians().sin_cos();
    [cos_lat * cos_lng, cos_lat * sin_lng, sin_lat]
}

fn dot(a: Vector, b: Vector) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vector, b: Vector) -> Vector {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// A cell as the half-spaces through its edges, and its neighbours.
struct Shape {
    /// Unit normals pointing into the cell: `n · v` is the angular
    /// distance of `v` inside the edge, nearly.
    normals: Box<[Vector]>,
    neighbours: Box<[u64]>,
}

impl Shape {
    /// `None` when an edge is too short to give a trustworthy normal.
    fn new(cell: CellIndex) -> Option<Self> {
        let centre = vector(LatLng::from(cell));
        let corners: Vec<Vector> = cell.boundary().iter().copied().map(vector).collect();
        let normals = (0..corners.len())
            .map(|i| {
                let n = cross(corners[i], corners[(i + 1) % corners.len()]);
                let length = dot(n, n).sqrt();
                if length < 1e-12 {
                    return None;
                }
                let sign = if dot(n, centre) < 0.0 { -1.0 } else { 1.0 };
                Some(n.map(|x| x * sign / length))
            })
            .collect::<Option<Box<[Vector]>>>()?;
        let neighbours = cell
            .grid_disk::<Vec<_>>(1)
            .into_iter()
            .filter(|&c| c != cell)
            .map(u64::from)
            .collect();
        Some(Shape {
            normals,
            neighbours,
        })
    }

    fn clearly_holds(&self, v: Vector) -> bool {
        self.normals.iter().all(|&n| dot(n, v) > MARGIN)
    }
}

/// Which records' cells differ from their digit ancestors, and what they
/// are: what [`CellLocator::locate`] finds for a chunk of a batch.
#[derive(Default)]
pub(super) struct Located {
    /// Per record, bit `r - FIRST` set when its cell at resolution `r`
    /// differs from the ancestor of its resolution-12 cell.
    pub moved: Vec<u8>,
    /// `(record in the batch, resolution, cell)` for every bit set.
    pub cells: Vec<(u32, u8, u64)>,
}

/// The cells of a resolution-12 cell's points at each resolution
/// `FIRST..=LAST`: the one cell holding all of them, or 0 where it
/// straddles an edge.
type Placement = [u64; LEVELS];

/// Finds records' cells at resolutions 5–11, remembering cell shapes and
/// resolution-12 placements across batches.
#[derive(Default)]
pub struct CellLocator {
    shapes: FxHashMap<u64, Option<Shape>>,
    placements: FxHashMap<u64, Placement>,
}

/// Records per parallel task.
const CHUNK: usize = 1 << 12;

impl CellLocator {
    /// The cells at resolutions 5–11 of the records at `points` (longitude,
    /// latitude) with resolution-12 `cells`, where they differ from the
    /// digit ancestors.
    /// In chunks of records, in order.
    pub(super) fn locate(&mut self, points: &[[f64; 2]], cells: &[u64]) -> Vec<Located> {
        self.learn(cells);
        points
            .par_chunks(CHUNK)
            .zip(cells.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, (points, cells))| {
                let first = u32::try_from(c * CHUNK).expect("fewer than 2^32 records");
                let mut out = Located {
                    moved: Vec::with_capacity(points.len()),
                    cells: Vec::new(),
                };
                for ((&[lon, lat], &cell), record) in points.iter().zip(cells).zip(first..) {
                    let mut bits = 0u8;
                    let placement = self.placements.get(&cell);
                    // The point on the sphere, made when first needed.
                    let mut point: Option<Option<(LatLng, Vector)>> = None;
                    for (level, res) in (FIRST..=LAST).enumerate() {
                        let digits = ancestor(cell, res);
                        let found = match placement.map_or(0, |p| p[level]) {
                            0 => match point.get_or_insert_with(|| {
                                LatLng::new(lat, lon).ok().map(|ll| (ll, vector(ll)))
                            }) {
                                Some((ll, v)) => self.place_point(*ll, *v, res, digits),
                                None => digits,
                            },
                            whole => whole,
                        };
                        if found != digits {
                            bits |= 1 << level;
                            out.cells.push((record, res, found));
                        }
                    }
                    out.moved.push(bits);
                }
                out
            })
            .collect()
    }

    /// Places every resolution-12 cell in `cells` not seen before.
    fn learn(&mut self, cells: &[u64]) {
        let mut new: Vec<u64> = cells
            .par_iter()
            .copied()
            .filter(|c| !self.placements.contains_key(c))
            .collect();
        new.par_sort_unstable();
        new.dedup();
        if new.is_empty() {
            return;
        }
        // The digit ancestors' shapes, then their neighbours': then each new
        // cell is placed in one pass, its corners made and dropped there.
        let ancestors: FxHashSet<u64> = new
            .iter()
            .flat_map(|&c| (FIRST..=LAST).map(move |res| ancestor(c, res)))
            .collect();
        let neighbours: FxHashSet<u64> = {
            self.add_shapes(ancestors.iter().copied());
            ancestors
                .iter()
                .filter_map(|a| self.shapes.get(a)?.as_ref())
                .flat_map(|s| s.neighbours.iter().copied())
                .collect()
        };
        self.add_shapes(neighbours.into_iter());
        let placed: Vec<(u64, Placement)> = new
            .par_iter()
            .map(|&c| (c, self.placement(c, corners(c).as_deref())))
            .collect();
        self.placements.extend(placed);
    }

    fn add_shapes(&mut self, cells: impl Iterator<Item = u64>) {
        let missing: Vec<u64> = cells.filter(|c| !self.shapes.contains_key(c)).collect();
        let shapes: Vec<(u64, Option<Shape>)> = missing
            .into_par_iter()
            .map(|c| (c, CellIndex::try_from(c).ok().and_then(Shape::new)))
            .collect();
        self.shapes.extend(shapes);
    }

    /// Whether the cell `cell` holds every one of `corners` clearly.
    fn wholly_in(&self, cell: u64, corners: &[Vector]) -> bool {
        self.shapes
            .get(&cell)
            .and_then(Option::as_ref)
            .is_some_and(|s| corners.iter().all(|&k| s.clearly_holds(k)))
    }

    /// Where a resolution-12 cell with `corners` (`None`: an invalid cell,
    /// or one whose outline is not a hexagon) lies at each resolution.
    fn placement(&self, cell: u64, corners: Option<&[Vector]>) -> Placement {
        let mut p = [0; LEVELS];
        let Some(corners) = corners else {
            if CellIndex::try_from(cell).is_err() {
                // Not a cell (a record without a valid position): its
                // "cells" are what the digits say, as before.
                for (level, res) in (FIRST..=LAST).enumerate() {
                    p[level] = ancestor(cell, res);
                }
            }
            return p;
        };
        for (level, res) in (FIRST..=LAST).enumerate() {
            let a = ancestor(cell, res);
            p[level] = if self.wholly_in(a, corners) {
                a
            } else {
                self.shapes
                    .get(&a)
                    .and_then(Option::as_ref)
                    .and_then(|s| {
                        s.neighbours
                            .iter()
                            .copied()
                            .find(|&n| self.wholly_in(n, corners))
                    })
                    .unwrap_or(0)
            };
        }
        p
    }

    /// The cell at `res` of the point `ll` (`v` on the unit sphere), whose
    /// resolution-12 cell has the digit ancestor `digits` there.
    fn place_point(&self, ll: LatLng, v: Vector, res: u8, digits: u64) -> u64 {
        let clearly = |c: u64| {
            self.shapes
                .get(&c)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.clearly_holds(v))
        };
        if clearly(digits) {
            return digits;
        }
        if let Some(Some(shape)) = self.shapes.get(&digits)
            && let Some(n) = shape.neighbours.iter().copied().find(|&n| clearly(n))
        {
            return n;
        }
        Resolution::try_from(res).map_or(digits, |r| u64::from(ll.to_cell(r)))
    }
}

/// A resolution-12 cell's corners on the unit sphere; `None` unless it is a
/// valid cell with a hexagonal outline.
fn corners(cell: u64) -> Option<Vec<Vector>> {
    let cell = CellIndex::try_from(cell).ok()?;
    let outline = cell.boundary();
    (outline.len() == 6).then(|| outline.iter().copied().map(vector).collect())
}

/// One record's cells at resolutions 5–11 where they differ from the digit
/// ancestors of `cell`, straight from h3o (for single writes).
pub(super) fn locate_one(lon: f64, lat: f64, cell: u64) -> (u8, Vec<(u8, u64)>) {
    let Ok(ll) = LatLng::new(lat, lon) else {
        return (0, Vec::new());
    };
    let mut bits = 0;
    let mut cells = Vec::new();
    for (level, res) in (FIRST..=LAST).enumerate() {
        let Ok(r) = Resolution::try_from(res) else {
            continue;
        };
        let found = u64::from(ll.to_cell(r));
        if found != ancestor(cell, res) {
            bits |= 1 << level;
            cells.push((res, found));
        }
    }
    (bits, cells)
}

/// Every record's cells at resolutions 5–11, as bits and exceptions: per
/// resolution a bit per record, set where the cell is not the digit
/// ancestor, and the cells of the set bits in record order, found by rank
/// (a count per 64 records, and a population count within them). About
/// 1.3 bits a record and 8 bytes an exception, where a hash map took
/// twice as much.
#[derive(Default, Clone)]
pub(super) struct ExactCells {
    len: usize,
    levels: [Exceptions; LEVELS],
}

#[derive(Default, Clone)]
struct Exceptions {
    /// Bit `i % 64` of word `i / 64` set when record `i` is an exception.
    bits: Vec<u64>,
    /// Per word, how many bits are set in the words before it.
    ranks: Vec<u32>,
    /// The exceptions' cells, in record order.
    cells: Vec<u64>,
}

impl Exceptions {
    #[inline]
    fn has(&self, record: usize) -> bool {
        self.bits
            .get(record / 64)
            .is_some_and(|w| w >> (record % 64) & 1 == 1)
    }

    #[inline]
    fn cell(&self, record: usize) -> Option<u64> {
        let word = *self.bits.get(record / 64)?;
        let below = word & ((1u64 << (record % 64)) - 1);
        (word >> (record % 64) & 1 == 1)
            .then(|| self.ranks[record / 64] as usize + below.count_ones() as usize)
            .and_then(|at| self.cells.get(at).copied())
    }

    /// Appends record `record` (the next one).
    fn push(&mut self, record: usize, cell: Option<u64>) {
        if record.is_multiple_of(64) {
            self.bits.push(0);
            self.ranks
                .push(u32::try_from(self.cells.len()).expect("fewer than 2^32 exceptions"));
        }
        if let Some(cell) = cell {
            *self.bits.last_mut().expect("a word") |= 1 << (record % 64);
            self.cells.push(cell);
        }
    }
}

impl ExactCells {
    /// The record's cell at `res` (5–12), given its resolution-12 cell.
    #[inline]
    pub fn cell(&self, record: usize, cell12: u64, res: u8) -> u64 {
        if (FIRST..=LAST).contains(&res)
            && let Some(c) = self.levels[usize::from(res - FIRST)].cell(record)
        {
            return c;
        }
        ancestor(cell12, res)
    }

    /// The record's exception bits among `mask`: bit `r - FIRST` set when
    /// its cell at `r` is not the digit ancestor of its resolution-12 cell.
    #[inline]
    pub fn moved(&self, record: usize, mask: u8) -> u8 {
        let mut bits = 0;
        for (level, exceptions) in self.levels.iter().enumerate() {
            if mask & (1 << level) != 0 && exceptions.has(record) {
                bits |= 1 << level;
            }
        }
        bits
    }

    /// The bit of resolution `res` in [`ExactCells::moved`] (0 outside
    /// `FIRST..=LAST`).
    #[inline]
    pub const fn bit(res: u8) -> u8 {
        if res >= FIRST && res <= LAST {
            1 << (res - FIRST)
        } else {
            0
        }
    }

    /// How many records it covers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends one record: its bits, and its cells where they are set.
    pub fn push(&mut self, bits: u8, cells: impl IntoIterator<Item = (u8, u64)>) {
        let mut cells = cells.into_iter().peekable();
        for (level, exceptions) in self.levels.iter_mut().enumerate() {
            let res = FIRST + u8::try_from(level).unwrap_or(0);
            let cell = if bits & (1 << level) == 0 {
                None
            } else {
                cells.next_if(|(r, _)| *r == res).map(|(_, c)| c)
            };
            exceptions.push(self.len, cell);
        }
        self.len += 1;
    }

    /// Appends a batch's records, as [`CellLocator::locate`] found them.
    pub fn extend(&mut self, batch: Vec<Located>) {
        let mut record = 0u32;
        for chunk in batch {
            let mut cells = chunk.cells.into_iter().peekable();
            for bits in chunk.moved {
                let mine = std::iter::from_fn(|| cells.next_if(|c| c.0 == record))
                    .map(|(_, res, cell)| (res, cell));
                self.push(bits, mine.collect::<Vec<_>>());
                record += 1;
            }
        }
    }

    /// Appends another's records.
    pub fn append(&mut self, other: &ExactCells) {
        for record in 0..other.len {
            let cells = other
                .levels
                .iter()
                .zip(FIRST..)
                .filter_map(|(e, res)| Some((res, e.cell(record)?)));
            self.push(other.moved(record, u8::MAX), cells.collect::<Vec<_>>());
        }
    }

    /// A copy with room for `extra` more records.
    pub fn copy(&self, extra: usize) -> Self {
        let mut copy = self.clone();
        for e in &mut copy.levels {
            e.bits.reserve(extra / 64 + 1);
            e.ranks.reserve(extra / 64 + 1);
        }
        copy
    }
}
