//! Map tiles: polygon clipping, Mapbox Vector Tile 2.1 encoding, and the
//! cache of encoded tiles with its invalidation. Bytes out; this module
//! never sees HTTP. The tile math is [`crate::mercator`]'s, re-exported.

pub mod cache;
mod clip;
mod encode;
pub mod layers;
mod stamps;
mod writer;

pub use crate::mercator::{TileError, TileId, world};
pub use clip::clip_ring;
pub use encode::{LayerFeature, Shape, Value, encode_layer};
pub use stamps::STAMPED_ZOOM;
pub use writer::{BUFFER, EXTENT, LayerWriter, Prop};

use h3o::Resolution;

/// The H3 resolution drawn at a zoom level: coarse cells when zoomed out,
/// finer ones zoomed in, so a cell stays a few to a few dozen pixels wide.
///
/// | zoom | ≤ 9 | 10 | 11 | 12 | 13 | ≥ 14 |
/// |---|---|---|---|---|---|---|
/// | resolution | 6 | 7 | 8 | 9 | 10 | 11 |
pub fn resolution_for_zoom(z: u8) -> Resolution {
    match z {
        0..=9 => Resolution::Six,
        10 => Resolution::Seven,
        11 => Resolution::Eight,
        12 => Resolution::Nine,
        13 => Resolution::Ten,
        _ => Resolution::Eleven,
    }
}
