//! Adding a large batch in two steps. Everything the index keeps for the
//! batch — its columns appended to the index's, the id map, the cell runs
//! and the R-tree over all records, area membership — is prepared while the
//! batch is still being committed (the store's last steps take one core and
//! the disk, which leaves the other core free), from a copy of the index's
//! columns taken under its read lock in milliseconds ([`BulkBase`]), so that
//! submissions meanwhile do not wait for the preparation. Once the batch is
//! stored, applying the preparation is a swap. If anything changed in
//! between, the batch is inserted the usual way instead.

use geo::{MultiPolygon, Rect};
use rayon::prelude::*;
use rstar::RTree;

use super::{
    Columns, IndexEntry, ObservationIndex, TreePoint, cell_runs::CellRuns, intern_attributes,
    new_members, point_tree,
};
use crate::model::swedish_time;

/// The index's columns with a batch appended, and the structures over them.
pub struct PreparedBulk {
    /// The index version it was prepared from.
    version: u64,
    columns: Columns,
    runs: CellRuns,
    tree: RTree<TreePoint>,
    /// New members of each area, in the index's area order.
    members: Vec<Vec<u32>>,
}

/// A copy of the index's columns (with room for a batch) and of the area
/// outlines: what preparing a batch needs, taken under the read lock.
pub struct BulkBase {
    version: u64,
    columns: Columns,
    areas: Vec<(Option<Rect<f64>>, MultiPolygon<f64>)>,
}

/// `v` copied, with room for `extra` more.
fn copy<T: Copy>(v: &[T], extra: usize) -> Vec<T> {
    let mut c = Vec::with_capacity(v.len() + extra);
    c.extend_from_slice(v);
    c
}

impl ObservationIndex {
    /// What preparing a batch of `n` needs, copied; `None` when the batch is
    /// small enough to insert one by one.
    pub fn bulk_base(&self, n: usize) -> Option<BulkBase> {
        if !self.takes_in_bulk(n) {
            return None;
        }
        let c = &self.columns;
        let mut by_id = c.by_id.clone();
        by_id.reserve(n);
        Some(BulkBase {
            version: self.version,
            columns: Columns {
                ids: copy(&c.ids, n),
                by_id,
                points: copy(&c.points, n),
                cells: copy(&c.cells, n),
                times: copy(&c.times, n),
                keys: copy(&c.keys, n),
                hours: copy(&c.hours, n),
                kinds: copy(&c.kinds, n),
                categories: copy(&c.categories, n),
                walks: copy(&c.walks, n),
                organisations: copy(&c.organisations, n),
                category_names: c.category_names.clone(),
                walk_ids: c.walk_ids.clone(),
                organisation_names: c.organisation_names.clone(),
            },
            areas: self
                .areas
                .iter()
                .map(|a| (a.bbox, a.geometry.clone()))
                .collect(),
        })
    }

    /// Prepares adding `rows` (sequence numbers may be unset); `None` when
    /// the batch is small enough to insert one by one or repeats an id.
    pub fn prepare_bulk(&self, rows: &[IndexEntry]) -> Option<PreparedBulk> {
        self.bulk_base(rows.len())?.prepare(rows)
    }
}

impl BulkBase {
    /// The index's columns and structures with `rows` added (sequence
    /// numbers may be unset); `None` if one of their ids is known or repeated.
    pub fn prepare(self, rows: &[IndexEntry]) -> Option<PreparedBulk> {
        let Self {
            version,
            mut columns,
            areas,
        } = self;
        let base = columns.points.len();
        columns.points.extend(rows.iter().map(|r| [r.lon, r.lat]));
        let Columns {
            ids,
            by_id,
            points,
            cells,
            times,
            keys,
            hours,
            kinds,
            categories,
            walks,
            organisations,
            category_names,
            walk_ids,
            organisation_names,
        } = &mut columns;
        let points: &[[f64; 2]] = points;
        // The R-tree takes longest, so it starts at once, beside the rest.
        let (tree, (runs, (unique, members))) = rayon::join(
            || point_tree(points),
            || {
                let derived: Vec<(u32, u8)> = rows
                    .par_iter()
                    .map(|r| {
                        (
                            crate::privacy::record_key(&r.id),
                            swedish_time::local_hour(r.observed_at),
                        )
                    })
                    .collect();
                // One pass over the rows for all their columns.
                for (r, (key, hour)) in rows.iter().zip(derived) {
                    ids.push(r.id);
                    cells.push(r.cell);
                    times.push(r.observed_at);
                    keys.push(key);
                    hours.push(hour);
                    kinds.push(r.kind as u8);
                }
                let (cells, kinds, times, keys) = (&*cells, &*kinds, &*times, &*keys);
                rayon::join(
                    || CellRuns::build(cells, kinds, times, keys),
                    || {
                        rayon::join(
                            || {
                                for (i, r) in (base..).zip(rows) {
                                    let i = u32::try_from(i).expect("fewer than 2^32 observations");
                                    if by_id.insert(r.id, i).is_some() {
                                        return false;
                                    }
                                    let (category, walk, organisation) = intern_attributes(
                                        category_names,
                                        walk_ids,
                                        organisation_names,
                                        r,
                                    );
                                    categories.push(category);
                                    walks.push(walk);
                                    organisations.push(organisation);
                                }
                                true
                            },
                            || {
                                new_members(
                                    areas.iter().map(|(bbox, geometry)| (*bbox, geometry)),
                                    points,
                                    base..points.len(),
                                )
                            },
                        )
                    },
                )
            },
        );
        unique.then_some(PreparedBulk {
            version,
            columns,
            runs,
            tree,
            members,
        })
    }
}

impl ObservationIndex {
    /// Adds the stored `entries`, through `prepared` when it was prepared
    /// from exactly these records and the index has not changed since.
    /// Returns how many were new.
    pub fn insert_prepared(
        &mut self,
        prepared: Option<PreparedBulk>,
        entries: &[IndexEntry],
    ) -> usize {
        let base = self.len();
        let fits = |p: &PreparedBulk| {
            p.version == self.version
                && p.columns.ids.len() == base + entries.len()
                && p.columns.ids[base..]
                    .iter()
                    .zip(entries)
                    .all(|(id, e)| *id == e.id)
        };
        let Some(p) = prepared.filter(fits) else {
            return self.insert_many(entries);
        };
        if let Some(last) = entries.iter().map(|e| e.seq).max() {
            self.max_seq = self.max_seq.max(last);
        }
        self.columns = p.columns;
        self.runs = p.runs;
        self.tree = p.tree;
        for (area, members) in self.areas.iter_mut().zip(p.members) {
            area.members.extend(members);
        }
        self.version += 1;
        self.tile_stamps.touch_all(self.version);
        entries.len()
    }
}

#[cfg(test)]
mod tests {
    use h3o::Resolution;

    use uuid::Uuid;

    use super::*;
    use crate::index::{Filter, HourSet};
    use crate::model::{Kind, Region};

    fn entries(n: u32, first_seq: u32) -> Vec<IndexEntry> {
        (0..n)
            .map(|i| {
                let lon = 17.55 + f64::from(i % 97) * 0.001;
                let lat = 59.17 + f64::from(i % 89) * 0.001;
                IndexEntry {
                    seq: i64::from(first_seq + i),
                    id: Uuid::from_u128(u128::from(first_seq) * 1_000_000 + u128::from(i)),
                    kind: Kind::ALL[(i % 3) as usize],
                    lon,
                    lat,
                    cell: crate::index::base_cell(lon, lat).map_or(0, u64::from),
                    observed_at: 1_750_000_000 + i64::from(i) * 600,
                    category: ["lighting", "litter"][(i % 2) as usize].into(),
                    walk_id: None,
                    organisation: None,
                }
            })
            .collect()
    }

    type CellCountAndKey = (u64, u32, u32);

    /// What queries see of an index: cell counts and keys from the cell runs
    /// and from the record pass (hours filter), a bounding box through the
    /// R-tree, and the id-ordered selection.
    fn picture(idx: &ObservationIndex) -> (Vec<Vec<CellCountAndKey>>, Vec<Uuid>, i64) {
        let evening = Filter {
            hours: Some(HourSet::parse("18-23").unwrap()),
            ..Filter::default()
        };
        let boxed = Filter {
            bbox: Some(Region {
                west: 17.56,
                south: 59.18,
                east: 17.60,
                north: 59.22,
            }),
            categories: vec!["litter".into()],
            ..Filter::default()
        };
        let counts = [Filter::default(), evening, boxed]
            .iter()
            .map(|f| {
                let mut cells: Vec<CellCountAndKey> = idx
                    .hexagon_counts(Resolution::Nine, f)
                    .into_iter()
                    .map(|c| (u64::from(c.cell), c.total, c.key))
                    .collect();
                cells.sort_unstable();
                cells
            })
            .collect();
        let (ids, _) = idx.select(&Filter::default(), None, usize::MAX);
        (counts, ids, idx.max_seq())
    }

    #[test]
    fn a_prepared_batch_gives_the_same_index_as_inserting_it() {
        let old = entries(3_000, 1);
        let new = entries(20_000, 10_000);
        let rows = new.clone();

        let mut plain = ObservationIndex::from_entries(old.clone());
        plain.insert_many(&new);
        let mut prepared = ObservationIndex::from_entries(old);
        let p = prepared.prepare_bulk(&rows);
        assert!(p.is_some());
        assert_eq!(prepared.insert_prepared(p, &new), new.len());
        assert_eq!(picture(&prepared), picture(&plain));
        assert!(prepared.contains_id(&new[19_999].id));
    }

    #[test]
    fn a_stale_preparation_is_not_applied() {
        let new = entries(20_000, 10_000);
        let rows = new.clone();
        let mut idx = ObservationIndex::from_entries(entries(3_000, 1));
        let p = idx.prepare_bulk(&rows);
        // A submission lands meanwhile, and the store dropped one repeated id.
        idx.insert(&entries(1, 50_000)[0]);
        assert_eq!(idx.insert_prepared(p, &new[1..]), new.len() - 1);
        assert_eq!(idx.len(), 3_000 + 1 + new.len() - 1);
        let mut expected = ObservationIndex::from_entries(entries(3_000, 1));
        expected.insert(&entries(1, 50_000)[0]);
        expected.insert_many(&new[1..]);
        assert_eq!(picture(&idx), picture(&expected));
    }
}
