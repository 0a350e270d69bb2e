//! `GET /api/v1/perception` — perceived insecurity against recorded
//! incidents, per cell (see [`crate::analysis::perception`]).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::budget::feature_collection;
use super::features::cell_polygon;
use super::filters::parse_resolution;
use super::filters::{Filtered, Filtering};
use super::problem::Problem;
use crate::model::Principal;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PerceptionParams {
    /// H3 resolution, 5–12 (default 9).
    #[param(value_type = Option<u8>, minimum = 5, maximum = 12)]
    res: Option<String>,
}

impl Filtering for PerceptionParams {
    const FILTERS: &'static [&'static str] = &["from", "to", "hours", "area"];
}

/// `GET /api/v1/perception`.
#[utoipa::path(get, path = "/api/v1/perception", tag = "analysis", params(Filtered<PerceptionParams>),
    responses(
        (status = 200, description = "One Feature per cell with reports or incidents: `insecurity` (perceived-insecurity reports), `incidents` (place observations of incident categories), `z` (binomial score of the cell's share of reports against the region's) and `gap`: `more_insecurity`, `more_incidents`, `balanced` or `too_few`. For callers other than analysts counts under k are shown as 0 and the rest rounded to a multiple of k, `z` and `gap` are computed from those shown counts, and cells showing nothing are left out.", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn perception(
    State(state): State<AppState>,
    principal: Principal,
    super::peer::Client(client): super::peer::Client,
    uri: axum::http::Uri,
    Filtered {
        params: p, filter, ..
    }: Filtered<PerceptionParams>,
) -> Result<Response, Problem> {
    let res = parse_resolution(p.res.as_deref())?;
    let (d, filter) = super::filters::as_seen(&principal, state.settings.k_anonymity, filter)?;
    super::filters::check_resolution(d, res)?;
    let service = state.service.clone();
    let key = super::budget::answer_key(&state, &uri, d);
    let body = state
        .budget
        .answer(
            key,
            super::budget::Asker::of(&principal, client),
            move || {
                let incidents = service.taxonomy.incident_codes();
                let cells = service.perception(res, &filter, d.k().unwrap_or(1), d);
                let head = json!({
                    "resolution": u8::from(res),
                    "incident_categories": incidents,
                });
                // Counts as shown, and `z` computed from them: the exact counts
                // cannot be solved for from it.
                let features = cells.iter().map(|c| {
                    json!({
                        "type": "Feature",
                        "id": c.cell.to_string(),
                        "geometry": cell_polygon(c.cell),
                        "properties": {
                            "cell": c.cell.to_string(),
                            "insecurity": c.insecurity,
                            "incidents": c.incidents,
                            "z": c.z,
                            "gap": c.gap.as_str(),
                        },
                    })
                });
                Ok(feature_collection(&head, features))
            },
        )
        .await?;
    Ok(super::features::geojson_bytes(body))
}
