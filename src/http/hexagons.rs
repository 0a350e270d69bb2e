//! `GET /api/v1/hexagons` — counts per H3 cell as GeoJSON polygons.
//!
//! Privacy: callers other than analysts get counts as [`crate::privacy`]
//! publishes them — a cell with 1..k−1 observations is left out, other
//! counts are rounded to a multiple of k by their cell key, and a cell's
//! per-kind counts follow the same rule (a kind with 1..k−1 shows 0). A
//! bounding box selects whole cells for them, times whole days, and
//! resolution 12 is for analysts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use h3o::Resolution;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::Query;
use super::filters::{as_seen, check_resolution, filter_params};
use super::observations::geojson;
use super::problem::Problem;
use crate::index::{CellCount, CellSummary, MAX_RESOLUTION, MIN_RESOLUTION};
use crate::model::{Kind, Principal};
use crate::privacy::{Disclosure, Keyed};

/// Resolution used when the caller does not choose (cells of about 0.1 km²).
const DEFAULT_RESOLUTION: u8 = 9;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HexagonParams {
    /// H3 resolution, 5–12 (default 9).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    res: Option<String>,
    /// Only observations inside west,south,east,north (WGS 84). For callers
    /// other than analysts it selects whole cells: those whose centre lies inside.
    bbox: Option<String>,
    /// Comma-separated kinds.
    kind: Option<String>,
    /// Comma-separated category codes.
    category: Option<String>,
    /// Start of the period (inclusive): a date (local midnight) or RFC 3339 time.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// End of the period (exclusive).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Hours of the day, Swedish local time: `H` or `START-END` (end exclusive, may wrap).
    #[param(
        pattern = "^([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-4]))?$",
        example = "22-6"
    )]
    hours: Option<String>,
    /// Area id.
    area: Option<String>,
}

/// Parses `res`, defaulting to [`DEFAULT_RESOLUTION`].
pub fn parse_resolution(s: Option<&str>) -> Result<Resolution, Problem> {
    let bad = || {
        Problem::invalid_query(format!(
            "res: must be an H3 resolution from {} to {}",
            u8::from(MIN_RESOLUTION),
            u8::from(MAX_RESOLUTION)
        ))
    };
    let r = match s {
        None => DEFAULT_RESOLUTION,
        Some(s) => s.parse::<u8>().map_err(|_| bad())?,
    };
    Resolution::try_from(r)
        .ok()
        .filter(|r| (MIN_RESOLUTION..=MAX_RESOLUTION).contains(r))
        .ok_or_else(bad)
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

/// Counts per cell for a caller: analysts count the observations inside a
/// bounding box, everyone else the whole cells whose centre lies inside it
/// (see [`crate::index::ObservationIndex::hexagon_counts_whole_cells`]).
pub(super) fn counts_as_seen(
    index: &crate::index::ObservationIndex,
    res: Resolution,
    filter: &crate::index::Filter,
    d: Disclosure,
) -> Vec<CellCount> {
    if d.is_exact() {
        index.hexagon_counts(res, filter)
    } else {
        index.hexagon_counts_whole_cells(res, filter)
    }
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

/// `GET /api/v1/hexagons`.
#[utoipa::path(get, path = "/api/v1/hexagons", tag = "analysis", params(HexagonParams),
    responses(
        (status = 200, description = "One Polygon Feature per non-empty H3 cell with `cell`, `count` and a count per kind. For callers other than analysts, cells with fewer than k observations are left out, counts (per kind too) are rounded to a multiple of k by cell key with 1..k−1 shown as 0, a bbox selects the cells whose centre lies in it, times are taken to whole days, and resolution 12 is refused.", body = super::openapi::HexagonCollection, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn hexagons(
    State(state): State<AppState>,
    principal: Principal,
    Query(p): Query<HexagonParams>,
) -> Result<Response, Problem> {
    let res = parse_resolution(p.res.as_deref())?;
    let filter = filter_params!(p, area: p.area.as_deref(), bbox: p.bbox.as_deref())
        .to_filter(&state.service.taxonomy)?;
    let (d, filter) = as_seen(&principal, state.settings.k_anonymity, filter)?;
    check_resolution(d, res)?;
    let service = state.service.clone();
    let body = tokio::task::spawn_blocking(move || {
        let cells = counts_as_seen(&service.index(), res, &filter, d);
        let features: Vec<Value> = cells
            .iter()
            .filter_map(|c| hexagon_feature_json(c, d))
            .collect();
        let mut body = json!({
            "type": "FeatureCollection",
            "resolution": u8::from(res),
            "features": features,
        });
        if let Some(k) = d.k() {
            body["k_anonymity"] = json!(k);
            body["rounding_base"] = json!(k);
        }
        body
    })
    .await
    .map_err(|_| Problem::internal())?;
    Ok(geojson(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn resolutions_outside_5_to_12_are_refused() {
        assert_eq!(parse_resolution(None).unwrap(), Resolution::Nine);
        assert_eq!(parse_resolution(Some("12")).unwrap(), Resolution::Twelve);
        for bad in ["4", "13", "x", "-1"] {
            assert!(parse_resolution(Some(bad)).is_err(), "{bad}");
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CellParams {
    /// Comma-separated kinds.
    kind: Option<String>,
    /// Comma-separated category codes.
    category: Option<String>,
    /// Start of the period (inclusive).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// End of the period (exclusive).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Hours of the day, Swedish local time: `H` or `START-END` (end exclusive, may wrap).
    #[param(
        pattern = "^([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-4]))?$",
        example = "22-6"
    )]
    hours: Option<String>,
    /// Area id.
    area: Option<String>,
}

/// `GET /api/v1/cells/{cell}` — one cell's counts by kind, category and
/// month. For callers other than analysts a cell under k is withheld
/// entirely (answered the same as an empty cell), the per-kind breakdown as
/// in `/api/v1/hexagons`, and category and month values under k are null.
#[utoipa::path(get, path = "/api/v1/cells/{cell}", tag = "analysis", params(("cell" = String, Path, description = "H3 cell index, resolution 5–12"), CellParams),
    responses(
        (status = 200, description = "The cell's breakdown", body = Object),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an H3 cell of a served resolution", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn cell(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(cell): axum::extract::Path<String>,
    Query(p): Query<CellParams>,
) -> Result<Response, Problem> {
    let cell: h3o::CellIndex = cell
        .parse()
        .ok()
        .filter(|c: &h3o::CellIndex| (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&c.resolution()))
        .ok_or_else(|| {
            Problem::not_found(format!("{cell:?} is not an H3 cell of resolution 5–12"))
        })?;
    let filter = filter_params!(p, area: p.area.as_deref(), bbox: None)
        .to_filter(&state.service.taxonomy)?;
    let (d, filter) = as_seen(&principal, state.settings.k_anonymity, filter)?;
    check_resolution(d, cell.resolution())?;
    let s = state.service.index().cell_summary(cell, &filter);
    let mut body = breakdown(&s, d, &state.service.taxonomy);
    body["cell"] = json!(cell.to_string());
    body["resolution"] = json!(u8::from(cell.resolution()));
    Ok(axum::Json(body).into_response())
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
    let shown = |c: &Keyed| Some(d.shown(*c)).filter(|n| *n > 0 || d.is_exact());
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
