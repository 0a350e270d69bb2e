//! An outsider's attacks on the public answers, against a real server: with
//! only public endpoints and a few reports of its own, it must not learn
//! where a single report lies or any count of 1 to k−1 (see
//! `src/privacy.rs`). Each test also runs the attack as an analyst, who
//! does see exact data, to show that the attack would find what it looks
//! for if the protection were missing.

mod common;

use std::fmt::Write as _;

use common::{TestApp, spawn_app};
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::Value;

/// Background data far from the targets: a cluster of reports and
/// incidents, so that the public answers are not trivially empty.
async fn with_background() -> TestApp {
    let app = spawn_app().await;
    let mut csv = String::from("lon,lat,kind,category,observed_at,organisation\n");
    for i in 0..900u32 {
        let lon = 17.60 + f64::from(i % 30) * 0.0013;
        let lat = 59.18 + f64::from(i / 30) * 0.0009;
        let (kind, cat, org) = match i % 4 {
            0 | 2 => ("insecurity", "dark_area", ""),
            1 => ("place_observation", "vandalism", "Telge Bostäder"),
            _ => ("place_observation", "fire", "Telge Bostäder"),
        };
        writeln!(
            csv,
            "{lon},{lat},{kind},{cat},2025-{:02}-{:02}T{:02}:00:00Z,{org}",
            1 + i % 12,
            1 + i % 28,
            i % 24
        )
        .unwrap();
    }
    let resp = app.import_csv(&csv, "").await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{}", &text[..text.len().min(500)]);
    app
}

/// A report at `(lon, lat)` as a resident sends it.
async fn report_at(app: &TestApp, lon: f64, lat: f64) {
    let resp = app
        .post_json("/api/v1/observations", None, &common::report(lon, lat))
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

async fn body(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String) {
    let resp = app.get(path, token).await;
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// The victim's report lies a few metres from the centre of a
/// resolution-12 cell, where no cell of resolution 5–12 has its centre on
/// the victim's longitude; the attacker's four padding reports lie two
/// metres further east in the same resolution-12 cell.
fn victim_and_padding() -> ((f64, f64), (f64, f64)) {
    let centre = LatLng::new(59.0500, 17.4000)
        .unwrap()
        .to_cell(Resolution::Twelve);
    let c = LatLng::from(centre);
    let victim = (c.lng() - 0.00003, c.lat() + 0.00001);
    let padding = (victim.0 + 0.00004, victim.1);
    for res in 5..=12u8 {
        let r = Resolution::try_from(res).unwrap();
        let at = |p: (f64, f64)| LatLng::new(p.1, p.0).unwrap().to_cell(r);
        assert_eq!(at(victim), at(padding), "same cell at {res}");
        let centre_lon = LatLng::from(at(victim)).lng();
        assert!(
            (centre_lon - victim.0).abs() > 2e-6,
            "a centre on the edge at {res}"
        );
    }
    (victim, padding)
}

/// Binary search on a bounding box's west edge: the answer for an edge just
/// west of the victim against one just east of it. Public answers must not
/// tell them apart at any resolution, through `/api/v1/hexagons` or the OGC
/// items of the hexagon collection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounding_box_edge_cannot_find_a_single_report() {
    let app = with_background().await;
    let (victim, padding) = victim_and_padding();
    report_at(&app, victim.0, victim.1).await;
    for _ in 0..4 {
        report_at(&app, padding.0, padding.1).await;
    }
    let (s, n, e) = (victim.1 - 0.05, victim.1 + 0.05, victim.0 + 0.05);
    let mut analyst_told = 0;
    for res in 5..=12u8 {
        for route in ["/api/v1/hexagons", "/ogc/collections/hexagons/items"] {
            let ask = |west: f64, token: Option<String>| {
                let app = &app;
                let path = format!("{route}?res={res}&bbox={west},{s},{e},{n}");
                async move { body(app, &path, token.as_deref()).await }
            };
            let west_of = ask(victim.0 - 1e-6, None).await;
            let east_of = ask(victim.0 + 1e-6, None).await;
            // Resolution 12 is for analysts only.
            let expected = if res == 12 { 400 } else { 200 };
            assert_eq!(west_of.0, expected, "{route} {res}: {}", west_of.1);
            assert_eq!(
                without_links(&west_of.1),
                without_links(&east_of.1),
                "{route} at resolution {res}: the public answer moves with one report"
            );
            let analyst = Some(app.analyst.clone());
            if ask(victim.0 - 1e-6, analyst.clone()).await != ask(victim.0 + 1e-6, analyst).await {
                analyst_told += 1;
            }
        }
    }
    assert_eq!(analyst_told, 16, "exact answers do move with the report");
}

/// OGC pages carry links with the request's own query; only the data counts.
fn without_links(body: &str) -> Value {
    let mut v: Value = serde_json::from_str(body).unwrap();
    if let Some(o) = v.as_object_mut() {
        for key in ["links", "timeStamp"] {
            o.remove(key);
        }
    }
    v
}

/// One report in a place with no other reports near: every public answer
/// is byte for byte what it was — no marker says "a few here", no score
/// moves, no tile validator changes, no cache header tells.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_report_changes_no_public_answer() {
    let app = with_background().await;
    let (victim, _) = victim_and_padding();
    let mut paths: Vec<String> = vec![
        "/api/v1/hotspots?res=8".into(),
        "/api/v1/hotspots?res=9&k=2&fdr=true".into(),
        "/api/v1/hotspots/emerging?res=8&period=quarter&from=2025-01-01&to=2026-07-01".into(),
        "/api/v1/perception?res=8".into(),
        "/api/v1/perception?res=10".into(),
        "/ogc/collections/hexagons/items?res=9&limit=1000".into(),
    ];
    for res in 5..=12u8 {
        let r = Resolution::try_from(res).unwrap();
        let cell: CellIndex = LatLng::new(victim.1, victim.0).unwrap().to_cell(r);
        paths.push(format!("/api/v1/hexagons?res={res}"));
        paths.push(format!("/api/v1/cells/{cell}"));
        paths.push(format!("/api/v1/cells/{cell}?kind=insecurity"));
    }
    let tiles: Vec<String> = [9u8, 12, 14, 16]
        .into_iter()
        .flat_map(|z| {
            let t = trygg::tiles::TileId::containing(victim.0, victim.1, z);
            [
                format!("/tiles/hexagons/{t}.mvt"),
                format!("/tiles/hexagons/{t}.mvt?res=12"),
                format!("/tiles/hexagons/{t}.mvt?analysis=true"),
            ]
        })
        .collect();
    let snapshot = |token: Option<String>| {
        let (app, paths, tiles) = (&app, &paths, &tiles);
        async move {
            let mut out = Vec::new();
            for p in paths {
                let text = body(app, p, token.as_deref()).await.1;
                out.push((p.clone(), without_links(&text).to_string()));
            }
            for p in tiles {
                let resp = app.get(p, token.as_deref()).await;
                let h = resp.headers().clone();
                if token.is_none() {
                    assert!(h.get("x-tile-cache").is_none(), "{p}");
                }
                let etag = h.get("etag").map(|v| v.to_str().unwrap().to_owned());
                let bytes = resp.bytes().await.unwrap();
                out.push((p.clone(), format!("{etag:?} {bytes:?}")));
            }
            out
        }
    };
    let before = snapshot(None).await;
    let analyst_before = snapshot(Some(app.analyst.clone())).await;
    report_at(&app, victim.0, victim.1).await;
    let after = snapshot(None).await;
    for ((path, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{path}: the public answer tells of one report");
    }
    let analyst_after = snapshot(Some(app.analyst.clone())).await;
    let moved = analyst_before
        .iter()
        .zip(&analyst_after)
        .filter(|(a, b)| a != b)
        .count();
    assert!(moved >= 20, "exact answers do tell ({moved} moved)");
}

/// The perception score is computed from the counts shown: solving it for
/// the counts gives nothing the counts do not say already.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perception_scores_follow_from_the_shown_counts() {
    let app = with_background().await;
    let (victim, _) = victim_and_padding();
    // A few cells with small counts, withheld from the public.
    for i in 0..3 {
        report_at(&app, victim.0 + f64::from(i) * 0.01, victim.1).await;
    }
    for res in [8u8, 9, 10] {
        let (status, text) = body(&app, &format!("/api/v1/perception?res={res}"), None).await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let features = v["features"].as_array().unwrap();
        let counts: Vec<(f64, f64)> = features
            .iter()
            .map(|f| {
                let n = |k: &str| f["properties"][k].as_f64().unwrap();
                (n("insecurity"), n("incidents"))
            })
            .collect();
        for (a, b) in &counts {
            assert!(a % 5.0 == 0.0 && b % 5.0 == 0.0 && a + b > 0.0, "{a} {b}");
        }
        let a_total: f64 = counts.iter().map(|c| c.0).sum();
        let pi = a_total / counts.iter().map(|c| c.0 + c.1).sum::<f64>();
        for (f, (a, b)) in features.iter().zip(&counts) {
            let n = a + b;
            let variance = n * pi * (1.0 - pi);
            let z = if variance > 0.0 {
                (a - n * pi) / variance.sqrt()
            } else {
                0.0
            };
            let shown = f["properties"]["z"].as_f64().unwrap();
            assert!(
                (shown - z).abs() < 1e-9,
                "res {res}: z {shown}, from the counts {z}"
            );
        }
    }
}

/// A raw read through the OGC API is audited like every other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ogc_item_read_is_audited() {
    let app = spawn_app().await;
    let resp = app
        .post_json(
            "/api/v1/observations",
            None,
            &common::report(17.6267, 59.1917),
        )
        .await;
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/ogc/collections/observations/items/{id}");
    common::problem(app.get(&path, None).await, 401).await;
    let before = app.store.recent_audit(100).await.unwrap().len();
    let resp = app.get(&path, Some(&app.analyst)).await;
    assert_eq!(resp.status(), 200);
    let audit = app.store.recent_audit(100).await.unwrap();
    assert_eq!(audit.len(), before + 1);
    assert!(
        audit
            .iter()
            .any(|e| e.action == "ogc.observation" && e.detail == id),
        "{audit:?}"
    );
}

/// Moving a time edge one second across a report: the public answer must
/// not flip (times are taken to whole months for the public), while the
/// analyst's does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_edge_cannot_find_a_single_report() {
    let app = with_background().await;
    let (victim, padding) = victim_and_padding();
    let mut victim_report = common::report(victim.0, victim.1);
    victim_report["properties"]["observed_at"] = "2026-01-15T21:30:00+01:00".into();
    let resp = app
        .post_json("/api/v1/observations", None, &victim_report)
        .await;
    assert_eq!(resp.status(), 201);
    for day in 1..=4 {
        let mut pad = common::report(padding.0, padding.1);
        pad["properties"]["observed_at"] = format!("2026-01-0{day}T12:00:00+01:00").into();
        let resp = app.post_json("/api/v1/observations", None, &pad).await;
        assert_eq!(resp.status(), 201);
    }
    let cell = LatLng::new(victim.1, victim.0)
        .unwrap()
        .to_cell(Resolution::Eleven);
    let tile = trygg::tiles::TileId::containing(victim.0, victim.1, 15);
    let (before, after) = ("2026-01-15T20:30:00Z", "2026-01-15T20:30:01Z");
    let mut analyst_told = 0;
    for path in [
        format!("/api/v1/cells/{cell}?to="),
        "/api/v1/hexagons?res=11&to=".to_owned(),
        "/ogc/collections/hexagons/items?res=11&to=".to_owned(),
        format!("/tiles/hexagons/{tile}.mvt?res=11&to="),
        format!("/api/v1/cells/{cell}?category=dark_area&hours=18-24&from=2026-01-01&to="),
    ] {
        let ask = |edge: &str, token: Option<String>| {
            let (app, path) = (&app, format!("{path}{edge}"));
            async move {
                let resp = app.get(&path, token.as_deref()).await;
                let status = resp.status().as_u16();
                let etag = resp.headers().get("etag").cloned();
                let bytes = resp.bytes().await.unwrap();
                let body = serde_json::from_slice::<Value>(&bytes).map_or_else(
                    |_| format!("{bytes:?}"),
                    |v| without_links(&v.to_string()).to_string(),
                );
                (status, etag, body)
            }
        };
        let (a, b) = (ask(before, None).await, ask(after, None).await);
        assert_eq!(a, b, "{path}: a one-second step of the edge shows");
        if ask(before, Some(app.analyst.clone())).await
            != ask(after, Some(app.analyst.clone())).await
        {
            analyst_told += 1;
        }
    }
    assert!(analyst_told >= 3, "exact answers do move ({analyst_told})");
}

/// The attack that a whole-day edge still allowed: a window's end moved a
/// day at a time shows, by when a count of a few changes, the days on
/// which reports were made (and an hour range moved an hour at a time, the
/// hour). Public windows are whole months and times of day one of a few
/// periods, so the answers within a month are all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_moved_a_day_or_an_hour_at_a_time_tells_nothing() {
    let app = with_background().await;
    let (victim, _) = victim_and_padding();
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    for day in [3, 10, 17, 24, 28] {
        writeln!(
            csv,
            "{},{},insecurity,dark_area,2025-03-{day:02}T20:00:00+01:00",
            victim.0, victim.1
        )
        .unwrap();
    }
    let resp = app.import_csv(&csv, "").await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let cell = LatLng::new(victim.1, victim.0)
        .unwrap()
        .to_cell(Resolution::Nine);
    let (mut public, mut exact) = (Vec::new(), Vec::new());
    for day in 2..=31 {
        let path = format!("/api/v1/cells/{cell}?from=2025-03-01&to=2025-03-{day:02}");
        let (status, text) = body(&app, &path, None).await;
        assert_eq!(status, 200, "{path}: {text}");
        public.push(without_links(&text));
        exact.push(body(&app, &path, Some(&app.analyst)).await.1);
    }
    public.dedup();
    exact.dedup();
    assert_eq!(
        public.len(),
        1,
        "a public answer moved within the month: {public:?}"
    );
    assert!(
        exact.len() >= 5,
        "exact answers step on each report day ({})",
        exact.len()
    );
    // An hour at a time is refused; the periods on the map are answered.
    let (status, text) = body(&app, &format!("/api/v1/cells/{cell}?hours=19-20"), None).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("6-18, 18-24, 22-6, 18-6"), "{text}");
    for hours in ["6-18", "18-24", "22-6", "18-6", "0-24"] {
        let (status, text) = body(&app, &format!("/api/v1/cells/{cell}?hours={hours}"), None).await;
        assert_eq!(status, 200, "{hours}: {text}");
    }
    let (status, _) = body(
        &app,
        &format!("/api/v1/cells/{cell}?hours=19-20"),
        Some(&app.analyst),
    )
    .await;
    assert_eq!(status, 200, "analysts choose any hours");
}

/// A cell asked for by itself counts what the list of cells counts for it,
/// so the two cannot be differenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_alone_and_in_the_list_agree() {
    let app = with_background().await;
    for res in 5..=12u8 {
        let list: Value = app
            .get(&format!("/api/v1/hexagons?res={res}"), Some(&app.analyst))
            .await
            .json()
            .await
            .unwrap();
        for f in list["features"].as_array().unwrap() {
            let cell = f["properties"]["cell"].as_str().unwrap();
            let alone: Value = app
                .get(&format!("/api/v1/cells/{cell}"), Some(&app.analyst))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(alone["count"], f["properties"]["count"], "{cell}");
        }
    }
    // The finest cells are for analysts only.
    common::problem(app.get("/api/v1/hexagons?res=12", None).await, 400).await;
    common::problem(app.get("/api/v1/cells/8c0886450a8b7ff", None).await, 400).await;
}

/// Two categories or kinds of 1..k−1 each, asked for together, must not
/// show a count: category lists are for analysts, and a public total is the
/// sum of its kinds as shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one attack, step by step")]
async fn small_parts_asked_for_together_show_nothing() {
    let app = with_background().await;
    let (victim, _) = victim_and_padding();
    let mut csv = String::from("lon,lat,kind,category,observed_at,organisation\n");
    for (i, (kind, cat, org)) in [
        ("insecurity", "dark_area", ""),
        ("insecurity", "dark_area", ""),
        ("insecurity", "dark_area", ""),
        ("place_observation", "vandalism", "Telge Bostäder"),
        ("place_observation", "vandalism", "Telge Bostäder"),
        ("place_observation", "fire", "Telge Bostäder"),
    ]
    .into_iter()
    .enumerate()
    {
        writeln!(
            csv,
            "{},{},{kind},{cat},2026-02-0{}T12:00:00Z,{org}",
            victim.0,
            victim.1,
            i + 1
        )
        .unwrap();
    }
    let resp = app.import_csv(&csv, "").await;
    assert_eq!(resp.status(), 200);
    let cell = LatLng::new(victim.1, victim.0)
        .unwrap()
        .to_cell(Resolution::Eleven);
    for q in [
        "",
        "?kind=insecurity,place_observation",
        "?kind=insecurity",
        "?kind=place_observation",
    ] {
        let v: Value = app
            .get(&format!("/api/v1/cells/{cell}{q}"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["withheld"], true, "{q}: {v}");
        let analyst: Value = app
            .get(&format!("/api/v1/cells/{cell}{q}"), Some(&app.analyst))
            .await
            .json()
            .await
            .unwrap();
        assert!(analyst["count"].as_u64().unwrap() >= 2, "{q}: {analyst}");
    }
    common::problem(
        app.get(
            &format!("/api/v1/cells/{cell}?category=vandalism,fire"),
            None,
        )
        .await,
        400,
    )
    .await;
    common::problem(
        app.get("/api/v1/hexagons?res=9&category=vandalism,fire", None)
            .await,
        400,
    )
    .await;
    let analyst = app
        .get(
            &format!("/api/v1/cells/{cell}?category=vandalism,fire"),
            Some(&app.analyst),
        )
        .await;
    assert_eq!(analyst.status(), 200);

    // Perception's incidents are a list of categories too: three of one
    // and three of another show no incidents.
    let there = (victim.0 + 0.01, victim.1);
    let mut csv = String::from("lon,lat,kind,category,observed_at,organisation\n");
    for (i, cat) in [
        "vandalism",
        "vandalism",
        "vandalism",
        "fire",
        "fire",
        "fire",
    ]
    .into_iter()
    .enumerate()
    {
        writeln!(
            csv,
            "{},{},place_observation,{cat},2026-02-0{}T12:00:00Z,Telge Bostäder",
            there.0,
            there.1,
            i + 1
        )
        .unwrap();
    }
    assert_eq!(app.import_csv(&csv, "").await.status(), 200);
    let there_cell = LatLng::new(there.1, there.0)
        .unwrap()
        .to_cell(Resolution::Eleven)
        .to_string();
    let incidents = |body: Value| {
        body["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["cell"] == there_cell.as_str())
            .map_or(0, |f| f["properties"]["incidents"].as_u64().unwrap())
    };
    let public: Value = app
        .get("/api/v1/perception?res=11", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(incidents(public), 0);
    let exact: Value = app
        .get("/api/v1/perception?res=11", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(incidents(exact), 6);
}
