//! OGC API – Features as QGIS walks it: landing → conformance → collections →
//! items with bbox and paging.

mod common;

use std::fmt::Write as _;

use common::{problem, spawn_app};
use serde_json::Value;

async fn get_json(app: &common::TestApp, url: &str, token: Option<&str>) -> Value {
    let mut req = app.client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"].as_array()?.iter().find(|l| l["rel"] == rel)?["href"].as_str()
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one client session from landing page to last page"
)]
async fn a_gis_client_walks_the_api() {
    let app = spawn_app().await;
    let mut csv = String::from("lon,lat,kind,category,observed_at\n");
    for i in 0..300u32 {
        writeln!(
            csv,
            "{},{},insecurity,dark_area,2026-03-0{}T21:00:00Z",
            17.60 + f64::from(i % 30) * 0.001,
            59.18 + f64::from(i / 30) * 0.001,
            1 + i % 9
        )
        .unwrap();
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
    assert_eq!(resp.status(), 200);

    let landing = get_json(&app, &app.url("/ogc"), None).await;
    let api = link(&landing, "service-desc").unwrap();
    let doc = get_json(&app, api, None).await;
    assert_eq!(
        doc["components"]["parameters"]["limit"]["schema"]["maximum"],
        10_000
    );
    let conf = get_json(&app, link(&landing, "conformance").unwrap(), None).await;
    assert!(
        conf["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("conf/geojson"))
    );

    let cols = get_json(&app, link(&landing, "data").unwrap(), None).await;
    let ids: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["areas", "hexagons", "observations"]);
    let areas = &cols["collections"][0];
    assert_eq!(
        areas["extent"]["spatial"]["bbox"][0]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let items_link = areas["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "items")
        .unwrap();
    assert_eq!(items_link["type"], "application/geo+json");

    // Areas, paged two at a time, following next links.
    let mut url = format!("{}?limit=2", items_link["href"].as_str().unwrap());
    let mut names = Vec::new();
    loop {
        let page = get_json(&app, &url, None).await;
        assert_eq!(page["numberMatched"], 8);
        assert!(page["timeStamp"].is_string());
        names.extend(
            page["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["properties"]["name"].as_str().unwrap().to_owned()),
        );
        match link(&page, "next") {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(names.len(), 8);

    // Hexagons in a bbox, suppressed for anonymous callers.
    let hex = get_json(
        &app,
        &app.url("/ogc/collections/hexagons/items?bbox=17.59,59.17,17.64,59.20&res=8"),
        None,
    )
    .await;
    assert!(hex["numberReturned"].as_u64().unwrap() > 0);
    for f in hex["features"].as_array().unwrap() {
        assert!(f["properties"]["count"].as_u64().unwrap() >= 5);
    }
    let cell = hex["features"][0]["id"].as_str().unwrap();
    let one = get_json(
        &app,
        &app.url(&format!("/ogc/collections/hexagons/items/{cell}")),
        None,
    )
    .await;
    assert_eq!(one["properties"]["cell"], cell);

    // Observations: analysts only, paged with offset.
    problem(
        app.get("/ogc/collections/observations/items", None).await,
        401,
    )
    .await;
    let obs = get_json(
        &app,
        &app.url("/ogc/collections/observations/items?limit=120"),
        Some(&app.analyst),
    )
    .await;
    assert_eq!(obs["numberMatched"], 300);
    assert_eq!(obs["numberReturned"], 120);
    let next = link(&obs, "next").unwrap().to_owned();
    let second = get_json(&app, &next, Some(&app.analyst)).await;
    assert_eq!(second["numberReturned"], 120);
    assert_ne!(second["features"][0]["id"], obs["features"][0]["id"]);

    // Absurd paging is answered, not a crash.
    let far = get_json(
        &app,
        &app.url("/ogc/collections/observations/items?offset=18446744073709551615&limit=99999999"),
        Some(&app.analyst),
    )
    .await;
    assert_eq!(far["numberReturned"], 0);

    let csv = app.get("/ogc/collections/areas/items?f=csv", None).await;
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.text().await.unwrap().starts_with("id,"));

    problem(
        app.get("/ogc/collections/areas/items?colour=red", None)
            .await,
        400,
    )
    .await;
    problem(
        app.get("/ogc/collections/areas/items/nowhere", None).await,
        404,
    )
    .await;
    problem(app.get("/ogc/collections/roads", None).await, 404).await;
    problem(app.get("/ogc/collections/roads/items", None).await, 404).await;
}

/// Security review: free text that a spreadsheet would run as a formula
/// came out of `?f=csv` unchanged.
#[tokio::test]
async fn csv_items_quote_formula_text() {
    let app = spawn_app().await;
    let mut report = common::report(17.626, 59.196);
    report["properties"]["description"] = "=HYPERLINK(\"http://evil.example\",\"klicka\")".into();
    let resp = app
        .post_json("/api/v1/observations", Some(&app.analyst), &report)
        .await;
    assert_eq!(resp.status(), 201);
    let area = serde_json::json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[
            [17.60, 59.18], [17.62, 59.18], [17.62, 59.20], [17.60, 59.18]
        ]]},
        "properties": {"name": "@SUM(1+1)*cmd", "type": "custom"}
    });
    let resp = app
        .client
        .put(app.url("/api/v1/areas/formula"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/geo+json")
        .body(area.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let cells = |text: String, column: &str| -> Vec<String> {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let i = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == column)
            .unwrap();
        r.records().map(|row| row.unwrap()[i].to_owned()).collect()
    };
    let text = app
        .get(
            "/ogc/collections/observations/items?f=csv",
            Some(&app.analyst),
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        cells(text.clone(), "description"),
        ["'=HYPERLINK(\"http://evil.example\",\"klicka\")"]
    );
    assert_eq!(cells(text, "severity"), ["2"], "numbers stay numbers");
    let text = app
        .get("/ogc/collections/areas/items?f=csv", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(cells(text, "name").contains(&"'@SUM(1+1)*cmd".to_owned()));
}
