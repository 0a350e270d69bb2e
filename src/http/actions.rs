//! The action plan: `GET /api/v1/actions` (public, like the plan itself,
//! with each indicator's latest figures), `PUT` and `DELETE
//! /api/v1/actions/{id}` for analysts and admins.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::audit;
use super::auth::require;
use super::extract::{Query, json_body};
use super::problem::Problem;
use crate::analysis::area::indicator;
use crate::model::{Action, Period, Principal, ValidationError};
use crate::privacy::Disclosure;

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
    let actions: Vec<Action> = state
        .service
        .store()
        .list_actions()
        .await?
        .into_iter()
        .filter(|a| match p.area.as_deref() {
            None => true,
            Some("municipality") => a.area.is_none(),
            Some(area) => a.area.as_deref() == Some(area),
        })
        .collect();
    let d = Disclosure::for_caller(principal.reads_raw(), state.settings.k_anonymity);
    let service = state.service.clone();
    let body = tokio::task::spawn_blocking(move || {
        let now = time::OffsetDateTime::now_utc();
        let index = service.index();
        let items: Vec<Value> = actions
            .iter()
            .map(|a| {
                let figures: Vec<Value> = a
                    .indicators
                    .iter()
                    .map(|ind| {
                        let last = Period::containing_instant(ind.period, now).offset(-1);
                        let figure = indicator(&index, a, ind, last);
                        serde_json::to_value(figure.as_shown(d)).unwrap_or_default()
                    })
                    .collect();
                let mut v = serde_json::to_value(a).unwrap_or_default();
                v["figures"] = json!(figures);
                v
            })
            .collect();
        json!({ "actions": items })
    })
    .await
    .map_err(|_| Problem::internal())?;
    Ok(Json(body).into_response())
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
    require(
        &principal,
        principal.may_follow_up(),
        "changing the action plan",
    )?;
    if !crate::model::is_slug(&id) {
        return Err(Problem::validation(vec![ValidationError::new(
            "id",
            "use 1–64 lower-case letters, digits, - or _",
        )]));
    }
    let body = json_body(req, &state).await?;
    let mut action: Action = serde_json::from_slice(&body)
        .map_err(|e| Problem::validation(vec![ValidationError::new("body", e.to_string())]))?;
    if !action.id.is_empty() && action.id != id {
        return Err(Problem::validation(vec![ValidationError::new(
            "id",
            "differs from the id in the path",
        )]));
    }
    action.id = id;
    let areas = state.service.store().list_areas().await?;
    let errors = action.validate(&state.service.taxonomy, |a| {
        areas.iter().any(|known| known.id == a)
    });
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    state.service.store().put_action(&action).await?;
    audit(&state, &principal, "action.put", action.id.clone()).await;
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
    require(
        &principal,
        principal.may_follow_up(),
        "changing the action plan",
    )?;
    if !state.service.store().delete_action(&id).await? {
        return Err(Problem::not_found(format!("no action {id:?}")));
    }
    audit(&state, &principal, "action.delete", id).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
