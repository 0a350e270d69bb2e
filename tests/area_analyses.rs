//! Area analyses (områdesanalyser) and the action plan over HTTP: figures
//! checked against data written for the test, stored analyses that do not
//! change afterwards, every export format, roles.

mod common;

use std::fmt::Write as _;

use common::{TestApp, problem, report, spawn_app};
use serde_json::{Value, json};

async fn json_of(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    serde_json::from_str(&body).unwrap()
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    req.send().await.unwrap()
}

/// Hovsjö centrum, inside the (approximate) Hovsjö outline.
const HOVSJO: (f64, f64) = (17.5868, 59.1800);

/// Writes the test's observations: in Hovsjö 12 dark-area reports in
/// 2025-Q3 (8 at 23:00 local time, dark; 4 at 13:00, light), 6 in 2025-Q2,
/// 3 in 2024-Q3, and 10 reports elsewhere in 2025-Q3.
async fn seed(app: &TestApp) {
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    let mut row = |lon: f64, lat: f64, category: &str, at: &str| {
        writeln!(csv, "{lon},{lat},insecurity,{category},{at}").unwrap();
    };
    for i in 0..8 {
        row(
            HOVSJO.0,
            HOVSJO.1,
            "dark_area",
            &format!("2025-08-{:02}T21:00:00Z", i + 1),
        );
    }
    for i in 0..4 {
        row(
            HOVSJO.0,
            HOVSJO.1,
            "litter",
            &format!("2025-07-{:02}T11:00:00Z", i + 1),
        );
    }
    for i in 0..6 {
        row(
            HOVSJO.0,
            HOVSJO.1,
            "dark_area",
            &format!("2025-05-{:02}T21:00:00Z", i + 1),
        );
    }
    for i in 0..3 {
        row(
            HOVSJO.0,
            HOVSJO.1,
            "dark_area",
            &format!("2024-08-{:02}T21:00:00Z", i + 1),
        );
    }
    for i in 0..10 {
        row(
            17.6265,
            59.1955,
            "litter",
            &format!("2025-09-{:02}T10:00:00Z", i + 1),
        );
    }
    let resp = app
        .client
        .post(app.url("/api/v1/observations/import"))
        .bearer_auth(&app.analyst)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

/// Two walk findings in Hovsjö in 2025-Q3; one of them resolved.
async fn seed_findings(app: &TestApp) {
    let walk = json_of(
        app.post_json(
            "/api/v1/walks",
            Some(&app.admin),
            &json!({"name": "Hovsjö höst", "area": "hovsjo", "date": "2025-09-10", "time_of_day": "night",
                    "route": {"type": "LineString", "coordinates": [[17.585, 59.179], [17.589, 59.181]]}}),
        )
        .await,
    )
    .await;
    let mut ids = Vec::new();
    for day in [10, 11] {
        let mut f = report(HOVSJO.0, HOVSJO.1);
        f["properties"]["kind"] = json!("walk_finding");
        f["properties"]["category"] = json!("lighting");
        f["properties"]["walk"] = walk["id"].clone();
        f["properties"]["observed_at"] = json!(format!("2025-09-{day}T19:00:00Z"));
        let stored = json_of(
            app.post_json("/api/v1/observations", Some(&app.analyst), &f)
                .await,
        )
        .await;
        ids.push(stored["id"].as_str().unwrap().to_owned());
    }
    let resp = send(
        app,
        reqwest::Method::PATCH,
        &format!("/api/v1/observations/{}/status", ids[0]),
        Some(&app.analyst),
        Some(&json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_analysis_has_the_figures_of_its_period() {
    let app = spawn_app().await;
    seed(&app).await;
    seed_findings(&app).await;
    let a = json_of(
        app.get(
            "/api/v1/areas/hovsjo/analysis?period=2025-Q3",
            Some(&app.analyst),
        )
        .await,
    )
    .await;
    assert_eq!(a["period"], "2025-Q3");
    assert_eq!(a["area"]["name"], "Hovsjö");
    assert_eq!(a["total"], 14, "{a}");
    assert_eq!(a["by_kind"]["insecurity"], 12);
    assert_eq!(a["by_kind"]["walk_finding"], 2);
    assert_eq!(
        a["by_category"][0],
        json!({"code": "dark_area", "count": 8})
    );
    // 12 of the 24 reports in the municipality that quarter.
    assert_eq!(a["municipality"]["total"], 24);
    assert!(
        (a["municipality"]["share_of_observations"].as_f64().unwrap() - 14.0 / 24.0).abs() < 1e-9
    );
    assert!(
        a["municipality"]["rate_ratio"].as_f64().unwrap() > 10.0,
        "a small, busy area"
    );
    // 2025-Q2: 6 → +133 %; 2024-Q3: 3 → +367 %.
    assert_eq!(a["previous"]["period"], "2025-Q2");
    assert_eq!(a["previous"]["total"], 6);
    assert!((a["previous"]["change_percent"].as_f64().unwrap() - 800.0 / 6.0).abs() < 1e-9);
    assert_eq!(a["year_before"]["period"], "2024-Q3");
    assert_eq!(a["year_before"]["total"], 3);
    // 23:00 in August and 21:00 in September are dark; 13:00 is not.
    assert_eq!(a["darkness"]["dark"], 10, "{}", a["darkness"]);
    assert_eq!(a["top_cells"][0]["count"], 14);
    assert_eq!(a["findings"]["total"], 2);
    assert_eq!(a["findings"]["resolved"], 1);
    assert_eq!(a["findings"]["open"], 1);
    assert!(a["findings"]["median_days_to_resolve"].as_f64().unwrap() > 0.0);
    assert!(
        a["hot_spots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["bin"].as_i64().unwrap() > 0),
        "the busy cell is a hot spot: {}",
        a["hot_spots"]
    );
    // Restricted to a category.
    let dark = json_of(
        app.get(
            "/api/v1/areas/hovsjo/analysis?period=2025-Q3&category=dark_area",
            Some(&app.analyst),
        )
        .await,
    )
    .await;
    assert_eq!(dark["total"], 8);

    problem(
        app.get("/api/v1/areas/hovsjo/analysis?period=2025-Q3", None)
            .await,
        401,
    )
    .await;
    problem(
        app.get(
            "/api/v1/areas/hovsjo/analysis?period=2025-Q3",
            Some(&app.partner),
        )
        .await,
        403,
    )
    .await;
    for bad in [
        "",
        "?period=2025-Q5",
        "?period=Q3",
        "?period=2025-Q3&kind=crime",
    ] {
        problem(
            app.get(
                &format!("/api/v1/areas/hovsjo/analysis{bad}"),
                Some(&app.analyst),
            )
            .await,
            400,
        )
        .await;
    }
    problem(
        app.get(
            "/api/v1/areas/atlantis/analysis?period=2025-Q3",
            Some(&app.analyst),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn a_stored_analysis_stays_as_it_was_in_every_format() {
    let app = spawn_app().await;
    seed(&app).await;
    let stored = json_of(
        app.post_json(
            "/api/v1/areas/hovsjo/analyses",
            Some(&app.analyst),
            &json!({"period": "2025-Q3"}),
        )
        .await,
    )
    .await;
    let id = stored["id"].as_str().unwrap().to_owned();
    assert_eq!(stored["total"], 12);

    // New data for that quarter changes the live analysis, not the stored one.
    let mut late = report(HOVSJO.0, HOVSJO.1);
    late["properties"]["observed_at"] = json!("2025-09-30T12:00:00Z");
    json_of(
        app.post_json("/api/v1/observations", Some(&app.analyst), &late)
            .await,
    )
    .await;
    let live = json_of(
        app.get(
            "/api/v1/areas/hovsjo/analysis?period=2025-Q3",
            Some(&app.analyst),
        )
        .await,
    )
    .await;
    assert_eq!(live["total"], 13);
    let kept = json_of(
        app.get(&format!("/api/v1/analyses/{id}"), Some(&app.analyst))
            .await,
    )
    .await;
    assert_eq!(kept["analysis"]["total"], 12);
    assert_eq!(kept["analysis"]["period"], "2025-Q3");

    let list = json_of(
        app.get("/api/v1/areas/hovsjo/analyses", Some(&app.analyst))
            .await,
    )
    .await;
    assert_eq!(list["analyses"].as_array().unwrap().len(), 1);
    assert_eq!(list["analyses"][0]["id"], id.as_str());

    let geo = json_of(
        app.get(
            &format!("/api/v1/analyses/{id}?f=geojson"),
            Some(&app.analyst),
        )
        .await,
    )
    .await;
    assert_eq!(geo["type"], "FeatureCollection");
    assert_eq!(geo["features"][0]["properties"]["role"], "area");
    assert_eq!(geo["features"][0]["geometry"]["type"], "MultiPolygon");
    assert!(
        geo["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["role"] == "top_cell")
    );

    let csv = app
        .get(&format!("/api/v1/analyses/{id}?f=csv"), Some(&app.analyst))
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("field,value\n"), "{csv}");
    assert!(csv.lines().any(|l| l == "total,12"), "{csv}");
    assert!(csv.lines().any(|l| l == "by_kind.insecurity,12"), "{csv}");

    let html = app
        .get(&format!("/api/v1/analyses/{id}?f=html"), Some(&app.analyst))
        .await;
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = html.text().await.unwrap();
    assert!(html.contains("Områdesanalys") && html.contains("Hovsjö") && html.contains("<svg"));
    assert!(html.contains("2025-Q3"));
    // Made for people: a local time, a print button, the id only in small print.
    assert!(
        html.contains(" kl. ") && html.contains("id=\"print\""),
        "{html}"
    );
    assert!(!html.contains(&format!("analys {id}")));

    problem(
        app.get(&format!("/api/v1/analyses/{id}?f=pdf"), Some(&app.analyst))
            .await,
        400,
    )
    .await;
    problem(
        app.get("/api/v1/analyses/not-an-id", Some(&app.analyst))
            .await,
        404,
    )
    .await;
    problem(app.get(&format!("/api/v1/analyses/{id}"), None).await, 401).await;
    let bad = app
        .post_json(
            "/api/v1/areas/hovsjo/analyses",
            Some(&app.analyst),
            &json!({"period": "someday"}),
        )
        .await;
    problem(bad, 422).await;
}

fn lighting_action() -> Value {
    json!({
        "area": "hovsjo",
        "focus": "safe_neighbourhoods",
        "title": "Bättre belysning",
        "purpose": "Öka tryggheten på gångvägarna",
        "goal": "Färre rapporter om mörka platser",
        "responsible": "Samhällsbyggnadskontoret",
        "status": "ongoing",
        "start": "2025-04-01",
        "places": [{"type": "Point", "coordinates": [17.5868, 59.18]}],
        "indicators": [{
            "name": "Rapporter om mörka platser i Hovsjö",
            "kinds": ["insecurity"],
            "categories": ["dark_area"],
            "period": "quarter",
            "baseline": "2025-Q2",
            "target_change_percent": -30
        }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn action_plan_indicators_follow_the_data() {
    let app = spawn_app().await;
    seed(&app).await;
    let put = |token: Option<String>, id: &str, body: Value| {
        let app = &app;
        let id = id.to_owned();
        async move {
            send(
                app,
                reqwest::Method::PUT,
                &format!("/api/v1/actions/{id}"),
                token.as_deref(),
                Some(&body),
            )
            .await
        }
    };
    let stored =
        json_of(put(Some(app.analyst.clone()), "hovsjo-ljus", lighting_action()).await).await;
    assert_eq!(stored["id"], "hovsjo-ljus");

    // In the area analysis: Q3 has 8 dark-area reports against 6 in the
    // baseline Q2; the target is 6 × 0.7 = 4.2, so not on track.
    let a = json_of(
        app.get(
            "/api/v1/areas/hovsjo/analysis?period=2025-Q3",
            Some(&app.analyst),
        )
        .await,
    )
    .await;
    let ind = &a["indicators"][0];
    assert_eq!(ind["action"], "hovsjo-ljus");
    assert_eq!(ind["period"], "2025-Q3");
    assert_eq!(ind["value"], 8);
    assert_eq!(ind["baseline"], 6);
    assert!((ind["target"].as_f64().unwrap() - 4.2).abs() < 1e-9);
    assert_eq!(ind["on_track"], false);
    let series = ind["series"].as_array().unwrap();
    assert_eq!(series.len(), 8);
    assert_eq!(series.last().unwrap()["period"], "2025-Q3");

    // The public list: figures present, counts under k hidden, the rest
    // rounded to a multiple of k.
    let public = json_of(app.get("/api/v1/actions?area=hovsjo", None).await).await;
    let actions = public["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["title"], "Bättre belysning");
    let series = actions[0]["figures"][0]["series"].as_array().unwrap();
    for s in series {
        let v = &s["value"];
        assert!(v.as_u64().unwrap().is_multiple_of(5), "{s}");
    }
    let q3 = series.iter().find(|s| s["period"] == "2025-Q3").unwrap();
    let shown = q3["value"].as_u64().unwrap();
    assert!(shown == 5 || shown == 10, "8 shown as {shown}");
    let baseline = actions[0]["figures"][0]["baseline"].as_u64().unwrap();
    assert!(baseline == 5 || baseline == 10, "6 shown as {baseline}");
    // What follows from the baseline follows from the shown baseline.
    let target = actions[0]["figures"][0]["target"].as_f64().unwrap();
    let expected = if baseline == 5 { 3.5 } else { 7.0 };
    assert!((target - expected).abs() < 1e-9);
    assert!(
        json_of(app.get("/api/v1/actions?area=municipality", None).await).await["actions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Invalid actions name every problem.
    let mut bad = lighting_action();
    bad["area"] = json!("atlantis");
    bad["title"] = json!("");
    bad["indicators"][0]["categories"] = json!(["unicorns"]);
    bad["indicators"][0]["baseline"] = json!("2025-03");
    bad["places"] = json!([{"type": "Point", "coordinates": [500, 59]}]);
    let p = problem(put(Some(app.analyst.clone()), "bad", bad).await, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "area",
        "title",
        "indicators[0].categories",
        "indicators[0].baseline",
        "places[0]",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    problem(
        put(Some(app.partner.clone()), "x", lighting_action()).await,
        403,
    )
    .await;
    problem(put(None, "x", lighting_action()).await, 401).await;

    // Removing.
    let delete = |token: String| {
        let app = &app;
        async move {
            send(
                app,
                reqwest::Method::DELETE,
                "/api/v1/actions/hovsjo-ljus",
                Some(&token),
                None,
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(delete(app.partner.clone()).await, 403);
    assert_eq!(delete(app.admin.clone()).await, 204);
    assert_eq!(delete(app.admin.clone()).await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_are_imported_in_sweref99tm() {
    let app = spawn_app().await;
    // A square around Hovsjö centrum, in SWEREF 99 TM metres.
    let (e, n) = trygg::ingest::sweref99::from_wgs84(17.5868, 59.18);
    let ring: Vec<[f64; 2]> = [
        (-300.0, -300.0),
        (300.0, -300.0),
        (300.0, 300.0),
        (-300.0, 300.0),
        (-300.0, -300.0),
    ]
    .iter()
    .map(|(de, dn)| [e + de, n + dn])
    .collect();
    let feature = |crs: Option<&str>| {
        let mut f = json!({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": "Hovsjö torg", "type": "custom"}
        });
        if let Some(name) = crs {
            f["crs"] = json!({"type": "name", "properties": {"name": name}});
        }
        f
    };
    let put = |path: &str, body: Value| {
        let app = &app;
        let path = path.to_owned();
        async move {
            send(
                app,
                reqwest::Method::PUT,
                &path,
                Some(&app.admin),
                Some(&body),
            )
            .await
        }
    };
    // Without a CRS the metres are refused, with a hint.
    let p = problem(put("/api/v1/areas/torg", feature(None)).await, 422).await;
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("EPSG:3006"),
        "{p}"
    );
    // With ?crs= or with the GeoJSON crs member QGIS writes.
    for (path, body) in [
        ("/api/v1/areas/torg?crs=EPSG:3006", feature(None)),
        (
            "/api/v1/areas/torg2",
            feature(Some("urn:ogc:def:crs:EPSG::3006")),
        ),
    ] {
        let resp = put(path, body).await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    let areas = json_of(app.get("/api/v1/areas", None).await).await;
    let torg = areas["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "torg")
        .unwrap();
    let first = &torg["geometry"]["coordinates"][0][0][0];
    let (lon, lat) = trygg::ingest::sweref99::to_wgs84(e - 300.0, n - 300.0);
    assert!((first[0].as_f64().unwrap() - lon).abs() < 1e-9, "{first}");
    assert!((first[1].as_f64().unwrap() - lat).abs() < 1e-9, "{first}");
    // The area counts what lies in it.
    let mut report = common::report(17.5868, 59.18);
    report["properties"]["observed_at"] = json!("2025-09-01T12:00:00Z");
    json_of(
        app.post_json("/api/v1/observations", Some(&app.analyst), &report)
            .await,
    )
    .await;
    let a = json_of(
        app.get(
            "/api/v1/areas/torg/analysis?period=2025-Q3",
            Some(&app.analyst),
        )
        .await,
    )
    .await;
    assert_eq!(a["total"], 1);
    assert!(
        (a["area"]["km2"].as_f64().unwrap() - 0.36).abs() < 0.01,
        "{}",
        a["area"]["km2"]
    );
    problem(
        put("/api/v1/areas/torg3?crs=EPSG:3857", feature(None)).await,
        422,
    )
    .await;
}

/// The fields a problem names, in order.
fn fields_of(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

// Regression: a baseline of 9999-Q4 was accepted by PUT, after which the
// public `GET /api/v1/actions` answered 500 until the action was deleted;
// analyses of year 9999 panicked likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periods_outside_the_supported_years_are_refused_and_never_break_a_read() {
    let app = spawn_app().await;
    let mut far = lighting_action();
    far["indicators"][0]["baseline"] = json!("9999-Q4");
    far["end"] = json!("9999-12-31");
    let p = problem(
        send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/actions/far",
            Some(&app.analyst),
            Some(&far),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&p), ["end", "indicators[0].baseline"], "{p}");
    assert!(p["detail"].as_str().unwrap().contains("1900–2200"), "{p}");

    // One stored before the check existed still reads back, for everyone.
    let mut legacy: trygg::model::Action = serde_json::from_value(far).unwrap();
    legacy.id = "legacy".into();
    app.store.put_action(&legacy).await.unwrap();
    for token in [None, Some(app.analyst.as_str())] {
        let list = json_of(app.get("/api/v1/actions", token).await).await;
        let figure = &list["actions"][0]["figures"][0];
        assert_eq!(figure["baseline_period"], "9999-Q4", "{list}");
    }

    for period in ["9999-Q4", "1899-12", "0000"] {
        let p = problem(
            app.get(
                &format!("/api/v1/areas/hovsjo/analysis?period={period}"),
                Some(&app.analyst),
            )
            .await,
            400,
        )
        .await;
        assert!(p["detail"].as_str().unwrap().starts_with("period:"), "{p}");
        let p = problem(
            send(
                &app,
                reqwest::Method::POST,
                "/api/v1/areas/hovsjo/analyses",
                Some(&app.analyst),
                Some(&json!({ "period": period })),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&p), ["period"], "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storing_the_same_analysis_twice_keeps_one_and_admins_read_it() {
    let app = spawn_app().await;
    seed(&app).await;
    let quarter = json!({"period": "2025-Q3"});
    let store = || app.post_json("/api/v1/areas/hovsjo/analyses", Some(&app.admin), &quarter);
    // A double click: both at once, then once more.
    let (a, b) = tokio::join!(store(), store());
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "one stored, one found");
    let (a, b) = (json_of(a).await, json_of(b).await);
    assert_eq!(a["id"], b["id"]);
    let again = store().await;
    assert_eq!(again.status(), 200);
    assert_eq!(json_of(again).await["id"], a["id"]);
    // Admins, who may store analyses, may read them; each shows when it was made.
    let list = json_of(
        app.get("/api/v1/areas/hovsjo/analyses", Some(&app.admin))
            .await,
    )
    .await;
    let analyses = list["analyses"].as_array().unwrap();
    assert_eq!(analyses.len(), 1, "{list}");
    assert!(
        analyses[0]["created_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20"))
    );
    let id = a["id"].as_str().unwrap();
    let one = app
        .get(&format!("/api/v1/analyses/{id}"), Some(&app.admin))
        .await;
    assert_eq!(one.status(), 200);
    // New data for the quarter: the next one is stored anew.
    let mut late = report(HOVSJO.0, HOVSJO.1);
    late["properties"]["observed_at"] = json!("2025-09-30T12:00:00Z");
    json_of(
        app.post_json("/api/v1/observations", Some(&app.analyst), &late)
            .await,
    )
    .await;
    let changed = store().await;
    assert_eq!(changed.status(), 201);
    assert_ne!(json_of(changed).await["id"], a["id"]);
}

/// The quarter `n` quarters from the one containing today, e.g. `2026-Q4`.
fn quarter_from_now(n: i32) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let q = today.year() * 4 + (i32::from(u8::from(today.month())) - 1) / 3 + n;
    format!("{}-Q{}", q.div_euclid(4), q.rem_euclid(4) + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn manual_indicators_take_values_entered_by_hand() {
    let app = spawn_app().await;
    let (baseline, last, now) = (
        quarter_from_now(-2),
        quarter_from_now(-1),
        quarter_from_now(0),
    );
    let action = json!({
        "focus": "young_people_and_crime",
        "title": "SSPF",
        "purpose": "Färre unga i kriminalitet",
        "goal": "Fler unga får stöd i tid",
        "responsible": "Socialtjänsten och polisen",
        "status": "ongoing",
        "start": "2025-01-01",
        "indicators": [
            {"name": "Unga med SSPF-insats", "source": "manual", "period": "quarter",
             "baseline": baseline, "target_change_percent": 25},
            {"name": "Otrygghetsrapporter", "kinds": ["insecurity"], "period": "quarter",
             "baseline": baseline, "target_change_percent": -10}
        ]
    });
    let stored = json_of(
        app.put_json("/api/v1/actions/sspf", Some(&app.analyst), &action)
            .await,
    )
    .await;
    // Indicators without an id are given one.
    assert_eq!(stored["indicators"][0]["id"], "indicator-1");
    assert_eq!(stored["indicators"][1]["id"], "indicator-2");
    assert_eq!(stored["indicators"][1]["source"], "counted");

    let value_path =
        |ind: &str, period: &str| format!("/api/v1/actions/sspf/indicators/{ind}/values/{period}");
    // Before anything is entered: gaps, no target, no verdict.
    let plan = json_of(app.get("/api/v1/actions", None).await).await;
    let f = &plan["actions"][0]["figures"][0];
    assert_eq!(f["source"], "manual");
    assert_eq!(f["indicator"], "indicator-1");
    assert_eq!(
        (f["value"].clone(), f["on_track"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(f["series"].as_array().unwrap().len(), 8);
    assert_eq!(f["series"][7]["period"], now.as_str());

    let enter = |ind: &'static str, period: String, body: Value, token: Option<String>| {
        let app = &app;
        let path = value_path(ind, &period);
        async move { app.put_json(&path, token.as_deref(), &body).await }
    };
    let analyst = Some(app.analyst.clone());
    let v = json_of(
        enter(
            "indicator-1",
            baseline.clone(),
            json!({"value": 8, "note": "Från socialtjänsten"}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(v["value"], 8.0);
    assert!(v["entered_by"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(v["entered_at"].as_str().is_some());
    json_of(
        enter(
            "indicator-1",
            last.clone(),
            json!({"value": 9}),
            analyst.clone(),
        )
        .await,
    )
    .await;

    // 9 against a target of 8 × 1.25 = 10: not yet on track.
    let plan = json_of(app.get("/api/v1/actions", None).await).await;
    let f = &plan["actions"][0]["figures"][0];
    assert_eq!(f["period"], last.as_str());
    assert_eq!(f["value"], 9.0);
    assert_eq!(f["baseline"], 8.0);
    assert_eq!(f["target"], 10.0);
    assert_eq!(f["on_track"], false);
    let entered = f["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == baseline.as_str())
        .unwrap();
    assert_eq!(entered["note"], "Från socialtjänsten");
    // The counted indicator beside it is a count of observations.
    assert_eq!(plan["actions"][0]["figures"][1]["source"], "counted");

    // Entering a period again replaces its value: now on track.
    json_of(
        enter(
            "indicator-1",
            last.clone(),
            json!({"value": 10}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    let plan = json_of(app.get("/api/v1/actions", None).await).await;
    assert_eq!(plan["actions"][0]["figures"][0]["value"], 10.0);
    assert_eq!(plan["actions"][0]["figures"][0]["on_track"], true);

    // Refusals, each with the field at fault.
    let refused = |status: u16, resp: reqwest::Response| async move { problem(resp, status).await };
    let p = refused(
        422,
        enter(
            "indicator-2",
            last.clone(),
            json!({"value": 1}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "indicator", "{p}");
    let p = refused(
        422,
        enter(
            "indicator-1",
            "2026-05".into(),
            json!({"value": 1}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "period", "{p}");
    let p = refused(
        422,
        enter(
            "indicator-1",
            quarter_from_now(1),
            json!({"value": 1}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "period", "{p}");
    refused(
        422,
        enter(
            "indicator-1",
            "9999-Q1".into(),
            json!({"value": 1}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    refused(
        422,
        enter(
            "indicator-1",
            last.clone(),
            json!({"value": "many"}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    refused(
        422,
        enter(
            "indicator-1",
            last.clone(),
            json!({"value": 1, "who": "me"}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    refused(
        404,
        enter(
            "indicator-9",
            last.clone(),
            json!({"value": 1}),
            analyst.clone(),
        )
        .await,
    )
    .await;
    refused(
        401,
        enter("indicator-1", last.clone(), json!({"value": 1}), None).await,
    )
    .await;
    refused(
        403,
        enter(
            "indicator-1",
            last.clone(),
            json!({"value": 1}),
            Some(app.partner.clone()),
        )
        .await,
    )
    .await;
    let missing = app
        .put_json(
            "/api/v1/actions/nosuch/indicators/indicator-1/values/2025-Q1",
            analyst.as_deref(),
            &json!({"value": 1}),
        )
        .await;
    refused(404, missing).await;
    // A manual indicator filters no observations.
    let mut bad = action.clone();
    bad["indicators"][0]["kinds"] = json!(["insecurity"]);
    let p = refused(
        422,
        app.put_json("/api/v1/actions/sspf", analyst.as_deref(), &bad)
            .await,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "indicators[0].source", "{p}");

    // Editing the action keeps the ids, so the values stay with it.
    let mut edited = stored.clone();
    edited["title"] = json!("SSPF i hela kommunen");
    json_of(
        app.put_json("/api/v1/actions/sspf", analyst.as_deref(), &edited)
            .await,
    )
    .await;
    let plan = json_of(app.get("/api/v1/actions", None).await).await;
    assert_eq!(plan["actions"][0]["figures"][0]["value"], 10.0);

    // Removing a value, then the action with the rest.
    let delete = |path: String, token: String| {
        let app = &app;
        async move {
            send(app, reqwest::Method::DELETE, &path, Some(&token), None)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        delete(value_path("indicator-1", &last), app.partner.clone()).await,
        403
    );
    assert_eq!(
        delete(value_path("indicator-1", &last), app.admin.clone()).await,
        204
    );
    assert_eq!(
        delete(value_path("indicator-1", &last), app.admin.clone()).await,
        404
    );
    let plan = json_of(app.get("/api/v1/actions", None).await).await;
    assert_eq!(
        plan["actions"][0]["figures"][0]["period"],
        baseline.as_str()
    );
    assert_eq!(
        delete("/api/v1/actions/sspf".into(), app.admin.clone()).await,
        204
    );
    // Made again, the action starts without the old values.
    json_of(
        app.put_json("/api/v1/actions/sspf", analyst.as_deref(), &action)
            .await,
    )
    .await;
    let plan = json_of(app.get("/api/v1/actions", None).await).await;
    assert_eq!(plan["actions"][0]["figures"][0]["baseline"], Value::Null);
}
