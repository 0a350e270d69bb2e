//! Faults the service must ride out: overload, SIGTERM with requests in
//! flight, PostgreSQL restarted under load. (SIGKILL is in `crash.rs`.)

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{StoreArg, create_token, demo_file, observation_count, start_server};
use common::report;
use serde_json::{Value, json};
use uuid::Uuid;

/// Resident memory of a process in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed_with_503_and_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreArg::Dir(dir.path().to_owned());
    let (child, base) = start_server(&store, &["--demo", "--max-in-flight", "8"]).await;
    let pid = child.id().unwrap();
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/hexagons?res=10");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let before = rss_kib(pid);

    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _round in 0..3 {
        let requests: Vec<_> = (0..400)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let resp = client.get(&url).send().await.unwrap();
                    let status = resp.status().as_u16();
                    if status == 503 {
                        assert!(resp.headers().contains_key("retry-after"));
                        let body: Value = resp.json().await.unwrap();
                        assert_eq!(body["status"], 503);
                    }
                    status
                })
            })
            .collect();
        for r in requests {
            *statuses.entry(r.await.unwrap()).or_default() += 1;
        }
    }
    let after = rss_kib(pid);
    eprintln!(
        "1,200 concurrent requests, 8 in flight at most: {statuses:?}; RSS {before} KiB -> {after} KiB"
    );
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200, 503],
        "only answers and sheds, nothing else"
    );
    assert!(
        after < before + 256 * 1024,
        "memory grew by more than 256 MiB under overload"
    );
    // The service recovers once the flood is over.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
}

/// Polls `/metrics` until it has the line `line`.
async fn wait_for_metric(client: &reqwest::Client, base: &str, admin: &str, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = client
            .get(format!("{base}/metrics"))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < deadline, "no `{line}` in /metrics: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreArg::Dir(dir.path().join("data"));
    let token = create_token(&store);
    let admin = common::process::create_token_for(&store, "admin");
    let csv = std::fs::read(demo_file(dir.path(), "big.csv", "100000")).unwrap();
    let (mut child, base) = start_server(&store, &[]).await;
    let client = reqwest::Client::new();

    // The body is streamed in two halves so that SIGTERM arrives while the
    // server is reading it: signalling after a fixed delay raced with the
    // connection being accepted at all on a loaded machine.
    let (halves, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (Ok::<_, std::io::Error>(c), rx))
    });
    let import = {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/v1/observations/import"))
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        })
    };
    let mut second_half = csv;
    let first_half = second_half.drain(..second_half.len() / 2).collect();
    halves.send(first_half).await.unwrap();
    // This poll is one request in flight; the import is the other.
    wait_for_metric(&client, &base, &admin, "trygg_http_requests_in_flight 2").await;
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    halves.send(second_half).await.unwrap();
    drop(halves);

    let resp = import
        .await
        .unwrap()
        .expect("the import in flight is answered");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["accepted"], 100_000, "{body}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("trygg exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit, got {status}");
    // New connections are refused once it has gone.
    assert!(client.get(format!("{base}/health")).send().await.is_err());

    let (_child, base) = start_server(&store, &[]).await;
    assert_eq!(observation_count(&client, &base).await, 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_under_load_loses_nothing() {
    let Some(cluster) = common::postgres::private_cluster() else {
        return;
    };
    let store = StoreArg::Url(cluster.create_database("restart"));
    let token = create_token(&store);
    let (_child, base) = start_server(&store, &[]).await;
    let client = reqwest::Client::new();
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let statuses: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let mut tasks = Vec::new();
    for c in 0..8u32 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (acked, statuses, stop) =
            (Arc::clone(&acked), Arc::clone(&statuses), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = Uuid::now_v7().to_string();
                let mut f = report(17.60 + f64::from(c) * 0.002, 59.19);
                f["id"] = json!(id);
                let resp = client
                    .post(format!("{base}/api/v1/observations"))
                    .bearer_auth(&token)
                    .header("content-type", "application/geo+json")
                    .body(f.to_string())
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .expect("the service answers while PostgreSQL is away");
                let status = resp.status().as_u16();
                *statuses.lock().unwrap().entry(status).or_default() += 1;
                if status == 201 {
                    acked.lock().unwrap().insert(id);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    let wait_for_acks = |n: usize| {
        let acked = Arc::clone(&acked);
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.lock().unwrap().len() < n {
                assert!(Instant::now() < deadline, "submissions stalled");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for_acks(200).await;
    tokio::task::block_in_place(|| cluster.stop());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = acked.lock().unwrap().len();
    tokio::task::block_in_place(|| cluster.start()).unwrap();
    wait_for_acks(during + 200).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let statuses = statuses.lock().unwrap().clone();
    eprintln!("PostgreSQL restarted under load: statuses {statuses:?}");
    assert!(
        statuses.get(&503).is_some_and(|n| *n > 0),
        "503 while PostgreSQL was down"
    );
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [201, 503],
        "nothing but stored or unavailable"
    );
    let resp: Value = client
        .get(format!("{base}/api/v1/observations?limit=10000"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<String> = resp["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "an observation is stored twice");
    let acked = acked.lock().unwrap();
    let lost = acked.iter().filter(|id| !unique.contains(id)).count();
    eprintln!(
        "{} acknowledged, {} stored, {lost} lost",
        acked.len(),
        stored.len()
    );
    assert_eq!(lost, 0, "acknowledged writes lost");
}

/// Twelve anonymous clients asking for the most expensive public analyses
/// at once, each with parameters of its own (so no answer is reused): they
/// get answers or `503`, and resident memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_anonymous_analyses_in_parallel_stay_within_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreArg::Dir(dir.path().to_owned());
    let (child, base) = start_server(&store, &["--demo"]).await;
    let pid = child.id().unwrap();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let resp = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            (path, status)
        })
    };
    // The largest region a public hot-spot analysis may span is refused
    // with a clear message one resolution finer.
    let (_, refused) = get("/api/v1/hotspots?res=10&k=3".into()).await.unwrap();
    assert_eq!(refused, 400);
    let before = rss_kib(pid);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut peak = before;
    for round in 0..3 {
        let requests: Vec<_> = (0..12)
            .map(|i| {
                let from = format!("2025-{:02}-01", 1 + (i + round * 12) % 12);
                match i % 3 {
                    0 => get(format!("/api/v1/hotspots?res=9&k={}&from={from}", 1 + i % 5)),
                    1 => get(format!(
                        "/api/v1/hotspots/emerging?res=9&period=month&k={}&from={from}&to=2026-11-01",
                        1 + i % 5
                    )),
                    _ => get(format!("/api/v1/perception?res=10&from={from}")),
                }
            })
            .collect();
        for r in requests {
            let (path, status) = r.await.unwrap();
            assert!(matches!(status, 200 | 429 | 503), "{path}: {status}");
            *statuses.entry(status).or_default() += 1;
        }
        peak = peak.max(rss_kib(pid));
    }
    eprintln!(
        "36 heavy anonymous analyses, 12 at a time: {statuses:?}; RSS {before} KiB before, {peak} KiB at most after a round"
    );
    assert!(statuses.contains_key(&200), "some are answered");
    assert!(
        peak < before + 1024 * 1024,
        "memory grew by more than 1 GiB under heavy public analyses"
    );
}

/// Clients that send their headers or bodies a byte at a time hold a
/// request slot for a bounded time, and a route that needs a token refuses
/// an anonymous caller before reading its body at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let store = StoreArg::Dir(dir.path().to_owned());
    let (_child, base) = start_server(
        &store,
        &[
            "--max-in-flight",
            "8",
            "--header-timeout-secs",
            "2",
            "--body-timeout-secs",
            "2",
        ],
    )
    .await;
    let addr = base.trim_start_matches("http://").to_owned();
    let client = reqwest::Client::new();

    // A token route without a token: 401 while the body has not even started.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(
        b"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
        .await
        .expect("answered before the body")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 401"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );

    // Eight bodies and eight header blocks trickling a byte a second: more
    // than the server takes at once.
    let trickle = |head: &'static [u8], then: &'static [u8]| {
        let addr = addr.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            conn.write_all(head).await.unwrap();
            for b in then.iter().cycle().take(120) {
                if conn.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            // The server closes the connection (after a 4xx for a body).
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await;
            started.elapsed()
        })
    };
    let mut slow = Vec::new();
    for _ in 0..8 {
        slow.push(trickle(
            b"POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nContent-Type: application/geo+json\r\nContent-Length: 5000\r\n\r\n",
            b"{\"type\":\"Feature\",",
        ));
        slow.push(trickle(
            b"GET /api/v1/taxonomy HTTP/1.1\r\n",
            b"X-Slow: yes\r\n",
        ));
    }
    // Others are served again within a few seconds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = client
            .get(format!("{base}/api/v1/taxonomy"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok();
        if status == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {status:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for s in slow {
        let held = s.await.unwrap();
        assert!(
            held < Duration::from_secs(60),
            "a slow client held on for {held:?}"
        );
    }
}
