//! Several Trygg instances on one PostgreSQL database: an observation
//! written through one appears in the others' indexes within a second, by
//! `LISTEN/NOTIFY`, and nothing is missed while a listener reconnects. A
//! finding removed through one is gone from the others' just as soon.

mod common;

use std::time::{Duration, Instant};

use common::process::{
    StoreArg, create_token, create_token_for, demo_file, observation_count, start_server,
};
use common::{recent_report, report};

async fn submit(client: &reqwest::Client, base: &str, lon: f64) {
    let resp = client
        .post(format!("{base}/api/v1/observations"))
        .header("content-type", "application/geo+json")
        .body(recent_report(lon, 59.19).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

/// `POST`s `body` as JSON; the answer's JSON.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> serde_json::Value {
    let mut req = client.post(url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// How long until `base` shows `count` observations (panics after `limit`).
async fn seen_within(
    client: &reqwest::Client,
    base: &str,
    count: u64,
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    while observation_count(client, base).await != count {
        assert!(
            start.elapsed() < limit,
            "{base} did not see {count} observations within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reach_the_other_instance_within_a_second() {
    let Some(url) = common::postgres::fresh_database() else {
        return;
    };
    let store = StoreArg::Url(url.clone());
    // Polling is set to a minute, so only notifications can explain a quick update.
    let slow_poll = ["--catch-up-ms", "60000"];
    let (_a, a) = start_server(&store, &slow_poll).await;
    let (_b, b) = start_server(&store, &slow_poll).await;
    let client = reqwest::Client::new();

    for n in 1..=5u32 {
        submit(&client, &a, 17.60 + f64::from(n) * 0.001).await;
        let took = seen_within(&client, &b, u64::from(n), Duration::from_secs(1)).await;
        eprintln!("observation {n} written through A, seen by B after {took:?}");
    }
    submit(&client, &b, 17.70).await;
    seen_within(&client, &a, 6, Duration::from_secs(1)).await;

    // A bulk import streamed through A (COPY) reaches B the same way.
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read(demo_file(dir.path(), "demo.csv", "2000")).unwrap();
    let resp = client
        .post(format!("{a}/api/v1/observations/import"))
        .bearer_auth(create_token(&store))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    seen_within(&client, &b, 2006, Duration::from_secs(1)).await;

    // Cut both instances' notification connections; write while they reconnect.
    let (pg, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let cut = pg
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'trygg-listener'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(cut.len(), 2, "each instance keeps one listening connection");
    submit(&client, &a, 17.71).await;
    // The listener waits a second before reconnecting, then catches up.
    seen_within(&client, &b, 2007, Duration::from_secs(5)).await;

    // A participant removes their finding through A: B rebuilds its index.
    let admin = create_token_for(&store, "admin");
    let walk = post(
        &client,
        &format!("{a}/api/v1/walks"),
        Some(&admin),
        &serde_json::json!({
            "name": "Hovsjö kväll", "date": "2026-11-20", "time_of_day": "night",
            "route": {"type": "LineString", "coordinates": [[17.585, 59.179], [17.589, 59.181]]}
        }),
    )
    .await;
    let code = serde_json::json!({"code": walk["join_code"]});
    let joined = post(&client, &format!("{a}/api/v1/walks/join"), None, &code).await;
    let participant = joined["token"].as_str().unwrap();
    let mut finding = report(17.5866, 59.1801);
    finding["properties"]["kind"] = "walk_finding".into();
    finding["properties"]["category"] = "lighting".into();
    let url = format!("{a}/api/v1/observations");
    let stored = post(&client, &url, Some(participant), &finding).await;
    seen_within(&client, &b, 2008, Duration::from_secs(1)).await;
    let removed = client
        .delete(format!(
            "{a}/api/v1/observations/{}",
            stored["id"].as_str().unwrap()
        ))
        .bearer_auth(participant)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let took = seen_within(&client, &b, 2007, Duration::from_secs(1)).await;
    eprintln!("a removal through A, seen by B after {took:?}");
}
