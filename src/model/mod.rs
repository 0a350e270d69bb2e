//! The domain model: observations, the category taxonomy, walks, areas and
//! roles. Plain data and validation only — no I/O, no HTTP, no SQL.

pub mod action;
pub mod area;
pub mod observation;
pub mod period;
pub mod permission;
pub mod region;
pub mod role;
pub mod swedish_time;
pub mod taxonomy;
pub mod walk;

pub use action::{Action, ActionStatus, Focus, Indicator, IndicatorSource, IndicatorValue};
pub use area::{Area, AreaType};
pub use observation::{
    FindingChange, FindingState, FindingStatus, Kind, NewObservation, Observation, ValidationError,
};
pub use period::{Period, PeriodKind};
pub use region::Region;
pub use role::{Principal, Role};
pub use taxonomy::Taxonomy;
pub use walk::Walk;

/// Whether `id` is a short slug (1–64 lower-case letters, digits, `-`, `_`):
/// area and action ids appear in URLs and filters.
pub fn is_slug(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
