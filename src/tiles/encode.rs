//! Mapbox Vector Tile 2.1 encoding (<https://github.com/mapbox/vector-tile-spec>):
//! extent 4096, integer coordinates with y down, polygons clipped to the tile
//! plus a buffer, exterior rings clockwise on screen (positive area by the
//! shoelace formula in tile coordinates), no repeated closing point, no
//! degenerate rings.

use mvt::{GeomEncoder, GeomType, Tile};

use super::{TileId, clip_ring};

/// Tile coordinate units per tile side.
pub const EXTENT: u32 = 4096;
/// Geometry kept beyond each tile edge, in tile units, so that strokes at
/// tile seams render cleanly.
pub const BUFFER: f64 = 64.0;

/// A value of a feature property.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Uint(u64),
    /// A signed integer (MVT `sint_value`, zig-zag encoded).
    Sint(i64),
    Bool(bool),
}

/// One feature to encode: WGS 84 rings (exterior first; holes after) or a
/// point, an id and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFeature {
    pub id: u64,
    pub geometry: Shape,
    pub properties: Vec<(&'static str, Value)>,
}

/// Geometry in WGS 84 `(lon, lat)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Polygons, each as rings without a repeated closing point; the first
    /// ring of each polygon is its exterior.
    Polygons(Vec<Vec<Vec<(f64, f64)>>>),
    /// Polylines, each with at least two positions.
    Lines(Vec<Vec<(f64, f64)>>),
    Point(f64, f64),
}

/// Signed area by the shoelace formula (positive: clockwise with y down).
fn area(ring: &[(i32, i32)]) -> i64 {
    let mut a = 0i64;
    for (i, p) in ring.iter().enumerate() {
        let q = ring[(i + 1) % ring.len()];
        a += i64::from(p.0) * i64::from(q.1) - i64::from(q.0) * i64::from(p.1);
    }
    a
}

/// Projects, clips, rounds and orients a ring; `None` when nothing of it
/// remains in the tile.
fn tile_ring(tile: TileId, ring: &[(f64, f64)], exterior: bool) -> Option<Vec<(i32, i32)>> {
    let extent = f64::from(EXTENT);
    let projected: Vec<(f64, f64)> = ring
        .iter()
        .map(|&(lon, lat)| tile.project(lon, lat, extent))
        .collect();
    let clipped = clip_ring(&projected, -BUFFER, extent + BUFFER);
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(clipped.len());
    for (x, y) in clipped {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "clipped to the buffered tile"
        )]
        let p = (x.round() as i32, y.round() as i32);
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    let a = area(&out);
    if out.len() < 3 || a == 0 {
        return None;
    }
    // Exterior rings positive, holes negative.
    if (a > 0) != exterior {
        out.reverse();
    }
    Some(out)
}

/// Projects, clips and rounds a polyline: the pieces left in the tile, each
/// with at least two distinct points.
fn tile_lines(tile: TileId, line: &[(f64, f64)]) -> Vec<Vec<(i32, i32)>> {
    let extent = f64::from(EXTENT);
    let projected: Vec<(f64, f64)> = line
        .iter()
        .map(|&(lon, lat)| tile.project(lon, lat, extent))
        .collect();
    crate::tiles::clip::clip_line(&projected, -BUFFER, extent + BUFFER)
        .into_iter()
        .filter_map(|piece| {
            let mut out: Vec<(i32, i32)> = Vec::with_capacity(piece.len());
            for (x, y) in piece {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "clipped to the buffered tile"
                )]
                let p = (x.round() as i32, y.round() as i32);
                if out.last() != Some(&p) {
                    out.push(p);
                }
            }
            (out.len() >= 2).then_some(out)
        })
        .collect()
}

/// Encodes one layer of features into a tile; returns the tile's bytes, or
/// `None` when no feature has geometry in the tile.
pub fn encode_layer(
    tile: TileId,
    name: &str,
    features: &[LayerFeature],
) -> Result<Option<Vec<u8>>, mvt::Error> {
    let mut mvt_tile = Tile::new(EXTENT);
    let mut layer = mvt_tile.create_layer(name);
    let mut any = false;
    for f in features {
        let geometry = match &f.geometry {
            Shape::Point(lon, lat) => {
                let (x, y) = tile.project(*lon, *lat, f64::from(EXTENT));
                if !(0.0..f64::from(EXTENT)).contains(&x) || !(0.0..f64::from(EXTENT)).contains(&y)
                {
                    continue;
                }
                GeomEncoder::new(GeomType::Point)
                    .point(x.floor(), y.floor())?
                    .encode()?
            }
            Shape::Lines(lines) => {
                let pieces: Vec<Vec<(i32, i32)>> =
                    lines.iter().flat_map(|l| tile_lines(tile, l)).collect();
                if pieces.is_empty() {
                    continue;
                }
                let mut enc = GeomEncoder::new(GeomType::Linestring);
                for piece in pieces {
                    for (x, y) in piece {
                        enc.add_point(f64::from(x), f64::from(y))?;
                    }
                    enc.complete_geom()?;
                }
                enc.encode()?
            }
            Shape::Polygons(polygons) => {
                let mut enc = GeomEncoder::new(GeomType::Polygon);
                let mut rings = 0;
                for polygon in polygons {
                    for (i, ring) in polygon.iter().enumerate() {
                        let Some(r) = tile_ring(tile, ring, i == 0) else {
                            if i == 0 {
                                break; // no exterior: skip the polygon's holes too
                            }
                            continue;
                        };
                        for (x, y) in r {
                            enc.add_point(f64::from(x), f64::from(y))?;
                        }
                        enc.complete_geom()?;
                        rings += 1;
                    }
                }
                if rings == 0 {
                    continue;
                }
                enc.encode()?
            }
        };
        let mut feature = layer.into_feature(geometry);
        feature.set_id(f.id);
        for (key, value) in &f.properties {
            match value {
                Value::Str(s) => feature.add_tag_string(key, s),
                Value::Uint(n) => feature.add_tag_uint(key, *n),
                Value::Sint(n) => feature.add_tag_sint(key, *n),
                Value::Bool(b) => feature.add_tag_bool(key, *b),
            }
        }
        layer = feature.into_layer();
        any = true;
    }
    if !any {
        return Ok(None);
    }
    mvt_tile.add_layer(layer)?;
    mvt_tile.to_bytes().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_clockwise_on_screen_without_closing_point() {
        let t = TileId::containing(17.6267, 59.1917, 14);
        let [w, s, e, n] = t.bounds();
        let (cx, cy) = (f64::midpoint(w, e), f64::midpoint(s, n));
        let d = (e - w) / 8.0;
        // Counter-clockwise in lon/lat (RFC 7946 exterior).
        let ring = vec![
            (cx - d, cy - d),
            (cx + d, cy - d),
            (cx + d, cy + d),
            (cx - d, cy + d),
        ];
        let r = tile_ring(t, &ring, true).unwrap();
        assert_eq!(r.len(), 4);
        assert!(area(&r) > 0);
        assert_ne!(r.first(), r.last());
        // Far away: nothing.
        let far: Vec<(f64, f64)> = ring.iter().map(|(x, y)| (x + 1.0, *y)).collect();
        assert!(tile_ring(t, &far, true).is_none());
    }
}
