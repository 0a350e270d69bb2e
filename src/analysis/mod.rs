//! Analyses over aggregated counts: pure functions, no I/O, no HTTP.

pub mod hotspots;

pub use hotspots::{HotSpot, fdr_bins, gi_star, region_cells};
