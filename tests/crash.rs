//! Durability: the real binary is killed with SIGKILL in the middle of
//! concurrent submissions; after a restart every acknowledged observation is
//! there, and none is there twice.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::process::{StoreArg, create_token, observation_count, start_server};
use common::report;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every stored observation id, read page by page.
async fn stored_ids(client: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some("/api/v1/observations?limit=10000".to_owned());
    while let Some(path) = next {
        let page: Value = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(
            page["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned()),
        );
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_embedded() {
    let dir = tempfile::tempdir().unwrap();
    survive_sigkill(&StoreArg::Dir(dir.path().to_owned()), cycles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_postgres() {
    let Some(url) = common::postgres::fresh_database() else {
        return;
    };
    survive_sigkill(&StoreArg::Url(url), cycles()).await;
}

/// Three cycles in the suite; `TRYGG_CRASH_CYCLES` for longer runs.
fn cycles() -> usize {
    std::env::var("TRYGG_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

async fn survive_sigkill(store: &StoreArg, cycles: usize) {
    const CLIENTS_U32: u32 = 16;
    const ACKS_BEFORE_KILL: usize = 300;

    let token = create_token(store);
    let client = reqwest::Client::new();
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut attempted = 0usize;

    for cycle in 0..cycles {
        let (mut child, base) = start_server(store, &[]).await;
        let acked_before = acked.lock().unwrap().len();
        let mut tasks = Vec::new();
        for c in 0..CLIENTS_U32 {
            let (client, base, token, acked) = (
                client.clone(),
                base.clone(),
                token.clone(),
                Arc::clone(&acked),
            );
            tasks.push(tokio::spawn(async move {
                let mut sent = 0usize;
                loop {
                    let id = Uuid::now_v7().to_string();
                    let mut f = report(
                        17.60 + f64::from(c) * 0.002,
                        59.18 + f64::from(u32::try_from(sent % 100).unwrap()) * 0.0005,
                    );
                    f["id"] = json!(id);
                    sent += 1;
                    let resp = client
                        .post(format!("{base}/api/v1/observations"))
                        .bearer_auth(&token)
                        .header("content-type", "application/geo+json")
                        .body(f.to_string())
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status() == 201 => {
                            acked.lock().unwrap().insert(id);
                        }
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        // The server is gone: this submission was never acknowledged.
                        Err(_) => return sent,
                    }
                }
            }));
        }
        // Kill once enough writes were acknowledged in this cycle.
        tokio::time::timeout(Duration::from_secs(60), async {
            while acked.lock().unwrap().len() < acked_before + ACKS_BEFORE_KILL {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("submissions stalled");
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        for t in tasks {
            attempted += t.await.unwrap();
        }

        let (_child, base) = start_server(store, &[]).await;
        let stored = stored_ids(&client, &base, &token).await;
        let unique: HashSet<&String> = stored.iter().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "cycle {cycle}: an observation is stored twice"
        );
        let (acked_now, lost): (usize, Vec<String>) = {
            let acked = acked.lock().unwrap();
            let lost = acked
                .iter()
                .filter(|id| !unique.contains(id))
                .cloned()
                .collect();
            (acked.len(), lost)
        };
        assert!(
            lost.is_empty(),
            "cycle {cycle}: {} acknowledged writes lost, e.g. {:?}",
            lost.len(),
            lost.first()
        );
        assert!(stored.len() <= attempted, "more stored than ever sent");
        assert_eq!(
            observation_count(&client, &base).await,
            u64::try_from(stored.len()).unwrap()
        );
        eprintln!(
            "{store:?} cycle {cycle}: {} acknowledged, {} stored, {attempted} sent so far",
            acked_now,
            stored.len()
        );
    }
}
