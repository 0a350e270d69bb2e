//! Observations: submit one, import many, list, find nearby, follow up.

use std::io::BufReader;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::io::{StreamReader, SyncIoBridge};
use uuid::Uuid;

use super::auth::require_act;
use super::extract::{Json, Query, json_body};
use super::features::{GEO_JSON, geojson};
use super::filters::{ALL_FILTERS, FilterQuery, Filtered, Filtering};
use super::problem::Problem;
use super::{AppState, client_ip};
use crate::export::observation_feature;
use crate::ingest::{Format, feature};
use crate::model::permission::Act;
use crate::model::{FindingChange, FindingStatus, Observation, Principal, Role};
use crate::service::{ImportError, Imported, MAX_LISTED_REJECTIONS, RecordPage};
use crate::store::Inserted;

/// Default and largest page sizes for listings.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

/// `POST /api/v1/observations` — one GeoJSON Feature.
#[utoipa::path(post, path = "/api/v1/observations", tag = "observations",
    request_body(content = super::openapi::SubmittedFeature, content_type = "application/geo+json"),
    responses(
        (status = 201, description = "Stored", body = super::openapi::ObservationFeature, content_type = "application/geo+json"),
        (status = 200, description = "Already stored with the same content (idempotent retry)", body = super::openapi::ObservationFeature, content_type = "application/geo+json"),
        (status = 400, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not submit this kind", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Id stored with other content, or walk closed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid observation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many anonymous submissions", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    req: Request,
) -> Result<Response, Problem> {
    if principal.role == Role::Anonymous {
        let ip = client_ip(req.extensions());
        if let Err(not_until) = state.anonymous_submissions.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(Problem::rate_limited(wait.as_secs() + 1));
        }
    }
    let body = json_body(req, &state).await?;
    let feature = feature::parse_feature(&body).map_err(|e| {
        if e.field == "body" {
            Problem::invalid_json(e.reason)
        } else {
            Problem::validation(vec![e])
        }
    })?;
    let new = feature::from_feature(&feature).map_err(Problem::validation)?;
    match state.service.submit_for(&principal, new).await? {
        Inserted::Created { observation, .. } => {
            let mut resp = geojson(StatusCode::CREATED, &feature_for(&principal, &observation));
            if let Ok(loc) = format!("/api/v1/observations/{}", observation.id).parse() {
                resp.headers_mut().insert(header::LOCATION, loc);
            }
            Ok(resp)
        }
        Inserted::Duplicate(stored) => {
            Ok(geojson(StatusCode::OK, &feature_for(&principal, &stored)))
        }
        Inserted::Conflict(stored) => Err(Problem::conflict(format!(
            "observation {} is already stored with different content; use a new id",
            stored.id
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Store the valid records even if some are rejected (default: all or nothing).
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    partial: Option<String>,
}

/// `POST /api/v1/observations/import` — GeoJSON FeatureCollection, CSV or NDJSON.
#[utoipa::path(post, path = "/api/v1/observations/import", tag = "observations", params(ImportParams),
    request_body(description = "A GeoJSON FeatureCollection (application/geo+json), CSV with a header row (text/csv) or one Feature per line (application/x-ndjson)",
        content((super::openapi::ImportCollection = "application/geo+json"), (String = "text/csv"), (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "Imported", body = super::openapi::ImportReport),
        (status = 400, description = "Unreadable input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not import", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Ids stored with other content", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Unknown format", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some records are invalid; nothing stored", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    require_act(&principal, Act::Import)?;
    let partial = match params.partial.as_deref() {
        None | Some("false") => false,
        Some("true" | "") => true,
        Some(other) => {
            return Err(Problem::invalid_query(format!(
                "partial: {other:?} is not true or false"
            )));
        }
    };
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::from_media_type(media).ok_or_else(|| {
        Problem::unsupported_media_type(format!(
            "{media:?}: send application/geo+json (FeatureCollection), text/csv or application/x-ndjson"
        ))
    })?;

    let limit = state.settings.max_import_bytes;
    let mut seen = 0usize;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len();
        if seen > limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "import body too large",
            ));
        }
        Ok(chunk)
    });
    let reader = BufReader::with_capacity(1 << 16, SyncIoBridge::new(StreamReader::new(stream)));
    let imported = state
        .service
        .import_for(&principal, format, reader, partial)
        .await
        .map_err(|e| match e {
            ImportError::Parse(crate::ingest::ParseError::Io(io))
                if io.kind() == std::io::ErrorKind::FileTooLarge =>
            {
                Problem::too_large(limit)
            }
            ImportError::Parse(crate::ingest::ParseError::Io(io)) => {
                Problem::bad_request(format!("reading the body failed: {io}"))
            }
            ImportError::Parse(crate::ingest::ParseError::Malformed(m)) => Problem::bad_request(m),
            ImportError::Store(e) => e.into(),
            ImportError::Refused(r) => r.into(),
        })?;
    let Imported { checked, outcome } = imported;
    let (rejections, rejected) = (checked.rejections, checked.rejected);
    let received = checked.accepted_ids.len() + rejected;
    if rejected > 0 && !partial {
        return Err(Problem::validation(Vec::new())
            .with("received", received)
            .with("rejected", rejected)
            .with("rejections", &rejections)
            .with_detail(format!(
                "{rejected} of {received} records are invalid; nothing was stored (add ?partial=true to store the valid ones)"
            )));
    }
    let conflicts: Vec<String> = outcome
        .conflicts
        .iter()
        .map(|&i| checked.accepted_ids[i].to_string())
        .collect();
    if !conflicts.is_empty() && !partial {
        return Err(Problem::conflict(format!(
            "{} records reuse ids stored with other content; nothing was stored",
            conflicts.len()
        ))
        .with(
            "conflicting_ids",
            &conflicts[..conflicts.len().min(MAX_LISTED_REJECTIONS)],
        ));
    }
    let body = json!({
        "received": received,
        "accepted": outcome.stored,
        "duplicates": outcome.duplicates.len(),
        "conflicts": conflicts.len(),
        "rejected": rejected,
        "rejections": rejections,
        "conflicting_ids": conflicts.into_iter().take(MAX_LISTED_REJECTIONS).collect::<Vec<_>>(),
    });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

impl Problem {
    fn with_detail(mut self, detail: String) -> Self {
        self.detail = detail;
        self
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// A walk's id (findings of that walk).
    walk: Option<String>,
    /// Page size, 1–10000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10_000)]
    limit: Option<String>,
    /// Opaque cursor from the previous page's `next` link.
    cursor: Option<String>,
}

impl Filtering for ListParams {
    const FILTERS: &'static [&'static str] = ALL_FILTERS;
}

fn parse_limit(s: Option<&str>) -> Result<usize, Problem> {
    match s {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Problem::invalid_query(format!(
                    "limit: {s:?} is not a number from 1 to {MAX_LIMIT}"
                ))
            }),
    }
}

/// `GET /api/v1/observations` — a page of raw observations.
#[utoipa::path(get, path = "/api/v1/observations", tag = "observations", params(Filtered<ListParams>),
    responses(
        (status = 200, description = "A page of observations, oldest first; `links` has `next` while more remain", body = super::openapi::ObservationCollection, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read raw observations", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Filtered<ListParams>, Problem>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ReadRecords)?;
    let Filtered {
        params: p,
        query,
        mut filter,
    } = query?;
    if let Some(w) = &p.walk {
        filter.walk_id = Some(
            feature::parse_uuid("walk", w).map_err(|e| Problem::invalid_query(e.to_string()))?,
        );
    }
    let limit = parse_limit(p.limit.as_deref())?;
    let after = p
        .cursor
        .as_deref()
        .map(|c| {
            Uuid::parse_str(c)
                .map_err(|_| Problem::invalid_query("cursor: not a cursor from a next link"))
        })
        .transpose()?;
    let RecordPage { observations, next } = state
        .service
        .list_records(&principal, filter, after, limit)
        .await?;

    let mut links = vec![];
    if let Some(last) = next {
        let mut q: Vec<(String, String)> =
            serde_urlencoded::from_str(&query_without_cursor(&p, &query)).unwrap_or_default();
        q.push(("cursor".into(), last.to_string()));
        let href = format!(
            "/api/v1/observations?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        );
        links.push(json!({"rel": "next", "type": GEO_JSON, "href": href}));
    }
    let body = json!({
        "type": "FeatureCollection",
        "features": observations.iter().map(|o| feature_for(&principal, o)).collect::<Vec<_>>(),
        "numberReturned": observations.len(),
        "links": links,
    });
    Ok(geojson(StatusCode::OK, &body))
}

fn query_without_cursor(p: &ListParams, query: &FilterQuery) -> String {
    let mut present = query.pairs();
    let own = [("walk", &p.walk), ("limit", &p.limit)];
    present.extend(
        own.iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
    );
    serde_urlencoded::to_string(present).unwrap_or_default()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NearbyParams {
    /// Longitude, WGS 84 degrees, inside the served region.
    #[param(value_type = f64)]
    lon: String,
    /// Latitude, WGS 84 degrees, inside the served region.
    #[param(value_type = f64)]
    lat: String,
    /// Search radius in metres, 1–5000 (default 50).
    #[param(value_type = Option<f64>, minimum = 1, maximum = 5000)]
    radius_m: Option<String>,
    /// Most results, 1–1000 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

impl Filtering for NearbyParams {
    const FILTERS: &'static [&'static str] = &["kind"];
}

/// `GET /api/v1/observations/nearby` — nearest first.
#[utoipa::path(get, path = "/api/v1/observations/nearby", tag = "observations", params(Filtered<NearbyParams>),
    responses(
        (status = 200, description = "Observations within the radius, nearest first, each with `distance_m`", body = super::openapi::ObservationCollection, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read raw observations", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn nearby(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Filtered<NearbyParams>, Problem>,
) -> Result<Response, Problem> {
    // Who may ask comes before what was asked: no credentials is a 401
    // whatever the query says.
    require_act(&principal, Act::ReadRecords)?;
    let Filtered {
        params: p, filter, ..
    } = query?;
    let num = |name: &str, s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Problem::invalid_query(format!("{name}: {s:?} is not a number")))
    };
    let (lon, lat) = (num("lon", &p.lon)?, num("lat", &p.lat)?);
    state
        .service
        .region
        .check(lon, lat)
        .map_err(|e| Problem::invalid_query(format!("lon/lat: {}", e.reason)))?;
    let radius = match &p.radius_m {
        None => 50.0,
        Some(r) => num("radius_m", r)?,
    };
    if !(1.0..=5000.0).contains(&radius) {
        return Err(Problem::invalid_query(
            "radius_m must be between 1 and 5000",
        ));
    }
    let limit = match &p.limit {
        None => 20,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| Problem::invalid_query("limit must be a number from 1 to 1000"))?,
    };
    let found = state
        .service
        .nearby_records(&principal, (lon, lat), radius, filter, limit)
        .await?;
    let features: Vec<Value> = found
        .iter()
        .map(|(o, distance_m)| {
            let mut f = feature_for(&principal, o);
            f["properties"]["distance_m"] = json!((distance_m * 10.0).round() / 10.0);
            f
        })
        .collect();
    Ok(geojson(
        StatusCode::OK,
        &json!({"type": "FeatureCollection", "features": features}),
    ))
}

fn parse_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id).map_err(|_| Problem::not_found(format!("no observation {id:?}")))
}

/// `GET /api/v1/observations/{id}`.
#[utoipa::path(get, path = "/api/v1/observations/{id}", tag = "observations",
    params(("id" = String, Path, description = "Observation id (UUID)")),
    responses(
        (status = 200, description = "The observation", body = super::openapi::ObservationFeature, content_type = "application/geo+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read raw observations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such observation visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ReadRecords)?;
    let id = parse_id(&id)?;
    let o = state.service.record(&principal, id).await?;
    Ok(geojson(StatusCode::OK, &feature_for(&principal, &o)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `open`, `assigned` or `resolved`; a resolved finding may be reopened.
    #[schema(pattern = "^(open|assigned|resolved)$", example = "assigned")]
    status: String,
    /// Who is responsible for fixing it, e.g. "Gatuförvaltningen".
    assignee: Option<String>,
}

/// `PATCH /api/v1/observations/{id}/status` — follow up a walk finding.
#[utoipa::path(patch, path = "/api/v1/observations/{id}/status", tag = "observations",
    params(("id" = String, Path, description = "Walk finding id (UUID)")),
    request_body = StatusChange,
    responses(
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "Updated finding", body = super::openapi::ObservationFeature, content_type = "application/geo+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not follow up findings", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such walk finding", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(change): Json<StatusChange>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::FollowUp)?;
    let id = parse_id(&id)?;
    let status: FindingStatus = change
        .status
        .parse()
        .map_err(|e| Problem::validation(vec![e]))?;
    let updated = state
        .service
        .follow_up(&principal, id, status, change.assignee)
        .await?;
    Ok(geojson(StatusCode::OK, &observation_feature(&updated)))
}

/// An observation as GeoJSON for `who`: a participant's own findings say
/// `"own": true`, the ones they may change while the walk is open.
fn feature_for(who: &Principal, o: &Observation) -> Value {
    let mut f = observation_feature(o);
    if o.submitted_by.as_deref() == Some(who.actor.as_str()) {
        f["properties"]["own"] = json!(true);
    }
    f
}

/// What a participant changes of a finding they submitted; absent fields
/// stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingChangeBody {
    /// A walk-finding category code (see `/api/v1/taxonomy`).
    category: Option<String>,
    /// 1 (minor) to 3 (serious).
    #[schema(minimum = 1, maximum = 3)]
    severity: Option<i64>,
    /// The comment; `""` (or only blanks) removes it.
    #[schema(max_length = 2000)]
    description: Option<String>,
}

/// `PATCH /api/v1/observations/{id}` — a participant corrects a finding
/// they submitted, while the walk is open.
#[utoipa::path(patch, path = "/api/v1/observations/{id}", tag = "observations",
    params(("id" = String, Path, description = "Walk finding id (UUID)")),
    request_body = FindingChangeBody,
    responses(
        (status = 200, description = "The finding as now stored", body = super::openapi::ObservationFeature, content_type = "application/geo+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a walk participant, or not their finding", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such finding in the caller's walk", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The walk is closed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid category, severity or description", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<FindingChangeBody>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ChangeOwnFindings)?;
    let id = parse_id(&id)?;
    let change = FindingChange {
        category: body.category,
        severity: body.severity,
        description: body.description,
    };
    let changed = state.service.change_finding(&principal, id, change).await?;
    Ok(geojson(StatusCode::OK, &feature_for(&principal, &changed)))
}

/// `DELETE /api/v1/observations/{id}` — a participant removes a finding
/// they submitted, for good, while the walk is open.
#[utoipa::path(delete, path = "/api/v1/observations/{id}", tag = "observations",
    params(("id" = String, Path, description = "Walk finding id (UUID)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a walk participant, or not their finding", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such finding in the caller's walk", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The walk is closed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ChangeOwnFindings)?;
    let id = parse_id(&id)?;
    state.service.remove_finding(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
