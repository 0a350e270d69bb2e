//! RFC 9457 problem details: every error the API returns, with a stable
//! `type`, a human `title`/`detail` and, for validation, the list of fields at
//! fault. Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::ValidationError;
use crate::store::StoreError;

/// Media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ValidationError>,
    /// Extra members, e.g. import rejections.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: format!("/problems/{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn invalid_query(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "Invalid query parameter",
            detail,
        )
    }

    pub fn invalid_json(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "The body is not valid JSON",
            detail,
        )
    }

    pub fn validation(errors: Vec<ValidationError>) -> Self {
        let detail = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Problem {
            errors,
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The submission is not valid",
                detail,
            )
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this role",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn too_large(limit: usize) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "The body is too large",
            format!("the body exceeds the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Problem {
            retry_after: Some(retry_after_secs.max(1)),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("try again in {} s", retry_after_secs.max(1)),
            )
        }
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Problem {
            retry_after: Some(1),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                detail,
            )
        }
    }

    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the error has been logged",
        )
    }

    /// Adds an extension member.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.extra
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.into(), v);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Problem::not_found(format!("{what} not found")),
            StoreError::AlreadyExists(what) => Problem::conflict(format!("{what} already exists")),
            StoreError::Closed => Problem::unavailable("the store is shutting down"),
            other => {
                tracing::error!(error = %error_chain(&other), "store failure");
                Problem::unavailable("the store could not complete the request")
            }
        }
    }
}

impl From<crate::service::Refused> for Problem {
    fn from(r: crate::service::Refused) -> Self {
        use crate::service::Refused;
        match r {
            Refused::NeedsSignIn(what) => Problem::unauthorized(format!("{what} needs a token")),
            Refused::WrongCredentials => Problem::unauthorized("wrong user name or password"),
            Refused::Unauthenticated(why) => Problem::unauthorized(why),
            Refused::Forbidden(what, role) => {
                Problem::forbidden(format!("{what} is not allowed for role {role}"))
            }
            Refused::NotYours(why) => Problem::forbidden(why),
            Refused::Invalid(errors) => Problem::validation(errors),
            Refused::NotFound(what) => Problem::not_found(what),
            Refused::Conflict(why) => Problem::conflict(why),
            Refused::Unavailable(why) => Problem::unavailable(why),
            Refused::Store(e) => e.into(),
            Refused::Internal => Problem::internal(),
        }
    }
}

pub use crate::error_chain;
