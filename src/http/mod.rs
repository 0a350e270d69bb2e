//! The HTTP API: the only module that knows axum. Handlers are thin: they
//! parse, check the caller's role, call the [`Service`], and shape the
//! answer. Errors are RFC 9457 problem details ([`problem`]).
//!
//! Routes (all JSON or GeoJSON):
//!
//! | route | who |
//! |---|---|
//! | `POST /api/v1/observations` | per kind: anonymous → insecurity, participant → findings of their walk, partner → place observations, analyst/admin → any |
//! | `POST /api/v1/observations/import` | analyst, admin |
//! | `GET /api/v1/observations`, `…/nearby`, `…/{id}` | analyst (all), participant (own walk), partner (own organisation); audited |
//! | `PATCH /api/v1/observations/{id}/status` | analyst, admin |
//! | `PATCH`, `DELETE /api/v1/observations/{id}` | the participant who submitted it, while the walk is open |
//! | `GET /api/v1/hexagons` | everyone; exact for analysts, small counts withheld and the rest rounded to base k otherwise |
//! | `GET/POST /api/v1/walks`, `POST …/join`, `POST …/{id}/close` | admin; join: anyone with the code |
//! | `GET /api/v1/areas`, `PUT /api/v1/areas/{id}` | everyone; admin |
//! | `GET`/`POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`, `POST /api/v1/auth/login` | admin; anyone |
//! | `GET /health`, `/api/openapi.json`, `/api/v1/taxonomy` | everyone |
//! | `GET /metrics` | admin (or anyone on `--metrics-listen`) |

mod actions;
mod analyses;
mod areas;
mod auth;
mod budget;
mod extract;
mod features;
mod filters;
mod hexagons;
mod hotspots;
mod observations;
mod ogc;
mod openapi;
mod peer;
mod perception;
pub mod problem;
mod security;
mod server;
pub(crate) mod session;
mod system;
mod tiles;
mod walks;

use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use governor::{DefaultKeyedRateLimiter, Quota};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::service::Service;
use extract::BodyLimit;
pub use peer::Connection;
use peer::client_ip;

/// Shared state of every handler: one `Arc`, since axum clones the state
/// for every extractor of every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub service: Arc<Service>,
    pub settings: Arc<Settings>,
    anonymous_submissions: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Join-code and password attempts per client address.
    guesses: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    metrics: PrometheusHandle,
    started: Instant,
    /// The cells of recently analysed study regions.
    region_cells: Arc<crate::analysis::RegionCellCache>,
    /// Hot-spot, trend and perception flags behind `?analysis=true` tiles.
    overlays: Arc<crate::analysis::overlay::OverlayCache>,
    /// Slots and kept answers of the expensive analyses.
    budget: budget::Budget,
}

impl AppState {
    pub fn new(service: Arc<Service>, settings: Settings) -> Self {
        let per_minute = NonZeroU32::new(settings.anonymous_per_minute).unwrap_or(NonZeroU32::MIN);
        AppState(Arc::new(Shared {
            service,
            anonymous_submissions: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
                per_minute,
            ))),
            guesses: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(10).expect("10 > 0"),
            ))),
            settings: Arc::new(settings),
            metrics: metrics_handle(),
            started: Instant::now(),
            region_cells: Arc::default(),
            overlays: Arc::default(),
            budget: budget::Budget::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        }))
    }
}

/// The process-wide Prometheus recorder, installed on first use.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding
            // program); then our handle simply renders nothing of it.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.max_body_bytes;
    let body_grace = state.settings.body_timeout;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(state.settings.max_in_flight));
    let csp = HeaderValue::from_str(&security::content_security_policy(
        state.settings.basemap.as_deref(),
    ))
    .expect("the policy is ASCII");
    let trusted_proxies: Arc<[ipnet::IpNet]> = state.settings.trusted_proxies.clone().into();
    let api = api_routes(&state);

    // Tiles are compressed once, when cached; TileJSON on the fly.
    let mut tiles = Router::new()
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        .route(
            "/tiles/{file}",
            get(tiles::tilejson).layer(tower_http::compression::CompressionLayer::new()),
        );
    if state.settings.bench_ceiling {
        // A static 1 KiB answer through the same stack: the benchmark's ceiling.
        static KIB: [u8; 1024] = [b'.'; 1024];
        tiles = tiles.route("/bench/ceiling", get(|| async { &KIB[..] }));
    }

    Router::new()
        .nest("/api/v1", api)
        .merge(tiles)
        .route("/ogc", get(ogc::landing))
        .route("/ogc/api", get(ogc::api_document))
        .route("/ogc/conformance", get(ogc::conformance))
        .route("/ogc/collections", get(ogc::collections))
        .route("/ogc/collections/{id}", get(ogc::one_collection))
        .route("/ogc/collections/{id}/items", get(ogc::items))
        .route("/ogc/collections/{id}/items/{fid}", get(ogc::item))
        .merge(web_routes(&state.settings.web_dir))
        .route("/api", get(system::landing))
        .route("/health", get(system::health))
        .route("/metrics", get(system::metrics))
        .route("/api/openapi.json", get(openapi::document))
        .fallback(system::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(BodyLimit(body_limit)))
        .layer(middleware::from_fn(move |req, next| {
            server::body_deadline(body_grace, req, next)
        }))
        .layer(middleware::from_fn(security::cross_site_guard))
        .layer(middleware::from_fn(move |req, next| {
            security::headers(csp.clone(), req, next)
        }))
        .layer(middleware::from_fn(move |req, next| {
            peer::resolve_client(Arc::clone(&trusted_proxies), req, next)
        }))
        .layer(middleware::from_fn(observe))
        .layer(middleware::from_fn(move |req, next| {
            shed_load(Arc::clone(&in_flight), req, next)
        }))
        // A bug must not take the connection down with it: answer 500.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            problem::Problem::internal().into_response()
        }))
        .with_state(state)
}

/// The routes under `/api/v1`.
fn api_routes(state: &AppState) -> Router<AppState> {
    // Routes only signed-in callers may use: anonymous callers are refused
    // before a body is read.
    let signed_in = |m: axum::routing::MethodRouter<AppState>| {
        m.route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::signed_in,
        ))
    };
    Router::new()
        .route(
            "/observations",
            post(observations::create).get(observations::list),
        )
        .route(
            "/observations/import",
            signed_in(post(observations::import)).layer(DefaultBodyLimit::disable()),
        )
        .route("/observations/nearby", get(observations::nearby))
        .route(
            "/observations/{id}",
            get(observations::get_one).merge(signed_in(
                patch(observations::change).delete(observations::remove),
            )),
        )
        .route(
            "/observations/{id}/status",
            signed_in(patch(observations::set_status)),
        )
        .route("/hexagons", get(hexagons::hexagons))
        .route("/cells/{cell}", get(hexagons::cell))
        .route("/areas/{id}/analysis", get(analyses::live))
        .route(
            "/areas/{id}/analyses",
            get(analyses::list).merge(signed_in(post(analyses::create))),
        )
        .route("/analyses/{id}", get(analyses::get))
        .route("/actions", get(actions::list))
        .route(
            "/actions/{id}",
            signed_in(put(actions::put).delete(actions::delete)),
        )
        .route(
            "/actions/{id}/indicators/{indicator}/values/{period}",
            signed_in(put(actions::put_value).delete(actions::delete_value)),
        )
        .route("/perception", get(perception::perception))
        .route("/hotspots", get(hotspots::hotspots))
        .route("/hotspots/emerging", get(hotspots::emerging))
        .route(
            "/walks",
            get(walks::list).merge(signed_in(post(walks::create))),
        )
        .route("/walks/join", post(walks::join))
        .route("/walks/{id}", get(walks::get_one))
        .route("/walks/{id}/close", signed_in(post(walks::close)))
        .route("/areas", get(areas::list))
        .route("/areas/{id}", signed_in(put(areas::put)))
        .route("/areas/{id}/summary", get(areas::summary))
        .route(
            "/tokens",
            get(session::list_tokens).merge(signed_in(post(session::create_token))),
        )
        .route("/tokens/{id}", signed_in(delete(session::revoke_token)))
        .route("/auth/login", post(session::login))
        .route("/taxonomy", get(system::taxonomy))
}

/// The web front end: pages from `web/`, MapLibre from `web/node_modules`.
/// `/static` serves only the files pages load ([`is_page_asset`]), not the
/// rest of `web/` (`node_modules`, tests, package files).
fn web_routes(web_dir: &std::path::Path) -> Router<AppState> {
    use tower_http::services::{ServeDir, ServeFile};
    let assets = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(only_page_assets))
        .service(ServeDir::new(web_dir));
    let vendor = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(problem_for_missing_file))
        .service(ServeDir::new(web_dir.join("node_modules/maplibre-gl/dist")));
    Router::new()
        .route_service("/", ServeFile::new(web_dir.join("index.html")))
        .route_service("/report", ServeFile::new(web_dir.join("report.html")))
        .route_service("/walk", ServeFile::new(web_dir.join("walk.html")))
        // At the root so that it may control `/walk` (a service worker only
        // controls pages at or below its own path).
        .route_service("/walk-sw.js", ServeFile::new(web_dir.join("walk-sw.js")))
        .route_service("/areas", ServeFile::new(web_dir.join("areas.html")))
        .route("/areas/{id}", get(areas::page))
        .route_service("/admin", ServeFile::new(web_dir.join("admin.html")))
        .route_service(
            "/analyses/{id}",
            ServeFile::new(web_dir.join("analysis.html")),
        )
        .route("/ui-config.json", get(system::ui_config))
        .nest_service("/static", assets)
        .nest_service("/vendor/maplibre-gl", vendor)
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Whether `/static{path}` is a file the pages load: a top-level file of
/// `web/` with a browser asset's extension, or a message file
/// (`messages/<language>.json`). Package files and tool configuration
/// (`.json`, `.md`) and everything else in subdirectories are not.
fn is_page_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix('/') else {
        return false;
    };
    if let Some(file) = name.strip_prefix("messages/") {
        return file.strip_suffix(".json").is_some_and(|code| {
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        });
    }
    // Plain names only: nothing percent-encoded can hide a `/` or `..`.
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let extension = name.rsplit_once('.').map(|(_, e)| e);
    plain
        && !name.starts_with('.')
        && matches!(
            extension,
            Some("js" | "mjs" | "css" | "html" | "svg" | "png" | "jpg" | "webp" | "ico" | "woff2")
        )
}

async fn only_page_assets(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    if !is_page_asset(req.uri().path()) {
        return problem::Problem::not_found(format!("no file /static{}", req.uri().path()))
            .into_response();
    }
    problem_for_missing_file(req, next).await
}

/// `ServeDir` answers a missing file with an empty 404: make it a problem.
async fn problem_for_missing_file(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    if resp.status() == axum::http::StatusCode::NOT_FOUND {
        return problem::Problem::not_found(format!("no file {path}")).into_response();
    }
    resp
}

/// Answers 503 at once when `max_in_flight` requests are already being
/// handled, so that overload costs bounded memory instead of a growing queue.
/// `/health` is always answered: an overloaded instance is still alive.
async fn shed_load(limit: Arc<tokio::sync::Semaphore>, req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let Ok(_permit) = limit.try_acquire_owned() else {
        metrics::counter!("trygg_http_shed_total").increment(1);
        return problem::Problem::unavailable("the service is overloaded; try again shortly")
            .into_response();
    };
    next.run(req).await
}

/// Request metrics.
async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let _in_flight = InFlight::enter();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("trygg_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("trygg_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// A method as a metrics label: the methods the API knows, every other
/// one as `other`, so that no client can add labels without bound.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts a request in `trygg_http_requests_in_flight` until it is answered
/// or dropped (a client that goes away cancels the handler).
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter() -> Self {
        let gauge = metrics::gauge!("trygg_http_requests_in_flight");
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, keeping the index
/// in step with writes made by other processes meanwhile. In-flight requests
/// finish before this returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = state.service.start_background(
        state.settings.catch_up_interval,
        state.settings.analysis_schedule,
    );
    let header_timeout = state.settings.header_timeout;
    let metrics =
        match state.settings.metrics_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await?;
                tracing::info!(address = %listener.local_addr()?, "metrics listening");
                let app = Router::new()
                .route(
                    "/metrics",
                    get(|axum::extract::State(state): axum::extract::State<AppState>| async move {
                        system::render_metrics(&state)
                    }),
                )
                .with_state(state.clone());
                Some(tokio::spawn(server::serve(
                    listener,
                    app,
                    header_timeout,
                    std::future::pending(),
                )))
            }
            None => None,
        };
    let app = router(state);
    let result = server::serve(listener, app, header_timeout, shutdown).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    drop(background);
    result
}
