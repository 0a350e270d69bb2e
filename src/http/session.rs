//! Credentials over HTTP: logging in with a user name and password, and
//! admins issuing API tokens.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::auth::require_act;
use super::extract::Json;
use super::problem::Problem;
use super::{AppState, client_ip};
use crate::model::observation::format_timestamp;
use crate::model::permission::Act;
use crate::model::{Principal, Role, ValidationError};
use crate::service::credentials::TokenRequest;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/login` — a session token for a user.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login,
    responses(
        (status = 422, description = "Fields missing or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "A bearer token valid for 12 hours", body = super::openapi::TokenAnswer),
        (status = 401, description = "Wrong user name or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(State(state): State<AppState>, req: Request) -> Result<Response, Problem> {
    let ip = client_ip(req.extensions());
    if state.guesses.check_key(&ip).is_err() {
        return Err(Problem::rate_limited(60));
    }
    let Json(body) = Json::<Login>::from_request_inner(req, &state).await?;
    let issued = state.service.log_in(&body.username, body.password).await?;
    Ok(axum::Json(json!({
        "token": issued.secret,
        "role": issued.token.role,
        "expires_at": issued.token.expires_at.map(format_timestamp),
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// `partner`, `analyst` or `admin`.
    #[schema(pattern = "^(partner|analyst|admin)$")]
    role: String,
    /// Required for partners: the organisation the token speaks for.
    organisation: Option<String>,
    /// What the token is for, e.g. "Securitas EST feed".
    label: Option<String>,
    /// Days until it expires, at most 36,500 (default: never).
    #[schema(maximum = 36_500)]
    expires_in_days: Option<u32>,
}

/// `POST /api/v1/tokens` — issue an API token (admin). The secret is shown once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses(
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "The new token", body = super::openapi::TokenAnswer),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<NewToken>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::IssueTokens)?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: String| Problem::validation(vec![ValidationError::new("role", e)]))?;
    let issued = state
        .service
        .issue_token(
            &principal,
            TokenRequest {
                role,
                organisation: body.organisation,
                label: body.label.unwrap_or_default(),
                expires_in_days: body.expires_in_days,
            },
        )
        .await?;
    let record = issued.token;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "token": issued.secret,
            "id": record.id.to_string(),
            "role": record.role,
            "expires_at": record.expires_at.map(format_timestamp),
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokenListParams {
    /// Also list walk participants' tokens (`true`/`false`, default false).
    #[param(value_type = Option<bool>)]
    participants: Option<String>,
}

/// `GET /api/v1/tokens` — the issued tokens, newest first (admin). Secrets
/// are never stored, so never shown.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", params(TokenListParams),
    responses(
        (status = 200, description = "`tokens`: id, role, organisation, walk, label, created_at, expires_at and active", body = Object),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
    super::extract::Query(p): super::extract::Query<TokenListParams>,
) -> Result<Response, Problem> {
    require_act(&principal, Act::ListTokens)?;
    let participants = super::filters::flag("participants", p.participants.as_deref())?;
    let now = OffsetDateTime::now_utc();
    let tokens = state.service.tokens(&principal, participants).await?;
    let items: Vec<_> = tokens
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "role": t.role,
                "organisation": t.organisation,
                "walk": t.walk_id,
                "label": t.label,
                "created_at": format_timestamp(t.created_at),
                "expires_at": t.expires_at.map(format_timestamp),
                "active": t.expires_at.is_none_or(|e| e > now),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "tokens": items })).into_response())
}

/// `DELETE /api/v1/tokens/{id}` — revoke a token at once (admin).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "Token id (not the secret)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, Problem> {
    state.service.revoke_token(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
