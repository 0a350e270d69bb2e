//! Areas: district polygons and other named areas observations are counted in.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::require_act;
use super::extract::{Query, json_body};
use super::features::{area_feature, geojson};
use super::filters::{Filtered, Filtering};
use super::problem::Problem;
use crate::ingest::geometry::{check_area_rings, multipolygon_from_value};
use crate::ingest::sweref99;
use crate::model::permission::Act;
use crate::model::{Area, AreaType, Principal, ValidationError};
use crate::service::Refused;

/// `/areas/{id}`: the area's page. An area that does not exist gets the
/// same page (which says so, with a way back) as a `404`, so that a link
/// checker or a crawler sees the link as broken too.
pub async fn page(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    use tower::ServiceExt as _;
    let missing = matches!(state.service.area(&id).await, Err(Refused::NotFound(_)));
    let file = tower_http::services::ServeFile::new(state.settings.web_dir.join("areas.html"));
    let mut res = match file.oneshot(req).await {
        Ok(res) => res.into_response(),
        Err(never) => match never {},
    };
    if missing && res.status() == StatusCode::OK {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    res
}

/// `GET /api/v1/areas` — every area as a GeoJSON Feature.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas",
    responses((status = 200, description = "Areas with `id`, `name`, `type` and `approximate`", body = super::openapi::AreaCollection, content_type = "application/geo+json")))]
pub async fn list(State(state): State<AppState>) -> Result<Response, Problem> {
    let areas = state.service.areas().await?;
    Ok(geojson(
        StatusCode::OK,
        &json!({
            "type": "FeatureCollection",
            "features": areas.iter().map(area_feature).collect::<Vec<_>>(),
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PutParams {
    /// The coordinates' CRS: `EPSG:4326` (WGS 84, the default) or
    /// `EPSG:3006` (SWEREF 99 TM); a GeoJSON `crs` member naming either works too.
    #[param(example = "EPSG:3006")]
    crs: Option<String>,
}

/// Whether the feature's coordinates are SWEREF 99 TM: by `?crs=`, else by
/// a GeoJSON 2008 `crs` member (as QGIS writes for a layer in SWEREF 99
/// TM); WGS 84 when neither says.
fn in_sweref99tm(feature: &geojson::Feature, query: Option<&str>) -> Result<bool, Problem> {
    let named = feature
        .foreign_members
        .as_ref()
        .and_then(|m| m.get("crs"))
        .and_then(|c| c.pointer("/properties/name"))
        .and_then(Value::as_str);
    let Some(crs) = query.or(named) else {
        return Ok(false);
    };
    sweref99::is_sweref99tm(crs).ok_or_else(|| {
        Problem::validation(vec![ValidationError::new(
            "crs",
            format!("{crs:?} is not supported: use WGS 84 (EPSG:4326) or SWEREF 99 TM (EPSG:3006)"),
        )])
    })
}

/// `PUT /api/v1/areas/{id}` — create or replace an area (admin). The body is
/// a GeoJSON Feature with a Polygon or MultiPolygon and properties `name`,
/// `type` (`district`, `police_vulnerable`, `custom`) and `approximate`.
/// Every ring, holes included, must be closed and lie in the served region.
#[utoipa::path(put, path = "/api/v1/areas/{id}", tag = "areas",
    params(("id" = String, Path, description = "Area slug, e.g. hovsjo"), PutParams),
    request_body(content = Object, content_type = "application/geo+json"),
    responses(
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "The stored area", content_type = "application/geo+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid area", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<PutParams>,
    req: Request,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ChangeAreas)?;
    if !crate::model::is_slug(&id) {
        return Err(Problem::validation(vec![ValidationError::new(
            "id",
            "use 1–64 lower-case letters, digits, - or _",
        )]));
    }
    let body = json_body(req, &state).await?;
    let mut feature =
        crate::ingest::feature::parse_feature(&body).map_err(|e| Problem::validation(vec![e]))?;
    let sweref = in_sweref99tm(&feature, q.crs.as_deref())?;
    if sweref && let Some(g) = feature.geometry.as_mut() {
        crate::ingest::geometry::sweref99tm_to_wgs84(&mut g.value);
    }
    let mut errors = Vec::new();
    let geometry = match feature.geometry.as_ref() {
        None => {
            errors.push(ValidationError::new("geometry", "missing"));
            None
        }
        Some(g) => multipolygon_from_value(&g.value)
            .map_err(|e| errors.push(ValidationError::new("geometry", e)))
            .ok(),
    };
    if let (Some(g), Some(value)) = (&geometry, feature.geometry.as_ref().map(|g| &g.value)) {
        let mut ring_errors = check_area_rings(value, &state.service.region);
        let metres = g.0.iter().any(|p| {
            p.exterior()
                .coords()
                .chain(p.interiors().iter().flat_map(geo::LineString::coords))
                .any(|c| c.x.abs() > 180.0)
        });
        if !sweref
            && metres
            && let Some(first) = ring_errors.first_mut()
        {
            first
                .reason
                .push_str(" (coordinates in SWEREF 99 TM? add ?crs=EPSG:3006)");
        }
        errors.append(&mut ring_errors);
    }
    let props = feature.properties.unwrap_or_default();
    let name = props
        .get("name")
        .and_then(Value::as_str)
        .map_or("", str::trim);
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(ValidationError::new("name", "must be 1–200 characters"));
    }
    let area_type = match props.get("type").and_then(Value::as_str) {
        None => Some(AreaType::District),
        Some(t) => AreaType::parse(t)
            .ok_or_else(|| {
                errors.push(ValidationError::new(
                    "type",
                    "must be district, police_vulnerable or custom",
                ));
            })
            .ok(),
    };
    let approximate = props
        .get("approximate")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (Some(geometry), Some(area_type), true) = (geometry, area_type, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let area = Area {
        id,
        name: name.to_owned(),
        area_type,
        geometry,
        approximate,
    };
    let area = state.service.put_area(&principal, area).await?;
    Ok(geojson(StatusCode::OK, &area_feature(&area)))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryParams {}

impl Filtering for SummaryParams {
    const FILTERS: &'static [&'static str] = &["kind", "category", "from", "to", "hours"];
}

/// `GET /api/v1/areas/{id}/summary` — an area's figures for a period: counts
/// by kind, category and month, with the same suppression as cells.
#[utoipa::path(get, path = "/api/v1/areas/{id}/summary", tag = "areas",
    params(("id" = String, Path, description = "Area id"), Filtered<SummaryParams>),
    responses(
        (status = 200, description = "The area's breakdown", body = Object),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such area", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<Filtered<SummaryParams>, Problem>,
) -> Result<Response, Problem> {
    let area = state.service.area(&id).await?;
    let mut filter = query?.filter;
    filter.area = Some(id);
    let (d, filter) = super::filters::as_seen(&principal, state.settings.k_anonymity, filter)?;
    let s = state.service.summary(&filter);
    let mut body = super::features::breakdown(&s, d, &state.service.taxonomy);
    body["area"] = area_feature(&area)["properties"].clone();
    Ok(axum::Json(body).into_response())
}
