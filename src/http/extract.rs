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
/// not silently widen a query). A parameter with an empty value (`bbox=`)
/// counts as absent, whatever its name, as the OpenAPI document's optional
/// parameters promise: forms and generated clients send them so.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parse_query(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| Problem::invalid_query(e.to_string()))
    }
}

fn parse_query<T: DeserializeOwned>(q: &str) -> Result<T, serde_urlencoded::de::Error> {
    let present = parse_query_pairs(q)?;
    // Encoding pairs of strings cannot fail.
    let q = serde_urlencoded::to_string(present).unwrap_or_default();
    serde_urlencoded::from_str(&q)
}

/// A query string's pairs with a value, in order.
pub fn parse_query_pairs(q: &str) -> Result<Vec<(String, String)>, serde_urlencoded::de::Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q)?;
    Ok(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Params {
        bbox: Option<String>,
        limit: Option<u32>,
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p: Params = parse_query("bbox=&limit=").unwrap();
        assert_eq!(
            p,
            Params {
                bbox: None,
                limit: None
            }
        );
        let p: Params = parse_query("bbox=1%2C2&limit=3").unwrap();
        assert_eq!(p.bbox.as_deref(), Some("1,2"));
        assert_eq!(p.limit, Some(3));
        // Ignored like any empty value: it cannot change the answer.
        assert!(parse_query::<Params>("typo=").is_ok());
        assert!(parse_query::<Params>("typo=1").is_err());
        assert!(parse_query::<Params>("limit=x").is_err());
    }
}
