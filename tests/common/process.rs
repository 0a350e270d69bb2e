//! The real `trygg` binary as a child process.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_trygg");

/// Where a process keeps its data.
#[derive(Debug, Clone)]
pub enum StoreArg {
    /// The embedded store in this directory.
    Dir(PathBuf),
    /// The PostgreSQL store at this URL.
    Url(String),
}

impl StoreArg {
    pub fn args(&self) -> [OsString; 2] {
        match self {
            StoreArg::Dir(d) => ["--data-dir".into(), d.into()],
            StoreArg::Url(u) => ["--database-url".into(), u.into()],
        }
    }
}

/// Starts `trygg serve` on a free port with `extra` arguments; returns the
/// child (killed on drop) and its base URL.
pub async fn start_server(store: &StoreArg, extra: &[&str]) -> (Child, String) {
    start_server_logging(store, extra, "warn", Stdio::inherit()).await
}

/// Like [`start_server`], with log filter `log` and its log lines sent to `logs`.
pub async fn start_server_logging(
    store: &StoreArg,
    extra: &[&str],
    log: &str,
    logs: Stdio,
) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .args(store.args())
        .env("TRYGG_LOG", log)
        .stdout(Stdio::piped())
        .stderr(logs)
        .kill_on_drop(true)
        .spawn()
        .expect("start trygg");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.to_owned();
            }
        }
        panic!("trygg exited before listening");
    })
    .await
    .expect("trygg did not start in time");
    (child, addr)
}

/// `trygg token create --role analyst` on `store`: the new token.
pub fn create_token(store: &StoreArg) -> String {
    create_token_for(store, "analyst")
}

/// `trygg token create --role ROLE` on `store`: the new token.
pub fn create_token_for(store: &StoreArg, role: &str) -> String {
    let out = std::process::Command::new(BIN)
        .args(["token", "create", "--role", role])
        .args(store.args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Writes `count` deterministic demo observations as CSV to `dir/name`.
pub fn demo_file(dir: &std::path::Path, name: &str, count: &str) -> PathBuf {
    let path = dir.join(name);
    let out = std::process::Command::new(BIN)
        .args([
            "demo-data",
            "--count",
            count,
            "--seed",
            "3",
            "--end",
            "2026-11-01",
            "--out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// The observation count a running server reports on `/health`.
pub async fn observation_count(client: &reqwest::Client, base: &str) -> u64 {
    let health: serde_json::Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["observations"].as_u64().unwrap()
}
