//! The web front end in a real browser: headless Chromium driven by
//! playwright-core (`web/tests/*.mjs`) against a real server with demo data.
//! Screenshots land in `target/screenshots/`.
//!
//! Needs Node.js and Debian's `chromium`. Without them the test says so
//! loudly and passes on a developer machine; under CI (`CI=true`) a missing
//! browser is a failure (`.ci/run` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use trygg::config::ServerArgs;
use trygg::model::Taxonomy;
use trygg::store::BatchPolicy;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Whether the browser tooling is here; installs the npm packages if needed.
fn tooling_ready() -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = match (Path::new(&chromium).exists(), node) {
        (true, true) => None,
        (false, _) => Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        )),
        (_, false) => Some("no Node.js".to_owned()),
    };
    if let Some(why) = missing {
        assert!(
            std::env::var("CI").is_err(),
            "browser tests cannot run under CI: {why}"
        );
        eprintln!("\n*** SKIPPED browser tests: {why} ***\n");
        return false;
    }
    if !web_dir().join("node_modules/playwright-core").exists() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(web_dir())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "npm ci in web/ failed");
    }
    true
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn app_with_demo_data() -> common::TestApp {
    let args = ServerArgs {
        web_dir: web_dir(),
        ..ServerArgs::default()
    };
    let app = common::spawn_app_with(args).await;
    let end = time::OffsetDateTime::now_utc().date() + time::Duration::days(1);
    let demo = trygg::demo::generate(1, 20_000, end, &Taxonomy::builtin());
    app.store
        .insert_batch(demo.observations, BatchPolicy::AllOrNothing)
        .await
        .unwrap();
    for action in trygg::demo::action_plan() {
        app.store.put_action(&action).await.unwrap();
    }
    // The demo observations went straight into the store: let the server
    // index them (catch-up) before the browser looks.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.observation_count().await < 20_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not pick up the demo data"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app
}

fn run_script(script: &str, base: &str, extra: &[&str]) {
    let out = Command::new("node")
        .arg(web_dir().join("tests").join(script))
        .arg(base)
        .arg(screenshots())
        .args(extra)
        .current_dir(web_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    eprintln!("{script}: {stdout}");
}

/// A user who signs in with a password.
async fn add_user(app: &common::TestApp, name: &str, password: &str, role: trygg::model::Role) {
    app.store
        .add_user(&trygg::store::UserRecord {
            username: name.into(),
            password_hash: trygg::auth::hash_password(password).unwrap(),
            role,
            organisation: None,
            created_at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planner_map_draws_hexagons_and_filters_them() {
    if !tooling_ready() {
        return;
    }
    let app = Arc::new(app_with_demo_data().await);
    let password = "an analyst's long password";
    add_user(&app, "analytiker", password, trygg::model::Role::Analyst).await;
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        run_script("planner.mjs", &base, &["analytiker", password]);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_the_automated_accessibility_rules() {
    if !tooling_ready() {
        return;
    }
    let app = Arc::new(app_with_demo_data().await);
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || run_script("a11y.mjs", &base, &[]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_reports_a_place_anonymously() {
    if !tooling_ready() {
        return;
    }
    let args = ServerArgs {
        web_dir: web_dir(),
        ..ServerArgs::default()
    };
    let app = common::spawn_app_with(args).await;
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || run_script("report.mjs", &base, &[]))
        .await
        .unwrap();
    // One report per viewport and one made by keyboard alone, each with the
    // comment and the chosen category.
    let page: serde_json::Value = app
        .get("/api/v1/observations", Some(&app.analyst))
        .await
        .json()
        .await
        .unwrap();
    let features = page["features"].as_array().unwrap();
    let mut made: Vec<(&str, &str)> = features
        .iter()
        .map(|f| {
            assert_eq!(f["properties"]["kind"], "insecurity");
            (
                f["properties"]["category"].as_str().unwrap(),
                f["properties"]["description"].as_str().unwrap(),
            )
        })
        .collect();
    made.sort_unstable();
    // The keyboard run chose the second category with the arrow keys.
    assert_eq!(
        made,
        [
            ("dark_area", "Mörk gångväg utan belysning"),
            ("dark_area", "Mörk gångväg utan belysning"),
            ("litter", "Mörkt, valt med tangentbordet"),
        ]
    );
}

/// A night walk in Hovsjö with a route, made by the admin: its JSON.
async fn night_walk_in_hovsjo(app: &common::TestApp) -> serde_json::Value {
    app
        .post_json(
            "/api/v1/walks",
            Some(&app.admin),
            &serde_json::json!({
                "name": "Trygghetsvandring Hovsjö", "area": "hovsjo", "date": "2026-11-26", "time_of_day": "night",
                "route": {"type": "LineString", "coordinates": [[17.5850, 59.1795], [17.5880, 59.1805], [17.5900, 59.1800]]}
            }),
        )
        .await
        .json()
        .await
        .unwrap()
}

/// Runs a walk-app script on a fresh night walk; the categories of the
/// walk's findings afterwards, sorted.
async fn walk_script_leaves(script: &'static str) -> Option<Vec<String>> {
    if !tooling_ready() {
        return None;
    }
    let args = ServerArgs {
        web_dir: web_dir(),
        ..ServerArgs::default()
    };
    let app = common::spawn_app_with(args).await;
    let walk = night_walk_in_hovsjo(&app).await;
    let code = walk["join_code"].as_str().unwrap().to_owned();
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || run_script(script, &base, &[&code]))
        .await
        .unwrap();
    let page: serde_json::Value = app
        .get(
            &format!("/api/v1/observations?walk={}", walk["id"].as_str().unwrap()),
            Some(&app.analyst),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut categories: Vec<String> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["category"].as_str().unwrap().to_owned())
        .collect();
    categories.sort_unstable();
    Some(categories)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_findings_saved_offline_arrive_exactly_once() {
    if let Some(categories) = walk_script_leaves("walk.mjs").await {
        assert_eq!(
            categories,
            ["lighting", "vegetation"],
            "each finding exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_participant_changes_and_removes_their_findings() {
    if let Some(categories) = walk_script_leaves("walk-edit.mjs").await {
        assert_eq!(
            categories,
            ["maintenance", "poor_visibility"],
            "one finding changed, one removed, the other participant's kept"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn area_pages_and_admin_work() {
    if !tooling_ready() {
        return;
    }
    let app = Arc::new(app_with_demo_data().await);
    let password = "a long admin password";
    add_user(&app, "admin", password, trygg::model::Role::Admin).await;
    let analyst_password = "an analyst's long password";
    add_user(
        &app,
        "analytiker",
        analyst_password,
        trygg::model::Role::Analyst,
    )
    .await;
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        run_script(
            "pages.mjs",
            &base,
            &["admin", password, "analytiker", analyst_password],
        );
    })
    .await
    .unwrap();
    let walks = app.store.list_walks().await.unwrap();
    assert!(
        walks
            .iter()
            .any(|w| w.name.starts_with("Trygghetsvandring Ronna")
                && w.area_id.as_deref() == Some("ronna"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_file_has_every_message() {
    if !tooling_ready() {
        return;
    }
    // No server: the script reads web/messages/*.json.
    tokio::task::spawn_blocking(|| run_script("messages.mjs", "-", &[]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_works_in_every_language() {
    if !tooling_ready() {
        return;
    }
    let app = Arc::new(app_with_demo_data().await);
    let password = "a long admin password";
    add_user(&app, "admin", password, trygg::model::Role::Admin).await;
    let walk = night_walk_in_hovsjo(&app).await;
    let code = walk["join_code"].as_str().unwrap().to_owned();
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        run_script("i18n.mjs", &base, &[code.as_str(), "admin", password]);
    })
    .await
    .unwrap();
    // The finding made on the Finnish walk page arrived once; the one made
    // after the walk was closed was refused.
    let page: serde_json::Value = app
        .get(
            &format!("/api/v1/observations?walk={}", walk["id"].as_str().unwrap()),
            Some(&app.analyst),
        )
        .await
        .json()
        .await
        .unwrap();
    let categories: Vec<&str> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["lighting"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_plan_is_made_and_followed_up_in_the_browser() {
    if !tooling_ready() {
        return;
    }
    let app = Arc::new(app_with_demo_data().await);
    let password = "an analyst's long password";
    add_user(&app, "analytiker", password, trygg::model::Role::Analyst).await;
    let base = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        run_script("action-plan.mjs", &base, &["analytiker", password]);
    })
    .await
    .unwrap();
    // What the browser made is what is stored.
    let actions = app.store.list_actions().await.unwrap();
    let made = actions
        .iter()
        .find(|a| a.id == "stod-till-unga-i-hovsjo")
        .expect("the action made in the browser");
    assert_eq!(made.title, "Stöd till unga i hela Hovsjö");
    assert_eq!(made.area.as_deref(), Some("hovsjo"));
    assert_eq!(
        made.indicators[0].source,
        trygg::model::IndicatorSource::Manual
    );
    let values = app.store.list_indicator_values().await.unwrap();
    let mine: Vec<_> = values.iter().filter(|v| v.action == made.id).collect();
    assert_eq!(mine.len(), 1, "the baseline's value is left: {mine:?}");
    assert!((mine[0].value - 10.0).abs() < 1e-9);
    assert_eq!(mine[0].entered_by, "analytiker");
}
