//! Adding a large batch in three steps. While the batch is parsed and
//! stored, its records are gathered into columns of their own
//! ([`BatchColumns`]), chunk by chunk. Once the last record is read,
//! everything the index keeps for the batch — its columns appended to the
//! index's, the id map, the cell runs and the R-tree over all records, area
//! membership — is prepared while the store still commits (its last steps
//! take one core and the disk), from a copy of the index's columns taken
//! under its read lock in milliseconds ([`BulkBase`]), so that submissions
//! meanwhile do not wait for the preparation. Once the batch is stored,
//! applying the preparation is a swap. If the index changed in between, or
//! the store did not take every record, what was stored is indexed the
//! usual way instead (see `Service::index_streamed`).

use geo::{MultiPolygon, Rect};

use super::{
    AsRow, CellLocator, Columns, ObservationIndex, PointTree, cell_runs::CellRuns,
    interner::Interner, new_members,
};

/// The index's columns with a batch appended, and the structures over them.
pub struct PreparedBulk {
    /// The index version it was prepared from.
    version: u64,
    columns: Columns,
    runs: CellRuns,
    tree: PointTree,
    /// New members of each area, in the index's area order.
    members: Vec<Vec<u32>>,
}

/// The columns of a batch, gathered as its records arrive, with
/// attributes interned batch by batch (mapped to the index's at
/// preparation).
pub struct BatchColumns {
    columns: Columns,
    /// Whether an id came twice.
    repeated: bool,
}

impl Default for BatchColumns {
    fn default() -> Self {
        BatchColumns {
            columns: Columns::new(),
            repeated: false,
        }
    }
}

impl BatchColumns {
    /// Adds records.
    pub fn add<E: AsRow>(&mut self, entries: &[E]) {
        if self.columns.push_many(entries) < entries.len() {
            self.repeated = true;
        }
    }

    pub fn len(&self) -> usize {
        self.columns.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.ids.is_empty()
    }
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

/// A batch's interned ids appended to `column`, each as the id `index` has
/// for the same value (interned there if new).
fn append_interned<V, T>(
    column: &mut Vec<T>,
    ids: &[T],
    batch: &Interner<V>,
    index: &mut Interner<V>,
) where
    V: std::hash::Hash + Eq + Clone,
    T: Copy + Into<u32> + TryFrom<u32>,
{
    let map: Vec<T> = (0..batch.len())
        .map(|i| {
            let value = batch
                .name(u32::try_from(i).expect("fewer than 2^32 values"))
                .expect("interned");
            T::try_from(index.intern(value.clone()))
                .unwrap_or_else(|_| panic!("more distinct values than the column holds"))
        })
        .collect();
    column.extend(ids.iter().map(|&v| map[v.into() as usize]));
}

impl ObservationIndex {
    /// What preparing a batch of `n` needs, copied; `None` when the batch is
    /// small enough to insert one by one.
    pub fn bulk_base(&self, n: usize) -> Option<BulkBase> {
        if !self.takes_in_bulk(n) {
            return None;
        }
        let c = &self.columns;
        Some(BulkBase {
            version: self.version,
            columns: Columns {
                ids: copy(&c.ids, n),
                by_id: c.by_id.clone(),
                points: copy(&c.points, n),
                cells: copy(&c.cells, n),
                exact: c.exact.copy(n),
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

    /// Prepares adding `rows`; `None` when
    /// the batch is small enough to insert one by one or repeats an id.
    pub fn prepare_bulk<E: AsRow>(&self, rows: &[E]) -> Option<PreparedBulk> {
        let mut batch = BatchColumns::default();
        batch.add(rows);
        self.bulk_base(batch.len())?.prepare(batch)
    }
}

impl Columns {
    /// Appends `batch`'s rows (their ids already in `by_id`), mapping its
    /// interned values to this index's.
    fn append(&mut self, batch: &Columns) {
        self.ids.extend_from_slice(&batch.ids);
        self.points.extend_from_slice(&batch.points);
        self.cells.extend_from_slice(&batch.cells);
        self.exact.append(&batch.exact);
        self.times.extend_from_slice(&batch.times);
        self.keys.extend_from_slice(&batch.keys);
        self.hours.extend_from_slice(&batch.hours);
        self.kinds.extend_from_slice(&batch.kinds);
        append_interned(
            &mut self.categories,
            &batch.categories,
            &batch.category_names,
            &mut self.category_names,
        );
        append_interned(
            &mut self.walks,
            &batch.walks,
            &batch.walk_ids,
            &mut self.walk_ids,
        );
        append_interned(
            &mut self.organisations,
            &batch.organisations,
            &batch.organisation_names,
            &mut self.organisation_names,
        );
    }
}

impl BulkBase {
    /// The index's columns and structures with `batch` added; `None` if one
    /// of its ids is known or repeated.
    pub fn prepare(self, batch: BatchColumns) -> Option<PreparedBulk> {
        let Self {
            version,
            mut columns,
            areas,
        } = self;
        if batch.repeated {
            return None;
        }
        let batch = batch.columns;
        let base = columns.ids.len();
        if base == 0 {
            // Into an empty index: the batch's columns are the index's, its
            // interners included (both reserve the same "none" entries).
            columns = batch;
        } else {
            columns.by_id.reserve(batch.ids.len());
            for (i, id) in (base..).zip(&batch.ids) {
                let i = u32::try_from(i).expect("fewer than 2^32 observations");
                if columns.by_id.insert(*id, i).is_some() {
                    return None;
                }
            }
            columns.append(&batch);
        }
        // The batch's exact cells, beside the R-tree; the runs need them.
        let ((tree, members), located) = rayon::join(
            || {
                rayon::join(
                    || PointTree::build(&columns.points, &columns.cells),
                    || {
                        new_members(
                            areas.iter().map(|(bbox, geometry)| (*bbox, geometry)),
                            &columns.points,
                            base..columns.points.len(),
                        )
                    },
                )
            },
            || CellLocator::default().locate(&columns.points[base..], &columns.cells[base..]),
        );
        columns.exact.extend(located);
        let runs = CellRuns::build(&columns);
        Some(PreparedBulk {
            version,
            columns,
            runs,
            tree,
            members,
        })
    }
}

impl ObservationIndex {
    /// Takes in `prepared` if it was prepared from exactly the `stored`
    /// records the store has just stored (the last one under `last_seq`)
    /// and the index has not changed since; says whether it did. Otherwise
    /// the records must be inserted as entries.
    pub fn take_prepared(&mut self, prepared: PreparedBulk, stored: usize, last_seq: i64) -> bool {
        // The batch held no id twice nor one the index knew (or it would not
        // have been prepared), so the store took every record of it exactly
        // when it stored as many.
        if prepared.version != self.version || prepared.columns.ids.len() != self.len() + stored {
            return false;
        }
        self.max_seq = self.max_seq.max(last_seq);
        self.columns = prepared.columns;
        self.runs = prepared.runs;
        self.tree = prepared.tree;
        for (area, members) in self.areas.iter_mut().zip(prepared.members) {
            area.members.extend(members);
        }
        self.version += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use h3o::Resolution;

    use uuid::Uuid;

    use super::*;
    use crate::index::{Filter, HourSet, IndexEntry};
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
                    // Batches after the first bring categories, walks and
                    // organisations of their own, besides shared ones.
                    category: match (i % 3, first_seq > 1) {
                        (2, true) => "graffiti",
                        _ => ["lighting", "litter"][(i % 2) as usize],
                    }
                    .into(),
                    walk_id: (i % 5 == 0).then(|| Uuid::from_u128(u128::from(i % 3 + first_seq))),
                    organisation: (i % 7 == 0)
                        .then(|| ["Telge Bostäder", "SL"][(i / 7 % 2) as usize].into())
                        .filter(|o: &String| first_seq > 1 || o == "SL"),
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
        let graffiti = Filter {
            categories: vec!["graffiti".into()],
            ..Filter::default()
        };
        let by_walk = Filter {
            walk_id: Some(Uuid::from_u128(10_001)),
            ..Filter::default()
        };
        let by_organisation = |o: &str| Filter {
            organisation: Some(o.into()),
            ..Filter::default()
        };
        let counts = [
            Filter::default(),
            evening,
            boxed,
            graffiti,
            by_walk,
            by_organisation("SL"),
            by_organisation("Telge Bostäder"),
        ]
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
        let p = prepared.prepare_bulk(&rows).unwrap();
        assert!(prepared.take_prepared(p, new.len(), new[new.len() - 1].seq));
        assert_eq!(picture(&prepared), picture(&plain));
        assert!(prepared.contains_id(&new[19_999].id));
    }

    #[test]
    fn a_stale_preparation_is_not_applied() {
        let new = entries(20_000, 10_000);
        let last_seq = new[new.len() - 1].seq;
        let mut idx = ObservationIndex::from_entries(entries(3_000, 1));
        let before = picture(&idx);
        // The store took one record fewer (its id was stored meanwhile).
        let p = idx.prepare_bulk(&new).unwrap();
        assert!(!idx.take_prepared(p, new.len() - 1, last_seq));
        assert_eq!(picture(&idx), before);
        // A submission landed meanwhile.
        let p = idx.prepare_bulk(&new).unwrap();
        idx.insert(&entries(1, 50_000)[0]);
        let after_submission = picture(&idx);
        assert!(!idx.take_prepared(p, new.len(), last_seq));
        assert_eq!(picture(&idx), after_submission);
    }
}
