//! `GET /api/v1/hotspots` — Getis–Ord Gi* hot spots over the cells of an
//! area (or the whole served region), zero-count cells included.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::Query;
use super::filters::filter_params;
use super::hexagons::parse_resolution;
use super::observations::geojson;
use super::problem::Problem;
use crate::analysis::{fdr_bins, gi_star, region_cells};
use crate::model::Principal;

/// Most cells one analysis may span.
const MAX_CELLS: usize = 200_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HotspotParams {
    /// H3 resolution, 5–12 (default 9).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    res: Option<String>,
    /// Study region: an area id (default: the whole served region).
    area: Option<String>,
    /// Neighbourhood: grid distance 1–5 (default 1).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 5)]
    k: Option<String>,
    /// Apply the False Discovery Rate correction to the bins (`true`/`false`).
    fdr: Option<String>,
    /// Comma-separated kinds.
    kind: Option<String>,
    /// Comma-separated category codes.
    category: Option<String>,
    /// Start of the period (inclusive).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// End of the period (exclusive).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Hours of the day, Swedish local time.
    #[param(
        pattern = "^([01]?[0-9]|2[0-3])-([01]?[0-9]|2[0-4])$",
        example = "22-6"
    )]
    hours: Option<String>,
}

/// `GET /api/v1/hotspots`.
#[utoipa::path(get, path = "/api/v1/hotspots", tag = "analysis", params(HotspotParams),
    responses(
        (status = 200, description = "Every cell of the region with its confidence `bin` (+3/+2/+1 hot at 99/95/90 %, negative cold, 0 none); analysts also get `count`, `z` (Gi*) and `p`", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter or too many cells", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown area", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn hotspots(
    State(state): State<AppState>,
    principal: Principal,
    Query(p): Query<HotspotParams>,
) -> Result<Response, Problem> {
    let res = parse_resolution(p.res.as_deref())?;
    let k = match p.k.as_deref() {
        None => 1,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|k| (1..=5).contains(k))
            .ok_or_else(|| Problem::invalid_query("k must be a grid distance from 1 to 5"))?,
    };
    let fdr = match p.fdr.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(o) => {
            return Err(Problem::invalid_query(format!(
                "fdr: {o:?} is not true or false"
            )));
        }
    };
    let filter = filter_params!(p, area: p.area.as_deref(), bbox: None)
        .to_filter(&state.service.taxonomy)?;
    let region = if let Some(id) = &p.area {
        state
            .service
            .store()
            .list_areas()
            .await?
            .into_iter()
            .find(|a| &a.id == id)
            .ok_or_else(|| Problem::not_found(format!("no area {id:?}")))?
            .geometry
    } else {
        let r = state.service.region;
        geo::MultiPolygon::new(vec![
            geo::Rect::new((r.west, r.south), (r.east, r.north)).to_polygon(),
        ])
    };
    let exact = principal.reads_raw();
    let suppress = state.settings.k_anonymity;
    let service = state.service.clone();
    let body = tokio::task::spawn_blocking(move || {
        let cells = region_cells(&region, res, MAX_CELLS).map_err(|n| {
            Problem::invalid_query(format!(
                "the region has about {n} cells at resolution {}; at most {MAX_CELLS} are analysed: choose a coarser resolution or an area",
                u8::from(res)
            ))
        })?;
        let counts: HashMap<_, _> = service
            .index()
            .hexagon_counts(res, &filter)
            .into_iter()
            .map(|c| (c.cell, c.total))
            .collect();
        let mut results = gi_star(&cells, &counts, k);
        if fdr {
            fdr_bins(&mut results);
        }
        let features: Vec<Value> = results
            .iter()
            .map(|h| {
                let mut ring: Vec<[f64; 2]> = h.cell.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect();
                if let Some(first) = ring.first().copied() {
                    ring.push(first);
                }
                let mut props = json!({"cell": h.cell.to_string(), "bin": h.bin});
                if exact {
                    props["count"] = json!(h.count);
                    props["z"] = json!(h.z);
                    props["p"] = json!(h.p);
                } else {
                    props["count"] = if h.count >= suppress { json!(h.count) } else { Value::Null };
                }
                json!({"type": "Feature", "id": h.cell.to_string(), "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props})
            })
            .collect();
        Ok::<Value, Problem>(json!({
            "type": "FeatureCollection",
            "resolution": u8::from(res),
            "k": k,
            "fdr": fdr,
            "cells": results.len(),
            "features": features,
        }))
    })
    .await
    .map_err(|_| Problem::internal())??;
    Ok(geojson(StatusCode::OK, &body))
}
