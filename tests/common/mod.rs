//! Test helpers: a real server on 127.0.0.1:0 over a fresh data directory.

#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod postgres;
pub mod process;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;
use trygg::config::{ServerArgs, Settings};
use trygg::http::{AppState, serve};
use trygg::model::Role;
use trygg::service::Service;
use trygg::store::{SqliteStore, Store, TokenRecord};
use uuid::Uuid;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub analyst: String,
    pub admin: String,
    pub partner: String,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn create_token(store: &dyn Store, role: Role, org: Option<&str>) -> String {
    let (secret, hash) = trygg::auth::new_token();
    store
        .create_token(&TokenRecord {
            id: Uuid::now_v7(),
            hash,
            role,
            organisation: org.map(str::to_owned),
            walk_id: None,
            label: "test".into(),
            created_at: OffsetDateTime::now_utc(),
            expires_at: None,
        })
        .await
        .unwrap();
    secret
}

/// A test server. Its fixtures are reports on fixed dates, so anonymous
/// reports may reach back any time (the limit has its own test, in
/// `http_api.rs`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerArgs {
        anonymous_reach_back_days: 0,
        ..ServerArgs::default()
    })
    .await
}

pub async fn spawn_app_with(args: ServerArgs) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let settings: Settings = args.finalize().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    for area in trygg::demo::areas() {
        store.put_area(&area).await.unwrap();
    }
    let analyst = create_token(store.as_ref(), Role::Analyst, None).await;
    let admin = create_token(store.as_ref(), Role::Admin, None).await;
    let partner = create_token(store.as_ref(), Role::Partner, Some("Telge Bostäder")).await;
    let service = Service::open(
        Arc::clone(&store),
        settings.taxonomy.clone(),
        settings.region,
    )
    .await
    .unwrap()
    .with_tile_cache(settings.tile_cache_bytes())
    .with_anonymous_reach_back(settings.anonymous_reach_back);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        listener,
        AppState::new(Arc::new(service), settings),
        async move {
            let _ = rx.await;
        },
    ));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        store,
        analyst,
        admin,
        partner,
        _dir: dir,
        _shutdown: tx,
    }
}

impl TestApp {
    /// `POST /api/v1/observations/import{query}` of a CSV body, as analyst.
    pub async fn import_csv(&self, csv: &str, query: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/observations/import{query}")))
            .bearer_auth(&self.analyst)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn put_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, "application/json", path, token, body)
            .await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.send_json(
            reqwest::Method::POST,
            "application/geo+json",
            path,
            token,
            body,
        )
        .await
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        content_type: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn observation_count(&self) -> u64 {
        let h: Value = self.get("/health", None).await.json().await.unwrap();
        h["observations"].as_u64().unwrap()
    }
}

/// A perceived-insecurity report near Södertälje centrum.
pub fn report(lon: f64, lat: f64) -> Value {
    json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "kind": "insecurity",
            "category": "dark_area",
            "observed_at": "2026-01-15T21:30:00+01:00",
            "severity": 2,
            "description": "Mörkt vid gångtunneln"
        }
    })
}

/// An RFC 3339 time `days` days ago.
pub fn days_ago(days: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A resident's report of yesterday, for servers with the default limit
/// on how far back an anonymous report may be dated.
pub fn recent_report(lon: f64, lat: f64) -> Value {
    let mut r = report(lon, lat);
    r["properties"]["observed_at"] = days_ago(1).into();
    r
}

/// Asserts an RFC 9457 problem response and returns its body.
pub async fn problem(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().unwrap().starts_with("/problems/"));
    assert!(!body["detail"].as_str().unwrap().is_empty());
    body
}
