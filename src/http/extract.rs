//! Extractors whose rejections are problem details, so that a malformed
//! query string or body gets the same machine-readable error as everything
//! else.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Query parameters; unknown parameters are refused (a typo in a filter must
/// not silently widen a query).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(Query)
            .map_err(|e| Problem::invalid_query(e.to_string()))
    }
}

/// A JSON body (`application/json`) deserialised into `T`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = json_body(req, state).await?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            if e.is_data() {
                Problem::validation(vec![crate::model::ValidationError::new(
                    "body",
                    e.to_string(),
                )])
            } else {
                Problem::invalid_json(e.to_string())
            }
        })
    }
}

/// The body of a request that must be JSON (`application/json` or
/// `application/geo+json`), within the configured size limit.
pub async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/json" && media != "application/geo+json" {
        return Err(Problem::unsupported_media_type(format!(
            "send Content-Type: application/json or application/geo+json, not {ct:?}"
        )));
    }
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(64 * 1024, |l| l.0);
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(limit)
        } else {
            Problem::bad_request(e.body_text())
        }
    })
}

/// The body limit in force, recorded for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);
