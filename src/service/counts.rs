//! Counts and the analyses made from them, read from the index for anyone:
//! what a caller may see of them is its [`Disclosure`], decided by the
//! caller of these and applied here where a count is shown. Each holds the
//! index's read lock while it counts, so call them off the async threads
//! (`spawn_blocking`, `http::budget`) when they may take a while.

use h3o::{CellIndex, Resolution};

use super::Service;
use crate::analysis::emerging::{CubeSettings, EmergingSpot, emerging_in};
use crate::analysis::hotspots::{HotSpot, hot_spots_in};
use crate::analysis::perception::{PerceptionCell, perception_in};
use crate::index::{CellCount, CellSummary, Filter};
use crate::privacy::Disclosure;

impl Service {
    /// Counts per cell at `res`: for callers who see counts rounded, a
    /// bounding box takes whole cells (see [`crate::privacy`]).
    pub fn hexagon_counts(
        &self,
        res: Resolution,
        filter: &Filter,
        d: Disclosure,
    ) -> Vec<CellCount> {
        let index = self.index();
        if d.is_exact() {
            index.hexagon_counts(res, filter)
        } else {
            index.hexagon_counts_whole_cells(res, filter)
        }
    }

    /// One cell's counts by kind, category and time.
    pub fn cell_summary(&self, cell: CellIndex, filter: &Filter) -> CellSummary {
        self.index().cell_summary(cell, filter)
    }

    /// The counts of everything `filter` matches, by kind, category and time.
    pub fn summary(&self, filter: &Filter) -> CellSummary {
        self.index().summary(filter)
    }

    /// How many observations `filter` matches.
    pub fn count(&self, filter: &Filter) -> usize {
        self.index().count(filter)
    }

    /// Changes with every change to the index: answers computed from it may
    /// be kept under it.
    pub fn data_version(&self) -> u64 {
        self.index().version()
    }

    /// Getis–Ord Gi* hot spots of `cells`, from the counts as `d` shows them.
    pub fn hot_spots(
        &self,
        cells: &[CellIndex],
        res: Resolution,
        filter: &Filter,
        k: u32,
        d: Disclosure,
    ) -> Vec<HotSpot> {
        hot_spots_in(&self.index(), cells, res, filter, k, d)
    }

    /// Emerging hot spots of `cells` over the time steps `bounds`.
    pub fn emerging_hot_spots(
        &self,
        cells: &[CellIndex],
        res: Resolution,
        filter: &Filter,
        bounds: &[i64],
        settings: &CubeSettings,
        d: Disclosure,
    ) -> Vec<EmergingSpot> {
        emerging_in(&self.index(), cells, res, filter, bounds, settings, d)
    }

    /// Perceived insecurity against incidents per cell.
    pub fn perception(
        &self,
        res: Resolution,
        filter: &Filter,
        min_n: u32,
        d: Disclosure,
    ) -> Vec<PerceptionCell> {
        let incidents = self.taxonomy.incident_codes();
        perception_in(&self.index(), res, filter, &incidents, min_n, d)
    }
}
