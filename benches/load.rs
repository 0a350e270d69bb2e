//! End-to-end load benchmark of the real `trygg` binary on 127.0.0.1.
//!
//! With N demo observations (default 1,000,000; `TRYGG_BENCH_N` overrides) it
//! measures: CSV import through the CLI (as generated, and with the rows
//! shuffled); CSV import over HTTP into a running server (store + index);
//! start-up with N stored; resident memory per observation; a
//! whole-municipality hexagon query over HTTP; and durable single
//! submissions from 32 concurrent clients.
//!
//! Run: `cargo bench --bench load`. With `TRYGG_BENCH_DATABASE_URL` set to a
//! PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432`) it runs the
//! same scenarios on the PostgreSQL store, in fresh databases
//! `trygg_bench_cli` and `trygg_bench_http` (dropped first if present).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

const BIN: &str = env!("CARGO_BIN_EXE_trygg");
const CLIENTS: usize = 32;
const LOAD_SECONDS: u64 = 10;

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let n: usize = std::env::var("TRYGG_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n));
}

/// The store the scenarios run on: embedded (a directory) or PostgreSQL.
#[derive(Clone)]
enum Target {
    Dir(PathBuf),
    Url(String),
}

impl Target {
    /// A fresh, empty store named `name`.
    async fn fresh(work: &Path, name: &str) -> Target {
        let Ok(server) = std::env::var("TRYGG_BENCH_DATABASE_URL") else {
            return Target::Dir(work.join(name));
        };
        let (pg, conn) =
            tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to TRYGG_BENCH_DATABASE_URL");
        tokio::spawn(conn);
        let db = format!("trygg_bench_{name}");
        // One statement each: neither may run inside a transaction block.
        for sql in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
        ] {
            pg.batch_execute(&sql).await.unwrap();
        }
        Target::Url(format!("{server}/{db}"))
    }

    fn args(&self) -> [OsString; 2] {
        match self {
            Target::Dir(d) => ["--data-dir".into(), d.into()],
            Target::Url(u) => ["--database-url".into(), u.into()],
        }
    }
}

struct Server {
    child: Child,
    base: String,
}

async fn start(target: &Target) -> (Server, Duration) {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
        .args(target.args())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("server exited");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    (Server { child, base }, started.elapsed())
}

impl Server {
    fn rss_bytes(&self) -> u64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb * 1024
    }

    async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        self.child.wait().await.unwrap();
    }
}

fn token(target: &Target) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--role", "analyst", "--log", "warn"])
        .args(target.args())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Imports `csv` into `target` with the CLI; returns the time it took.
fn cli_import(target: &Target, csv: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new(BIN)
        .args(["import", "--log", "warn"])
        .args(target.args())
        .arg(csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

/// Writes the rows of `csv` in a fixed random order (header first) to `to`.
fn shuffle_rows(csv: &Path, to: &Path) {
    use rand::{SeedableRng, seq::SliceRandom};
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    lines[1..].shuffle(&mut rng);
    std::fs::write(to, lines.join("\n") + "\n").unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index"
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[expect(
    clippy::too_many_lines,
    reason = "one scenario after another, printed as it goes"
)]
async fn run(n: usize) {
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("demo.csv");
    println!("# trygg load benchmark, {n} observations\n");
    let t = Instant::now();
    let ok = Command::new(BIN)
        .args([
            "demo-data",
            "--seed",
            "1",
            "--end",
            "2026-11-01",
            "--count",
            &n.to_string(),
            "--out",
        ])
        .arg(&csv)
        .status()
        .unwrap();
    assert!(ok.success());
    println!("generated demo CSV in {:.1} s", t.elapsed().as_secs_f64());

    // 1. CLI import, of the file as generated (in the order received) and
    // of the same rows shuffled (ids in no order: the store sorts them in).
    let cli = cli_import(&Target::fresh(work.path(), "cli").await, &csv);
    println!(
        "| CLI import of {n} from CSV (parse, validate, durable store) | {:.2} s |",
        cli.as_secs_f64()
    );
    let shuffled = work.path().join("shuffled.csv");
    shuffle_rows(&csv, &shuffled);
    let cli_shuffled = cli_import(&Target::fresh(work.path(), "cli_shuffled").await, &shuffled);
    println!(
        "| CLI import of the same rows shuffled | {:.2} s |",
        cli_shuffled.as_secs_f64()
    );

    // 2. HTTP import into a running server: store and index.
    let http_target = Target::fresh(work.path(), "http").await;
    let token = token(&http_target);
    let (server, _) = start(&http_target).await;
    let client = reqwest::Client::new();
    let body = std::fs::read(&csv).unwrap();
    let t = Instant::now();
    let resp = client
        .post(format!("{}/api/v1/observations/import", server.base))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let http_import = t.elapsed();
    let health: serde_json::Value = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["observations"].as_u64(), u64::try_from(n).ok());
    println!(
        "| HTTP import of {n} from CSV (parse, validate, durable store, index) | {:.2} s |",
        http_import.as_secs_f64()
    );
    server.stop().await;

    // 3. Start-up with N stored, and memory.
    let (server, startup) = start(&http_target).await;
    println!(
        "| start-up with {n} stored (until listening) | {:.2} s |",
        startup.as_secs_f64()
    );
    let rss = server.rss_bytes();
    println!(
        "| resident memory after start-up | {} MiB, {} bytes/observation |",
        rss >> 20,
        rss / n as u64
    );

    // 4. Whole-municipality hexagon query over HTTP, res 9, last 12 months.
    let url = format!(
        "{}/api/v1/hexagons?res=9&from=2025-11-01&to=2026-11-01",
        server.base
    );
    let mut times = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
        let _ = r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "| hexagons res 9, 12-month filter, whole municipality, over HTTP incl. GeoJSON | p50 {}, p99 {} |",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );

    // 5. Durable single submissions from 32 concurrent clients.
    let before = health_count(&client, &server.base).await;
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, token, latencies) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            Arc::clone(&latencies),
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut i = 0u32;
            while Instant::now() < deadline {
                let body = serde_json::json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [17.60 + f64::from(u32::try_from(c).unwrap()) * 0.001, 59.18 + f64::from(i % 200) * 0.0002]},
                    "properties": {"kind": "insecurity", "category": "dark_area", "observed_at": "2026-10-30T21:00:00+01:00"}
                });
                i += 1;
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/api/v1/observations"))
                    .bearer_auth(&token)
                    .header("content-type", "application/geo+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let _ = r.bytes().await;
                mine.push(t.elapsed());
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    let t = Instant::now();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = t.elapsed();
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap());
    lat.sort();
    let after = health_count(&client, &server.base).await;
    assert_eq!(
        after - before,
        lat.len() as u64,
        "every acknowledged submission is indexed"
    );
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = lat.len() as f64 / elapsed.as_secs_f64();
    println!(
        "| durable single submissions, {CLIENTS} concurrent clients, {LOAD_SECONDS} s | {rate:.0}/s, p50 {}, p99 {} |",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    let rss = server.rss_bytes();
    println!("| resident memory after the load | {} MiB |", rss >> 20);
    server.stop().await;
}

async fn health_count(client: &reqwest::Client, base: &str) -> u64 {
    let h: serde_json::Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    h["observations"].as_u64().unwrap()
}
