//! Area analyses (områdesanalyser): computed live for any period, stored on
//! demand or on schedule, listed per area and exported as JSON, GeoJSON,
//! CSV and a printable HTML report.
//!
//! Analyses hold exact counts, so only analysts read them (audited);
//! analysts and admins generate stored ones.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::require_act;
use super::extract::{Query, json_body};
use super::features::geojson;
use super::filters::Filtered;
use super::problem::Problem;
use crate::model::permission::Act;
use crate::model::{Period, Principal, ValidationError};
use crate::report;
use crate::service::StoredOutcome;
use crate::store::StoredAnalysis;

/// Staff who may generate analyses may read them: analysts and admins.
fn may_read(principal: &Principal) -> Result<(), Problem> {
    require_act(principal, Act::ReadAnalyses)
}

fn parse_period(s: Option<&str>) -> Result<Period, Problem> {
    let s = s.ok_or_else(|| {
        Problem::invalid_query("period is required, e.g. 2025-Q3, 2025-09 or 2025")
    })?;
    Period::parse_in_years(s).map_err(|e| Problem::invalid_query(format!("period: {e}")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalysisParams {
    /// The period: a quarter (`2025-Q3`), a month (`2025-09`) or a year
    /// (`2025`), in 1900–2200. Required; an `Option` so that its absence
    /// gets our own message.
    #[param(
        required = true,
        example = "2025-Q3",
        pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)(-([Qq][1-4]|0[1-9]|1[0-2]))?$"
    )]
    period: Option<String>,
}

impl super::filters::Filtering for AnalysisParams {
    const FILTERS: &'static [&'static str] = &["kind", "category"];
}

/// `GET /api/v1/areas/{id}/analysis` — the analysis of a period, computed now.
#[utoipa::path(get, path = "/api/v1/areas/{id}/analysis", tag = "analyses",
    params(("id" = String, Path, description = "Area id"), Filtered<AnalysisParams>),
    responses(
        (status = 200, description = "Counts by kind and category, rate against the municipality, change against the previous period and a year earlier, top cells, hot spots, share in darkness, walk findings' follow-up and the indicators of the area's actions", body = Object),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown area", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn live(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Filtered<AnalysisParams>,
) -> Result<Response, Problem> {
    may_read(&principal)?;
    let Filtered {
        params: p,
        filter: base,
        ..
    } = query;
    let period = parse_period(p.period.as_deref())?;
    let analysis = state
        .service
        .live_analysis(&principal, &id, period, base)
        .await?;
    Ok(Json(analysis).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnalysis {
    /// The period to analyse, e.g. `2025-Q3`, in 1900–2200.
    #[schema(
        example = "2025-Q3",
        pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)(-([Qq][1-4]|0[1-9]|1[0-2]))?$"
    )]
    period: String,
}

fn summary(a: &StoredAnalysis) -> Value {
    let link = |f: &str| format!("/api/v1/analyses/{}?f={f}", a.id);
    json!({
        "id": a.id,
        "area": a.area_id,
        "period": a.period,
        "created_at": a.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "total": a.body.get("total"),
        "links": {
            "json": link("json"),
            "geojson": link("geojson"),
            "csv": link("csv"),
            "html": link("html"),
        },
    })
}

/// `POST /api/v1/areas/{id}/analyses` — generate and store an analysis.
#[utoipa::path(post, path = "/api/v1/areas/{id}/analyses", tag = "analyses",
    params(("id" = String, Path, description = "Area id")),
    request_body = NewAnalysis,
    responses(
        (status = 201, description = "Stored; its summary with links to every format", body = Object),
        (status = 200, description = "The newest stored analysis of the area and period says the same (only its generation time would differ): that one's summary, and nothing new stored", body = Object),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown area", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad period", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, Problem> {
    require_act(&principal, Act::StoreAnalyses)?;
    let body = json_body(req, &state).await?;
    let new: NewAnalysis = serde_json::from_slice(&body)
        .map_err(|e| Problem::validation(vec![ValidationError::new("body", e.to_string())]))?;
    let period = Period::parse_in_years(&new.period)
        .map_err(|e| Problem::validation(vec![ValidationError::new("period", e)]))?;
    let (status, stored) = match state
        .service
        .store_analysis(&principal, &id, period)
        .await?
    {
        StoredOutcome::Created(a) => (StatusCode::CREATED, a),
        StoredOutcome::Unchanged(a) => (StatusCode::OK, a),
    };
    Ok((status, Json(summary(&stored))).into_response())
}

/// `GET /api/v1/areas/{id}/analyses` — the stored analyses of an area.
#[utoipa::path(get, path = "/api/v1/areas/{id}/analyses", tag = "analyses",
    params(("id" = String, Path, description = "Area id")),
    responses(
        (status = 200, description = "Summaries, newest period first", body = Object),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    may_read(&principal)?;
    let all = state.service.stored_analyses(&principal, &id).await?;
    Ok(Json(json!({
        "area": id,
        "analyses": all.iter().map(summary).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatParams {
    /// `json` (default), `geojson`, `csv` or `html` (a printable report).
    #[param(value_type = Option<String>, pattern = "^(json|geojson|csv|html)$")]
    f: Option<String>,
}

/// `GET /api/v1/analyses/{id}` — one stored analysis, exactly as generated.
#[utoipa::path(get, path = "/api/v1/analyses/{id}", tag = "analyses",
    params(("id" = String, Path, description = "Analysis id"), FormatParams),
    responses(
        (status = 200, description = "The analysis as JSON, GeoJSON (area, top cells and hot spots as Features), CSV (one `field,value` row per figure) or a printable HTML report",
            content(
                (Object = "application/json"),
                (Object = "application/geo+json"),
                (String = "text/csv"),
                (String = "text/html"),
            )),
        (status = 400, description = "Unknown format", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither analyst nor admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such analysis", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(p): Query<FormatParams>,
) -> Result<Response, Problem> {
    may_read(&principal)?;
    let format = p.f.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "geojson" | "csv" | "html") {
        return Err(Problem::invalid_query(format!(
            "f: {format:?} is not json, geojson, csv or html"
        )));
    }
    let stored = state
        .service
        .stored_analysis(&principal, &id, format)
        .await?;
    let filename = format!("omradesanalys-{}-{}", stored.area_id, stored.period);
    let attachment = |ext: &str| format!("attachment; filename=\"{filename}.{ext}\"");
    Ok(match format {
        "geojson" => {
            let mut resp = geojson(StatusCode::OK, &report::geojson(&stored));
            resp.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                attachment("geojson").parse().expect("ASCII header"),
            );
            resp
        }
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, attachment("csv")),
            ],
            report::csv(&stored),
        )
            .into_response(),
        "html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            report::html(&stored, &state.service.taxonomy, state.settings.k_anonymity),
        )
            .into_response(),
        _ => Json(json!({
            "id": stored.id,
            "created_at": summary(&stored)["created_at"],
            "analysis": stored.body,
        }))
        .into_response(),
    })
}
