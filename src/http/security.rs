//! Response headers that harden the web pages, and the guard against
//! cross-site writes.
//!
//! Trygg has no cookie sessions: every credential is a bearer token that the
//! page sends explicitly, so a forged cross-site request carries none. The
//! guard below also refuses credential-less cross-site writes (a foreign page
//! making its visitors submit reports) by the browser's `Sec-Fetch-Site`
//! header, or `Origin` where that is missing.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

/// The Content-Security-Policy of the web pages: scripts, styles and workers
/// from Trygg itself only; base-map tiles from `basemap`'s origin. MapLibre
/// runs under it (its worker is a same-origin module; images decode from
/// `blob:`).
pub fn content_security_policy(basemap: Option<&str>) -> String {
    let tiles = basemap.and_then(origin).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         worker-src 'self' blob:; child-src 'self' blob:; \
         img-src 'self' data: blob: {tiles}; connect-src 'self' {tiles}; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// `https://tile.example.org` from `https://tile.example.org/{z}/{x}/{y}.png`.
fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    // A host with a template in it ({s}.tile…) or odd characters is left out.
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
    {
        return None;
    }
    Some(&url[..scheme.len() + 3 + host_end])
}

/// Adds the hardening headers; the CSP and framing ban to HTML pages.
pub async fn headers(csp: HeaderValue, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if html {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            "permissions-policy",
            HeaderValue::from_static("geolocation=(self), camera=(), microphone=()"),
        );
    }
    resp
}

/// Refuses a state-changing request without credentials that a browser says
/// comes from another site.
pub async fn cross_site_guard(req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && !req.headers().contains_key(header::AUTHORIZATION) && is_cross_site(&req) {
        return Problem::forbidden(
            "a write from another site without credentials is refused; \
             submit from Trygg's own pages or with an API token",
        )
        .into_response();
    }
    next.run(req).await
}

fn is_cross_site(req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "cross-site";
    }
    // Older browsers: compare Origin with Host.
    match (
        h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        h.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_none_or(|(_, authority)| authority != host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basemap_origin_is_allowed_and_nothing_else() {
        let csp = content_security_policy(Some("https://tile.openstreetmap.org/{z}/{x}/{y}.png"));
        assert!(csp.contains("img-src 'self' data: blob: https://tile.openstreetmap.org;"));
        assert!(csp.contains("connect-src 'self' https://tile.openstreetmap.org;"));
        assert!(csp.contains("script-src 'self';"));
        assert_eq!(origin("https://{s}.tile.example/{z}"), None);
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(
            origin("http://localhost:8081/t/{z}/{x}/{y}.png"),
            Some("http://localhost:8081")
        );
        assert!(!content_security_policy(None).contains('{'));
    }
}
