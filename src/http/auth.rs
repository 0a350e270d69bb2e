//! Who is calling: `Authorization: Bearer <token>` resolved to a
//! [`Principal`]. No header means anonymous; a header with an unknown or
//! expired token is refused rather than silently treated as anonymous.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::problem::Problem;
use crate::model::Principal;
use crate::model::permission::Act;

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Principal::anonymous());
        };
        let value = value
            .to_str()
            .map_err(|_| Problem::unauthorized("the Authorization header is not readable text"))?;
        let Some(secret) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
        else {
            return Err(Problem::unauthorized("use Authorization: Bearer <token>"));
        };
        Ok(state.service.principal_for_token(secret).await?)
    }
}

/// Refuses anonymous callers with 401 and callers of other roles with 403.
pub fn require(principal: &Principal, allowed: bool, what: &str) -> Result<(), Problem> {
    if allowed {
        Ok(())
    } else if principal.role == crate::model::Role::Anonymous {
        Err(Problem::unauthorized(format!("{what} needs a token")))
    } else {
        Err(Problem::forbidden(format!(
            "{what} is not allowed for role {}",
            principal.role
        )))
    }
}

/// Refuses `principal` unless the permission table lets it do `act`: for
/// handlers that check before reading a body (the use case checks again).
pub fn require_act(principal: &Principal, act: Act) -> Result<(), Problem> {
    crate::service::permit(principal, act).map_err(Problem::from)
}

/// Refuses an anonymous caller before the request body is read, on routes
/// only signed-in callers may use: nobody without a token can hold a
/// request open by sending its body slowly. The handler still decides
/// whether the caller's role may do what it asks.
pub async fn signed_in(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, Problem> {
    let (mut parts, body) = req.into_parts();
    let principal = Principal::from_request_parts(&mut parts, &state).await?;
    if principal.role == crate::model::Role::Anonymous {
        return Err(Problem::unauthorized(format!(
            "{} {} needs a token",
            parts.method,
            parts.uri.path()
        )));
    }
    Ok(next
        .run(axum::extract::Request::from_parts(parts, body))
        .await)
}
