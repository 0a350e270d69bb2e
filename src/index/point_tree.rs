//! The spatial index over the records' points: an R-tree over groups of
//! points, a group per resolution-12 cell.
//!
//! An R-tree over a million points took longer to bulk-load than anything
//! else an import does after its last row (rstar loads on one thread), and
//! held about 60 bytes per point: every child slot of a node is as large as
//! a node. The records come with their cell already, and a million demo
//! points fall in some 90,000 cells, so the tree holds one rectangle per
//! cell — the bounds of its points — and each cell keeps its points in a
//! list. Grouping is one parallel sort; a query asks the tree for the
//! rectangles its envelope touches and looks at their points.

use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, Envelope, RTree, RTreeObject};
use rustc_hash::FxHashMap;

/// A point and its record number.
pub(super) type TreePoint = GeomWithData<[f64; 2], u32>;

/// A group's bounds and its number.
type GroupBounds = GeomWithData<Rectangle<[f64; 2]>, u32>;

#[derive(Default)]
pub(super) struct PointTree {
    tree: RTree<GroupBounds>,
    /// Each group's points.
    groups: Vec<Vec<TreePoint>>,
    /// The group of each cell.
    by_cell: FxHashMap<u64, u32>,
}

fn bounds(points: &[TreePoint]) -> AABB<[f64; 2]> {
    AABB::from_points(points.iter().map(GeomWithData::geom))
}

impl PointTree {
    /// The tree over `points` (record `i` at `points[i]`, in cell `cells[i]`).
    pub(super) fn build(points: &[[f64; 2]], cells: &[u64]) -> Self {
        let mut order: Vec<(u64, u32)> = cells
            .par_iter()
            .enumerate()
            .map(|(i, &cell)| (cell, u32::try_from(i).expect("fewer than 2^32 records")))
            .collect();
        order.par_sort_unstable();
        let runs: Vec<&[(u64, u32)]> = order.chunk_by(|a, b| a.0 == b.0).collect();
        let groups: Vec<Vec<TreePoint>> = runs
            .par_iter()
            .map(|run| {
                run.iter()
                    .map(|&(_, i)| GeomWithData::new(points[i as usize], i))
                    .collect()
            })
            .collect();
        let by_cell = runs.iter().zip(0..).map(|(run, g)| (run[0].0, g)).collect();
        let rectangles = groups
            .par_iter()
            .zip(0..groups.len())
            .map(|(group, g)| {
                let g = u32::try_from(g).expect("fewer than 2^32 groups");
                GeomWithData::new(Rectangle::from_aabb(bounds(group)), g)
            })
            .collect();
        PointTree {
            tree: RTree::bulk_load(rectangles),
            groups,
            by_cell,
        }
    }

    pub(super) fn insert(&mut self, point: [f64; 2], cell: u64, record: u32) {
        let next = u32::try_from(self.groups.len()).expect("fewer than 2^32 groups");
        let g = *self.by_cell.entry(cell).or_insert(next);
        if g == next {
            self.groups.push(Vec::new());
        }
        let group = &mut self.groups[g as usize];
        let before = (!group.is_empty()).then(|| bounds(group));
        group.push(GeomWithData::new(point, record));
        let after = bounds(group);
        if before == Some(after) {
            return;
        }
        if let Some(before) = before {
            self.tree
                .remove(&GeomWithData::new(Rectangle::from_aabb(before), g));
        }
        self.tree
            .insert(GeomWithData::new(Rectangle::from_aabb(after), g));
    }

    /// The points inside `envelope` (borders included), in no set order.
    pub(super) fn locate_in_envelope<'a>(
        &'a self,
        envelope: &'a AABB<[f64; 2]>,
    ) -> impl Iterator<Item = &'a TreePoint> + 'a {
        self.tree
            .locate_in_envelope_intersecting(envelope)
            .flat_map(move |bounds| {
                let points = self.groups[bounds.data as usize].iter();
                // A group wholly inside needs no test per point.
                let inside = envelope.contains_envelope(&bounds.geom().envelope());
                points.filter(move |p| inside || envelope.contains_point(p.geom()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::base_cell;

    /// A grid of points, several to a cell.
    fn points(n: u32) -> Vec<[f64; 2]> {
        (0..n)
            .map(|i| {
                [
                    17.5 + f64::from(i % 400) * 5e-5,
                    59.1 + f64::from(i / 400) * 4e-5,
                ]
            })
            .collect()
    }

    fn cell(p: [f64; 2]) -> u64 {
        base_cell(p[0], p[1]).map_or(0, u64::from)
    }

    fn found(tree: &PointTree, env: &AABB<[f64; 2]>) -> Vec<u32> {
        let mut v: Vec<u32> = tree.locate_in_envelope(env).map(|p| p.data).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn groups_answer_as_a_tree_of_points_does() {
        for n in [0, 10, 60_000] {
            let pts = points(n);
            let cells: Vec<u64> = pts.iter().map(|&p| cell(p)).collect();
            let mut tree = PointTree::build(&pts, &cells);
            let mut one = RTree::bulk_load(
                pts.iter()
                    .enumerate()
                    .map(|(i, p)| GeomWithData::new(*p, u32::try_from(i).unwrap()))
                    .collect(),
            );
            if n > 0 {
                assert!(tree.groups.len() < pts.len() / 2, "points share groups");
            }
            // Added later: into new cells, and into known cells, inside and
            // outside their points' bounds (which then grow).
            let later = [
                [17.5, 59.1],
                [17.50001, 59.10001],
                [17.49999, 59.1],
                [17.51, 59.101],
                [18.0, 59.0],
                [17.50002, 59.10003],
            ];
            for (i, p) in (n..).zip(later) {
                tree.insert(p, cell(p), i);
                one.insert(GeomWithData::new(p, i));
            }
            for env in [
                AABB::from_corners([17.0, 59.0], [18.5, 60.0]),
                AABB::from_corners([17.505, 59.12], [17.51, 59.13]),
                AABB::from_corners([17.5, 59.1], [17.5, 59.2]),
                AABB::from_corners([17.499_99, 59.099], [17.5, 59.1]),
                AABB::from_corners([17.8, 59.0], [18.0, 59.5]),
                AABB::from_corners([17.51, 59.101], [17.51, 59.101]),
            ] {
                let mut expected: Vec<u32> = one.locate_in_envelope(&env).map(|p| p.data).collect();
                expected.sort_unstable();
                assert_eq!(found(&tree, &env), expected, "{n} points, {env:?}");
            }
        }
    }
}
