//! Every observation is counted in the H3 cell its point lies in — h3o's
//! `LatLng::to_cell` — at every served resolution, through the real server
//! on both stores: after a bulk import, after single submissions, after a
//! restart, and (PostgreSQL) after catch-up from another process. The
//! points lie centimetres to metres from cell edges and corners, where a
//! cell's digit ancestor and the cell holding the point part ways.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use common::process::{StoreArg, create_token, observation_count, start_server};
use h3o::{LatLng, Resolution};
use serde_json::json;

/// Points near the corners and edge midpoints of the cells around the
/// town centre, at every resolution 5–12.
fn points_near_edges() -> Vec<(f64, f64)> {
    let centre = LatLng::new(59.195, 17.625).unwrap();
    let mut out = Vec::new();
    for res in 5..=12u8 {
        let cell = centre.to_cell(Resolution::try_from(res).unwrap());
        let middle = LatLng::from(cell);
        let corners: Vec<LatLng> = cell.boundary().iter().copied().collect();
        for (i, v) in corners.iter().enumerate() {
            let w = corners[(i + 1) % corners.len()];
            let edge = (
                f64::midpoint(v.lng(), w.lng()),
                f64::midpoint(v.lat(), w.lat()),
            );
            for (x, y) in [(v.lng(), v.lat()), edge] {
                let metres = ((middle.lat() - y) * 111_320.0)
                    .hypot((middle.lng() - x) * 111_320.0 * y.to_radians().cos());
                for d in [-2.0, -0.05, 0.05, 2.0] {
                    let t = d / metres;
                    out.push((x + (middle.lng() - x) * t, y + (middle.lat() - y) * t));
                }
            }
        }
    }
    out
}

/// What every resolution's counts must be: one per point, in its cell.
fn expected(points: &[(f64, f64)], res: u8) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for &(lon, lat) in points {
        let cell = LatLng::new(lat, lon)
            .unwrap()
            .to_cell(Resolution::try_from(res).unwrap());
        *counts.entry(cell.to_string()).or_default() += 1;
    }
    counts
}

/// A JSON answer to a GET with `token`.
async fn json_as(client: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    let resp = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

/// `/api/v1/hexagons` as an analyst sees it, as cell → count, and the same
/// per cell from `/api/v1/cells/{cell}`.
async fn served(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    res: u8,
) -> BTreeMap<String, u64> {
    let body = json_as(client, &format!("{base}/api/v1/hexagons?res={res}"), token).await;
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["cell"].as_str().unwrap().to_owned(),
                f["properties"]["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn cell_count(client: &reqwest::Client, base: &str, token: &str, cell: &str) -> u64 {
    let body = json_as(client, &format!("{base}/api/v1/cells/{cell}"), token).await;
    body["count"]
        .as_u64()
        .or_else(|| body["properties"]["count"].as_u64())
        .unwrap_or_else(|| panic!("no count in {body}"))
}

async fn counts_follow_to_cell(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    points: &[(f64, f64)],
    when: &str,
) {
    for res in 5..=12u8 {
        let want = expected(points, res);
        assert_eq!(
            served(client, base, token, res).await,
            want,
            "{when}, resolution {res}"
        );
        // Per cell, for the cells next to the town centre's.
        for (cell, n) in want.iter().filter(|(_, n)| **n > 40).take(3) {
            assert_eq!(
                cell_count(client, base, token, cell).await,
                *n,
                "{when}, cell {cell}"
            );
        }
    }
}

/// Imports the points (repeated past an import's batch threshold) and then
/// submits some of them one at a time; returns every point stored.
async fn store_points(client: &reqwest::Client, base: &str, token: &str) -> Vec<(f64, f64)> {
    let near = points_near_edges();
    let imported: Vec<(f64, f64)> = near.iter().copied().cycle().take(12_000).collect();
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    for (lon, lat) in &imported {
        writeln!(csv, "{lon},{lat},insecurity,dark_area,2026-03-10T20:00:00Z").unwrap();
    }
    let resp = client
        .post(format!("{base}/api/v1/observations/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let single: Vec<(f64, f64)> = near.iter().copied().step_by(7).collect();
    for &(lon, lat) in &single {
        let resp = client
            .post(format!("{base}/api/v1/observations"))
            .bearer_auth(token)
            .json(&json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "kind": "insecurity",
                    "category": "dark_area",
                    "observed_at": "2026-03-10T20:00:00Z"
                }
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
    imported.into_iter().chain(single).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_counts_every_point_in_its_cell_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreArg::Dir(dir.path().join("data"));
    let token = create_token(&store);
    let client = reqwest::Client::new();
    let (server, base) = start_server(&store, &[]).await;
    let points = store_points(&client, &base, &token).await;
    counts_follow_to_cell(&client, &base, &token, &points, "after writes").await;
    drop(server);
    let (_server, base) = start_server(&store, &[]).await;
    counts_follow_to_cell(&client, &base, &token, &points, "after a restart").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_counts_every_point_in_its_cell_in_every_instance() {
    let Some(url) = common::postgres::fresh_database() else {
        return;
    };
    let store = StoreArg::Url(url);
    let token = create_token(&store);
    let client = reqwest::Client::new();
    let (_a, a) = start_server(&store, &[]).await;
    let (_b, b) = start_server(&store, &[]).await;
    let points = store_points(&client, &a, &token).await;
    counts_follow_to_cell(&client, &a, &token, &points, "the writer").await;
    // The other instance catches up from the store.
    let start = Instant::now();
    while observation_count(&client, &b).await != u64::try_from(points.len()).unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "instance B did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    counts_follow_to_cell(&client, &b, &token, &points, "after catch-up").await;
    let (_c, c) = start_server(&store, &[]).await;
    counts_follow_to_cell(&client, &c, &token, &points, "a new instance").await;
}
