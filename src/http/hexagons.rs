//! `GET /api/v1/hexagons` — counts per H3 cell as GeoJSON polygons.
//!
//! Privacy: callers other than analysts get counts as [`crate::privacy`]
//! publishes them — a cell with 1..k−1 observations is left out, other
//! counts are rounded to a multiple of k by their cell key, and a cell's
//! per-kind counts follow the same rule (a kind with 1..k−1 shows 0). A
//! bounding box selects whole cells for them, times whole months, times of
//! day the map's periods, and resolution 12 is for analysts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::features::{breakdown, geojson, hexagon_feature_json};
use super::filters::{
    ALL_FILTERS, Filtered, Filtering, NO_BBOX, as_seen, check_resolution, parse_resolution,
};
use super::problem::Problem;
use crate::index::{MAX_RESOLUTION, MIN_RESOLUTION};
use crate::model::Principal;

/// Resolution used when the caller does not choose (cells of about 0.1 km²).

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HexagonParams {
    /// H3 resolution, 5–12 (default 9).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    res: Option<String>,
}

impl Filtering for HexagonParams {
    const FILTERS: &'static [&'static str] = ALL_FILTERS;
}

/// `GET /api/v1/hexagons`.
#[utoipa::path(get, path = "/api/v1/hexagons", tag = "analysis", params(Filtered<HexagonParams>),
    responses(
        (status = 200, description = "One Polygon Feature per non-empty H3 cell with `cell`, `count` and a count per kind. For callers other than analysts, cells with fewer than k observations are left out, counts (per kind too) are rounded to a multiple of k by cell key with 1..k−1 shown as 0, a bbox selects the cells whose centre lies in it, times are taken to whole months, `hours` is one of 6-18, 18-24, 22-6 and 18-6, and resolution 12 is refused.", body = super::openapi::HexagonCollection, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn hexagons(
    State(state): State<AppState>,
    principal: Principal,
    query: Filtered<HexagonParams>,
) -> Result<Response, Problem> {
    let Filtered {
        params: p, filter, ..
    } = query;
    let res = parse_resolution(p.res.as_deref())?;
    let (d, filter) = as_seen(&principal, state.settings.k_anonymity, filter)?;
    check_resolution(d, res)?;
    let service = state.service.clone();
    let body = tokio::task::spawn_blocking(move || {
        let cells = service.hexagon_counts(res, &filter, d);
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CellParams {}

impl Filtering for CellParams {
    const FILTERS: &'static [&'static str] = NO_BBOX;
}

/// `GET /api/v1/cells/{cell}` — one cell's counts by kind, category and
/// month. For callers other than analysts a cell under k is withheld
/// entirely (answered the same as an empty cell), the per-kind breakdown as
/// in `/api/v1/hexagons`, and category and month values under k are null.
#[utoipa::path(get, path = "/api/v1/cells/{cell}", tag = "analysis", params(("cell" = String, Path, description = "H3 cell index, resolution 5–12"), Filtered<CellParams>),
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
    query: Result<Filtered<CellParams>, Problem>,
) -> Result<Response, Problem> {
    let cell: h3o::CellIndex = cell
        .parse()
        .ok()
        .filter(|c: &h3o::CellIndex| (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&c.resolution()))
        .ok_or_else(|| {
            Problem::not_found(format!("{cell:?} is not an H3 cell of resolution 5–12"))
        })?;
    let (d, filter) = as_seen(&principal, state.settings.k_anonymity, query?.filter)?;
    check_resolution(d, cell.resolution())?;
    let s = state.service.cell_summary(cell, &filter);
    let mut body = breakdown(&s, d, &state.service.taxonomy);
    body["cell"] = json!(cell.to_string());
    body["resolution"] = json!(u8::from(cell.resolution()));
    Ok(axum::Json(body).into_response())
}
