//! Writes one Mapbox Vector Tile 2.1 layer straight to protobuf bytes
//! (<https://github.com/mapbox/vector-tile-spec/blob/master/2.1/vector_tile.proto>).
//!
//! Geometry comes in Web Mercator world coordinates (the unit square, y
//! down), so putting it in a tile is a scale and a shift — no trigonometry
//! per vertex — and nothing is allocated per feature: hexagon tiles hold
//! hundreds of features and are built on every uncached request.

use rustc_hash::FxHashMap;

use super::TileId;
use super::clip::{clip_line, clip_ring};

/// Tile coordinate units per tile side.
pub const EXTENT: u32 = 4096;
/// Geometry kept beyond each tile edge, in tile units, so that strokes at
/// tile seams render cleanly.
pub const BUFFER: f64 = 64.0;

/// A property value as it is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prop<'a> {
    Str(&'a str),
    /// A 64-bit number written as lowercase hexadecimal text (an H3 index).
    Hex(u64),
    Uint(u64),
    Sint(i64),
    Bool(bool),
}

/// Values already in the layer's table, to refer to again.
#[derive(Hash, PartialEq, Eq)]
enum Seen {
    Str(String),
    Uint(u64),
    Sint(i64),
    Bool(bool),
}

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

/// One layer being written.
pub struct LayerWriter<'n> {
    tile: TileId,
    name: &'n str,
    /// Encoded `Feature` messages, each with its field tag and length.
    features: Vec<u8>,
    keys: Vec<&'static str>,
    /// Encoded `Value` messages, each with its field tag and length.
    values: Vec<u8>,
    value_count: u32,
    seen: FxHashMap<Seen, u32>,
    // Reused per feature.
    tags: Vec<u32>,
    geometry: Vec<u32>,
    ring: Vec<(i32, i32)>,
    body: Vec<u8>,
    packed: Vec<u8>,
    msg: Vec<u8>,
}

#[expect(clippy::cast_possible_truncation, reason = "seven bits at a time")]
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A field's tag: number and wire type (0 varint, 2 length-delimited).
fn tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A packed repeated `uint32` field, encoded through the `scratch` buffer.
fn packed_field(out: &mut Vec<u8>, scratch: &mut Vec<u8>, field: u32, values: &[u32]) {
    scratch.clear();
    for &v in values {
        varint(scratch, u64::from(v));
    }
    bytes_field(out, field, scratch);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)).cast_unsigned()
}

fn command(id: u32, count: usize) -> u32 {
    id | (u32::try_from(count).unwrap_or(u32::MAX >> 3) << 3)
}

/// Signed area by the shoelace formula (positive: clockwise with y down).
pub(super) fn area(ring: &[(i32, i32)]) -> i64 {
    let mut a = 0i64;
    for (i, p) in ring.iter().enumerate() {
        let q = ring[(i + 1) % ring.len()];
        a += i64::from(p.0) * i64::from(q.1) - i64::from(q.0) * i64::from(p.1);
    }
    a
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "callers keep coordinates within the buffered tile"
)]
fn round(p: (f64, f64)) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

impl<'n> LayerWriter<'n> {
    pub fn new(tile: TileId, name: &'n str) -> Self {
        LayerWriter {
            tile,
            name,
            features: Vec::with_capacity(16 * 1024),
            keys: Vec::new(),
            values: Vec::with_capacity(4 * 1024),
            value_count: 0,
            seen: FxHashMap::default(),
            tags: Vec::new(),
            geometry: Vec::new(),
            ring: Vec::new(),
            body: Vec::new(),
            packed: Vec::new(),
            msg: Vec::new(),
        }
    }

    /// World coordinates in this tile's units.
    fn to_tile(&self, (wx, wy): (f64, f64)) -> (f64, f64) {
        let n = f64::from(1u32 << self.tile.z);
        let e = f64::from(EXTENT);
        (
            (wx * n - f64::from(self.tile.x)) * e,
            (wy * n - f64::from(self.tile.y)) * e,
        )
    }

    fn key(&mut self, k: &'static str) -> u32 {
        let i = self.keys.iter().position(|&x| x == k).unwrap_or_else(|| {
            self.keys.push(k);
            self.keys.len() - 1
        });
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    fn value(&mut self, v: Prop<'_>) -> u32 {
        let seen = match v {
            // Cell indexes are unique within a layer: not worth looking up.
            Prop::Hex(_) => None,
            Prop::Str(s) => Some(Seen::Str(s.to_owned())),
            Prop::Uint(n) => Some(Seen::Uint(n)),
            Prop::Sint(n) => Some(Seen::Sint(n)),
            Prop::Bool(b) => Some(Seen::Bool(b)),
        };
        if let Some(i) = seen.as_ref().and_then(|s| self.seen.get(s)) {
            return *i;
        }
        let mut msg = std::mem::take(&mut self.msg);
        msg.clear();
        match v {
            Prop::Str(s) => bytes_field(&mut msg, 1, s.as_bytes()),
            Prop::Hex(h) => {
                let mut digits = [0u8; 16];
                let mut n = 0;
                let mut rest = h;
                loop {
                    digits[n] = b"0123456789abcdef"[(rest & 0xf) as usize];
                    n += 1;
                    rest >>= 4;
                    if rest == 0 {
                        break;
                    }
                }
                digits[..n].reverse();
                bytes_field(&mut msg, 1, &digits[..n]);
            }
            Prop::Uint(n) => {
                tag(&mut msg, 5, 0);
                varint(&mut msg, n);
            }
            Prop::Sint(n) => {
                tag(&mut msg, 6, 0);
                varint(&mut msg, ((n << 1) ^ (n >> 63)).cast_unsigned());
            }
            Prop::Bool(b) => {
                tag(&mut msg, 7, 0);
                varint(&mut msg, u64::from(b));
            }
        }
        bytes_field(&mut self.values, 4, &msg);
        self.msg = msg;
        let i = self.value_count;
        self.value_count += 1;
        if let Some(s) = seen {
            self.seen.insert(s, i);
        }
        i
    }

    /// Appends one ring or line (already in tile units) to the geometry.
    fn path(&mut self, cursor: &mut (i32, i32), points: &[(i32, i32)], closed: bool) {
        let Some((&first, rest)) = points.split_first() else {
            return;
        };
        self.geometry.push(command(MOVE_TO, 1));
        self.geometry.push(zigzag(first.0 - cursor.0));
        self.geometry.push(zigzag(first.1 - cursor.1));
        *cursor = first;
        self.geometry.push(command(LINE_TO, rest.len()));
        for &p in rest {
            self.geometry.push(zigzag(p.0 - cursor.0));
            self.geometry.push(zigzag(p.1 - cursor.1));
            *cursor = p;
        }
        if closed {
            self.geometry.push(command(CLOSE_PATH, 1));
        }
    }

    /// Puts a ring (world coordinates) into `self.ring` in tile units:
    /// clipped to the buffered tile, rounded, without repeated or closing
    /// points, exterior rings clockwise on screen and holes counter-clockwise.
    /// `false` when nothing of it is left.
    fn tile_ring(&mut self, ring: &[(f64, f64)], exterior: bool) -> bool {
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        self.ring.clear();
        let mut inside = true;
        for &p in ring {
            let (x, y) = self.to_tile(p);
            inside &= (lo..=hi).contains(&x) && (lo..=hi).contains(&y);
            let r = round((x, y));
            if self.ring.last() != Some(&r) {
                self.ring.push(r);
            }
        }
        if !inside {
            // Rare (cells on the tile's edge): clip in floating point.
            let projected: Vec<(f64, f64)> = ring.iter().map(|&p| self.to_tile(p)).collect();
            self.ring.clear();
            for p in clip_ring(&projected, lo, hi) {
                let r = round(p);
                if self.ring.last() != Some(&r) {
                    self.ring.push(r);
                }
            }
        }
        while self.ring.len() > 1 && self.ring.first() == self.ring.last() {
            self.ring.pop();
        }
        let a = area(&self.ring);
        if self.ring.len() < 3 || a == 0 {
            return false;
        }
        if (a > 0) != exterior {
            self.ring.reverse();
        }
        true
    }

    /// Adds a polygon feature: rings in world coordinates, each with whether
    /// it is an exterior (a polygon's holes follow its exterior). Nothing is
    /// added when no ring reaches into the tile. The id is optional in MVT;
    /// hexagons go without (their `cell` names them, and an H3 index does
    /// not fit a JavaScript number).
    pub fn polygon(
        &mut self,
        id: Option<u64>,
        rings: &[(&[(f64, f64)], bool)],
        props: &[(&'static str, Prop<'_>)],
    ) {
        self.geometry.clear();
        let mut cursor = (0, 0);
        let mut skip_holes = false;
        for &(ring, exterior) in rings {
            if !exterior && skip_holes {
                continue;
            }
            if !self.tile_ring(ring, exterior) {
                skip_holes = exterior;
                continue;
            }
            skip_holes = false;
            let points = std::mem::take(&mut self.ring);
            self.path(&mut cursor, &points, true);
            self.ring = points;
        }
        if !self.geometry.is_empty() {
            self.feature(id, 3, props);
        }
    }

    /// Adds a line feature: polylines in world coordinates, clipped.
    pub fn lines(&mut self, id: u64, lines: &[&[(f64, f64)]], props: &[(&'static str, Prop<'_>)]) {
        self.geometry.clear();
        let mut cursor = (0, 0);
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        for line in lines {
            let projected: Vec<(f64, f64)> = line.iter().map(|&p| self.to_tile(p)).collect();
            for piece in clip_line(&projected, lo, hi) {
                let mut out: Vec<(i32, i32)> = Vec::with_capacity(piece.len());
                for p in piece {
                    let r = round(p);
                    if out.last() != Some(&r) {
                        out.push(r);
                    }
                }
                if out.len() >= 2 {
                    self.path(&mut cursor, &out, false);
                }
            }
        }
        if !self.geometry.is_empty() {
            self.feature(Some(id), 2, props);
        }
    }

    /// Adds a point feature when the point (world coordinates) lies in the tile.
    pub fn point(&mut self, id: u64, p: (f64, f64), props: &[(&'static str, Prop<'_>)]) {
        let (x, y) = self.to_tile(p);
        let e = f64::from(EXTENT);
        if !(0.0..e).contains(&x) || !(0.0..e).contains(&y) {
            return;
        }
        #[expect(clippy::cast_possible_truncation, reason = "inside the tile")]
        let (x, y) = (x.floor() as i32, y.floor() as i32);
        self.geometry.clear();
        self.geometry.push(command(MOVE_TO, 1));
        self.geometry.push(zigzag(x));
        self.geometry.push(zigzag(y));
        self.feature(Some(id), 1, props);
    }

    /// Writes the feature whose geometry is in `self.geometry`.
    fn feature(&mut self, id: Option<u64>, geom_type: u64, props: &[(&'static str, Prop<'_>)]) {
        self.tags.clear();
        for &(k, v) in props {
            let (k, v) = (self.key(k), self.value(v));
            self.tags.push(k);
            self.tags.push(v);
        }
        let (body, packed) = (&mut self.body, &mut self.packed);
        body.clear();
        if let Some(id) = id {
            tag(body, 1, 0);
            varint(body, id);
        }
        packed_field(body, packed, 2, &self.tags);
        tag(body, 3, 0);
        varint(body, geom_type);
        packed_field(body, packed, 4, &self.geometry);
        bytes_field(&mut self.features, 2, body);
    }

    /// The tile's bytes: this one layer, or `None` when it has no feature.
    pub fn finish(self) -> Option<Vec<u8>> {
        if self.features.is_empty() {
            return None;
        }
        let mut layer = Vec::with_capacity(self.features.len() + self.values.len() + 64);
        tag(&mut layer, 15, 0);
        varint(&mut layer, 2);
        bytes_field(&mut layer, 1, self.name.as_bytes());
        layer.extend_from_slice(&self.features);
        for k in &self.keys {
            bytes_field(&mut layer, 3, k.as_bytes());
        }
        layer.extend_from_slice(&self.values);
        tag(&mut layer, 5, 0);
        varint(&mut layer, u64::from(EXTENT));
        let mut tile = Vec::with_capacity(layer.len() + 8);
        bytes_field(&mut tile, 3, &layer);
        Some(tile)
    }
}
