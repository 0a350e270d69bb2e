//! Mapbox Vector Tile 2.1 encoding (<https://github.com/mapbox/vector-tile-spec>):
//! extent 4096, integer coordinates with y down, polygons clipped to the tile
//! plus a buffer, exterior rings clockwise on screen (positive area by the
//! shoelace formula in tile coordinates), no repeated closing point, no
//! degenerate rings.

use super::TileId;
use super::writer::{LayerWriter, Prop};
use crate::mercator::world;

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

impl Value {
    fn prop(&self) -> Prop<'_> {
        match self {
            Value::Str(s) => Prop::Str(s),
            Value::Uint(n) => Prop::Uint(*n),
            Value::Sint(n) => Prop::Sint(*n),
            Value::Bool(b) => Prop::Bool(*b),
        }
    }
}

/// Encodes one layer of features into a tile; returns the tile's bytes, or
/// `None` when no feature has geometry in the tile.
pub fn encode_layer(tile: TileId, name: &str, features: &[LayerFeature]) -> Option<Vec<u8>> {
    let mut layer = LayerWriter::new(tile, name);
    let mut props = Vec::new();
    for f in features {
        props.clear();
        props.extend(f.properties.iter().map(|(k, v)| (*k, v.prop())));
        let to_world = |ring: &Vec<(f64, f64)>| -> Vec<(f64, f64)> {
            ring.iter().map(|&(lon, lat)| world(lon, lat)).collect()
        };
        match &f.geometry {
            Shape::Point(lon, lat) => layer.point(f.id, world(*lon, *lat), &props),
            Shape::Lines(lines) => {
                let lines: Vec<Vec<(f64, f64)>> = lines.iter().map(to_world).collect();
                let slices: Vec<&[(f64, f64)]> = lines.iter().map(Vec::as_slice).collect();
                layer.lines(f.id, &slices, &props);
            }
            Shape::Polygons(polygons) => {
                let rings: Vec<(Vec<(f64, f64)>, bool)> = polygons
                    .iter()
                    .flat_map(|p| p.iter().enumerate().map(|(i, r)| (to_world(r), i == 0)))
                    .collect();
                let slices: Vec<(&[(f64, f64)], bool)> =
                    rings.iter().map(|(r, e)| (r.as_slice(), *e)).collect();
                layer.polygon(Some(f.id), &slices, &props);
            }
        }
    }
    layer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::writer::area;

    /// The rings of the only feature of a one-layer tile, decoded.
    fn rings(bytes: Vec<u8>) -> Vec<Vec<(i32, i32)>> {
        let reader = mvt_reader::Reader::new(bytes).unwrap();
        let features = reader.get_features(0).unwrap();
        assert_eq!(features.len(), 1);
        let geo::Geometry::MultiPolygon(mp) = &features[0].geometry else {
            panic!("not a polygon: {:?}", features[0].geometry);
        };
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|r| {
                #[expect(clippy::cast_possible_truncation, reason = "tile units")]
                let mut pts: Vec<(i32, i32)> =
                    r.coords().map(|c| (c.x as i32, c.y as i32)).collect();
                pts.pop();
                pts
            })
            .collect()
    }

    #[test]
    fn rings_are_clockwise_on_screen_and_clipped() {
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
        let feature = |ring: Vec<(f64, f64)>| LayerFeature {
            id: 1,
            geometry: Shape::Polygons(vec![vec![ring]]),
            properties: vec![("count", Value::Uint(7))],
        };
        let r = rings(encode_layer(t, "hexagons", &[feature(ring.clone())]).unwrap());
        assert_eq!(r[0].len(), 4);
        assert!(area(&r[0]) > 0, "{r:?}");
        // Across the tile's west edge: cut at the buffer.
        let across: Vec<(f64, f64)> = ring.iter().map(|(x, y)| (x - 4.0 * d, *y)).collect();
        let r = rings(encode_layer(t, "hexagons", &[feature(across)]).unwrap());
        assert!(r[0].iter().all(|p| p.0 >= -64), "{r:?}");
        // Far away: nothing.
        let far: Vec<(f64, f64)> = ring.iter().map(|(x, y)| (x + 1.0, *y)).collect();
        assert!(encode_layer(t, "hexagons", &[feature(far)]).is_none());
    }
}
