//! What each tile layer shows, from the index: hexagon tiles written
//! directly (they are the hot path), the other layers as WGS 84 features
//! for [`super::encode_layer`].

use super::{LayerFeature, LayerWriter, Prop, Shape, TileId, Value};
use crate::analysis::overlay::Overlay;
use crate::index::{Filter, ObservationIndex};
use crate::model::Kind;
use crate::privacy::Disclosure;

/// Most points in one `observations` tile.
const MAX_POINTS: usize = 20_000;

/// The tile's bounds as a WGS 84 region, what the index selects by.
fn region(tile: TileId) -> crate::model::Region {
    let [west, south, east, north] = tile.bounds();
    crate::model::Region {
        west,
        south,
        east,
        north,
    }
}

/// The hexagon tile: cells whose hexagon touches the tile, with their
/// whole counts as the caller may see them (`None`: nothing to show).
pub fn hexagon_tile(
    index: &ObservationIndex,
    tile: TileId,
    res: h3o::Resolution,
    filter: &Filter,
    disclosure: Disclosure,
    overlay: Option<&Overlay>,
) -> Option<Vec<u8>> {
    let mut layer = LayerWriter::new(tile, "hexagons");
    let mut props: Vec<(&'static str, Prop<'_>)> = Vec::with_capacity(8);
    for (c, ring) in index.cells_touching(res, filter, region(tile)) {
        let Some(shown) = disclosure.cell(c.keyed(), c.keyed_kinds()) else {
            continue;
        };
        props.clear();
        props.push(("cell", Prop::Hex(u64::from(c.cell))));
        props.push(("count", Prop::Uint(u64::from(shown.total))));
        for kind in Kind::ALL {
            let n = shown.by_kind[kind.index()];
            props.push((kind.as_str(), Prop::Uint(u64::from(n))));
        }
        if let Some(overlay) = overlay {
            let flags = overlay.get(c.cell);
            if let Some(bin) = flags.bin {
                props.push(("bin", Prop::Sint(i64::from(bin))));
            }
            if let Some(trend) = flags.trend {
                props.push(("trend", Prop::Str(trend.as_str())));
            }
            if let Some(gap) = flags.gap {
                props.push(("gap", Prop::Str(gap.as_str())));
            }
        }
        layer.polygon(None, &[(&ring, true)], &props);
    }
    layer.finish()
}

pub fn areas(index: &ObservationIndex) -> Vec<LayerFeature> {
    index
        .areas()
        .enumerate()
        .map(|(i, (id, name, geometry))| LayerFeature {
            id: i as u64 + 1,
            geometry: Shape::Polygons(
                geometry
                    .0
                    .iter()
                    .map(|p| {
                        std::iter::once(p.exterior())
                            .chain(p.interiors())
                            .map(|ring| {
                                let mut pts: Vec<(f64, f64)> =
                                    ring.coords().map(|c| (c.x, c.y)).collect();
                                if pts.len() > 1 && pts.first() == pts.last() {
                                    pts.pop();
                                }
                                pts
                            })
                            .collect()
                    })
                    .collect(),
            ),
            properties: vec![
                ("id", Value::Str(id.to_owned())),
                ("name", Value::Str(name.to_owned())),
            ],
        })
        .collect()
}

pub fn points(index: &ObservationIndex, tile: TileId, mut filter: Filter) -> Vec<LayerFeature> {
    filter.bbox = Some(region(tile));
    index
        .points(&filter, MAX_POINTS)
        .into_iter()
        .map(|p| LayerFeature {
            id: u64::from(p.record) + 1,
            geometry: Shape::Point(p.lon, p.lat),
            properties: vec![
                ("kind", Value::Str(p.kind.as_str().to_owned())),
                ("category", Value::Str(p.category.to_owned())),
            ],
        })
        .collect()
}

/// Walk routes crossing the tile, and the findings of those walks in it.
pub fn walks(
    index: &ObservationIndex,
    tile: TileId,
    filter: &Filter,
    walks: &[crate::model::Walk],
) -> Vec<LayerFeature> {
    let mut features = Vec::new();
    for (i, walk) in walks.iter().enumerate() {
        let id = Value::Str(walk.id.to_string());
        if walk.route.len() >= 2 {
            features.push(LayerFeature {
                // Routes number after every possible point record.
                id: (1u64 << 40) + i as u64,
                geometry: Shape::Lines(vec![walk.route.iter().map(|p| (p[0], p[1])).collect()]),
                properties: vec![
                    ("walk", id.clone()),
                    ("name", Value::Str(walk.name.clone())),
                    ("date", Value::Str(walk.date.to_string())),
                    ("open", Value::Bool(walk.is_open())),
                ],
            });
        }
        let findings = Filter {
            kinds: vec![Kind::WalkFinding],
            walk_id: Some(walk.id),
            bbox: Some(region(tile)),
            ..filter.clone()
        };
        features.extend(
            index
                .points(&findings, MAX_POINTS)
                .into_iter()
                .map(|p| LayerFeature {
                    id: u64::from(p.record) + 1,
                    geometry: Shape::Point(p.lon, p.lat),
                    properties: vec![
                        ("walk", id.clone()),
                        ("category", Value::Str(p.category.to_owned())),
                    ],
                }),
        );
    }
    features
}
