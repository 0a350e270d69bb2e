//! Analyses over aggregated counts: pure functions of the index and the
//! counts, no I/O, no HTTP.

pub mod area;
pub mod emerging;
pub mod gi_star;
pub mod hotspots;
pub mod manual_indicator;
pub mod overlay;
pub mod perception;
pub mod trend;

pub use area::{AreaAnalysis, AreaInput, analyse_area, is_dark};
pub use emerging::{CubeSettings, EmergingSpot, Pattern, emerging_hot_spots, emerging_in};
pub use gi_star::Standardisation;
pub use hotspots::{HotSpot, RegionCellCache, fdr_bins, gi_star, hot_spots_in, region_cells};
pub use trend::{MannKendall, mann_kendall};
