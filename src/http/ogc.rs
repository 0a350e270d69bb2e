//! OGC API – Features, Part 1: Core, under `/ogc`, so that QGIS and other
//! GIS tools add Trygg as an "OGC API – Features" source with no plugin.
//!
//! Collections: `areas` and `hexagons` (aggregates, small counts suppressed
//! for everyone but analysts) for all; `observations` for analysts (audited).
//! GeoJSON in CRS84; `?f=csv` gives the same items as CSV.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::features::area_feature;
use super::features::hexagon_feature_json;
use super::features::{GEO_JSON, geojson};
use super::filters::parse_resolution;
use super::filters::{ALL_FILTERS, Filtered, Filtering};
use super::peer::LinkBase;
use super::problem::Problem;
use crate::csv_cell::neutralise;
use crate::export::observation_feature;
use crate::index::Filter;
use crate::model::{Kind, Principal};
use crate::privacy::Disclosure;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

const COLLECTIONS: [(&str, &str, &str); 3] = [
    ("areas", "Areas", "District and other area outlines"),
    (
        "hexagons",
        "Hexagon counts",
        "Observations per H3 cell (resolution 9 unless ?res=); cells under k are left out and counts rounded to base k for non-analysts",
    ),
    (
        "observations",
        "Observations",
        "Individual observations (analysts only)",
    ),
];

fn json_response(body: &Value) -> Response {
    axum::Json(body).into_response()
}

/// `GET /ogc` — the landing page.
pub async fn landing(LinkBase(b): LinkBase) -> Response {
    json_response(&json!({
        "title": "Trygg",
        "description": "Safety mapping: areas, hexagon counts and (for analysts) observations",
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{b}/ogc")},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "href": format!("{b}/ogc/api")},
            {"rel": "service-doc", "type": "text/html", "href": format!("{b}/")},
            {"rel": "conformance", "type": "application/json", "href": format!("{b}/ogc/conformance")},
            {"rel": "data", "type": "application/json", "href": format!("{b}/ogc/collections")},
        ]
    }))
}

/// `GET /ogc/conformance`.
pub async fn conformance() -> Response {
    json_response(&json!({
        "conformsTo": [
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        ]
    }))
}

fn collection(state: &AppState, b: &str, id: &str, title: &str, description: &str) -> Value {
    let r = &state.service.region;
    json!({
        "id": id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {"spatial": {"bbox": [[r.west, r.south, r.east, r.north]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{b}/ogc/collections/{id}")},
            {"rel": "items", "type": GEO_JSON, "href": format!("{b}/ogc/collections/{id}/items")},
            {"rel": "alternate", "type": "text/csv", "href": format!("{b}/ogc/collections/{id}/items?f=csv")},
        ]
    })
}

/// `GET /ogc/collections`.
pub async fn collections(State(state): State<AppState>, LinkBase(b): LinkBase) -> Response {
    json_response(&json!({
        "links": [{"rel": "self", "type": "application/json", "href": format!("{b}/ogc/collections")}],
        "collections": COLLECTIONS.iter().map(|(id, t, d)| collection(&state, &b, id, t, d)).collect::<Vec<_>>(),
    }))
}

/// `GET /ogc/collections/{id}`.
pub async fn one_collection(
    State(state): State<AppState>,
    LinkBase(b): LinkBase,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (id, t, d) = COLLECTIONS
        .iter()
        .find(|(c, _, _)| *c == id)
        .ok_or_else(|| Problem::not_found(format!("no collection {id:?}")))?;
    Ok(json_response(&collection(&state, &b, id, t, d)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemParams {
    limit: Option<String>,
    offset: Option<String>,
    f: Option<String>,
    res: Option<String>,
}

impl Filtering for ItemParams {
    const FILTERS: &'static [&'static str] = ALL_FILTERS;
}

impl ItemParams {
    fn page(&self) -> Result<(usize, usize), Problem> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            // OGC clients may ask for more than the maximum: serve the maximum.
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|l| *l >= 1)
                .map(|l| l.min(MAX_LIMIT))
                .ok_or_else(|| Problem::invalid_query("limit must be a positive integer"))?,
        };
        let offset = match self.offset.as_deref() {
            None => 0,
            Some(s) => s
                .parse::<usize>()
                .map_err(|_| Problem::invalid_query("offset must be a non-negative integer"))?,
        };
        Ok((limit, offset))
    }

    fn csv(&self) -> Result<bool, Problem> {
        match self.f.as_deref() {
            None | Some("json" | "geojson") => Ok(false),
            Some("csv") => Ok(true),
            Some(other) => Err(Problem::invalid_query(format!(
                "f={other}: use json or csv"
            ))),
        }
    }
}

/// `GET /ogc/collections/{id}/items`.
pub async fn items(
    State(state): State<AppState>,
    principal: Principal,
    LinkBase(b): LinkBase,
    Path(id): Path<String>,
    Filtered {
        params: p, filter, ..
    }: Filtered<ItemParams>,
    uri: axum::http::Uri,
) -> Result<Response, Problem> {
    let (limit, offset) = p.page()?;
    let csv = p.csv()?;
    let all: Vec<Value> = match id.as_str() {
        "areas" => {
            let areas = state.service.areas().await?;
            areas
                .iter()
                .filter(|a| {
                    filter.bbox.is_none_or(|bb| {
                        use geo::BoundingRect;
                        a.geometry.bounding_rect().is_some_and(|r| {
                            r.min().x <= bb.east
                                && r.max().x >= bb.west
                                && r.min().y <= bb.north
                                && r.max().y >= bb.south
                        })
                    })
                })
                .map(area_feature)
                .collect()
        }
        "hexagons" => {
            let res = parse_resolution(p.res.as_deref())?;
            let (d, filter) =
                super::filters::as_seen(&principal, state.settings.k_anonymity, filter.clone())?;
            super::filters::check_resolution(d, res)?;
            let cells = state.service.hexagon_counts(res, &filter, d);
            cells
                .iter()
                .filter_map(|c| hexagon_feature_json(c, d))
                .collect()
        }
        "observations" => {
            super::auth::require(
                &principal,
                principal.reads_raw(),
                "the observations collection",
            )?;
            // Offset paging over the id order: the index selects, the store fills in.
            let (observations, matched) = state
                .service
                .records_at(&principal, &filter, offset, limit)
                .await?;
            return Ok(page_response(
                &b,
                &id,
                &uri,
                &observations
                    .iter()
                    .map(observation_feature)
                    .collect::<Vec<_>>(),
                matched,
                offset,
                limit,
                csv,
            ));
        }
        other => return Err(Problem::not_found(format!("no collection {other:?}"))),
    };
    let matched = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    Ok(page_response(
        &b, &id, &uri, &page, matched, offset, limit, csv,
    ))
}

#[expect(clippy::too_many_arguments, reason = "the parts of one OGC page")]
fn page_response(
    b: &str,
    id: &str,
    uri: &axum::http::Uri,
    features: &[Value],
    matched: usize,
    offset: usize,
    limit: usize,
    csv: bool,
) -> Response {
    if csv {
        return csv_response(features);
    }
    let mut query: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    query.retain(|(k, _)| k != "offset");
    let href = |off: usize| {
        let mut q = query.clone();
        q.push(("offset".into(), off.to_string()));
        format!(
            "{b}/ogc/collections/{id}/items?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    };
    let mut links = vec![
        json!({"rel": "self", "type": GEO_JSON, "href": href(offset)}),
        json!({"rel": "collection", "type": "application/json", "href": format!("{b}/ogc/collections/{id}")}),
    ];
    if offset.saturating_add(features.len()) < matched {
        links.push(
            json!({"rel": "next", "type": GEO_JSON, "href": href(offset.saturating_add(limit))}),
        );
    }
    let stamp = crate::model::observation::format_timestamp(time::OffsetDateTime::now_utc());
    geojson(
        StatusCode::OK,
        &json!({
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": matched,
            "numberReturned": features.len(),
            "timeStamp": stamp,
            "links": links,
        }),
    )
}

/// Items as CSV: the id, the properties, and the geometry as GeoJSON text.
/// Strings are free text and [`neutralise`]d; numbers stay numbers.
fn csv_response(features: &[Value]) -> Response {
    let mut columns: Vec<String> = Vec::new();
    for f in features {
        if let Some(props) = f["properties"].as_object() {
            for k in props.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_owned()];
    header.extend(columns.iter().cloned());
    header.push("geometry".into());
    let _ = w.write_record(&header);
    for f in features {
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => neutralise(s).into_owned(),
            other => other.to_string(),
        };
        let mut row = vec![text(&f["id"])];
        row.extend(columns.iter().map(|c| text(&f["properties"][c])));
        row.push(f["geometry"].to_string());
        let _ = w.write_record(&row);
    }
    let body = w.into_inner().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

/// `GET /ogc/collections/{id}/items/{fid}`.
pub async fn item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, fid)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found(format!("no feature {fid:?} in {id:?}"));
    match id.as_str() {
        "areas" => {
            let areas = state.service.areas().await?;
            let a = areas.iter().find(|a| a.id == fid).ok_or_else(not_found)?;
            Ok(geojson(StatusCode::OK, &area_feature(a)))
        }
        "hexagons" => {
            let cell: h3o::CellIndex = fid.parse().map_err(|_| not_found())?;
            let d = Disclosure::for_caller(principal.reads_raw(), state.settings.k_anonymity);
            super::filters::check_resolution(d, cell.resolution())?;
            let s = state.service.cell_summary(cell, &Filter::default());
            let c = crate::index::CellCount {
                cell,
                total: s.total.n,
                by_kind: s.by_kind.map(|c| c.n),
                key: s.total.key,
                kind_keys: s.by_kind.map(|c| c.key),
            };
            let feature = hexagon_feature_json(&c, d).ok_or_else(not_found)?;
            Ok(geojson(StatusCode::OK, &feature))
        }
        "observations" => {
            super::auth::require(
                &principal,
                principal.reads_raw(),
                "the observations collection",
            )?;
            let uuid = uuid::Uuid::parse_str(&fid).map_err(|_| not_found())?;
            let o = state
                .service
                .any_record(&principal, uuid)
                .await?
                .ok_or_else(not_found)?;
            Ok(geojson(StatusCode::OK, &observation_feature(&o)))
        }
        _ => Err(Problem::not_found(format!("no collection {id:?}"))),
    }
}

/// `GET /ogc/api` — an OpenAPI 3.0 description of the OGC endpoints, with the
/// `limit` parameter's bounds that QGIS reads for its page size.
pub async fn api_document(LinkBase(b): LinkBase) -> Response {
    let items_params = json!([
        {"$ref": "#/components/parameters/limit"},
        {"$ref": "#/components/parameters/offset"},
        {"$ref": "#/components/parameters/bbox"},
        {"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string", "enum": ["areas", "hexagons", "observations"]}},
    ]);
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "Trygg OGC API – Features", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": b}],
        "paths": {
            "/ogc": {"get": {"summary": "Landing page", "responses": {"200": {"description": "Links"}}}},
            "/ogc/conformance": {"get": {"summary": "Conformance classes", "responses": {"200": {"description": "Classes"}}}},
            "/ogc/collections": {"get": {"summary": "Collections", "responses": {"200": {"description": "Collections"}}}},
            "/ogc/collections/{collectionId}": {"get": {"summary": "A collection", "parameters": [{"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "Collection"}, "404": {"description": "Unknown"}}}},
            "/ogc/collections/{collectionId}/items": {"get": {"summary": "Items", "parameters": items_params, "responses": {"200": {"description": "GeoJSON FeatureCollection", "content": {"application/geo+json": {}}}, "400": {"description": "Bad parameter"}}}},
            "/ogc/collections/{collectionId}/items/{featureId}": {"get": {"summary": "One item", "parameters": [{"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string"}}, {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "GeoJSON Feature"}, "404": {"description": "Unknown"}}}},
        },
        "components": {"parameters": {
            "limit": {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
            "offset": {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
            "bbox": {"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false, "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}}},
            "kind": {"name": "kind", "in": "query", "required": false, "schema": {"type": "string", "enum": kinds}},
        }},
    });
    (
        [(
            header::CONTENT_TYPE,
            "application/vnd.oai.openapi+json;version=3.0",
        )],
        axum::Json(doc),
    )
        .into_response()
}
