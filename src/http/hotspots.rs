//! `GET /api/v1/hotspots` — Getis–Ord Gi* hot spots over the cells of an
//! area (or the whole served region), zero-count cells included — and
//! `GET /api/v1/hotspots/emerging`, their trend over months or quarters.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::budget::{Asker, answer_key, feature_collection};
use super::features::{cell_polygon, geojson_bytes};
use super::filters::parse_resolution;
use super::filters::{Filtered, Filtering, NO_BBOX};
use super::peer::Client;
use super::problem::Problem;
use crate::analysis::{CubeSettings, RegionCellCache, Standardisation, fdr_bins};
use crate::model::{Period, PeriodKind, Principal};
use crate::privacy::Disclosure;
use crate::service::Service;

/// Most cells one analysis may span.
const MAX_CELLS: usize = 200_000;
/// Most cells one analysis for a caller other than an analyst may span: the
/// whole municipality at resolution 9.
const MAX_PUBLIC_CELLS: usize = 40_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HotspotParams {
    /// H3 resolution, 5–12 (default 9).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    res: Option<String>,
    /// Neighbourhood: grid distance 1–5 (default 1).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 5)]
    k: Option<String>,
    /// Apply the False Discovery Rate correction to the bins (`true`/`false`).
    #[param(value_type = Option<bool>)]
    fdr: Option<String>,
}

impl Filtering for HotspotParams {
    /// `area` is the study region, too.
    const FILTERS: &'static [&'static str] = NO_BBOX;
}

/// `GET /api/v1/hotspots`.
#[utoipa::path(get, path = "/api/v1/hotspots", tag = "analysis", params(Filtered<HotspotParams>),
    responses(
        (status = 200, description = "Every cell of the region with its confidence `bin` (+3/+2/+1 hot at 99/95/90 %, negative cold, 0 none); analysts also get `count`, `z` (Gi*) and `p`", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter or too many cells", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown area", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn hotspots(
    State(state): State<AppState>,
    principal: Principal,
    Client(client): Client,
    uri: axum::http::Uri,
    Filtered {
        params: p,
        query,
        filter,
    }: Filtered<HotspotParams>,
) -> Result<Response, Problem> {
    let res = parse_resolution(p.res.as_deref())?;
    let k = parse_k(p.k.as_deref())?;
    let fdr = super::filters::flag("fdr", p.fdr.as_deref())?;
    let region = study_region(&state.service, query.area.as_deref()).await?;
    let (d, filter) = super::filters::as_seen(&principal, state.settings.k_anonymity, filter)?;
    super::filters::check_resolution(d, res)?;
    let max_cells = if d.is_exact() {
        MAX_CELLS
    } else {
        MAX_PUBLIC_CELLS
    };
    let service = state.service.clone();
    let cache = state.region_cells.clone();
    let key = answer_key(&state, &uri, d);
    let body = state
        .budget
        .answer(key, Asker::of(&principal, client), move || {
            let cells = cells_of(&cache, &region, res, max_cells)?;
            let mut results = service.hot_spots(&cells, res, &filter, k, d);
            if fdr {
                fdr_bins(&mut results);
            }
            let head = json!({
                "resolution": u8::from(res),
                "k": k,
                "fdr": fdr,
                "cells": results.len(),
            });
            // For callers other than analysts the bins are computed from the
            // counts as shown (see `crate::privacy`), and no count is given
            // here: counts are for /api/v1/hexagons.
            let features = results.iter().map(|h| {
                let mut props = json!({"cell": h.cell.to_string(), "bin": h.bin, "count": Value::Null});
                if d.is_exact() {
                    props["count"] = json!(h.count);
                    props["z"] = json!(h.z);
                    props["p"] = json!(h.p);
                }
                json!({"type": "Feature", "id": h.cell.to_string(), "geometry": cell_polygon(h.cell), "properties": props})
            });
            Ok(feature_collection(&head, features))
        })
        .await?;
    Ok(geojson_bytes(body))
}

/// `k`: the neighbourhood's grid distance, 1–5, default 1.
fn parse_k(s: Option<&str>) -> Result<u32, Problem> {
    match s {
        None => Ok(1),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|k| (1..=5).contains(k))
            .ok_or_else(|| Problem::invalid_query("k must be a grid distance from 1 to 5")),
    }
}

/// The study region: an area's polygon, or the whole served region.
async fn study_region(
    service: &Service,
    area: Option<&str>,
) -> Result<geo::MultiPolygon<f64>, Problem> {
    if let Some(id) = area {
        return Ok(service.area(id).await?.geometry);
    }
    let r = service.region;
    Ok(geo::MultiPolygon::new(vec![
        geo::Rect::new((r.west, r.south), (r.east, r.north)).to_polygon(),
    ]))
}

fn cells_of(
    cache: &RegionCellCache,
    region: &geo::MultiPolygon<f64>,
    res: h3o::Resolution,
    max: usize,
) -> Result<std::sync::Arc<Vec<h3o::CellIndex>>, Problem> {
    cache.cells(region, res, max).map_err(|n| {
        Problem::invalid_query(format!(
            "the region has about {n} cells at resolution {}; at most {max} are analysed: choose a coarser resolution or an area",
            u8::from(res)
        ))
    })
}

/// Most cells × periods one emerging-hot-spot analysis may span.
const MAX_CUBE: usize = 4_000_000;
/// The same for callers other than analysts.
const MAX_PUBLIC_CUBE: usize = 1_000_000;
/// Most periods in one cube.
const MAX_PERIODS: i32 = 120;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EmergingParams {
    /// H3 resolution, 5–12 (default 9).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    res: Option<String>,
    /// Spatial neighbourhood: grid distance 1–5 (default 1). The time
    /// neighbourhood is the previous period.
    #[param(value_type = Option<u8>, minimum = 1, maximum = 5)]
    k: Option<String>,
    /// Period length: `month` (default) or `quarter`.
    #[param(value_type = Option<String>, pattern = "^(month|quarter)$")]
    period: Option<String>,
    /// First period, as a date inside it (default: 24 months or 8 quarters
    /// before `to`).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// End: the cube ends with the last period that is over by this date;
    /// a period it cuts short is left out (default and latest: the start of
    /// the current period).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// What each cell's Gi* is standardised against: `cube` (default: the
    /// mean and spread of every cell in every period, as ArcGIS Pro's
    /// space-time cube; a period whose total falls does not turn into hot
    /// spots) or `period` (each period's own, as R sfdep).
    #[param(value_type = Option<String>, pattern = "^(cube|period)$")]
    standardise: Option<String>,
    /// Significance level for Gi* and the trend: 0.01, 0.05 (default) or 0.10.
    #[param(value_type = Option<f64>)]
    alpha: Option<String>,
}

impl Filtering for EmergingParams {
    /// `from` and `to` are the cube's periods; `area` is the study region, too.
    const FILTERS: &'static [&'static str] = &["kind", "category", "hours", "area"];
    const OWN: &'static [&'static str] = &["from", "to"];
}

/// `GET /api/v1/hotspots/emerging`.
#[utoipa::path(get, path = "/api/v1/hotspots/emerging", tag = "analysis", params(Filtered<EmergingParams>),
    responses(
        (status = 200, description = "Every cell of the region with its emerging-hot-spot `category` (ArcGIS Pro's: new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical — hot or cold — or `no_pattern`) and the Mann–Kendall trend of its Gi* z-scores (`trend_z`, `trend_p`); analysts also get `count`, `z` and `p` per period. `periods` names the periods in order.", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter or too large a cube", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown area", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn emerging(
    State(state): State<AppState>,
    principal: Principal,
    Client(client): Client,
    uri: axum::http::Uri,
    Filtered {
        params: p,
        query,
        mut filter,
    }: Filtered<EmergingParams>,
) -> Result<Response, Problem> {
    let res = parse_resolution(p.res.as_deref())?;
    let k = parse_k(p.k.as_deref())?;
    let kind = match p.period.as_deref() {
        None | Some("month") => PeriodKind::Month,
        Some("quarter") => PeriodKind::Quarter,
        Some(o) => {
            return Err(Problem::invalid_query(format!(
                "period: {o:?} is not month or quarter"
            )));
        }
    };
    // Only whole periods: a period `to` cuts short, or one not over yet,
    // has a smaller total, which reads as change.
    let current = Period::containing_instant(kind, time::OffsetDateTime::now_utc());
    let end = match p.to.as_deref() {
        Some(s) => Period::containing(kind, super::filters::day("to", s)?).offset(-1),
        None => current.offset(-1),
    };
    if end >= current {
        return Err(Problem::invalid_query(format!(
            "to: the period {end} has not ended yet; the cube holds complete periods only (to = {} at the latest)",
            current.start()
        )));
    }
    let settings = CubeSettings {
        k,
        alpha: parse_alpha(p.alpha.as_deref())?,
        standardisation: parse_standardisation(p.standardise.as_deref())?,
    };
    let start = match p.from.as_deref() {
        Some(s) => Period::containing(kind, super::filters::day("from", s)?),
        None => end.offset(if kind == PeriodKind::Month { -23 } else { -7 }),
    };
    let periods = start.periods_until(end) + 1;
    if periods < 2 {
        return Err(Problem::invalid_query(
            "from must lie at least one period before to: a trend needs two periods or more",
        ));
    }
    if periods > MAX_PERIODS {
        return Err(Problem::invalid_query(format!(
            "{periods} periods asked for; at most {MAX_PERIODS}"
        )));
    }
    let periods: Vec<Period> = (0..periods).map(|i| start.offset(i)).collect();
    let mut bounds: Vec<i64> = periods.iter().map(|p| p.unix_bounds().0).collect();
    bounds.push(end.unix_bounds().1);
    filter.from = bounds.first().copied();
    filter.to = bounds.last().copied();
    let region = study_region(&state.service, query.area.as_deref()).await?;
    let d = Disclosure::for_caller(principal.reads_raw(), state.settings.k_anonymity);
    super::filters::check_resolution(d, res)?;
    super::filters::check_categories(d, &filter)?;
    super::filters::check_hours(d, &filter)?;
    let max_cube = if d.is_exact() {
        MAX_CUBE
    } else {
        MAX_PUBLIC_CUBE
    };
    let service = state.service.clone();
    let cache = state.region_cells.clone();
    let key = answer_key(&state, &uri, d);
    let body = state
        .budget
        .answer(key, Asker::of(&principal, client), move || {
            let cells = cells_of(&cache, &region, res, max_cube / periods.len())?;
            let spots = service.emerging_hot_spots(&cells, res, &filter, &bounds, &settings, d);
            let head = json!({
                "resolution": u8::from(res),
                "k": k,
                "alpha": settings.alpha,
                "period": kind.as_str(),
                "periods": periods,
                "standardise": settings.standardisation.as_str(),
                "cells": spots.len(),
            });
            // Categories and trends come from the counts as shown; only
            // analysts get the counts and the z and p of each period.
            let features = spots.iter().map(|s| {
                let mut props = json!({
                    "cell": s.cell.to_string(),
                    "category": s.pattern.as_str(),
                    "trend_z": s.trend.z,
                    "trend_p": s.trend.p,
                    "count": Value::Null,
                });
                if d.is_exact() {
                    props["count"] = json!(s.total);
                    props["z"] = json!(s.z);
                    props["p"] = json!(s.p);
                }
                json!({"type": "Feature", "id": s.cell.to_string(), "geometry": cell_polygon(s.cell), "properties": props})
            });
            Ok(feature_collection(&head, features))
        })
        .await?;
    Ok(geojson_bytes(body))
}

/// `alpha`: 0.01, 0.05 (default) or 0.10.
fn parse_alpha(s: Option<&str>) -> Result<f64, Problem> {
    match s {
        Some("0.01") => Ok(0.01),
        None | Some("0.05") => Ok(0.05),
        Some("0.1" | "0.10") => Ok(0.10),
        Some(o) => Err(Problem::invalid_query(format!(
            "alpha: {o:?} is not 0.01, 0.05 or 0.10"
        ))),
    }
}

/// `standardise`: `cube` (default) or `period`.
fn parse_standardisation(s: Option<&str>) -> Result<Standardisation, Problem> {
    match s {
        None | Some("cube") => Ok(Standardisation::Cube),
        Some("period") => Ok(Standardisation::Period),
        Some(o) => Err(Problem::invalid_query(format!(
            "standardise: {o:?} is not cube or period"
        ))),
    }
}
