//! GeoJSON out: the media type, responses, and the Features that several
//! resources render (H3 cells, areas).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::index::{CellCount, CellSummary};
use crate::model::{Area, Kind};
use crate::privacy::{Disclosure, Keyed};

/// GeoJSON media type.
pub const GEO_JSON: &str = "application/geo+json";

/// A GeoJSON answer.
pub(super) fn geojson(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, GEO_JSON)],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// A GeoJSON answer already written.
pub(super) fn geojson_bytes(body: bytes::Bytes) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, GEO_JSON)], body).into_response()
}

/// A cell's outline as a GeoJSON Polygon geometry.
pub(super) fn cell_polygon(cell: h3o::CellIndex) -> Value {
    let mut ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [round7(ll.lng()), round7(ll.lat())])
        .collect();
    // RFC 7946: exterior rings counter-clockwise.
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    json!({ "type": "Polygon", "coordinates": [ring] })
}

/// A cell as a GeoJSON Feature with the counts the caller may see; `None`
/// when the cell is withheld.
pub(super) fn hexagon_feature_json(c: &CellCount, d: Disclosure) -> Option<Value> {
    let shown = d.cell(c.keyed(), c.keyed_kinds())?;
    let mut props = json!({ "cell": c.cell.to_string(), "count": shown.total });
    for kind in Kind::ALL {
        props[kind.as_str()] = json!(shown.by_kind[kind.index()]);
    }
    Some(json!({
        "type": "Feature",
        "id": c.cell.to_string(),
        "geometry": cell_polygon(c.cell),
        "properties": props,
    }))
}

/// An area as a GeoJSON Feature.
pub(crate) fn area_feature(a: &Area) -> Value {
    json!({
        "type": "Feature",
        "id": a.id,
        "geometry": geojson::Geometry::new(geojson::GeometryValue::from(&a.geometry)),
        "properties": {
            "id": a.id,
            "name": a.name,
            "type": a.area_type.as_str(),
            "approximate": a.approximate,
        }
    })
}

/// A summary as JSON: `count`, `by_kind`, `by_category` (with labels) and
/// `by_month`, as the caller may see them ([`Disclosure::shown`]): for public
/// callers a total under k is answered like an empty cell, values under k
/// count as 0 and categories and months showing 0 are left out — so a
/// withheld value looks exactly like an absent one.
pub(super) fn breakdown(
    s: &CellSummary,
    d: Disclosure,
    taxonomy: &crate::model::Taxonomy,
) -> Value {
    // A public caller learns nothing of a cell under k, not even that it is empty.
    let Some(shown_cell) = d.cell(s.total, s.by_kind) else {
        return if d.is_exact() {
            json!({"count": 0, "withheld": false, "by_kind": {}, "by_category": [], "by_month": []})
        } else {
            json!({"count": Value::Null, "withheld": true})
        };
    };
    let total = shown_cell.total;
    let mut by_kind = json!({});
    for kind in Kind::ALL {
        by_kind[kind.as_str()] = json!(shown_cell.by_kind[kind.index()]);
    }
    // A category's or a month's value is the sum of its kinds as shown, as
    // the cell's total is: rounded over all kinds, it would show records of
    // a kind that is withheld.
    let shown = |by_kind: &[Keyed; 3]| {
        Some(by_kind.iter().map(|c| d.shown(*c)).sum::<u32>()).filter(|n| *n > 0 || d.is_exact())
    };
    // Most frequent first by the values shown: the exact order would rank
    // categories that show the same value.
    let mut categories: Vec<(&str, u32)> = s
        .by_category
        .iter()
        .filter_map(|(c, n)| Some((c.as_str(), shown(n)?)))
        .collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let label = |code: &str| {
        Kind::ALL
            .into_iter()
            .flat_map(|kind| taxonomy.categories(kind))
            .find(|c| c.code == code)
            .map_or(Value::Null, |c| json!({"sv": c.sv, "en": c.en}))
    };
    json!({
        "count": total,
        "withheld": false,
        "by_kind": by_kind,
        "by_category": categories.iter().map(|(c, n)| json!({"code": c, "label": label(c), "count": n})).collect::<Vec<_>>(),
        "by_month": s.by_month.iter().filter_map(|((y, m), n)| Some(json!({"month": format!("{y}-{m:02}"), "count": shown(n)?}))).collect::<Vec<_>>(),
    })
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Shoelace formula; positive for counter-clockwise rings.
fn signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A month (or category) with one withheld report and five findings
    /// shows the five: rounded over both kinds, six could show as ten and
    /// give the report away.
    #[test]
    fn months_and_categories_show_the_sum_of_their_kinds_as_shown() {
        let d = Disclosure::Rounded { k: 5 };
        let key = (0..u32::MAX)
            .step_by(7919)
            .find(|&key| d.shown(Keyed { n: 6, key }) == 10)
            .unwrap();
        let report = Keyed { n: 1, key };
        let findings = Keyed { n: 5, key: 0 };
        let parts = [report, findings, Keyed::default()];
        let mut total = report;
        total.absorb(findings);
        let s = CellSummary {
            total,
            by_kind: parts,
            by_category: vec![("lighting".into(), parts)],
            by_month: vec![((2024, 12), parts)],
        };
        let body = breakdown(&s, d, &crate::model::Taxonomy::builtin());
        assert_eq!(body["count"], 5);
        assert_eq!(body["by_kind"]["insecurity"], 0);
        assert_eq!(body["by_month"][0]["count"], 5);
        assert_eq!(body["by_category"][0]["count"], 5);
    }

    #[test]
    fn cell_polygons_are_closed_and_counter_clockwise() {
        let cell: h3o::CellIndex = "89088645e97ffff".parse().unwrap();
        let c = CellCount {
            cell,
            total: 9,
            by_kind: [7, 2, 0],
            key: 0,
            kind_keys: [0; 3],
        };
        let f = hexagon_feature_json(&c, Disclosure::Rounded { k: 5 }).unwrap();
        let ring: Vec<[f64; 2]> =
            serde_json::from_value(f["geometry"]["coordinates"][0].clone()).unwrap();
        assert_eq!(ring.len(), 7);
        assert_eq!(ring.first(), ring.last());
        assert!(signed_area(&ring[..6]) > 0.0);
        assert_eq!(
            f["properties"]["count"], 10,
            "9 rounded up: key 0 / 2³² < 4 / 5"
        );
        assert_eq!(
            f["properties"]["walk_finding"], 0,
            "2 < k is shown like none: every shown value a multiple of k"
        );
        let exact = hexagon_feature_json(&c, Disclosure::Exact).unwrap();
        assert_eq!(exact["properties"]["count"], 9);
        assert_eq!(exact["properties"]["walk_finding"], 2);
        let small = CellCount {
            total: 4,
            by_kind: [2, 2, 0],
            ..c
        };
        assert!(hexagon_feature_json(&small, Disclosure::Rounded { k: 5 }).is_none());
    }
}
