//! The HTTP API against a real server on 127.0.0.1:0 with a real store.

mod common;

use std::fmt::Write as _;

use common::{days_ago, problem, report, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use trygg::config::ServerArgs;

#[tokio::test]
async fn submitting_is_idempotent_by_id() {
    let app = spawn_app().await;
    let mut feature = report(17.6261, 59.1955);
    feature["id"] = json!("0190f7a4-1c2b-7d3e-8f40-0123456789ab");
    // The caller's id is kept as it is for a token holder (anonymous
    // callers: see tests/security_matrix.rs).
    let token = Some(app.analyst.as_str());

    let first = app.post_json("/api/v1/observations", token, &feature).await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers()["content-type"], "application/geo+json");
    assert_eq!(
        first.headers()["location"],
        "/api/v1/observations/0190f7a4-1c2b-7d3e-8f40-0123456789ab"
    );
    let stored: Value = first.json().await.unwrap();
    assert_eq!(stored["geometry"]["coordinates"], json!([17.6261, 59.1955]));
    assert_eq!(stored["properties"]["observed_at"], "2026-01-15T20:30:00Z");
    assert!(stored.get("crs").is_none());

    let again = app.post_json("/api/v1/observations", token, &feature).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), stored);
    assert_eq!(app.observation_count().await, 1);

    feature["properties"]["severity"] = json!(3);
    let changed = app.post_json("/api/v1/observations", token, &feature).await;
    problem(changed, 409).await;
    assert_eq!(app.observation_count().await, 1);
}

#[tokio::test]
async fn bad_input_gets_problem_details() {
    let app = spawn_app().await;
    let app = &app;
    let post =
        |body: Value| async move { app.post_json("/api/v1/observations", None, &body).await };

    let swapped = problem(post(report(59.1955, 17.6261)).await, 422).await;
    assert_eq!(swapped["errors"][0]["field"], "geometry");
    assert!(
        swapped["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("swapped")
    );
    problem(post(report(200.0, 59.0)).await, 422).await;

    let mut unknown = report(17.6261, 59.1955);
    unknown["properties"]["category"] = json!("unicorns");
    let body = problem(post(unknown).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "category");

    let mut long = report(17.6261, 59.1955);
    long["properties"]["description"] = json!("å".repeat(2001));
    let body = problem(post(long).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "description");

    let mut sneaky = report(17.6261, 59.1955);
    sneaky["properties"]["role"] = json!("admin");
    problem(post(sneaky).await, 422).await;

    let mut line = report(17.6261, 59.1955);
    line["geometry"] = json!({"type": "LineString", "coordinates": [[17.6, 59.1], [17.7, 59.2]]});
    problem(post(line).await, 422).await;

    let not_json = app
        .client
        .post(app.url("/api/v1/observations"))
        .header("content-type", "application/json")
        .body("{\"type\": \"Feature\",")
        .send()
        .await
        .unwrap();
    problem(not_json, 400).await;

    let wrong_type = app
        .client
        .post(app.url("/api/v1/observations"))
        .header("content-type", "text/plain")
        .body(report(17.6261, 59.1955).to_string())
        .send()
        .await
        .unwrap();
    problem(wrong_type, 415).await;

    let mut huge = report(17.6261, 59.1955);
    huge["properties"]["description"] = json!("x".repeat(100_000));
    problem(post(huge).await, 413).await;

    problem(app.get("/api/v1/hexagons?res=13", None).await, 400).await;
    problem(app.get("/api/v1/hexagons?resolution=9", None).await, 400).await;
    problem(app.get("/api/v1/hexagons?from=yesterday", None).await, 400).await;
    problem(app.get("/api/v1/hexagons?bbox=1,2,3", None).await, 400).await;
    problem(app.get("/api/v1/hexagons?kind=crime", None).await, 400).await;
    problem(
        app.get("/api/v1/observations?limit=0", Some(&app.analyst))
            .await,
        400,
    )
    .await;
    problem(
        app.get(
            "/api/v1/observations/nearby?lon=x&lat=59",
            Some(&app.analyst),
        )
        .await,
        400,
    )
    .await;
    problem(app.get("/api/v1/no/such/route", None).await, 404).await;
    problem(app.get("/api/v1/hexagons", Some("not-a-token")).await, 401).await;
    assert_eq!(app.observation_count().await, 0);
}

fn csv_rows(n: usize) -> String {
    let mut s = String::from("lon,lat,kind,category,observed_at,severity\n");
    for i in 0..n {
        let lon = 17.60 + f64::from(u32::try_from(i % 50).unwrap()) * 0.001;
        let lat = 59.18 + f64::from(u32::try_from(i / 50).unwrap()) * 0.001;
        writeln!(
            s,
            "{lon},{lat},insecurity,dark_area,2026-0{}-10T22:00:00+01:00,2",
            1 + i % 9
        )
        .unwrap();
    }
    s
}

#[tokio::test]
async fn hexagon_counts_add_up_for_analysts_and_hide_small_cells_from_everyone_else() {
    let app = spawn_app().await;
    let resp = app.import_csv(&csv_rows(400), "").await;
    assert_eq!(resp.status(), 200);
    // A dense cluster so that some cells pass k.
    let mut cluster = String::from("lon,lat,kind,category,observed_at\n");
    for i in 0..30 {
        writeln!(
            cluster,
            "17.6265,59.1955,insecurity,dark_area,2026-02-0{}T22:00:00Z",
            1 + i % 9
        )
        .unwrap();
    }
    assert_eq!(app.import_csv(&cluster, "").await.status(), 200);
    assert_eq!(app.observation_count().await, 430);

    let exact: Value = app
        .get("/api/v1/hexagons?res=9", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    let cells = exact["features"].as_array().unwrap();
    let total: u64 = cells
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 430);
    assert!(
        cells
            .iter()
            .any(|f| f["properties"]["count"].as_u64().unwrap() < 5)
    );
    assert!(exact.get("k_anonymity").is_none());
    let first = &cells[0];
    assert_eq!(first["geometry"]["type"], "Polygon");
    assert!(
        first["properties"]["cell"]
            .as_str()
            .unwrap()
            .starts_with("89")
    );

    let public: Value = app
        .get("/api/v1/hexagons?res=9", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["k_anonymity"], 5);
    let shown = public["features"].as_array().unwrap();
    assert!(!shown.is_empty());
    for f in shown {
        assert!(f["properties"]["count"].as_u64().unwrap() >= 5, "{f}");
    }

    // Filters narrow the numbers.
    let jan: Value = app
        .get(
            "/api/v1/hexagons?res=9&from=2026-01-01&to=2026-02-01",
            Some(&app.analyst),
        )
        .await
        .json()
        .await
        .unwrap();
    let jan_total: u64 = jan["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(jan_total, 400 / 9 + 1);
    let area: Value = app
        .get("/api/v1/hexagons?res=9&area=centrum", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    let area_total: u64 = area["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum();
    assert!((30..430).contains(&area_total), "{area_total}");
}

/// `n` rows with ids, from the `first`th on, spread over a few hundred cells.
fn csv_rows_with_ids(first: usize, n: usize) -> String {
    let mut s = String::from("id,lon,lat,kind,category,observed_at\n");
    for i in first..first + n {
        let (x, y) = (
            u32::try_from(i % 150).unwrap(),
            u32::try_from(i / 150 % 150).unwrap(),
        );
        writeln!(
            s,
            "0190a000-0000-7000-8000-{i:012x},{},{},insecurity,dark_area,2026-03-01T21:00:00Z",
            17.58 + f64::from(x) * 0.0005,
            59.17 + f64::from(y) * 0.0005,
        )
        .unwrap();
    }
    s
}

/// The sum of the analyst's hexagon counts at resolution 9.
async fn hexagon_total(app: &common::TestApp) -> u64 {
    let cells: Value = app
        .get("/api/v1/hexagons?res=9", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    cells["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn large_imports_are_indexed_whether_or_not_their_ids_are_new() {
    let app = spawn_app().await;
    // Large enough to be indexed in bulk, prepared while the store commits.
    let resp: Value = app
        .import_csv(&csv_rows_with_ids(0, 12_000), "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resp["accepted"], 12_000);
    assert_eq!(app.observation_count().await, 12_000);
    assert_eq!(hexagon_total(&app).await, 12_000);
    // Half of this one is stored already: what is new is read back from
    // the store and indexed.
    let resp: Value = app
        .import_csv(&csv_rows_with_ids(6_000, 24_000), "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (resp["accepted"].as_u64(), resp["duplicates"].as_u64()),
        (Some(18_000), Some(6_000))
    );
    assert_eq!(app.observation_count().await, 30_000);
    assert_eq!(hexagon_total(&app).await, 30_000);
    let last = app
        .get(
            "/api/v1/observations/nearby?lon=17.6545&lat=59.2445&radius_m=30",
            Some(&app.analyst),
        )
        .await;
    assert_eq!(last.status(), 200);
    let last: Value = last.json().await.unwrap();
    assert_eq!(
        last["features"][0]["id"],
        format!("0190a000-0000-7000-8000-{:012x}", 22_499)
    );
}

#[tokio::test]
async fn imports_are_all_or_nothing_unless_partial() {
    let app = spawn_app().await;
    let mut csv = csv_rows(5);
    csv.push_str("17.62,59.19,insecurity,unicorns,2026-01-01T00:00:00Z,2\n");
    let body = problem(app.import_csv(&csv, "").await, 422).await;
    assert_eq!(body["rejected"], 1);
    assert_eq!(body["rejections"][0]["line"], 7);
    assert_eq!(body["rejections"][0]["errors"][0]["field"], "category");
    assert_eq!(app.observation_count().await, 0);

    let resp = app.import_csv(&csv, "?partial=true").await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(app.observation_count().await, 5);

    let ndjson = format!("{}\n{}\n", report_line(17.61), report_line(17.62));
    let resp = app
        .client
        .post(app.url("/api/v1/observations/import"))
        .bearer_auth(&app.analyst)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["accepted"], 2);

    let fc = json!({"type": "FeatureCollection", "features": [report(17.63, 59.19), report(17.64, 59.19)]});
    let resp = app
        .post_json("/api/v1/observations/import", Some(&app.analyst), &fc)
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["accepted"], 2);
    assert_eq!(app.observation_count().await, 9);

    problem(
        app.post_json("/api/v1/observations/import", None, &fc)
            .await,
        401,
    )
    .await;
    problem(
        app.post_json("/api/v1/observations/import", Some(&app.partner), &fc)
            .await,
        403,
    )
    .await;
    let bad = app
        .client
        .post(app.url("/api/v1/observations/import"))
        .bearer_auth(&app.analyst)
        .header("content-type", "text/csv")
        .body("lon,lat,colour\n1,2,3\n")
        .send()
        .await
        .unwrap();
    problem(bad, 400).await;
}

fn report_line(lon: f64) -> String {
    report(lon, 59.19).to_string()
}

#[tokio::test]
async fn raw_reads_are_for_analysts_paginated_and_audited() {
    let app = spawn_app().await;
    assert_eq!(app.import_csv(&csv_rows(25), "").await.status(), 200);
    problem(app.get("/api/v1/observations", None).await, 401).await;
    problem(app.get("/api/v1/observations", Some(&app.admin)).await, 403).await;

    let mut seen = Vec::new();
    let mut next = Some("/api/v1/observations?limit=10&kind=insecurity".to_owned());
    while let Some(path) = next {
        let page: Value = app
            .get(&path, Some(&app.analyst))
            .await
            .json()
            .await
            .unwrap();
        for f in page["features"].as_array().unwrap() {
            seen.push(f["id"].as_str().unwrap().to_owned());
        }
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "no record twice across pages");

    let audit = app.store.recent_audit(10).await.unwrap();
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "observations.list")
            .count()
            >= 3
    );

    let near: Value = app
        .get(
            "/api/v1/observations/nearby?lon=17.6&lat=59.18&radius_m=200",
            Some(&app.analyst),
        )
        .await
        .json()
        .await
        .unwrap();
    let d: Vec<f64> = near["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().unwrap())
        .collect();
    assert!(
        !d.is_empty() && d.windows(2).all(|w| w[0] <= w[1]) && d[0] < 1.0,
        "{d:?}"
    );

    let one = &seen[0];
    let got = app
        .get(&format!("/api/v1/observations/{one}"), Some(&app.analyst))
        .await;
    assert_eq!(got.status(), 200);
    problem(
        app.get(&format!("/api/v1/observations/{one}"), Some(&app.partner))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn roles_decide_what_may_be_submitted() {
    let app = spawn_app().await;
    let mut place = report(17.6261, 59.1955);
    place["properties"]["kind"] = json!("place_observation");
    place["properties"]["category"] = json!("vandalism");
    problem(
        app.post_json("/api/v1/observations", None, &place).await,
        401,
    )
    .await;

    let resp = app
        .post_json("/api/v1/observations", Some(&app.partner), &place)
        .await;
    assert_eq!(resp.status(), 201);
    let stored: Value = resp.json().await.unwrap();
    assert_eq!(stored["properties"]["organisation"], "Telge Bostäder");

    place["properties"]["organisation"] = json!("Polisen");
    problem(
        app.post_json("/api/v1/observations", Some(&app.partner), &place)
            .await,
        403,
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/observations",
            Some(&app.partner),
            &report(17.6261, 59.1955),
        )
        .await,
        403,
    )
    .await;

    // The partner reads its own place observations only.
    let mine: Value = app
        .get("/api/v1/observations", Some(&app.partner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["features"].as_array().unwrap().len(), 1);
    app.post_json("/api/v1/observations", None, &report(17.6262, 59.1955))
        .await;
    let mine: Value = app
        .get("/api/v1/observations", Some(&app.partner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine["features"].as_array().unwrap().len(),
        1,
        "no insecurity reports for partners"
    );
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one story from creating a walk to closing it"
)]
async fn walks_are_joined_with_a_code_and_scope_their_participants() {
    let app = spawn_app().await;
    let walk = |name: &str| {
        json!({
            "name": name, "area": "hovsjo", "date": "2026-11-20", "time_of_day": "night",
            "route": {"type": "LineString", "coordinates": [[17.585, 59.179], [17.589, 59.181]]}
        })
    };
    problem(
        app.post_json("/api/v1/walks", Some(&app.analyst), &walk("x"))
            .await,
        403,
    )
    .await;
    let a: Value = app
        .post_json("/api/v1/walks", Some(&app.admin), &walk("Hovsjö kväll"))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = app
        .post_json("/api/v1/walks", Some(&app.admin), &walk("Hovsjö natt"))
        .await
        .json()
        .await
        .unwrap();
    let code = a["join_code"].as_str().unwrap().to_lowercase();

    problem(
        app.post_json("/api/v1/walks/join", None, &json!({"code": "NOPE99"}))
            .await,
        404,
    )
    .await;
    let joined: Value = app
        .post_json("/api/v1/walks/join", None, &json!({"code": code}))
        .await
        .json()
        .await
        .unwrap();
    let participant = joined["token"].as_str().unwrap().to_owned();
    assert!(joined["walk"].get("join_code").is_none());

    let mut finding = report(17.5866, 59.1801);
    finding["properties"]["kind"] = json!("walk_finding");
    finding["properties"]["category"] = json!("lighting");
    let resp = app
        .post_json("/api/v1/observations", Some(&participant), &finding)
        .await;
    assert_eq!(resp.status(), 201);
    let stored: Value = resp.json().await.unwrap();
    assert_eq!(stored["properties"]["walk"], a["id"]);
    assert_eq!(stored["properties"]["status"], "open");
    let finding_id = stored["id"].as_str().unwrap().to_owned();

    // Another walk's finding, submitted by an analyst.
    let mut other = finding.clone();
    other["properties"]["walk"] = b["id"].clone();
    let other: Value = app
        .post_json("/api/v1/observations", Some(&app.analyst), &other)
        .await
        .json()
        .await
        .unwrap();
    let other_id = other["id"].as_str().unwrap();

    let own: Value = app
        .get("/api/v1/observations", Some(&participant))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = own["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [finding_id.as_str()]);
    problem(
        app.get(
            &format!("/api/v1/observations/{other_id}"),
            Some(&participant),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/observations",
            Some(&participant),
            &report(17.6, 59.19),
        )
        .await,
        403,
    )
    .await;

    // Follow-up by an analyst.
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/observations/{finding_id}/status")))
        .bearer_auth(&app.analyst)
        .json(&json!({"status": "assigned", "assignee": "Gatuavdelningen"}))
        .send()
        .await
        .unwrap();
    let updated: Value = resp.json().await.unwrap();
    assert_eq!(updated["properties"]["status"], "assigned");
    assert_eq!(updated["properties"]["assignee"], "Gatuavdelningen");

    // Closing the walk stops submissions.
    let id = a["id"].as_str().unwrap();
    let closed = app
        .post_json(
            &format!("/api/v1/walks/{id}/close"),
            Some(&app.admin),
            &json!({}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    problem(
        app.post_json("/api/v1/observations", Some(&participant), &finding)
            .await,
        409,
    )
    .await;
    problem(
        app.post_json("/api/v1/walks/join", None, &json!({"code": code}))
            .await,
        409,
    )
    .await;
}

/// Anonymous reports are limited per address and minute, and reach back a
/// month at most (by default): a report made up for a past month would
/// let an outsider pad a cell and probe who else reported there then.
#[tokio::test]
async fn anonymous_submissions_are_rate_limited_and_reach_back_a_month() {
    let args = ServerArgs {
        anonymous_per_minute: 4,
        ..ServerArgs::default()
    };
    let app = spawn_app_with(args).await;
    let mut old = report(17.62, 59.19);
    old["properties"]["observed_at"] = days_ago(32).into();
    let refused = problem(app.post_json("/api/v1/observations", None, &old).await, 422).await;
    assert_eq!(refused["errors"][0]["field"], "observed_at", "{refused}");
    assert!(
        refused["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("31 days"),
        "{refused}"
    );
    for i in 0..3 {
        let mut recent = report(17.62 + f64::from(i) * 0.001, 59.19);
        recent["properties"]["observed_at"] = days_ago(30).into();
        let resp = app.post_json("/api/v1/observations", None, &recent).await;
        assert_eq!(resp.status(), 201);
    }
    let limited = app
        .post_json("/api/v1/observations", None, &report(17.63, 59.19))
        .await;
    assert!(limited.headers().contains_key("retry-after"));
    problem(limited, 429).await;
    // Staff are held to neither: an analyst records an old report.
    let resp = app
        .post_json("/api/v1/observations", Some(&app.analyst), &old)
        .await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/observations",
        "/api/v1/observations/import",
        "/api/v1/observations/nearby",
        "/api/v1/observations/{id}",
        "/api/v1/observations/{id}/status",
        "/api/v1/hexagons",
        "/api/v1/walks",
        "/api/v1/walks/join",
        "/api/v1/walks/{id}",
        "/api/v1/walks/{id}/close",
        "/api/v1/areas",
        "/api/v1/areas/{id}",
        "/api/v1/tokens",
        "/api/v1/auth/login",
        "/api/v1/taxonomy",
        "/health",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    app.get("/health", None).await;
    problem(app.get("/metrics", None).await, 401).await;
    problem(app.get("/metrics", Some(&app.analyst)).await, 403).await;
    let metrics = app
        .get("/metrics", Some(&app.admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("trygg_http_requests_total"), "{metrics}");
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn admins_manage_areas_and_tokens_and_users_log_in() {
    let app = spawn_app().await;
    let area = json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[17.62, 59.19], [17.63, 59.19], [17.63, 59.20], [17.62, 59.19]]]},
        "properties": {"name": "Torget", "type": "custom"}
    });
    let put = |token: &str| {
        app.client
            .put(app.url("/api/v1/areas/torget"))
            .bearer_auth(token)
            .header("content-type", "application/geo+json")
            .body(area.to_string())
            .send()
    };
    problem(put(&app.analyst).await.unwrap(), 403).await;
    assert_eq!(put(&app.admin).await.unwrap().status(), 200);
    let areas: Value = app.get("/api/v1/areas", None).await.json().await.unwrap();
    assert!(
        areas["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "torget")
    );
    app.post_json("/api/v1/observations", None, &report(17.628, 59.193))
        .await;
    let inside: Value = app
        .get("/api/v1/hexagons?area=torget", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inside["features"].as_array().unwrap().len(), 1);

    let t: Value = app
        .post_json(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"role": "partner", "organisation": "Securitas"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = t["token"].as_str().unwrap();
    let mut place = report(17.6261, 59.1955);
    place["properties"]["kind"] = json!("place_observation");
    place["properties"]["category"] = json!("fire");
    let stored: Value = app
        .post_json("/api/v1/observations", Some(token), &place)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["properties"]["organisation"], "Securitas");
    problem(
        app.post_json(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"role": "partner"}),
        )
        .await,
        422,
    )
    .await;

    let hash = trygg::auth::hash_password("a long enough password").unwrap();
    app.store
        .add_user(&trygg::store::UserRecord {
            username: "anna".into(),
            password_hash: hash,
            role: trygg::model::Role::Analyst,
            organisation: None,
            created_at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let bad = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "anna", "password": "wrong"}),
        )
        .await;
    problem(bad, 401).await;
    let ok: Value = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "anna", "password": "a long enough password"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["role"], "analyst");
    let resp = app
        .get("/api/v1/observations", Some(ok["token"].as_str().unwrap()))
        .await;
    assert_eq!(resp.status(), 200);
    // A phone keyboard's trailing space or capital first letter in the
    // user name does not make a correct password fail.
    let typed: Value = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": " Anna ", "password": "a long enough password"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(typed["role"], "analyst", "{typed}");
}

#[tokio::test]
async fn a_cell_breaks_down_by_kind_category_and_month() {
    let app = spawn_app().await;
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    for i in 0..12 {
        let cat = if i < 9 { "dark_area" } else { "litter" };
        writeln!(
            csv,
            "17.6267,59.1917,insecurity,{cat},2026-0{}-10T21:00:00Z",
            1 + i % 2
        )
        .unwrap();
    }
    assert_eq!(app.import_csv(&csv, "").await.status(), 200);
    let hex: Value = app
        .get("/api/v1/hexagons?res=10", None)
        .await
        .json()
        .await
        .unwrap();
    let cell = hex["features"][0]["properties"]["cell"]
        .as_str()
        .unwrap()
        .to_owned();

    let exact: Value = app
        .get(&format!("/api/v1/cells/{cell}"), Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exact["count"], 12);
    assert_eq!(exact["by_category"][0]["code"], "dark_area");
    assert_eq!(exact["by_category"][0]["label"]["sv"], "Mörkt område");
    assert_eq!(exact["by_category"][1]["count"], 3);
    assert_eq!(exact["by_month"].as_array().unwrap().len(), 2);

    let public: Value = app
        .get(&format!("/api/v1/cells/{cell}"), None)
        .await
        .json()
        .await
        .unwrap();
    // Public counts are rounded to a multiple of k = 5 (see `privacy`).
    let rounded = |v: &Value, exact: u64| {
        let n = v.as_u64().unwrap();
        assert!(
            n.is_multiple_of(5) && n.abs_diff(exact) < 5,
            "{exact} shown as {n}"
        );
    };
    rounded(&public["count"], 12);
    rounded(&public["by_category"][0]["count"], 9);
    assert_eq!(
        public["by_category"].as_array().unwrap().len(),
        1,
        "3 < k: left out, as an absent category is"
    );
    let narrow: Value = app
        .get(&format!("/api/v1/cells/{cell}?category=litter"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrow["withheld"], true);
    assert!(narrow["count"].is_null());
    problem(app.get("/api/v1/cells/not-a-cell", None).await, 404).await;
}

#[tokio::test]
async fn hot_spots_rise_where_reports_cluster() {
    let app = spawn_app().await;
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    // A dense cluster at Hovsjö centrum and a thin spread around it.
    for i in 0..60 {
        writeln!(
            csv,
            "{},59.1800,insecurity,dark_area,2026-01-10T21:00:00Z",
            17.5868 + f64::from(i % 3) * 0.0002
        )
        .unwrap();
    }
    for i in 0..20u32 {
        writeln!(
            csv,
            "{},{},insecurity,litter,2026-01-10T21:00:00Z",
            17.578 + f64::from(i % 5) * 0.004,
            59.175 + f64::from(i / 5) * 0.003
        )
        .unwrap();
    }
    assert_eq!(app.import_csv(&csv, "").await.status(), 200);
    let exact: Value = app
        .get("/api/v1/hotspots?area=hovsjo&res=9", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    let features = exact["features"].as_array().unwrap();
    assert!(
        features.len() > 8,
        "every cell of Hovsjö, empty ones included: {}",
        features.len()
    );
    assert!(features.iter().any(|f| f["properties"]["count"] == 0));
    // Over the whole served region (thousands of mostly empty cells) the
    // cluster stands out.
    let whole: Value = app
        .get("/api/v1/hotspots?res=8", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    let hottest = whole["features"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|f| f["properties"]["count"].as_u64().unwrap())
        .unwrap();
    assert_eq!(hottest["properties"]["bin"], 3);
    assert!(hottest["properties"]["count"].as_u64().unwrap() >= 50);
    let total: u64 = features
        .iter()
        .map(|f| f["properties"]["count"].as_u64().unwrap())
        .sum();
    assert!((60..=80).contains(&total), "{total}");

    let public: Value = app
        .get("/api/v1/hotspots?area=hovsjo&res=9&fdr=true", None)
        .await
        .json()
        .await
        .unwrap();
    // The public bins are Gi* over the counts the public sees (those of
    // /hexagons, zero where a cell shows nothing): a cell with 1..k−1
    // observations is exactly an empty cell.
    let shown: Value = app
        .get("/api/v1/hexagons?area=hovsjo&res=9", None)
        .await
        .json()
        .await
        .unwrap();
    let shown: std::collections::HashMap<h3o::CellIndex, u32> = shown["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["cell"].as_str().unwrap().parse().unwrap(),
                u32::try_from(f["properties"]["count"].as_u64().unwrap()).unwrap(),
            )
        })
        .collect();
    let cells: Vec<h3o::CellIndex> = public["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["cell"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut expected = trygg::analysis::gi_star(&cells, &shown, 1);
    trygg::analysis::fdr_bins(&mut expected);
    for (f, e) in public["features"].as_array().unwrap().iter().zip(&expected) {
        assert!(f["properties"].get("z").is_none());
        assert!(
            f["properties"]["count"].is_null(),
            "counts are for /hexagons"
        );
        assert_eq!(f["properties"]["bin"], e.bin, "{f}");
    }
    assert!(
        features
            .iter()
            .any(|f| (1..5).contains(&f["properties"]["count"].as_u64().unwrap())),
        "the area has cells with 1..k−1 observations"
    );
    problem(app.get("/api/v1/hotspots?k=9", None).await, 400).await;
    problem(app.get("/api/v1/hotspots?res=12", None).await, 400).await;
    problem(app.get("/api/v1/hotspots?area=atlantis", None).await, 404).await;
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn an_emerging_hot_spot_is_found_where_reports_start_to_cluster() {
    let app = spawn_app().await;
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    // Twelve months of one report a month at the centre of every
    // resolution-9 cell of Hovsjö (no spatial pattern at all); in the last
    // three months a cluster appears in one cell.
    let hovsjo = trygg::demo::areas()
        .into_iter()
        .find(|a| a.id == "hovsjo")
        .unwrap();
    let cells =
        trygg::analysis::region_cells(&hovsjo.geometry, h3o::Resolution::Nine, 1000).unwrap();
    let cluster = h3o::LatLng::new(59.18, 17.5868)
        .unwrap()
        .to_cell(h3o::Resolution::Nine);
    assert!(cells.contains(&cluster));
    for month in 1..=12u32 {
        for cell in &cells {
            let centre = h3o::LatLng::from(*cell);
            writeln!(
                csv,
                "{},{},insecurity,litter,2025-{month:02}-10T12:00:00Z",
                centre.lng(),
                centre.lat()
            )
            .unwrap();
        }
        if month >= 10 {
            for i in 0..30u32 {
                writeln!(
                    csv,
                    "{},59.1800,insecurity,dark_area,2025-{month:02}-15T21:00:00Z",
                    17.5868 + f64::from(i % 3) * 0.0002
                )
                .unwrap();
            }
        }
    }
    assert_eq!(app.import_csv(&csv, "").await.status(), 200);
    let url =
        "/api/v1/hotspots/emerging?area=hovsjo&res=9&from=2025-01-01&to=2026-01-01&period=month";
    let exact: Value = app.get(url, Some(&app.analyst)).await.json().await.unwrap();
    assert_eq!(exact["periods"].as_array().unwrap().len(), 12);
    assert_eq!(exact["periods"][0], "2025-01");
    let features = exact["features"].as_array().unwrap();
    let hottest = features
        .iter()
        .max_by_key(|f| f["properties"]["count"].as_u64().unwrap())
        .unwrap();
    let props = &hottest["properties"];
    assert_eq!(props["cell"], cluster.to_string());
    assert_eq!(props["category"], "consecutive_hot_spot", "{props}");
    assert!(props["trend_z"].as_f64().unwrap() > 0.0);
    assert_eq!(props["z"].as_array().unwrap().len(), 12);
    // Cells with only the even spread show no pattern; some of the cluster's
    // neighbours share its heat.
    let patterns: std::collections::HashSet<&str> = features
        .iter()
        .map(|f| f["properties"]["category"].as_str().unwrap())
        .collect();
    assert!(patterns.contains("no_pattern"), "{patterns:?}");

    // Quarters: four periods; anonymous callers get no z-scores.
    let quarters: Value = app
        .get(
            "/api/v1/hotspots/emerging?area=hovsjo&res=9&from=2025-01-01&to=2026-01-01&period=quarter",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        quarters["periods"],
        json!(["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"])
    );
    for f in quarters["features"].as_array().unwrap() {
        assert!(f["properties"].get("z").is_none());
        assert!(
            f["properties"]["count"].is_null(),
            "counts are for /hexagons"
        );
        let cell = f["properties"]["cell"].as_str().unwrap();
        let exact = features
            .iter()
            .find(|e| e["properties"]["cell"] == cell)
            .unwrap();
        if (1..5).contains(&exact["properties"]["count"].as_u64().unwrap()) {
            // A cell under k is an empty cell to the public: nothing marks it.
            assert!(f["properties"]["category"].is_string(), "{f}");
        }
    }
    // A `to` inside a period leaves that period out: only whole periods.
    let cut: Value = app
        .get(
            "/api/v1/hotspots/emerging?res=9&area=hovsjo&period=quarter&from=2025-01-01&to=2025-12-15",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cut["periods"], json!(["2025-Q1", "2025-Q2", "2025-Q3"]));
    assert_eq!(cut["standardise"], "cube");
    for bad in [
        "period=week",
        "alpha=0.2",
        "from=2025-06-01&to=2025-06-20",
        "from=2000-01-01&to=2026-01-01",
        "from=yesterday",
        "k=0",
        "standardise=median",
        // A period not over yet has a smaller total, which reads as change.
        "from=2025-01-01&to=2099-01-01",
    ] {
        problem(
            app.get(&format!("/api/v1/hotspots/emerging?{bad}"), None)
                .await,
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn a_broken_import_stores_nothing_even_after_valid_records() {
    let app = spawn_app().await;
    // 40,000 valid features (more than one parse chunk, so some reach the
    // writer) and then the document breaks off.
    let feature = report(17.6261, 59.1955).to_string();
    let mut body = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..40_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&feature);
    }
    let resp = app
        .client
        .post(app.url("/api/v1/observations/import"))
        .bearer_auth(&app.analyst)
        .header("content-type", "application/geo+json")
        .body(body)
        .send()
        .await
        .unwrap();
    problem(resp, 400).await;
    assert_eq!(app.observation_count().await, 0);
    assert_eq!(app.store.count().await.unwrap(), 0);

    // Ids already stored with other content refuse the whole import.
    let mut first = report(17.6261, 59.1955);
    first["id"] = json!("0190f7a4-1c2b-7d3e-8f40-0123456789ab");
    assert_eq!(
        app.post_json("/api/v1/observations", Some(&app.analyst), &first)
            .await
            .status(),
        201
    );
    let mut changed = first.clone();
    changed["properties"]["severity"] = json!(3);
    let fc = json!({"type": "FeatureCollection", "features": [report(17.62, 59.19), changed]});
    let body = problem(
        app.post_json("/api/v1/observations/import", Some(&app.analyst), &fc)
            .await,
        409,
    )
    .await;
    assert_eq!(
        body["conflicting_ids"][0],
        "0190f7a4-1c2b-7d3e-8f40-0123456789ab"
    );
    assert_eq!(app.store.count().await.unwrap(), 1);
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_and_cross_site_writes_are_refused() {
    let args = ServerArgs {
        basemap: "https://tiles.example.se/{z}/{x}/{y}.png".into(),
        anonymous_reach_back_days: 0,
        ..ServerArgs::default()
    };
    let app = spawn_app_with(args).await;
    let page = app.get("/", None).await;
    assert_eq!(page.status(), 200);
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(
        csp.contains("connect-src 'self' https://tiles.example.se;"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        !h.contains_key("set-cookie"),
        "no cookies: credentials are bearer tokens"
    );
    let api = app.get("/api/v1/taxonomy", None).await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");

    // A foreign page making its visitor submit a report is refused...
    let forged = app
        .client
        .post(app.url("/api/v1/observations"))
        .header("content-type", "application/geo+json")
        .header("sec-fetch-site", "cross-site")
        .body(report(17.62, 59.19).to_string())
        .send()
        .await
        .unwrap();
    problem(forged, 403).await;
    let forged = app
        .client
        .post(app.url("/api/v1/observations"))
        .header("content-type", "application/geo+json")
        .header("origin", "https://evil.example")
        .body(report(17.62, 59.19).to_string())
        .send()
        .await
        .unwrap();
    problem(forged, 403).await;
    // ...while Trygg's own pages and API clients with a token may write.
    for (site, token) in [("same-origin", None), ("cross-site", Some(&app.analyst))] {
        let mut req = app
            .client
            .post(app.url("/api/v1/observations"))
            .header("content-type", "application/geo+json")
            .header("sec-fetch-site", site)
            .body(report(17.62, 59.19).to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status(), 201, "{site}");
    }
    assert_eq!(app.observation_count().await, 2);
}

#[tokio::test]
async fn malformed_positions_in_routes_and_areas_are_problems_not_crashes() {
    let app = spawn_app().await;
    let walk = json!({"name": "x", "date": "2026-11-20", "time_of_day": "night",
        "route": {"type": "LineString", "coordinates": [[17.585, 59.179], [17.5]]}});
    problem(
        app.post_json("/api/v1/walks", Some(&app.admin), &walk)
            .await,
        422,
    )
    .await;
    let area = json!({"type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": [[[[17.6, 59.1], [1.1]]]]},
        "properties": {"name": "Trasig", "type": "custom"}});
    let resp = app
        .client
        .put(app.url("/api/v1/areas/trasig"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/geo+json")
        .body(area.to_string())
        .send()
        .await
        .unwrap();
    problem(resp, 422).await;
}

#[tokio::test]
async fn admins_list_and_revoke_tokens() {
    let app = spawn_app().await;
    let issued: Value = app
        .post_json(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"role": "partner", "organisation": "Avarn Security", "label": "EST-flöde"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let (secret, id) = (
        issued["token"].as_str().unwrap().to_owned(),
        issued["id"].as_str().unwrap().to_owned(),
    );
    let listed: Value = app
        .get("/api/v1/tokens", Some(&app.admin))
        .await
        .json()
        .await
        .unwrap();
    let entry = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["label"], "EST-flöde");
    assert_eq!(entry["active"], true);
    assert!(entry.get("token").is_none() && entry.get("hash").is_none());
    // The token works, then is revoked and refused at once.
    let mut place = report(17.6262, 59.1956);
    place["properties"]["kind"] = json!("place_observation");
    place["properties"]["category"] = json!("vandalism");
    assert_eq!(
        app.post_json("/api/v1/observations", Some(&secret), &place)
            .await
            .status(),
        201
    );
    let revoke = |token: String, id: String| {
        let app = &app;
        async move {
            app.client
                .delete(app.url(&format!("/api/v1/tokens/{id}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(revoke(app.analyst.clone(), id.clone()).await, 403);
    assert_eq!(revoke(app.admin.clone(), id.clone()).await, 204);
    let p = problem(
        app.post_json("/api/v1/observations", Some(&secret), &place)
            .await,
        401,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    let listed: Value = app
        .get("/api/v1/tokens", Some(&app.admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["active"] == false)
    );
    assert_eq!(
        revoke(app.admin.clone(), uuid::Uuid::nil().to_string()).await,
        404
    );
    assert_eq!(revoke(app.admin.clone(), "not-a-token".into()).await, 404);
    problem(app.get("/api/v1/tokens", Some(&app.analyst)).await, 403).await;
    problem(
        app.get("/api/v1/tokens?participants=maybe", Some(&app.admin))
            .await,
        400,
    )
    .await;
}

/// Security review: a hole at 1e308 was stored and the area's size came
/// out as 69,922,423 km². Holes are now checked like exterior rings.
#[tokio::test]
async fn area_holes_are_checked_like_exterior_rings() {
    let app = spawn_app().await;
    let put = |rings: Value| {
        let area = json!({"type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": rings},
            "properties": {"name": "Hål", "type": "custom"}});
        app.client
            .put(app.url("/api/v1/areas/hal"))
            .bearer_auth(&app.admin)
            .header("content-type", "application/geo+json")
            .body(area.to_string())
            .send()
    };
    let outer = json!([
        [17.60, 59.18],
        [17.64, 59.18],
        [17.64, 59.21],
        [17.60, 59.21],
        [17.60, 59.18]
    ]);
    let far = json!([
        [1e308, 59.19],
        [17.62, 59.19],
        [17.62, 59.20],
        [1e308, 59.19]
    ]);
    let body = problem(put(json!([outer, far])).await.unwrap(), 422).await;
    assert_eq!(body["errors"][0]["field"], "geometry");
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("interior ring 1"),
        "{body}"
    );
    let areas: Value = app.get("/api/v1/areas", None).await.json().await.unwrap();
    assert!(
        !areas["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "hal")
    );
    let hole = json!([
        [17.61, 59.19],
        [17.62, 59.19],
        [17.62, 59.20],
        [17.61, 59.19]
    ]);
    assert_eq!(put(json!([outer, hole])).await.unwrap().status(), 200);
}

/// Security review: behind a reverse proxy every client shared the proxy's
/// quota. `X-Forwarded-For` now counts, but only from a `--trusted-proxy`.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let post = |app: &common::TestApp, forwarded: &str| {
        app.client
            .post(app.url("/api/v1/observations"))
            .header("content-type", "application/geo+json")
            .header("x-forwarded-for", forwarded)
            .body(report(17.62, 59.19).to_string())
            .send()
    };
    let one_a_minute = ServerArgs {
        anonymous_per_minute: 1,
        anonymous_reach_back_days: 0,
        ..ServerArgs::default()
    };

    // The test client is not a trusted proxy: its header is ignored and
    // both requests share its own quota.
    let app = spawn_app_with(one_a_minute.clone()).await;
    assert_eq!(post(&app, "198.51.100.1").await.unwrap().status(), 201);
    problem(post(&app, "198.51.100.2").await.unwrap(), 429).await;

    let app = spawn_app_with(ServerArgs {
        trusted_proxy: vec!["127.0.0.1".into(), "10.0.0.0/8".into()],
        ..one_a_minute
    })
    .await;
    assert_eq!(post(&app, "198.51.100.1").await.unwrap().status(), 201);
    assert_eq!(
        post(&app, "198.51.100.2, 10.0.0.7").await.unwrap().status(),
        201,
        "the rightmost address that is not a trusted proxy is the client"
    );
    problem(post(&app, "198.51.100.1").await.unwrap(), 429).await;
    // What the client puts in front of its own address changes nothing.
    problem(post(&app, "203.0.113.5, 198.51.100.1").await.unwrap(), 429).await;
}

/// Security review: absolute links copied any `Host` header when
/// `--public-url` was unset.
#[tokio::test]
async fn links_use_only_a_host_that_names_this_server() {
    let app = spawn_app().await;
    let self_link = |host: String| {
        let app = &app;
        async move {
            let ogc: Value = app
                .client
                .get(app.url("/ogc"))
                .header("host", host)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            ogc["links"][0]["href"].as_str().unwrap().to_owned()
        }
    };
    let port = app.addr.port();
    let own = format!("http://{}/ogc", app.addr);
    assert_eq!(self_link("evil.example".into()).await, own);
    assert_eq!(self_link(format!("evil.example:{port}")).await, own);
    assert_eq!(self_link(app.addr.to_string()).await, own);
    assert_eq!(
        self_link(format!("localhost:{port}")).await,
        format!("http://localhost:{port}/ogc")
    );
    let tilejson: Value = app
        .client
        .get(app.url("/tiles/hexagons.json"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        tilejson["tiles"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{}/", app.addr)),
        "{tilejson}"
    );
}

/// Security review: `/static` served all of `web/`, `node_modules` and
/// package files included. Now only what the pages load.
#[tokio::test]
async fn static_serves_only_what_the_pages_load() {
    let app = spawn_app().await;
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut referenced = Vec::new();
    for entry in std::fs::read_dir(&web).unwrap() {
        let path = entry.unwrap().path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("html" | "js")
        ) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("/static/") {
                let rest = &text[i..];
                let end = rest.find(['"', '\'', '`', ')', ' ', '\\']).unwrap();
                // A template (`messages/${code}.json`) is checked below; a
                // bare prefix (the service worker's test) names no file.
                if !rest[..end].contains('$') && !rest[..end].ends_with('/') {
                    referenced.push(rest[..end].to_owned());
                }
            }
        }
    }
    assert!(referenced.len() > 10, "{referenced:?}");
    for path in &referenced {
        assert_eq!(app.get(path, None).await.status(), 200, "{path}");
    }
    // The message files, and nothing else of their directory.
    for code in ["sv", "en", "fi", "ar", "sv-lattlast"] {
        let path = format!("/static/messages/{code}.json");
        assert_eq!(app.get(&path, None).await.status(), 200, "{path}");
    }
    for path in [
        "/static/messages/",
        "/static/messages/sv.json.orig",
        "/static/messages/..%2fpackage.json",
        "/static/messages/%2e%2e.json",
        "/static/messages/x/sv.json",
        "/static/package.json",
        "/static/package-lock.json",
        "/static/README.md",
        "/static/tests/a11y.mjs",
        "/static/tests%2fa11y.mjs",
        "/static/node_modules/maplibre-gl/package.json",
        "/static/%2e%2e/Cargo.toml",
        "/static/.gitignore",
        "/static/missing.js",
        "/static/",
    ] {
        problem(app.get(path, None).await, 404).await;
    }
}

// Regression: dates in year 9999 reached period and date arithmetic that
// panicked (500), at once or on a later read of what was stored.
#[tokio::test]
async fn dates_outside_the_supported_years_are_refused_not_crashed_on() {
    let app = spawn_app().await;
    for (query, field) in [
        ("from=9999-01-01&to=9999-12-31", "to"),
        ("from=2025-01-01&to=9999-12-31", "to"),
        ("from=1899-01-01&to=2025-01-01", "from"),
    ] {
        let p = problem(
            app.get(&format!("/api/v1/hotspots/emerging?{query}"), None)
                .await,
            400,
        )
        .await;
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("{field}:")), "{query}: {p}");
        assert!(detail.contains("1900–2200"), "{query}: {p}");
    }
    for path in [
        "/api/v1/hexagons?from=9999-12-31T23:59:59Z",
        "/api/v1/hexagons?to=10000-01-01",
        "/api/v1/hotspots?to=9999-12-31",
        "/tiles/hexagons/12/2248/1207.mvt?analysis=true&from=9999-01-01",
    ] {
        problem(app.get(path, None).await, 400).await;
    }

    // A walk in year 9999 was stored, and joining it then panicked.
    let p = problem(
        app.post_json(
            "/api/v1/walks",
            Some(&app.admin),
            &json!({"name": "Sent", "date": "9999-12-31", "time_of_day": "day"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "date", "{p}");
    // A token for four billion days overflowed the expiry.
    let p = problem(
        app.post_json(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"role": "analyst", "expires_in_days": u32::MAX}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "expires_in_days", "{p}");
}

/// Whether a JSON Schema admits `null`.
fn allows_null(schema: &Value) -> bool {
    let null_type = |s: &Value| match &s["type"] {
        Value::String(t) => t == "null",
        Value::Array(ts) => ts.iter().any(|t| t == "null"),
        _ => false,
    };
    null_type(schema)
        || ["oneOf", "anyOf"].iter().any(|k| {
            schema[k]
                .as_array()
                .is_some_and(|alts| alts.iter().any(null_type))
        })
}

// Regression: the document and the handlers disagreed — `hours=7` was
// accepted against a pattern without the single-hour form, empty optional
// parameters were refused, the analysis' `period` was required but not
// declared so, and a walk's `route` was declared an object and sent as null.
#[tokio::test]
async fn the_openapi_document_says_what_the_handlers_accept_and_return() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut hours = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "hours" {
                    assert_eq!(
                        p["schema"]["pattern"],
                        trygg::index::HourSet::PATTERN,
                        "{method} {path}"
                    );
                    hours += 1;
                }
            }
        }
    }
    assert!(hours >= 7, "{hours} hours parameters");
    let analysis = &doc["paths"]["/api/v1/areas/{id}/analysis"]["get"]["parameters"];
    let period = analysis
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "period")
        .unwrap();
    assert_eq!(period["required"], true, "{period}");
    assert_eq!(period["schema"]["pattern"], trygg::model::Period::PATTERN);
    let route = &doc["components"]["schemas"]["WalkDoc"]["properties"]["route"];
    assert!(allows_null(route), "{route}");

    // A walk without a route is sent with route null, as now declared.
    let walk: Value = app
        .post_json(
            "/api/v1/walks",
            Some(&app.admin),
            &json!({"name": "Utan rutt", "date": "2026-12-03", "time_of_day": "night"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(walk["route"].is_null(), "{walk}");

    // The single-hour form, and empty optional parameters as if absent.
    for (path, token) in [
        ("/api/v1/hexagons?hours=0", Some(&app.analyst)),
        ("/api/v1/hexagons?hours=23&res=8", Some(&app.analyst)),
        ("/api/v1/hexagons?bbox=&hours=&from=&to=&kind=&res=", None),
        ("/api/v1/hotspots?area=hovsjo&fdr=&k=&res=", None),
        (
            "/api/v1/hotspots/emerging?area=hovsjo&res=7&period=&alpha=&hours=",
            None,
        ),
        ("/api/v1/perception?res=&from=&area=", None),
        (
            "/api/v1/observations?limit=&bbox=&cursor=&walk=",
            Some(&app.analyst),
        ),
        (
            "/api/v1/observations/nearby?lon=17.6&lat=59.19&radius_m=&limit=",
            Some(&app.analyst),
        ),
        (
            "/api/v1/analyses/00000000-0000-0000-0000-000000000000?f=",
            Some(&app.analyst),
        ),
        ("/api/v1/actions?area=", None),
        ("/api/v1/tokens?participants=", Some(&app.admin)),
    ] {
        let resp = app.get(path, token.map(String::as_str)).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!(status == 200 || status == 404, "{path}: {status} {body}");
        if status == 404 {
            assert!(path.starts_with("/api/v1/analyses/"), "{path}: {body}");
        }
    }
    let resp = app
        .import_csv("lon,lat,kind,category,observed_at\n", "?partial=")
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    for bad in ["/api/v1/hexagons?hours=+7", "/api/v1/hexagons?hours=%207"] {
        problem(app.get(bad, None).await, 400).await;
    }
    let p = problem(
        app.get("/api/v1/areas/hovsjo/analysis?period=", Some(&app.analyst))
            .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("required"), "{p}");
}

// Found by tests/schemathesis.sh: `?f=geojson` answered application/geo+json
// where only application/json was declared.
#[tokio::test]
async fn each_format_of_a_stored_analysis_is_declared() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let formats = &doc["paths"]["/api/v1/analyses/{id}"]["get"]["responses"]["200"]["content"];
    for media in [
        "application/json",
        "application/geo+json",
        "text/csv",
        "text/html",
    ] {
        assert!(
            formats.get(media).is_some(),
            "{media} missing from {formats}"
        );
    }
}
