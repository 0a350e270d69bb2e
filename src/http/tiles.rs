//! Vector tiles and their TileJSON: `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
//! and `GET /tiles/{layer}.json`.
//!
//! Layers:
//! - `hexagons` — H3 cells with `cell`, `count` and a count per kind, at the
//!   resolution the zoom calls for ([`resolution_for_zoom`]) or `?res=`;
//!   the same filters and the same numbers as `/api/v1/hexagons`: for
//!   everyone but analysts, cells under k left out and counts rounded to
//!   base k by cell key ([`crate::privacy`]). With
//!   `?analysis=true` each cell also carries `bin` (Gi* hot-spot bin, k = 1,
//!   over the served region or the filtered area), `trend` (emerging-hot-spot
//!   category over the filter's months, default the last 24) and `gap`
//!   (perceived insecurity against incidents), see [`crate::analysis::overlay`].
//! - `areas` — area outlines with `id` and `name`.
//! - `observations` — points with `kind` and `category`, for analysts only
//!   (each tile read is audited).
//! - `walks` — safety-walk routes (`walk`, `name`, `date`, `open`) and their
//!   findings (`walk`, `category`): every walk for analysts and admins, its
//!   own walk for a participant (audited).
//!
//! A tile with nothing in it is answered `204 No Content`, which MapLibre
//! treats as an empty tile. Tiles carry an `ETag` that is a hash of their
//! bytes (it changes only when those do, and says nothing of the order of
//! writes); `If-None-Match` gets `304`. Anonymous tiles may be cached publicly
//! for a minute; others only privately, revalidating each time.

use std::hash::{Hash, Hasher};

use axum::extract::{Path, RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::filters::parse_resolution;
use super::filters::{FilterQuery, Filtering, NO_BBOX, Split};
use super::problem::Problem;
use crate::index::Filter;
use crate::model::Principal;
use crate::privacy::Disclosure;
use crate::tiles::cache::{CachedTile, TileKey};
use crate::tiles::{TileId, resolution_for_zoom};

/// Media type of Mapbox Vector Tiles.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Says whether a tile came from the cache (`hit`) or was made (`miss`);
/// sent to staff only.
const X_TILE_CACHE: header::HeaderName = header::HeaderName::from_static("x-tile-cache");
/// Deepest zoom the TileJSON advertises; MapLibre overzooms beyond it.
const MAX_ZOOM: u8 = 16;

/// Which layers exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Hexagons,
    Areas,
    Observations,
    Walks,
}

impl Layer {
    fn parse(s: &str) -> Result<Self, Problem> {
        match s {
            "hexagons" => Ok(Layer::Hexagons),
            "areas" => Ok(Layer::Areas),
            "observations" => Ok(Layer::Observations),
            "walks" => Ok(Layer::Walks),
            _ => Err(Problem::not_found(format!(
                "no tile layer {s:?}; layers: hexagons, areas, observations, walks"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Layer::Hexagons => "hexagons",
            Layer::Areas => "areas",
            Layer::Observations => "observations",
            Layer::Walks => "walks",
        }
    }

    /// Refuses callers who may not read the layer at all.
    fn check_access(self, principal: &Principal) -> Result<(), Problem> {
        match self {
            Layer::Observations => {
                super::auth::require(principal, principal.reads_raw(), "the observations layer")
            }
            Layer::Walks => super::auth::require(
                principal,
                principal.may(crate::model::permission::Act::ReadWalks),
                "the walks layer",
            ),
            Layer::Hexagons | Layer::Areas => Ok(()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileParams {
    res: Option<String>,
    analysis: Option<String>,
}

impl Filtering for TileParams {
    const FILTERS: &'static [&'static str] = NO_BBOX;
}

impl TileParams {
    fn analysis(&self) -> Result<bool, Problem> {
        super::filters::flag("analysis", self.analysis.as_deref())
    }
}

/// What identifies the overlay `query` asks for.
fn overlay_key(query: &FilterQuery, res: h3o::Resolution, version: u64, d: Disclosure) -> String {
    format!("{}|{query:?}|{d:?}|{version}", u8::from(res))
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`.
///
/// A cached public layer is answered without an `.await`; everything else
/// (a miss, the walks list, audited layers) runs in a boxed future, so the
/// per-request future a hit allocates stays small.
pub async fn tile(
    State(state): State<AppState>,
    principal: Principal,
    path: RawPathParams,
    Split { params, query }: Split<TileParams>,
    headers: TileHeaders,
) -> Result<Response, Problem> {
    // The route names all four segments; read in place, not copied.
    let segment = |name: &str| path.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v);
    let layer = Layer::parse(segment("layer"))?;
    let y = segment("y")
        .strip_suffix(".mvt")
        .ok_or_else(|| Problem::not_found("tile paths end in .mvt"))?;
    let tile = TileId::parse(segment("z"), segment("x"), y)
        .map_err(|e| Problem::invalid_query(e.to_string()))?;
    layer.check_access(&principal)?;
    let res = match params.res.as_deref() {
        Some(r) => parse_resolution(Some(r))?,
        None => resolution_for_zoom(tile.z),
    };
    super::filters::check_resolution(
        Disclosure::for_caller(principal.reads_raw(), state.settings.k_anonymity),
        res,
    )?;
    let with_analysis = params.analysis()?;
    let request = TileRequest {
        layer,
        tile,
        res,
        with_analysis,
        params,
        query,
        principal,
        headers,
    };
    let mut missed = None;
    let cache = state.service.tile_cache();
    if matches!(layer, Layer::Hexagons | Layer::Areas) && cache.is_enabled() {
        let (version, stamp) = state.service.tile_versions(tile);
        let data_version = data_version(layer, &request.params, with_analysis, version, stamp, &[]);
        let key = request.key(data_version);
        match cache.get(key) {
            Some(hit) => return Ok(request.answer(&hit, "hit")),
            None => missed = Some((key, version)),
        }
    }
    Box::pin(render_tile(state, request, missed)).await
}

/// What the caller sent that decides a tile's response.
pub struct TileHeaders {
    if_none_match: Option<HeaderValue>,
    gzip_ok: bool,
    /// Whose turn an analysis overlay takes (`budget::Asker`).
    client: std::net::IpAddr,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TileHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(TileHeaders {
            if_none_match: parts.headers.get(header::IF_NONE_MATCH).cloned(),
            gzip_ok: accepts_gzip(&parts.headers),
            client: super::peer::client_ip(&parts.extensions),
        })
    }
}

/// A parsed tile request.
struct TileRequest {
    layer: Layer,
    tile: TileId,
    res: h3o::Resolution,
    with_analysis: bool,
    params: TileParams,
    query: FilterQuery,
    principal: Principal,
    headers: TileHeaders,
}

impl TileRequest {
    fn key(&self, data_version: u64) -> TileKey {
        TileKey {
            data_version,
            request: request_hash(self, &self.params, &self.query),
        }
    }

    fn public(&self) -> bool {
        self.principal.role == crate::model::Role::Anonymous
    }

    /// Whether the caller holds these bytes already (`If-None-Match`).
    fn holds(&self, etag: &str) -> bool {
        self.headers
            .if_none_match
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    }

    fn not_modified(&self, etag: &str) -> Response {
        with_cache_headers(
            StatusCode::NOT_MODIFIED.into_response(),
            etag,
            self.public(),
        )
    }

    /// `304` when the caller holds this version, else the tile.
    fn answer(&self, t: &CachedTile, cache: &'static str) -> Response {
        if self.holds(&t.etag) {
            return self.not_modified(&t.etag);
        }
        // Whether a tile was cached tells which tiles and filters others
        // asked for: only staff see it.
        let cache = self.principal.is_staff().then_some(cache);
        tile_response(t, self.headers.gzip_ok, self.public(), cache)
    }
}

/// Everything but a cached public tile: the walks list, the audit, the
/// cache lookup (unless `missed` says it was made: key and data version),
/// and on a miss the rendering.
async fn render_tile(
    state: AppState,
    request: TileRequest,
    missed: Option<(TileKey, u64)>,
) -> Result<Response, Problem> {
    let TileRequest {
        layer,
        tile,
        res,
        with_analysis,
        ref params,
        ref query,
        ref principal,
        ..
    } = request;
    let disclosure = Disclosure::for_caller(principal.reads_raw(), state.settings.k_anonymity);
    let walks: Vec<crate::model::Walk> = if layer == Layer::Walks {
        state.service.walks(principal).await?
    } else {
        Vec::new()
    };
    let (key, version, cached) = if let Some((key, version)) = missed {
        (key, version, None)
    } else {
        let (version, stamp) = state.service.tile_versions(tile);
        let data_version = data_version(layer, params, with_analysis, version, stamp, &walks);
        let key = request.key(data_version);
        (key, version, state.service.tile_cache().get(key))
    };
    // Cache keys hold the raw parameters, so a hit was a valid request
    // before: the filter is parsed (and checked) only for a miss.
    let lookup = match cached {
        Some(hit) => Lookup::Hit(hit),
        None => Lookup::Miss(
            super::filters::as_seen(
                principal,
                state.settings.k_anonymity,
                query.to_filter(&state.service.taxonomy)?,
            )?
            .1,
        ),
    };
    if matches!(layer, Layer::Observations | Layer::Walks) {
        audit_read(&state, principal, layer, tile).await;
    }
    let filter = match lookup {
        Lookup::Hit(hit) => return Ok(request.answer(&hit, "hit")),
        Lookup::Miss(filter) => filter,
    };

    // Keep the gzip form when it is asked for or will be cached for later.
    let cache = state.service.tile_cache();
    let compress = request.headers.gzip_ok || cache.is_enabled();
    let job = TileJob {
        layer,
        tile,
        res,
        filter,
        disclosure,
        overlay: with_analysis.then(|| overlay_key(query, res, version, disclosure)),
        walks,
        asker: super::budget::Asker::of(principal, request.headers.client),
    };
    let bytes = render(&state, job).await?;
    let cached = cache.put(key, CachedTile::new(bytes, compress));
    Ok(request.answer(&cached, "miss"))
}

/// A cached tile, or the parsed filter to make it with.
enum Lookup {
    Hit(std::sync::Arc<CachedTile>),
    Miss(Filter),
}

/// What one tile is made of.
struct TileJob {
    layer: Layer,
    tile: TileId,
    res: h3o::Resolution,
    filter: Filter,
    disclosure: Disclosure,
    /// The analysis overlay's cache key, when `?analysis=true`.
    overlay: Option<String>,
    walks: Vec<crate::model::Walk>,
    /// Who waits for an analysis slot, and how.
    asker: super::budget::Asker,
}

/// Encodes a tile: a pre-aggregated hexagon answer right here (it takes
/// well under a millisecond, less than a hand-off to the blocking pool
/// would cost), anything else on the blocking pool.
async fn render(state: &AppState, job: TileJob) -> Result<Option<Vec<u8>>, Problem> {
    if job.layer == Layer::Hexagons
        && job.overlay.is_none()
        && let Some(tile) =
            state
                .service
                .hexagon_tile_from_runs(job.tile, job.res, &job.filter, job.disclosure)
    {
        return Ok(tile);
    }
    // An overlay not yet made is an analysis of the whole region: its first
    // tile takes one of the few analysis slots while it is made, and the
    // map's other tiles wait for that one.
    let _slot = match &job.overlay {
        Some(key) if job.layer == Layer::Hexagons && state.overlays.claim(key) => {
            match state.budget.slot(job.asker).await {
                Ok(slot) => Some(slot),
                Err(busy) => {
                    state.overlays.forget(key);
                    return Err(busy);
                }
            }
        }
        _ => None,
    };
    let service = state.service.clone();
    let (overlays, region_cells) = (state.overlays.clone(), state.region_cells.clone());
    tokio::task::spawn_blocking(move || {
        let TileJob {
            layer,
            tile,
            res,
            filter,
            disclosure,
            overlay,
            walks,
            ..
        } = job;
        let overlay = overlay.filter(|_| layer == Layer::Hexagons).map(|key| {
            overlays.get_or_compute(key, || {
                service.overlay(&region_cells, res, &filter, disclosure)
            })
        });
        match layer {
            Layer::Hexagons => {
                service.hexagon_tile(tile, res, &filter, disclosure, overlay.as_deref())
            }
            Layer::Areas => service.areas_tile(tile),
            Layer::Observations => service.points_tile(tile, filter),
            Layer::Walks => service.walks_tile(tile, &filter, &walks),
        }
    })
    .await
    .map_err(|_| Problem::internal())
}

/// What the tile's content depends on: the tile's own stamp where the
/// stamps describe it (see [`crate::tiles::cache::TileCache::stamp`]), else
/// every change.
fn data_version(
    layer: Layer,
    params: &TileParams,
    with_analysis: bool,
    version: u64,
    stamp: Option<u64>,
    walks: &[crate::model::Walk],
) -> u64 {
    match layer {
        Layer::Hexagons if params.res.is_none() && !with_analysis => stamp.unwrap_or(version),
        Layer::Observations => stamp.unwrap_or(version),
        Layer::Walks => {
            let mut h = rustc_hash::FxHasher::default();
            for w in walks {
                (w.id, w.closed_at, w.route.len()).hash(&mut h);
            }
            version ^ h.finish()
        }
        Layer::Hexagons | Layer::Areas => version,
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|e| e.trim().starts_with("gzip") && !e.contains("q=0"))
        })
}

/// Raw points were read: into the audit log.
async fn audit_read(state: &AppState, principal: &Principal, layer: Layer, tile: TileId) {
    let action = format!("tiles.{}", layer.name());
    state
        .service
        .audit(principal, &action, format!("tile {tile}"))
        .await;
}

/// The tile in the encoding the client takes (gzip when it says so).
fn tile_response(
    t: &CachedTile,
    gzip_ok: bool,
    public: bool,
    cache: Option<&'static str>,
) -> Response {
    let body = match (&t.plain, &t.gzip) {
        (None, _) => None,
        (Some(_), Some(gz)) if gzip_ok => Some((gz.clone(), true)),
        (Some(plain), _) => Some((plain.clone(), false)),
    };
    let mut resp = match body {
        None => StatusCode::NO_CONTENT.into_response(),
        Some((bytes, gzipped)) => {
            let mut resp = Response::new(axum::body::Body::from(bytes));
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
            if gzipped {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            resp
        }
    };
    // Room for the rest and the headers added on the way out, at once.
    resp.headers_mut().reserve(10);
    if let Some(cache) = cache {
        resp.headers_mut()
            .insert(X_TILE_CACHE, HeaderValue::from_static(cache));
    }
    with_cache_headers(resp, &t.etag, public)
}

fn with_cache_headers(mut resp: Response, etag: &str, public: bool) -> Response {
    let h = resp.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if public {
            "public, max-age=60"
        } else {
            "private, no-cache"
        }),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Accept-Encoding"),
    );
    resp
}

/// What a tile's `ETag` adds to the data version: the tile, the filters and
/// what the caller is allowed to see.
fn request_hash(r: &TileRequest, p: &TileParams, query: &FilterQuery) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    (r.tile.z, r.tile.x, r.tile.y, r.layer.name()).hash(&mut h);
    (&p.res, &p.analysis, query).hash(&mut h);
    r.principal.reads_raw().hash(&mut h);
    r.principal.walk_id.hash(&mut h);
    h.finish()
}

/// `GET /tiles/{layer}.json` — TileJSON 3.0.0 for a layer; the query string
/// (filters) is carried into the tile URLs.
pub async fn tilejson(
    State(state): State<AppState>,
    principal: Principal,
    Path(file): Path<String>,
    Split { query: filters, .. }: Split<TileParams>,
    super::peer::LinkBase(base): super::peer::LinkBase,
    uri: axum::http::Uri,
) -> Result<Response, Problem> {
    let name = file
        .strip_suffix(".json")
        .ok_or_else(|| Problem::not_found("TileJSON paths end in .json"))?;
    let layer = Layer::parse(name)?;
    layer.check_access(&principal)?;
    filters.to_filter(&state.service.taxonomy)?; // refuse bad filters here rather than in every tile
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let fields = match layer {
        Layer::Hexagons => json!({
            "cell": "String: H3 cell index",
            "count": "Number: observations in the cell",
            "insecurity": "Number: perceived-insecurity reports (0 below k for the public)",
            "walk_finding": "Number: safety-walk findings (0 below k for the public)",
            "place_observation": "Number: place observations (0 below k for the public)",
            "bin": "Number: Gi* hot-spot bin, +3..-3 (with ?analysis=true)",
            "trend": "String: emerging-hot-spot category (with ?analysis=true)",
            "gap": "String: more_insecurity, more_incidents, balanced or too_few (with ?analysis=true)",
        }),
        Layer::Areas => json!({"id": "String", "name": "String"}),
        Layer::Observations => json!({"kind": "String", "category": "String"}),
        Layer::Walks => json!({
            "walk": "String: the walk's id (routes and findings)",
            "name": "String: the walk's name (routes)",
            "date": "String: the walk's date (routes)",
            "open": "Boolean: whether the walk takes findings (routes)",
            "category": "String: the finding's category (findings)",
        }),
    };
    let r = &state.service.region;
    Ok(axum::Json(json!({
        "tilejson": "3.0.0",
        "name": format!("Trygg {}", layer.name()),
        "description": match layer {
            Layer::Hexagons => "Observations per H3 cell; the resolution follows the zoom",
            Layer::Areas => "Area outlines",
            Layer::Observations => "Individual observations (analysts only)",
            Layer::Walks => "Safety-walk routes and findings (participants: their own walk)",
        },
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{query}", layer.name())],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [r.west, r.south, r.east, r.north],
        "center": [f64::midpoint(r.west, r.east), f64::midpoint(r.south, r.north), 10],
        "attribution": "Trygg",
        "vector_layers": [{
            "id": layer.name(),
            "description": format!("Trygg {}", layer.name()),
            "minzoom": 0,
            "maxzoom": MAX_ZOOM,
            "fields": fields,
        }],
    }))
    .into_response())
}
