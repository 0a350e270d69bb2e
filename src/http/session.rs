//! Credentials over HTTP: logging in with a user name and password, and
//! admins issuing API tokens.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::auth::require;
use super::extract::Json;
use super::problem::Problem;
use super::{AppState, client_ip};
use crate::auth::{new_token, verify_password};
use crate::model::observation::format_timestamp;
use crate::model::{Principal, Role, ValidationError};
use crate::store::TokenRecord;

/// The label of a token made by signing in, before the user name.
pub(super) const LOGIN_LABEL: &str = "login:";

/// How long a login session token lasts.
const SESSION_HOURS: i64 = 12;

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
    // A phone keyboard adds a capital first letter or a trailing space:
    // the name as typed (trimmed), else in lower case (`trygg user add`
    // stores names in lower case).
    let typed = body.username.trim();
    let mut user = state.service.store().find_user(typed).await?;
    if user.is_none() && typed != typed.to_lowercase() {
        user = state
            .service
            .store()
            .find_user(&typed.to_lowercase())
            .await?;
    }
    let password = body.password;
    let ok = match &user {
        // Verify even for unknown users so timing does not reveal which names exist.
        Some(u) => {
            let phc = u.password_hash.clone();
            tokio::task::spawn_blocking(move || verify_password(&password, &phc))
                .await
                .unwrap_or(false)
        }
        None => tokio::task::spawn_blocking(move || verify_password(&password, dummy_hash()))
            .await
            .unwrap_or(false),
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(Problem::unauthorized("wrong user name or password"));
    };
    let (secret, hash) = new_token();
    let now = OffsetDateTime::now_utc();
    let token = TokenRecord {
        id: Uuid::now_v7(),
        hash,
        role: user.role,
        organisation: user.organisation.clone(),
        walk_id: None,
        label: format!("{LOGIN_LABEL}{}", user.username),
        created_at: now,
        expires_at: Some(now + time::Duration::hours(SESSION_HOURS)),
    };
    state.service.store().create_token(&token).await?;
    Ok(axum::Json(json!({
        "token": secret,
        "role": user.role,
        "expires_at": token.expires_at.map(format_timestamp),
    }))
    .into_response())
}

/// A real argon2id hash of nothing in particular, verified against when the
/// user name is unknown.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::auth::hash_password("no such user").unwrap_or_default())
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
    require(&principal, principal.is_admin(), "issuing tokens")?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: String| Problem::validation(vec![ValidationError::new("role", e)]))?;
    let record = token_record(
        role,
        body.organisation,
        body.label.unwrap_or_default(),
        body.expires_in_days,
    )
    .map_err(|e| Problem::validation(vec![e]))?;
    let (secret, hash) = new_token();
    let record = TokenRecord { hash, ..record };
    state.service.store().create_token(&record).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "token": secret,
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
    require(&principal, principal.is_admin(), "listing tokens")?;
    let participants = super::filters::flag("participants", p.participants.as_deref())?;
    let now = OffsetDateTime::now_utc();
    let tokens = state.service.store().list_tokens(participants).await?;
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
    require(&principal, principal.is_admin(), "revoking tokens")?;
    let not_found = || Problem::not_found(format!("no token {id:?}"));
    let uuid = Uuid::parse_str(&id).map_err(|_| not_found())?;
    if !state
        .service
        .store()
        .expire_token(uuid, OffsetDateTime::now_utc())
        .await?
    {
        return Err(not_found());
    }
    super::audit::audit(&state, &principal, "token.revoke", id).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Longest a token may be issued for: a hundred years.
const MAX_TOKEN_DAYS: u32 = 36_500;

/// Checks a token request and builds its record (the hash is filled in by the caller).
pub fn token_record(
    role: Role,
    organisation: Option<String>,
    label: String,
    expires_in_days: Option<u32>,
) -> Result<TokenRecord, ValidationError> {
    let organisation = organisation
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    match role {
        Role::Partner if organisation.is_none() => {
            return Err(ValidationError::new(
                "organisation",
                "a partner token needs an organisation",
            ));
        }
        Role::Anonymous | Role::WalkParticipant => {
            return Err(ValidationError::new(
                "role",
                "anonymous needs no token, and participants get theirs by joining a walk",
            ));
        }
        _ => {}
    }
    // Bounded so that the expiry stays a representable date.
    if expires_in_days.is_some_and(|d| d > MAX_TOKEN_DAYS) {
        return Err(ValidationError::new(
            "expires_in_days",
            format!("at most {MAX_TOKEN_DAYS} days"),
        ));
    }
    let now = OffsetDateTime::now_utc();
    Ok(TokenRecord {
        id: Uuid::now_v7(),
        hash: [0; 32],
        role,
        organisation: if role == Role::Partner {
            organisation
        } else {
            None
        },
        walk_id: None,
        label,
        created_at: now,
        expires_at: expires_in_days.map(|d| now + time::Duration::days(i64::from(d))),
    })
}
