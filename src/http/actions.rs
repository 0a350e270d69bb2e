//! The action plan: `GET /api/v1/actions` (public, like the plan itself,
//! with each indicator's latest figures), `PUT` and `DELETE
//! /api/v1/actions/{id}` for analysts and admins.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::auth::require_act;
use super::extract::{Query, json_body};
use super::problem::Problem;
use crate::model::permission::Act;
use crate::model::{Action, Principal, ValidationError};
use crate::privacy::Disclosure;
use crate::service::PlanScope;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionParams {
    /// Only this area's actions; `municipality` for the municipality-wide ones.
    area: Option<String>,
}

/// `GET /api/v1/actions`.
#[utoipa::path(get, path = "/api/v1/actions", tag = "action plan", params(ActionParams),
    responses(
        (status = 200, description = "The actions, each with `figures`: every indicator's value in its last complete period, baseline, target, series and trend. For callers other than analysts counts under k are shown as 0 and the rest rounded to a multiple of k, and target, change, `on_track` and trend are derived from those shown values.", body = Object),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(p): Query<ActionParams>,
) -> Result<Response, Problem> {
    let scope = match p.area.as_deref() {
        None => PlanScope::Everything,
        Some("municipality") => PlanScope::Municipality,
        Some(area) => PlanScope::Area(area),
    };
    let d = Disclosure::for_caller(principal.reads_raw(), state.settings.k_anonymity);
    let plan = state.service.action_plan(scope, d).await?;
    Ok(Json(plan).into_response())
}

/// `PUT /api/v1/actions/{id}` — create or replace an action.
#[utoipa::path(put, path = "/api/v1/actions/{id}", tag = "action plan",
    params(("id" = String, Path, description = "Action slug, e.g. hovsjo-belysning")),
    request_body = Action,
    responses(
        (status = 200, description = "The stored action", body = Action),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid action, every problem listed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ChangePlan)?;
    let body = json_body(req, &state).await?;
    let action: Action = serde_json::from_slice(&body)
        .map_err(|e| Problem::validation(vec![ValidationError::new("body", e.to_string())]))?;
    let action = state.service.put_action(&principal, &id, action).await?;
    Ok(Json(action).into_response())
}

/// `DELETE /api/v1/actions/{id}`.
#[utoipa::path(delete, path = "/api/v1/actions/{id}", tag = "action plan",
    params(("id" = String, Path, description = "Action slug")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such action", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    state.service.delete_action(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A value entered for a manual indicator's period.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnteredValue {
    value: f64,
    /// Where the figure comes from, in words.
    #[serde(default)]
    note: String,
}

/// `PUT /api/v1/actions/{id}/indicators/{indicator}/values/{period}`.
#[utoipa::path(put, path = "/api/v1/actions/{id}/indicators/{indicator}/values/{period}", tag = "action plan",
    params(
        ("id" = String, Path, description = "Action slug"),
        ("indicator" = String, Path, description = "The indicator's id within the action, e.g. indicator-1"),
        ("period" = String, Path, description = "A period of the indicator's length that has begun, e.g. 2025-Q3"),
    ),
    request_body = EnteredValue,
    responses(
        (status = 200, description = "The value as stored, with who entered it and when; it replaces any earlier value of the period", body = crate::model::IndicatorValue),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such action or indicator", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a manual indicator, a period of the wrong length or not begun, or a bad value", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_value(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, indicator, period)): Path<(String, String, String)>,
    req: Request,
) -> Result<Response, Problem> {
    require_act(&principal, Act::EnterIndicatorValues)?;
    let body = json_body(req, &state).await?;
    let entered: EnteredValue = serde_json::from_slice(&body)
        .map_err(|e| Problem::validation(vec![ValidationError::new("body", e.to_string())]))?;
    let stored = state
        .service
        .enter_indicator_value(
            &principal,
            &id,
            &indicator,
            &period,
            entered.value,
            entered.note,
        )
        .await?;
    Ok(Json(stored).into_response())
}

/// `DELETE /api/v1/actions/{id}/indicators/{indicator}/values/{period}`.
#[utoipa::path(delete, path = "/api/v1/actions/{id}/indicators/{indicator}/values/{period}", tag = "action plan",
    params(
        ("id" = String, Path, description = "Action slug"),
        ("indicator" = String, Path, description = "The indicator's id within the action"),
        ("period" = String, Path, description = "The period whose value goes, e.g. 2025-Q3"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such action, indicator or entered value", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a manual indicator, or a bad period", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_value(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, indicator, period)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    state
        .service
        .remove_indicator_value(&principal, &id, &indicator, &period)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
