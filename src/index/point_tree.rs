//! The R-tree over the records' points, built in parallel.
//!
//! rstar bulk-loads on one thread, and for a million points that took
//! longer than anything else an import does after its last row. So the
//! points are split into slabs of equal count by longitude, each slab gets
//! a tree of its own, built side by side, and a query asks every tree whose
//! bounds it touches. A point added later goes to the tree of its slab.

use rayon::prelude::*;
use rstar::{AABB, RTree, primitives::GeomWithData};

/// A point and its record number.
pub(super) type TreePoint = GeomWithData<[f64; 2], u32>;

/// Slabs a large tree is split into: enough to keep a few cores busy.
const SLABS: usize = 4;

/// Below this many points a single tree is built.
const SPLIT_FROM: usize = 50_000;

pub(super) struct PointTree {
    /// Where each slab after the first begins (longitude), ascending.
    starts: Vec<f64>,
    trees: Vec<RTree<TreePoint>>,
}

impl Default for PointTree {
    fn default() -> Self {
        PointTree {
            starts: Vec::new(),
            trees: vec![RTree::new()],
        }
    }
}

impl PointTree {
    /// The tree over `points`, each tagged with its record number.
    pub(super) fn build(points: &[[f64; 2]]) -> Self {
        let mut all: Vec<TreePoint> = points
            .par_iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new(*p, u32::try_from(i).expect("fewer than 2^32")))
            .collect();
        let slabs = if all.len() < SPLIT_FROM { 1 } else { SLABS };
        let mut starts = Vec::with_capacity(slabs - 1);
        let mut parts = Vec::with_capacity(slabs);
        for s in (1..slabs).rev() {
            // The last `1/(s+1)` of what is left, by longitude.
            let at = all.len() - all.len() / (s + 1);
            all.select_nth_unstable_by(at, |a, b| a.geom()[0].total_cmp(&b.geom()[0]));
            starts.push(all[at].geom()[0]);
            parts.push(all.split_off(at));
        }
        parts.push(all);
        parts.reverse();
        starts.reverse();
        PointTree {
            starts,
            trees: parts.into_par_iter().map(RTree::bulk_load).collect(),
        }
    }

    pub(super) fn insert(&mut self, point: [f64; 2], record: u32) {
        let slab = self.starts.partition_point(|&start| start <= point[0]);
        self.trees[slab].insert(GeomWithData::new(point, record));
    }

    /// The points inside `envelope` (borders included), in no set order.
    pub(super) fn locate_in_envelope<'a>(
        &'a self,
        envelope: &'a AABB<[f64; 2]>,
    ) -> impl Iterator<Item = &'a TreePoint> + 'a {
        self.trees
            .iter()
            .flat_map(move |tree| tree.locate_in_envelope(envelope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid of points with repeated longitudes (slab borders fall on
    /// equal values).
    fn points(n: u32) -> Vec<[f64; 2]> {
        (0..n)
            .map(|i| {
                [
                    17.5 + f64::from(i % 400) * 1e-3,
                    59.1 + f64::from(i / 400) * 1e-4,
                ]
            })
            .collect()
    }

    fn found(tree: &PointTree, env: &AABB<[f64; 2]>) -> Vec<u32> {
        let mut v: Vec<u32> = tree.locate_in_envelope(env).map(|p| p.data).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn slabs_answer_as_one_tree_does() {
        for n in [0, 10, 60_000, 120_001] {
            let pts = points(n);
            let mut tree = PointTree::build(&pts);
            let mut one = RTree::bulk_load(
                pts.iter()
                    .enumerate()
                    .map(|(i, p)| GeomWithData::new(*p, u32::try_from(i).unwrap()))
                    .collect(),
            );
            assert_eq!(
                tree.trees.len(),
                if pts.len() < SPLIT_FROM { 1 } else { SLABS }
            );
            // Added later, on and beside slab borders.
            for (i, p) in (n..).zip([[17.5, 59.1], [17.6, 59.15], [17.7, 59.2], [18.0, 59.0]]) {
                tree.insert(p, i);
                one.insert(GeomWithData::new(p, i));
            }
            for env in [
                AABB::from_corners([17.0, 59.0], [18.5, 60.0]),
                AABB::from_corners([17.55, 59.12], [17.65, 59.13]),
                AABB::from_corners([17.6, 59.1], [17.6, 59.2]),
                AABB::from_corners([17.8, 59.0], [17.9, 59.5]),
            ] {
                let mut expected: Vec<u32> = one.locate_in_envelope(&env).map(|p| p.data).collect();
                expected.sort_unstable();
                assert_eq!(found(&tree, &env), expected, "{n} points, {env:?}");
            }
        }
    }
}
