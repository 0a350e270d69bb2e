//! Query parameters, filters and tile paths: arbitrary GET requests through
//! the whole router, in process, as an anonymous caller and as an analyst.
//! The first byte picks a route (so the fuzzer reaches the parsers behind
//! it), the rest is its path and query. Bad input must be a 4xx, never a 5xx.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use trygg::config::ServerArgs;
use trygg::http::{AppState, router};
use trygg::model::{Principal, Role};
use trygg::service::{Service, credentials};
use trygg::store::{SqliteStore, Store};

const ROUTES: [&str; 12] = [
    "/api/v1/hexagons?",
    "/api/v1/observations?",
    "/api/v1/observations/nearby?",
    "/api/v1/hotspots?",
    "/api/v1/cells/",
    "/api/v1/areas/",
    "/tiles/hexagons/",
    "/tiles/",
    "/ogc/collections/",
    "/ogc/collections/hexagons/items?",
    "/ogc/collections/observations/items?",
    "/api/v1/walks/",
];

struct App {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    analyst: String,
}

static APP: LazyLock<App> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("trygg-fuzz-{}", std::process::id()));
    let (router, analyst) = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
        for area in trygg::demo::areas() {
            store.put_area(&area).await.unwrap();
        }
        let settings = ServerArgs::default().finalize().unwrap();
        let asked = credentials::TokenRequest {
            role: Role::Analyst,
            organisation: None,
            label: "fuzz".into(),
            expires_in_days: None,
        };
        let analyst = credentials::issue_token(store.as_ref(), &Principal::command_line(), asked)
            .await
            .unwrap()
            .secret;
        let service = Service::open(store, settings.taxonomy.clone(), settings.region)
            .await
            .unwrap()
            .with_tile_cache(settings.tile_cache_bytes());
        (router(AppState::new(Arc::new(service), settings)), analyst)
    });
    App {
        runtime,
        router,
        analyst,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut uri = ROUTES[usize::from(first) % ROUTES.len()].to_owned();
    for &b in rest {
        // Bytes a URI may not hold are percent-encoded, as a client would.
        if b.is_ascii_graphic() && b != b'#' {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    let app = &*APP;
    for token in [None, Some(app.analyst.as_str())] {
        let mut req = Request::get(uri.as_str());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let Ok(req) = req.body(Body::empty()) else {
            return;
        };
        let status = app
            .runtime
            .block_on(app.router.clone().oneshot(req))
            .unwrap()
            .status();
        assert!(!status.is_server_error(), "{uri} answered {status}");
    }
});
