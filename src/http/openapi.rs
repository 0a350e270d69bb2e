//! The OpenAPI 3.1 document, generated from the handlers' annotations, plus
//! schemas that describe the GeoJSON shapes the API exchanges.

use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{areas, hexagons, observations, session, system, walks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trygg API",
        description = "Safety mapping for Swedish municipalities: observations of perceived insecurity, safety-walk findings and place-based cooperation observations in; H3 hexagon analyses out. Coordinates are WGS 84 [longitude, latitude]. Errors are RFC 9457 problem details.",
        license(name = "AGPL-3.0-or-later"),
    ),
    paths(
        observations::create, observations::import, observations::list, observations::nearby,
        observations::get_one, observations::set_status, observations::change,
        observations::remove,
        hexagons::hexagons, hexagons::cell, super::hotspots::hotspots, super::hotspots::emerging, super::perception::perception,
        super::analyses::live, super::analyses::create, super::analyses::list, super::analyses::get,
        super::actions::list, super::actions::put, super::actions::delete,
        super::actions::put_value, super::actions::delete_value,
        walks::create, walks::list, walks::get_one, walks::close, walks::join,
        areas::list, areas::put, areas::summary,
        session::login, session::create_token, session::list_tokens, session::revoke_token,
        system::health, system::metrics, system::taxonomy,
    ),
    components(schemas(super::problem::Problem, crate::model::ValidationError, crate::model::Kind)),
    modifiers(&BearerAuth),
    tags(
        (name = "observations", description = "Submitting, importing and reading observations"),
        (name = "analysis", description = "Aggregates"),
        (name = "walks", description = "Safety walks (trygghetsvandringar)"),
        (name = "areas", description = "Areas observations are counted in"),
        (name = "auth", description = "Logins and tokens"),
        (name = "system", description = "Health, metrics, reference data"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}

/// A GeoJSON Point geometry, `[longitude, latitude]` in WGS 84.
#[derive(Serialize, ToSchema)]
pub struct PointGeometry {
    #[schema(example = "Point")]
    r#type: String,
    #[schema(example = json!([17.626, 59.196]))]
    coordinates: Vec<f64>,
}

/// Properties of a submitted observation.
#[derive(Serialize, ToSchema)]
pub struct SubmittedProperties {
    /// Optional client-generated UUID (not nil or max); makes retries
    /// idempotent. Anonymous submissions are stored under an id derived
    /// from it, which the answer gives.
    #[schema(format = Uuid)]
    id: Option<String>,
    kind: crate::model::Kind,
    /// A category code of this kind (see /api/v1/taxonomy).
    #[schema(example = "dark_area")]
    category: String,
    /// When it happened or was felt, RFC 3339.
    #[schema(example = "2026-11-20T21:30:00+01:00")]
    observed_at: String,
    /// 1–3, default 2.
    #[schema(minimum = 1, maximum = 3)]
    severity: Option<u8>,
    /// Free text, at most 2000 characters.
    description: Option<String>,
    /// Position accuracy in metres.
    accuracy_m: Option<f64>,
    /// Partner organisation (place observations; set from the token for partners).
    organisation: Option<String>,
    /// Walk id (walk findings; set from the token for participants).
    walk: Option<String>,
}

/// A GeoJSON Feature submitted as an observation.
#[derive(Serialize, ToSchema)]
pub struct SubmittedFeature {
    #[schema(example = "Feature")]
    r#type: String,
    geometry: PointGeometry,
    properties: SubmittedProperties,
}

/// A GeoJSON FeatureCollection of observations to import.
#[derive(Serialize, ToSchema)]
pub struct ImportCollection {
    #[schema(example = "FeatureCollection", pattern = "^FeatureCollection$")]
    r#type: String,
    features: Vec<SubmittedFeature>,
}

/// A stored observation as a GeoJSON Feature. Properties are those submitted
/// plus `received_at` and, for walk findings, `status`, `status_changed_at`,
/// `status_changed_by` and `assignee`; a participant's own findings have
/// `own: true` (they may change them while the walk is open).
#[derive(Serialize, ToSchema)]
pub struct ObservationFeature {
    r#type: String,
    id: String,
    geometry: PointGeometry,
    #[schema(value_type = Object)]
    properties: serde_json::Value,
}

/// A page of observations.
#[derive(Serialize, ToSchema)]
pub struct ObservationCollection {
    r#type: String,
    features: Vec<ObservationFeature>,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    /// `rel=next` while more pages remain.
    #[schema(value_type = Vec<Object>)]
    links: Vec<serde_json::Value>,
}

/// H3 cells as Polygon Features with properties `cell`, `count`,
/// `insecurity`, `walk_finding`, `place_observation`.
#[derive(Serialize, ToSchema)]
pub struct HexagonCollection {
    r#type: String,
    resolution: u8,
    #[schema(value_type = Vec<Object>)]
    features: Vec<serde_json::Value>,
    /// Present when small counts were withheld and the rest rounded.
    k_anonymity: Option<u32>,
    /// Present with `k_anonymity`: every count is a multiple of it.
    rounding_base: Option<u32>,
}

/// Areas as Polygon/MultiPolygon Features.
#[derive(Serialize, ToSchema)]
pub struct AreaCollection {
    r#type: String,
    #[schema(value_type = Vec<Object>)]
    features: Vec<serde_json::Value>,
}

/// The answer to an import.
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    received: usize,
    accepted: usize,
    duplicates: usize,
    conflicts: usize,
    rejected: usize,
    /// Each rejected record's `record` number, `line` (CSV, NDJSON) and `errors`.
    #[schema(value_type = Vec<Object>)]
    rejections: Vec<serde_json::Value>,
    conflicting_ids: Vec<String>,
}

/// A safety walk.
#[derive(Serialize, ToSchema)]
pub struct WalkDoc {
    id: String,
    name: String,
    area: Option<String>,
    date: String,
    /// `day` or `night`.
    time_of_day: String,
    /// A GeoJSON LineString, or null when the walk has no route.
    #[schema(value_type = Option<Object>)]
    route: Option<serde_json::Value>,
    open: bool,
    closed_at: Option<String>,
    /// Admins only.
    join_code: Option<String>,
}

/// A participant token from joining a walk.
#[derive(Serialize, ToSchema)]
pub struct JoinAnswer {
    token: String,
    expires_at: String,
    walk: WalkDoc,
}

/// A new bearer token; the secret is shown only here.
#[derive(Serialize, ToSchema)]
pub struct TokenAnswer {
    token: String,
    role: crate::model::Role,
    expires_at: Option<String>,
}

/// Service health.
#[derive(Serialize, ToSchema)]
pub struct Health {
    status: String,
    /// `embedded` or `postgres`.
    store: String,
    observations: usize,
    version: String,
    uptime_s: u64,
}
