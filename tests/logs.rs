//! What the logs may not hold: coordinates, free text and tokens. The real
//! binary runs with the most verbose log filter while it receives reports,
//! serves them to an analyst, refuses bad ones and imports a file; then its
//! whole log is searched for what it was told.

mod common;

use std::process::Stdio;

use common::process::{StoreArg, create_token, start_server_logging};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn logs_hold_no_coordinates_text_or_tokens() {
    const LON: &str = "17.613579";
    const LAT: &str = "59.197531";
    const TEXT: &str = "Hemlig-beskrivning-Q7";

    let dir = tempfile::tempdir().unwrap();
    let store = StoreArg::Dir(dir.path().join("data"));
    let token = create_token(&store);
    let log_path = dir.path().join("trygg.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let (mut child, base) = start_server_logging(&store, &[], "trace", Stdio::from(log_file)).await;
    let client = reqwest::Client::new();
    // Anonymous reports reach back a month at most.
    let yesterday = common::days_ago(1);
    let feature = |lon: f64, lat: f64| {
        json!({"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"kind": "insecurity", "category": "dark_area",
                "observed_at": yesterday, "description": TEXT}})
    };
    let lon: f64 = LON.parse().unwrap();
    let lat: f64 = LAT.parse().unwrap();
    let post = |body: String, auth: Option<&str>| {
        let mut req = client
            .post(format!("{base}/api/v1/observations"))
            .header("content-type", "application/geo+json")
            .body(body);
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let created: serde_json::Value = post(feature(lon, lat).to_string(), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    // Refused: swapped coordinates, a wrong token, broken JSON.
    assert_eq!(
        post(feature(lat, lon).to_string(), None)
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        post(feature(lon, lat).to_string(), Some("not-a-real-token-Z9"))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(format!("{{\"broken\": \"{TEXT}\", [{LON}"), None)
            .await
            .unwrap()
            .status(),
        400
    );
    // Read as an analyst, one by one and by bounding box.
    for path in [
        format!("/api/v1/observations/{id}"),
        format!("/api/v1/observations?bbox={LON},{LAT},17.62,59.2"),
        format!("/api/v1/observations/nearby?lon={LON}&lat={LAT}&radius_m=100"),
    ] {
        let resp = client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    // An import with a bad row.
    let csv = format!(
        "lon,lat,kind,category,observed_at,description\n{LON},{LAT},insecurity,dark_area,2026-01-01T20:00:00Z,{TEXT}\n{LAT},{LON},insecurity,dark_area,2026-01-01T20:00:00Z,{TEXT}\n"
    );
    let resp = client
        .post(format!("{base}/api/v1/observations/import?partial=true"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    // Trygg logs no request lines of its own; the capture must still work.
    assert!(
        logs.contains("index loaded"),
        "the log was captured: {logs}"
    );
    for secret in [
        LON,
        LAT,
        TEXT,
        token.as_str(),
        "not-a-real-token-Z9",
        &LON[..7],
    ] {
        assert!(
            !logs.contains(secret),
            "the log holds {secret:?}:\n{}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
