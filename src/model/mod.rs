//! The domain model: observations, the category taxonomy, walks, areas and
//! roles. Plain data and validation only — no I/O, no HTTP, no SQL.

pub mod action;
pub mod area;
pub mod observation;
pub mod period;
pub mod region;
pub mod role;
pub mod swedish_time;
pub mod taxonomy;
pub mod walk;

pub use action::{Action, ActionStatus, Focus, Indicator};
pub use area::{Area, AreaType};
pub use observation::{
    FindingState, FindingStatus, Kind, NewObservation, Observation, ValidationError,
};
pub use period::{Period, PeriodKind};
pub use region::Region;
pub use role::{Principal, Role};
pub use taxonomy::Taxonomy;
pub use walk::Walk;
