//! Operational endpoints: health, metrics, the taxonomy, and the 404 answer.

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::problem::Problem;

/// `GET /ui-config.json` — what the web front end needs to know.
pub async fn ui_config(State(state): State<AppState>) -> Response {
    let r = state.service.region;
    axum::Json(json!({
        "basemap": state.settings.basemap.as_ref().map(|tiles| json!({
            "tiles": tiles,
            "attribution": state.settings.basemap_attribution,
        })),
        "center": [17.6267, 59.1955],
        "bounds": [r.west, r.south, r.east, r.north],
        "k_anonymity": state.settings.k_anonymity,
        // How far back /report lets a resident date a report.
        "report_reach_back_days": state.settings.anonymous_reach_back.map(time::Duration::whole_days),
    }))
    .into_response()
}

/// `GET /api` — where to go from here.
pub async fn landing() -> Response {
    axum::Json(json!({
        "title": "Trygg",
        "description": "Safety mapping for Swedish municipalities: observations in, hexagon analyses out.",
        "links": [
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.1", "href": "/api/openapi.json", "title": "OpenAPI document"},
            {"rel": "data", "type": "application/geo+json", "href": "/api/v1/hexagons", "title": "Hexagon counts"},
            {"rel": "data", "type": "application/geo+json", "href": "/api/v1/areas", "title": "Areas"},
            {"rel": "describedby", "type": "application/json", "href": "/api/v1/taxonomy", "title": "Categories"},
            {"rel": "status", "type": "application/json", "href": "/health", "title": "Health"},
        ]
    }))
    .into_response()
}

/// `GET /health`.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, description = "Status, store kind, observation count and version", body = super::openapi::Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let count = state.service.observation_count();
    axum::Json(json!({
        "status": "ok",
        "store": state.service.store_kind(),
        "observations": count,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs(),
    }))
    .into_response()
}

/// `GET /metrics` — Prometheus text format, for admins (it shows admin
/// activity and request patterns); a scraper without a token uses the
/// separate `--metrics-listen` address instead.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    principal: crate::model::Principal,
) -> Result<Response, Problem> {
    super::auth::require_act(&principal, crate::model::permission::Act::ReadMetrics)?;
    Ok(render_metrics(&state))
}

/// The metrics in Prometheus text format.
pub fn render_metrics(state: &AppState) -> Response {
    #[expect(clippy::cast_precision_loss, reason = "exact below 2^52 observations")]
    metrics::gauge!("trygg_observations").set(state.service.observation_count() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /api/v1/taxonomy` — categories per kind with Swedish and English labels.
#[utoipa::path(get, path = "/api/v1/taxonomy", tag = "system",
    responses((status = 200, description = "Categories per kind", body = crate::model::Taxonomy)))]
pub async fn taxonomy(State(state): State<AppState>) -> Response {
    axum::Json(&state.service.taxonomy).into_response()
}

pub async fn not_found(uri: Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!("no route {}", uri.path()),
    )
}
