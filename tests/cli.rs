//! The `trygg` command as a user runs it.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::process::{BIN, demo_file};

fn trygg(args: &[&str], data_dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("TRYGG_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn demo_data_import_and_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = demo_file(dir.path(), "demo.csv", "2000");
    let again = demo_file(dir.path(), "again.csv", "2000");
    assert_eq!(
        std::fs::read(&csv).unwrap(),
        std::fs::read(&again).unwrap(),
        "deterministic"
    );

    let out = trygg(&["import", csv.to_str().unwrap()], &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2000 observations"));
    // Importing the same file again changes nothing.
    let out = trygg(&["import", csv.to_str().unwrap()], &data);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("imported 0 observations (2000 already present")
    );

    let exported = dir.path().join("out.csv");
    let out = trygg(
        &[
            "export",
            "--format",
            "csv",
            "--out",
            exported.to_str().unwrap(),
        ],
        &data,
    );
    assert!(out.status.success());
    let rows = std::fs::read_to_string(&exported).unwrap().lines().count();
    assert_eq!(rows, 2001);

    for (name, format) in [("demo.geojson", "geojson"), ("demo.ndjson", "ndjson")] {
        let file = demo_file(dir.path(), name, "300");
        let other = dir.path().join(format!("data-{format}"));
        let out = trygg(&["import", file.to_str().unwrap()], &other);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("imported 300"),
            "{format}"
        );
    }
    let geojson = trygg(&["export", "--format", "geojson"], &data);
    let fc: Value = serde_json::from_slice(&geojson.stdout).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 2000);
}

#[test]
fn errors_are_explained_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "lon,lat,kind,category,observed_at\n59.19,17.62,insecurity,dark_area,2026-01-01T00:00:00Z\n").unwrap();
    let out = trygg(&["import", bad.to_str().unwrap()], dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("swapped"), "{err}");
    assert!(err.contains("nothing imported"), "{err}");

    let out = trygg(&["import", "/no/such/file.csv"], dir.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: cannot open /no/such/file.csv")
    );

    let out = trygg(&["token", "create", "--role", "partner"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("organisation"));

    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for sub in ["serve", "import", "export", "demo-data", "token", "user"] {
        assert!(help.contains(sub), "{sub} missing from --help");
    }
}

#[test]
fn token_create_prints_the_token_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = trygg(
        &["token", "create", "--role", "partner", "--org", "Securitas"],
        dir.path(),
    );
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.starts_with("trygg_") && stdout.trim().len() == 70,
        "{stdout:?}"
    );
}

/// `trygg user add` with `password` on standard input.
fn add_user(dir: &std::path::Path, username: &str, password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args([
            "user",
            "add",
            "--username",
            username,
            "--role",
            "analyst",
            "--data-dir",
        ])
        .arg(dir)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_are_added_with_a_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = add_user(dir.path(), "anna", "a long enough password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every reason at once.
    let out = add_user(dir.path(), " ", "short");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("username") && said.contains("at least 12"),
        "{said}"
    );
}

/// The CLI writes to the store of a running server; the server picks the
/// observations up without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = common::process::StoreArg::Dir(data.clone());
    let (_server, base) = common::process::start_server(&store, &["--catch-up-ms", "100"]).await;
    let csv = demo_file(dir.path(), "demo.csv", "500");
    let out = trygg(&["import", csv.to_str().unwrap()], &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health: Value = reqwest::get(format!("{base}/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["observations"] == 500 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never saw the import: {health}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
