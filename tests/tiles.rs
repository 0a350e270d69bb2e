//! Vector tiles decoded and compared with the GeoJSON API.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;

use common::{TestApp, problem, spawn_app};
use mvt_reader::Reader;
use mvt_reader::feature::Value as MvtValue;
use serde_json::{Value, json};
use trygg::tiles::TileId;

/// 600 observations spread over central Södertälje plus a dense cluster,
/// in two years and at all hours.
async fn seeded() -> TestApp {
    let app = spawn_app().await;
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    for i in 0..600u32 {
        let lon = 17.60 + f64::from(i % 40) * 0.0012;
        let lat = 59.18 + f64::from(i / 40) * 0.0011;
        let (kind, cat) = match i % 3 {
            0 => ("insecurity", "dark_area"),
            1 => ("place_observation", "vandalism"),
            _ => ("insecurity", "litter"),
        };
        writeln!(
            csv,
            "{lon},{lat},{kind},{cat},202{}-0{}-1{}T{:02}:00:00Z",
            5 + i % 2,
            1 + i % 9,
            i % 10,
            i % 24
        )
        .unwrap();
    }
    for i in 0..40u32 {
        writeln!(
            csv,
            "17.6267,59.1917,insecurity,fear_of_robbery,2026-0{}-10T21:00:00Z",
            1 + i % 9
        )
        .unwrap();
    }
    // Place observations need an organisation column.
    let csv = csv.replace(
        "lon,lat,kind,category,observed_at\n",
        "lon,lat,kind,category,observed_at,organisation\n",
    );
    let csv: String = csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                format!("{l},Polisen\n")
            }
        })
        .collect();
    let resp = app.import_csv(&csv, "").await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    app
}

fn decode(bytes: Vec<u8>) -> Vec<(String, HashMap<String, MvtValue>)> {
    let reader = Reader::new(bytes).unwrap();
    let names = reader.get_layer_names().unwrap();
    assert_eq!(names.len(), 1);
    reader
        .get_features(0)
        .unwrap()
        .into_iter()
        .map(|f| {
            let props = f.properties.unwrap_or_default();
            let key = match props.get("cell").or_else(|| props.get("id")) {
                Some(MvtValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            (key, props)
        })
        .collect()
}

fn uint(v: Option<&MvtValue>) -> u64 {
    match v {
        Some(MvtValue::UInt(n)) => *n,
        other => panic!("not a uint: {other:?}"),
    }
}

async fn tile(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    app.get(path, token).await
}

#[tokio::test]
async fn hexagon_tiles_match_the_geojson_api() {
    let app = seeded().await;
    for (z, query) in [
        (12u8, ""),
        (13, "?kind=insecurity&from=2026-01-01"),
        (11, "?hours=18-6&category=dark_area,litter"),
    ] {
        let t = TileId::containing(17.6267, 59.1917, z);
        let resp = tile(
            &app,
            &format!("/tiles/hexagons/{t}.mvt{query}"),
            Some(&app.analyst),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
        let features = decode(resp.bytes().await.unwrap().to_vec());
        assert!(!features.is_empty());

        let res = trygg::tiles::resolution_for_zoom(z);
        let sep = if query.is_empty() { "?" } else { "&" };
        let geo: Value = app
            .get(
                &format!("/api/v1/hexagons{query}{sep}res={}", u8::from(res)),
                Some(&app.analyst),
            )
            .await
            .json()
            .await
            .unwrap();
        let by_cell: HashMap<&str, &Value> = geo["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["properties"]["cell"].as_str().unwrap(), &f["properties"]))
            .collect();
        for (cell, props) in &features {
            let g = by_cell
                .get(cell.as_str())
                .unwrap_or_else(|| panic!("{cell} not in the GeoJSON answer"));
            assert_eq!(
                uint(props.get("count")),
                g["count"].as_u64().unwrap(),
                "{cell} z{z}{query}"
            );
            assert_eq!(
                uint(props.get("insecurity")),
                g["insecurity"].as_u64().unwrap()
            );
        }
        // Every GeoJSON cell whose centre lies in the tile is in the tile.
        let [w, s, e, n] = t.bounds();
        for cell in by_cell.keys() {
            let c: h3o::CellIndex = cell.parse().unwrap();
            let ll = h3o::LatLng::from(c);
            if ll.lng() > w && ll.lng() < e && ll.lat() > s && ll.lat() < n {
                assert!(
                    features.iter().any(|(k, _)| k == cell),
                    "{cell} missing from tile {t}"
                );
            }
        }
    }
}

/// Checks one anonymous count: withheld below k, otherwise a multiple of k
/// (so no difference of two counts can be 1..k−1).
fn assert_public(n: u64, what: &str) {
    assert!(n == 0 || (n >= 5 && n.is_multiple_of(5)), "{what}: {n}");
}

#[tokio::test]
async fn anonymous_tiles_never_show_small_counts() {
    use rand::{RngExt, SeedableRng};
    let app = seeded().await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2025);
    let mut seen = 0;
    // A randomised (but repeatable) sweep over filter combinations and zooms.
    for _ in 0..160 {
        let mut q = Vec::new();
        let kinds = ["insecurity", "place_observation", "walk_finding"];
        if rng.random::<f64>() < 0.5 {
            q.push(format!("kind={}", kinds[rng.random_range(0..kinds.len())]));
        }
        if rng.random::<f64>() < 0.4 {
            let cats = ["dark_area", "litter", "vandalism", "fear_of_robbery"];
            // One category at a time: lists are for analysts.
            q.push(format!(
                "category={}",
                cats[rng.random_range(0..cats.len())]
            ));
        }
        if rng.random::<f64>() < 0.5 {
            q.push(format!(
                "from=202{}-0{}-01",
                5 + rng.random_range(0..2),
                rng.random_range(1..10)
            ));
        }
        if rng.random::<f64>() < 0.3 {
            // After every `from` above.
            q.push(format!("to=2026-{}-15", rng.random_range(10..13)));
        }
        if rng.random::<f64>() < 0.4 {
            // The times of day the public may choose.
            let periods = ["6-18", "18-24", "22-6", "18-6"];
            q.push(format!(
                "hours={}",
                periods[rng.random_range(0..periods.len())]
            ));
        }
        if rng.random::<f64>() < 0.2 {
            q.push(format!("res={}", rng.random_range(5..12)));
        }
        let q = q.join("&");
        let z = rng.random_range(9..=16u8);
        let t = TileId::containing(
            17.60 + rng.random::<f64>() * 0.05,
            59.18 + rng.random::<f64>() * 0.017,
            z,
        );
        let resp = tile(&app, &format!("/tiles/hexagons/{t}.mvt?{q}"), None).await;
        if resp.status() == 204 {
            continue;
        }
        assert_eq!(resp.status(), 200, "{t}?{q}");
        for (cell, props) in decode(resp.bytes().await.unwrap().to_vec()) {
            seen += 1;
            assert!(uint(props.get("count")) >= 5, "{cell} at {t}?{q}");
            assert_public(uint(props.get("count")), &format!("{cell} at {t}?{q}"));
            for kind in kinds {
                if let Some(v) = props.get(kind) {
                    assert_public(uint(Some(v)), &format!("{kind} in {cell} at {t}?{q}"));
                }
            }
        }
    }
    assert!(seen > 100, "the sweep saw only {seen} cells");
}

/// The count `/api/v1/hexagons` gives for one cell (`None`: not shown).
async fn hexagon_count(app: &TestApp, query: &str, cell: &str, token: Option<&str>) -> Option<u64> {
    let body: Value = app
        .get(&format!("/api/v1/hexagons?{query}"), token)
        .await
        .json()
        .await
        .unwrap();
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["cell"] == cell)
        .map(|f| f["properties"]["count"].as_u64().unwrap())
}

#[tokio::test]
async fn small_counts_cannot_be_recovered_by_subtracting_answers() {
    let app = spawn_app().await;
    // One res-10 cell A with 7 reports (5 of one kind, 2 of another) and
    // a neighbour B in the same res-9 parent with 3; one of A's reports is
    // a day later than the others.
    let (lon, lat) = (17.6267, 59.1917);
    let a = h3o::LatLng::new(lat, lon).unwrap();
    let a10 = a.to_cell(h3o::Resolution::Ten);
    let parent = a.to_cell(h3o::Resolution::Nine);
    let b = a10
        .grid_disk::<Vec<_>>(1)
        .into_iter()
        .filter(|c| *c != a10)
        .map(h3o::LatLng::from)
        .find(|b| b.to_cell(h3o::Resolution::Nine) == parent)
        .unwrap();
    let mut csv = String::from("lon,lat,kind,category,observed_at,organisation\n");
    for i in 0..5 {
        let day = if i == 0 { 11 } else { 10 };
        writeln!(
            csv,
            "{lon},{lat},insecurity,dark_area,2026-03-{day}T20:00:00Z,"
        )
        .unwrap();
    }
    for _ in 0..2 {
        writeln!(
            csv,
            "{lon},{lat},place_observation,vandalism,2026-03-10T20:00:00Z,Polisen"
        )
        .unwrap();
    }
    for _ in 0..3 {
        writeln!(
            csv,
            "{},{},insecurity,dark_area,2026-03-10T20:00:00Z,",
            b.lng(),
            b.lat()
        )
        .unwrap();
    }
    let resp = app.import_csv(&csv, "").await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let (a10, parent) = (a10.to_string(), parent.to_string());
    let analyst = Some(app.analyst.as_str());

    // Each pair of questions whose exact answers differ by 1..k−1.
    let pairs = [
        // filtered minus unfiltered: the 2 place observations
        (
            ("res=10", a10.as_str()),
            ("res=10&kind=insecurity", a10.as_str()),
            2,
        ),
        // parent minus child: the 3 reports in B
        (("res=9", parent.as_str()), ("res=10", a10.as_str()), 3),
        // adjacent periods: the one report made a day later
        (
            ("res=10&to=2026-03-12", a10.as_str()),
            ("res=10&to=2026-03-11", a10.as_str()),
            1,
        ),
    ];
    for ((q1, c1), (q2, c2), small) in pairs {
        let exact1 = hexagon_count(&app, q1, c1, analyst).await.unwrap();
        let exact2 = hexagon_count(&app, q2, c2, analyst).await.unwrap();
        assert_eq!(exact1 - exact2, small, "the scenario: {q1} − {q2}");
        let p1 = hexagon_count(&app, q1, c1, None).await.unwrap_or(0);
        let p2 = hexagon_count(&app, q2, c2, None).await.unwrap_or(0);
        assert_public(p1, q1);
        assert_public(p2, q2);
        assert!(
            !(1..5).contains(&p1.abs_diff(p2)),
            "{q1} − {q2} gives {p1} − {p2}"
        );
        // The tile says the same as the GeoJSON.
        let t = TileId::containing(lon, lat, 13);
        let resp = tile(&app, &format!("/tiles/hexagons/{t}.mvt?{q1}"), None).await;
        let shown = decode(resp.bytes().await.unwrap().to_vec())
            .into_iter()
            .find(|(cell, _)| cell == c1)
            .map_or(0, |(_, p)| uint(p.get("count")));
        assert_eq!(shown, p1, "tile {t}?{q1}");
    }
    // The same observations asked for in different ways get the same answer.
    let by_kind = hexagon_count(&app, "res=10&kind=insecurity", &a10, None).await;
    let by_category = hexagon_count(&app, "res=10&category=dark_area", &a10, None).await;
    assert_eq!(by_kind, by_category);
}

#[tokio::test]
async fn tiles_are_cached_compressed_and_validated() {
    let app = seeded().await;
    let t = TileId::containing(17.6267, 59.1917, 12);
    let path = format!("/tiles/hexagons/{t}.mvt");
    let first = tile(&app, &path, None).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    let again = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let gz = app
        .client
        .get(app.url(&path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");

    // New data, new bytes, new validator (exact counts change with one report).
    let before = tile(&app, &path, Some(&app.analyst)).await;
    let analyst_tag = before.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(before.headers()["cache-control"], "private, no-cache");
    app.post_json(
        "/api/v1/observations",
        None,
        &common::report(17.6267, 59.1917),
    )
    .await;
    let after = tile(&app, &path, Some(&app.analyst)).await;
    assert_ne!(after.headers()["etag"].to_str().unwrap(), analyst_tag);

    // Far from any data: an empty tile.
    let empty = TileId::containing(10.0, 50.0, 12);
    assert_eq!(
        tile(&app, &format!("/tiles/hexagons/{empty}.mvt"), None)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn tilejson_describes_every_layer() {
    let app = seeded().await;
    let tj: Value = app
        .get("/tiles/hexagons.json?kind=insecurity", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    let url = tj["tiles"][0].as_str().unwrap();
    assert_eq!(
        url,
        format!(
            "http://{}/tiles/hexagons/{{z}}/{{x}}/{{y}}.mvt?kind=insecurity",
            app.addr
        )
    );
    assert_eq!(tj["vector_layers"][0]["id"], "hexagons");
    assert!(tj["vector_layers"][0]["fields"]["count"].is_string());
    for key in ["minzoom", "maxzoom", "bounds", "center", "attribution"] {
        assert!(!tj[key].is_null(), "{key}");
    }
    let areas: Value = app
        .get("/tiles/areas.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(areas["vector_layers"][0]["id"], "areas");
    problem(app.get("/tiles/observations.json", None).await, 401).await;
    problem(app.get("/tiles/hexagons.json?kind=crime", None).await, 400).await;
    problem(app.get("/tiles/nothing.json", None).await, 404).await;
}

#[tokio::test]
async fn areas_and_points_layers() {
    let app = seeded().await;
    let t = TileId::containing(17.6267, 59.1917, 12);
    let areas = tile(&app, &format!("/tiles/areas/{t}.mvt"), None).await;
    let names: Vec<String> = decode(areas.bytes().await.unwrap().to_vec())
        .into_iter()
        .filter_map(|(_, p)| match p.get("name") {
            Some(MvtValue::String(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert!(names.iter().any(|n| n == "Södertälje centrum"), "{names:?}");

    problem(
        tile(&app, &format!("/tiles/observations/{t}.mvt"), None).await,
        401,
    )
    .await;
    problem(
        tile(
            &app,
            &format!("/tiles/observations/{t}.mvt"),
            Some(&app.partner),
        )
        .await,
        403,
    )
    .await;
    let t16 = TileId::containing(17.6267, 59.1917, 16);
    let points = tile(
        &app,
        &format!("/tiles/observations/{t16}.mvt"),
        Some(&app.analyst),
    )
    .await;
    assert_eq!(points.status(), 200);
    let reader = Reader::new(points.bytes().await.unwrap().to_vec()).unwrap();
    let [w, s, e, n] = t16.bounds();
    let listed: Value = app
        .get(
            &format!("/api/v1/observations?limit=10000&bbox={w},{s},{e},{n}"),
            Some(&app.analyst),
        )
        .await
        .json()
        .await
        .unwrap();
    let in_tile = reader.get_features(0).unwrap().len();
    assert!(in_tile >= 40, "the cluster's points");
    assert_eq!(in_tile, listed["features"].as_array().unwrap().len());

    problem(tile(&app, "/tiles/hexagons/23/0/0.mvt", None).await, 400).await;
    problem(tile(&app, "/tiles/hexagons/2/4/0.mvt", None).await, 400).await;
    problem(tile(&app, "/tiles/hexagons/2/1/1.png", None).await, 404).await;
    problem(tile(&app, "/tiles/roads/2/1/1.mvt", None).await, 404).await;
}

/// The resolution-9 cell the cluster of 40 reports is counted in: the one
/// their point lies in.
fn cluster_cell() -> String {
    h3o::LatLng::new(59.1917, 17.6267)
        .unwrap()
        .to_cell(h3o::Resolution::Nine)
        .to_string()
}

/// The XYZ tile holding a point at zoom `z`.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let phi = lat.to_radians();
    let y = (1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "tile numbers"
    )]
    (x as u32, y as u32)
}

#[tokio::test]
async fn hexagon_tiles_carry_hot_spots_trends_and_perception_gaps_on_request() {
    let app = seeded().await;
    let (x, y) = tile_of(17.6267, 59.1917, 12);
    let cluster = cluster_cell();
    let path = format!("/tiles/hexagons/12/{x}/{y}.mvt?analysis=true&to=2026-10-01");
    // The public overlay is computed from the counts the public sees: its gap
    // is the public perception answer's for the same period.
    let public = decode(
        tile(&app, &path, None)
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    let perception: serde_json::Value = app
        .get("/api/v1/perception?res=9&to=2026-10-01", None)
        .await
        .json()
        .await
        .unwrap();
    for (cell, props) in &public {
        let shown = perception["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["cell"] == cell.as_str())
            .map(|f| f["properties"]["gap"].as_str().unwrap().to_owned());
        if let Some(MvtValue::String(gap)) = props.get("gap") {
            assert_eq!(Some(gap), shown.as_ref(), "{cell}");
        }
    }
    let resp = tile(&app, &path, Some(&app.analyst)).await;
    assert_eq!(resp.status(), 200);
    let features = decode(resp.bytes().await.unwrap().to_vec());
    let (_, props) = features
        .iter()
        .find(|(cell, _)| *cell == cluster)
        .expect("the cluster's cell is in the tile");
    assert!(
        matches!(props.get("bin"), Some(MvtValue::SInt(3))),
        "{props:?}"
    );
    assert!(
        matches!(props.get("gap"), Some(MvtValue::String(g)) if g == "more_insecurity"),
        "{props:?}"
    );
    assert!(
        matches!(props.get("trend"), Some(MvtValue::String(_))),
        "{props:?}"
    );
    // Every cell drawn has all three where the analyses reach it.
    assert!(features.iter().all(|(_, p)| p.contains_key("gap")));

    // Without the parameter, the plain layer.
    let plain = decode(
        tile(&app, &format!("/tiles/hexagons/12/{x}/{y}.mvt"), None)
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    assert!(plain.iter().all(|(_, p)| !p.contains_key("bin")));
    problem(
        tile(
            &app,
            &format!("/tiles/hexagons/12/{x}/{y}.mvt?analysis=yes"),
            None,
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn perception_is_compared_with_incidents_per_cell() {
    let app = seeded().await;
    let cluster = cluster_cell();
    let body: serde_json::Value = app
        .get("/api/v1/perception?res=9", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    let features = body["features"].as_array().unwrap();
    let c = features
        .iter()
        .find(|f| f["properties"]["cell"] == cluster.as_str())
        .unwrap();
    // The 40 reports and a few of the spread (a third of it is vandalism).
    let reports = c["properties"]["insecurity"].as_u64().unwrap();
    let incidents = c["properties"]["incidents"].as_u64().unwrap();
    assert!(reports >= 40 && incidents < 10, "{c}");
    assert_eq!(c["properties"]["gap"], "more_insecurity");
    assert!(
        body["incident_categories"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("vandalism"))
    );
    // Anonymous callers: no cell under k, no count under k.
    let public: serde_json::Value = app
        .get("/api/v1/perception?res=10", None)
        .await
        .json()
        .await
        .unwrap();
    for f in public["features"].as_array().unwrap() {
        for key in ["insecurity", "incidents"] {
            let v = &f["properties"][key];
            assert!(v.as_u64().unwrap().is_multiple_of(5), "{f}");
        }
    }
    problem(
        app.get("/api/v1/perception?kind=insecurity", None).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn walk_tiles_show_routes_and_findings_to_those_who_may_see_them() {
    let app = spawn_app().await;
    let walk = |name: &str, lon: f64| {
        json!({"name": name, "area": "hovsjo", "date": "2026-11-20", "time_of_day": "night",
               "route": {"type": "LineString", "coordinates": [[lon, 59.179], [lon + 0.004, 59.181], [lon + 0.006, 59.183]]}})
    };
    let mut ids = Vec::new();
    for (name, lon) in [("A", 17.585), ("B", 17.587)] {
        let w: Value = app
            .post_json("/api/v1/walks", Some(&app.admin), &walk(name, lon))
            .await
            .json()
            .await
            .unwrap();
        let mut finding = common::report(lon + 0.002, 59.180);
        finding["properties"]["kind"] = json!("walk_finding");
        finding["properties"]["category"] = json!("lighting");
        finding["properties"]["walk"] = w["id"].clone();
        let resp = app
            .post_json("/api/v1/observations", Some(&app.analyst), &finding)
            .await;
        assert_eq!(resp.status(), 201);
        ids.push((
            w["id"].as_str().unwrap().to_owned(),
            w["join_code"].as_str().unwrap().to_owned(),
        ));
    }
    let joined: Value = app
        .post_json("/api/v1/walks/join", None, &json!({"code": ids[0].1}))
        .await
        .json()
        .await
        .unwrap();
    let participant = joined["token"].as_str().unwrap().to_owned();
    let t = TileId::containing(17.588, 59.181, 14);
    let path = format!("/tiles/walks/{}/{}/{}.mvt", t.z, t.x, t.y);
    // (walk, is a line) for every feature of the tile.
    let read = |bytes: Vec<u8>| -> Vec<(String, bool)> {
        let reader = Reader::new(bytes).unwrap();
        reader
            .get_features(0)
            .unwrap()
            .into_iter()
            .map(|f| {
                let walk = match f.properties.unwrap_or_default().get("walk") {
                    Some(MvtValue::String(s)) => s.clone(),
                    other => panic!("no walk: {other:?}"),
                };
                let line = matches!(
                    f.geometry,
                    geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_)
                );
                (walk, line)
            })
            .collect()
    };
    let all = read(
        tile(&app, &path, Some(&app.analyst))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    for (walk, _) in &ids {
        assert!(
            all.contains(&(walk.clone(), true)),
            "route of {walk}: {all:?}"
        );
        assert!(
            all.contains(&(walk.clone(), false)),
            "finding of {walk}: {all:?}"
        );
    }
    let own = read(
        tile(&app, &path, Some(&participant))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    assert!(
        !own.is_empty() && own.iter().all(|(w, _)| *w == ids[0].0),
        "{own:?}"
    );
    problem(tile(&app, &path, Some(&app.partner)).await, 403).await;
    problem(tile(&app, &path, None).await, 401).await;
    let tj = app.get("/tiles/walks.json", Some(&participant)).await;
    assert_eq!(tj.status(), 200);
}

#[tokio::test]
async fn a_new_observation_invalidates_only_the_tiles_it_touches() {
    let app = seeded().await;
    let here = TileId::containing(17.6267, 59.1917, 14);
    // Another tile with data, a few kilometres away.
    let there = TileId::containing(17.6010, 59.1810, 14);
    assert_ne!(here, there);
    let get = |t: TileId, gzip: bool| {
        let app = &app;
        async move {
            // Staff see whether a tile came from the cache; nobody else does.
            let mut req = app
                .client
                .get(app.url(&format!("/tiles/hexagons/{t}.mvt")))
                .bearer_auth(&app.analyst);
            if gzip {
                req = req.header("accept-encoding", "gzip");
            }
            let resp = req.send().await.unwrap();
            let h = resp.headers().clone();
            let header = |k: &str| h.get(k).map(|v| v.to_str().unwrap().to_owned());
            (
                header("etag").unwrap(),
                header("x-tile-cache").unwrap(),
                header("content-encoding"),
                resp.bytes().await.unwrap().to_vec(),
            )
        }
    };
    let (here_tag, first, _, plain) = get(here, false).await;
    assert_eq!(first, "miss");
    let (tag, cache, encoding, gz) = get(here, true).await;
    assert_eq!((tag.as_str(), cache.as_str()), (here_tag.as_str(), "hit"));
    assert_eq!(encoding.as_deref(), Some("gzip"));
    // The cached gzip is the plain tile compressed.
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain);
    let (there_tag, _, _, _) = get(there, false).await;

    let resp = app
        .post_json(
            "/api/v1/observations",
            None,
            &common::report(17.6267, 59.1917),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let (new_here, cache, _, _) = get(here, false).await;
    assert_ne!(new_here, here_tag, "the touched tile changes");
    assert_eq!(cache, "miss");
    let (same_there, cache, _, _) = get(there, false).await;
    assert_eq!(same_there, there_tag, "the far tile keeps its validator");
    assert_eq!(cache, "hit");
    // Coarser zooms that contain the point change too.
    let z9 = TileId::containing(17.6267, 59.1917, 9);
    let (a, _, _, _) = get(z9, false).await;
    app.post_json(
        "/api/v1/observations",
        None,
        &common::report(17.6268, 59.1918),
    )
    .await;
    let (b, _, _, _) = get(z9, false).await;
    assert_ne!(a, b);
}
