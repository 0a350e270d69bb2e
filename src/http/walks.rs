//! Safety walks: admins create and close them; participants join with the
//! walk's code and get a token that lets them submit and read that walk's
//! findings, nothing else.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::auth::require;
use super::extract::Json;
use super::problem::Problem;
use super::{AppState, client_ip};
use crate::auth::new_token;
use crate::model::observation::format_timestamp;
use crate::model::walk::{TimeOfDay, new_join_code, normalise_join_code};
use crate::model::{Principal, Role, ValidationError, Walk};
use crate::store::{StoreError, TokenRecord};

/// Participant tokens stay valid this long after the walk's date, so that
/// findings queued offline can still be sent.
const PARTICIPANT_GRACE_DAYS: i64 = 7;

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

fn parse_route(route: Option<&Value>, state: &AppState) -> Result<Vec<[f64; 2]>, ValidationError> {
    match route.filter(|r| !r.is_null()) {
        None => Ok(Vec::new()),
        Some(route) => crate::ingest::geometry::route_from_value(route, &state.service.region)
            .map_err(|reason| ValidationError::new("route", reason)),
    }
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
    require(&principal, principal.is_admin(), "creating walks")?;
    let mut errors = Vec::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(ValidationError::new("name", "must be 1–200 characters"));
    }
    let date = Date::parse(
        &body.date,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .map_err(|_| "must be YYYY-MM-DD".to_owned())
    .and_then(crate::model::period::check_date)
    .map_err(|e| errors.push(ValidationError::new("date", e)))
    .ok();
    let time_of_day = TimeOfDay::parse(&body.time_of_day)
        .ok_or_else(|| errors.push(ValidationError::new("time_of_day", "must be day or night")))
        .ok();
    let route = parse_route(body.route.as_ref(), &state)
        .map_err(|e| errors.push(e))
        .ok();
    if let Some(area) = &body.area {
        let known = state
            .service
            .store()
            .list_areas()
            .await?
            .iter()
            .any(|a| &a.id == area);
        if !known {
            errors.push(ValidationError::new("area", format!("no area {area:?}")));
        }
    }
    let (Some(date), Some(time_of_day), Some(route), true) =
        (date, time_of_day, route, errors.is_empty())
    else {
        return Err(Problem::validation(errors));
    };
    let now = OffsetDateTime::now_utc();
    for _ in 0..5 {
        let walk = Walk {
            id: crate::model::observation::new_id(now),
            name: name.clone(),
            area_id: body.area.clone(),
            date,
            time_of_day,
            route: route.clone(),
            join_code: new_join_code(),
            created_at: now,
            closed_at: None,
        };
        match state.service.store().create_walk(&walk).await {
            Ok(()) => {
                return Ok(
                    (StatusCode::CREATED, axum::Json(walk_json(&walk, true))).into_response()
                );
            }
            Err(StoreError::AlreadyExists(_)) => {} // join code collision: draw again
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::unavailable("could not draw a free join code"))
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
    let allowed = matches!(
        principal.role,
        Role::Admin | Role::Analyst | Role::WalkParticipant
    );
    require(&principal, allowed, "listing walks")?;
    let walks = state.service.store().list_walks().await?;
    let visible: Vec<Value> = walks
        .iter()
        .filter(|w| principal.role != Role::WalkParticipant || Some(w.id) == principal.walk_id)
        .map(|w| walk_json(w, principal.is_admin()))
        .collect();
    Ok(axum::Json(visible).into_response())
}

fn walk_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id).map_err(|_| Problem::not_found(format!("no walk {id:?}")))
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
    let allowed = matches!(
        principal.role,
        Role::Admin | Role::Analyst | Role::WalkParticipant
    );
    require(&principal, allowed, "reading walks")?;
    let id = walk_id(&id)?;
    let walk = state
        .service
        .store()
        .walk(id)
        .await?
        .filter(|w| principal.role != Role::WalkParticipant || Some(w.id) == principal.walk_id)
        .ok_or_else(|| Problem::not_found(format!("no walk {id}")))?;
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
    require(&principal, principal.is_admin(), "closing walks")?;
    let walk = state
        .service
        .store()
        .close_walk(walk_id(&id)?, OffsetDateTime::now_utc())
        .await?;
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
    let code = normalise_join_code(&body.code);
    let walk = state
        .service
        .store()
        .walk_by_code(&code)
        .await?
        .ok_or_else(|| Problem::not_found("no walk has this code"))?;
    if !walk.is_open() {
        return Err(Problem::conflict(format!(
            "the walk {:?} is closed",
            walk.name
        )));
    }
    let (secret, hash) = new_token();
    let now = OffsetDateTime::now_utc();
    // Checked: a walk stored before dates were range-checked may lie in year 9999.
    let expires = walk
        .date
        .midnight()
        .assume_utc()
        .checked_add(time::Duration::days(PARTICIPANT_GRACE_DAYS + 1))
        .unwrap_or(now);
    let token = TokenRecord {
        id: Uuid::now_v7(),
        hash,
        role: Role::WalkParticipant,
        organisation: None,
        walk_id: Some(walk.id),
        label: format!("participant of {}", walk.id),
        created_at: now,
        expires_at: Some(expires.max(now + time::Duration::days(1))),
    };
    state.service.store().create_token(&token).await?;
    Ok(axum::Json(json!({
        "token": secret,
        "expires_at": token.expires_at.map(format_timestamp),
        "walk": walk_json(&walk, false),
    }))
    .into_response())
}

impl<T: serde::de::DeserializeOwned> Json<T> {
    /// Runs the extractor by hand, for handlers that look at the request first.
    pub async fn from_request_inner(req: Request, state: &AppState) -> Result<Self, Problem> {
        <Self as axum::extract::FromRequest<AppState>>::from_request(req, state).await
    }
}
