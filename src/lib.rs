//! Trygg: geospatial safety mapping for Swedish municipalities.
//!
//! Observations of perceived insecurity, safety-walk findings and
//! place-based cooperation observations come in; counts per H3 hexagon,
//! filtered by kind, category, period, time of day and area, go out.
//!
//! The crate is laid out so that imports point inward, toward the model:
//!
//! - [`model`] — observations, taxonomy, roles and who may do what, walks,
//!   areas, the action plan: plain data.
//! - [`ingest`] — GeoJSON, CSV and NDJSON parsing into the model.
//! - [`index`] — the in-memory R-tree and H3 aggregation; synchronous.
//! - [`store`] — the [`store::Store`] trait and its two implementations,
//!   the embedded SQLite store and PostgreSQL/PostGIS.
//! - [`service`] — the running service: store + index kept in step, and the
//!   use cases that take the caller, check the permission table and audit.
//! - [`analysis`] — hot spots (Gi*), emerging hot spots, area analyses,
//!   perception against incidents, the tiles' analysis overlay.
//! - [`mercator`] — Web Mercator tile addresses and projection: a leaf that
//!   the index and the tiles both use.
//! - [`tiles`] — clipping, MVT encoding, the tile cache and which cached
//!   tiles a change makes stale.
//! - [`http`] — the axum router, the connection loop and its timeouts,
//!   what expensive analyses may cost; the only code that knows HTTP.
//! - [`export`] and [`report`] — observations and stored analyses out as
//!   GeoJSON, CSV and HTML.
//! - [`demo`] — the deterministic Södertälje demo-data generator.
//! - [`auth`] — tokens and passwords: generation and hashing.
//! - [`config`] — the typed configuration.
//! - [`privacy`] — the one rule for what public views may show: cell-key
//!   rounding, withheld counts shown as 0, statistics from shown counts.
//! - [`csv_cell`] — free text in CSV cells that no spreadsheet runs as a formula.

pub mod analysis;
pub mod auth;
pub mod config;
pub mod csv_cell;
pub mod demo;
pub mod export;
pub mod http;
pub mod index;
pub mod ingest;
pub mod mercator;
pub mod model;
pub mod privacy;
pub mod report;
pub mod service;
pub mod store;
pub mod tiles;

/// An error and its sources on one line, for logs and CLI messages.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
