//! Safety walks: admins create and close them; participants join with the
//! walk's code and get a token that lets them submit and read that walk's
//! findings, nothing else.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::Json;
use super::problem::Problem;
use super::{AppState, client_ip};
use crate::model::observation::format_timestamp;
use crate::model::{Principal, Walk};
use crate::service::WalkRequest;

fn walk_json(w: &Walk, with_code: bool) -> Value {
    let mut v = json!({
        "id": w.id.to_string(),
        "name": w.name,
        "area": w.area_id,
        "date": w.date.to_string(),
        "time_of_day": w.time_of_day.as_str(),
        "route": if w.route.len() >= 2 {
            json!({"type": "LineString", "coordinates": w.route})
        } else {
            Value::Null
        },
        "open": w.is_open(),
        "closed_at": w.closed_at.map(format_timestamp),
    });
    if with_code {
        v["join_code"] = json!(w.join_code);
    }
    v
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWalk {
    /// E.g. "Trygghetsvandring Hovsjö centrum".
    name: String,
    /// Area id the walk covers.
    area: Option<String>,
    /// YYYY-MM-DD, in 1900–2200.
    #[schema(format = Date)]
    date: String,
    /// `day` or `night`.
    #[schema(pattern = "^(day|night)$")]
    time_of_day: String,
    /// Planned route: a GeoJSON LineString geometry in WGS 84.
    #[schema(value_type = Object)]
    route: Option<Value>,
}

/// `POST /api/v1/walks` — create a walk (admin).
#[utoipa::path(post, path = "/api/v1/walks", tag = "walks", request_body = NewWalk,
    responses(
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "The walk, with its join code", body = super::openapi::WalkDoc),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid walk", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<NewWalk>,
) -> Result<Response, Problem> {
    let walk = state
        .service
        .create_walk(
            &principal,
            WalkRequest {
                name: body.name,
                area: body.area,
                date: body.date,
                time_of_day: body.time_of_day,
                route: body.route,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(walk_json(&walk, true))).into_response())
}

/// `GET /api/v1/walks` — admins and analysts see all walks (admins with join
/// codes); a participant sees their own walk.
#[utoipa::path(get, path = "/api/v1/walks", tag = "walks",
    responses(
        (status = 200, description = "Walks, newest first", body = [super::openapi::WalkDoc]),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not list walks", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, Problem> {
    let visible: Vec<Value> = state
        .service
        .walks(&principal)
        .await?
        .iter()
        .map(|w| walk_json(w, principal.is_admin()))
        .collect();
    Ok(axum::Json(visible).into_response())
}

/// `GET /api/v1/walks/{id}`.
#[utoipa::path(get, path = "/api/v1/walks/{id}", tag = "walks",
    params(("id" = String, Path, description = "Walk id")),
    responses(
        (status = 200, description = "The walk", body = super::openapi::WalkDoc),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such walk visible to the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let walk = state.service.walk(&principal, &id).await?;
    Ok(axum::Json(walk_json(&walk, principal.is_admin())).into_response())
}

/// `POST /api/v1/walks/{id}/close` — no more findings can be submitted (admin).
#[utoipa::path(post, path = "/api/v1/walks/{id}/close", tag = "walks",
    params(("id" = String, Path, description = "Walk id")),
    responses(
        (status = 200, description = "The closed walk", body = super::openapi::WalkDoc),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such walk", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let walk = state.service.close_walk(&principal, &id).await?;
    Ok(axum::Json(walk_json(&walk, true)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The code the walk leader hands out, e.g. "K7M2QX".
    code: String,
}

/// `POST /api/v1/walks/join` — exchange a join code for a participant token.
#[utoipa::path(post, path = "/api/v1/walks/join", tag = "walks", request_body = JoinRequest,
    responses(
        (status = 422, description = "Fields missing or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "A participant token for this walk", body = super::openapi::JoinAnswer),
        (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The walk is closed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn join(State(state): State<AppState>, req: Request) -> Result<Response, Problem> {
    let ip = client_ip(req.extensions());
    if state.guesses.check_key(&ip).is_err() {
        return Err(Problem::rate_limited(60));
    }
    let Json(body) = Json::<JoinRequest>::from_request_inner(req, &state).await?;
    let joined = state.service.join_walk(&body.code).await?;
    Ok(axum::Json(json!({
        "token": joined.secret,
        "expires_at": joined.token.expires_at.map(format_timestamp),
        "walk": walk_json(&joined.walk, false),
    }))
    .into_response())
}

impl<T: serde::de::DeserializeOwned> Json<T> {
    /// Runs the extractor by hand, for handlers that look at the request first.
    pub async fn from_request_inner(req: Request, state: &AppState) -> Result<Self, Problem> {
        <Self as axum::extract::FromRequest<AppState>>::from_request(req, state).await
    }
}
