//! What the expensive analyses (hot spots, emerging hot spots, perception,
//! analysis tiles) may cost: a few run at a time, and each answer is kept
//! for the data version it was made from, so that asking the same thing
//! again costs nothing. An anonymous caller who finds every slot taken gets
//! `503` at once instead of queueing; staff wait a while for a slot. One
//! anonymous client runs one analysis at a time (its others wait their
//! turn), so that a client asking in a loop cannot take every slot.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use rustc_hash::FxHashMap;
use tokio::sync::Semaphore;

use super::AppState;
use super::problem::Problem;
use crate::privacy::Disclosure;

/// How long a signed-in caller waits for a slot before `503`.
const STAFF_WAIT: Duration = Duration::from_secs(30);
/// How long an anonymous client's analysis waits for the client's previous
/// one before `503`.
const TURN_WAIT: Duration = Duration::from_secs(10);
/// Answers kept, and their bytes at most.
const CACHED_ANSWERS: usize = 64;
const CACHED_BYTES: usize = 128 * 1024 * 1024;

/// Slots and kept answers of the expensive analyses.
pub struct Budget {
    slots: Arc<Semaphore>,
    /// Per anonymous client, its one turn at a time.
    turns: Mutex<FxHashMap<IpAddr, Arc<Semaphore>>>,
    kept: Mutex<Kept>,
}

/// Who asks for an analysis: staff, or anyone else, by the client's
/// address (the public, walk participants, partners).
#[derive(Debug, Clone, Copy)]
pub enum Asker {
    Staff,
    Anonymous(IpAddr),
}

impl Asker {
    pub fn of(principal: &crate::model::Principal, client: IpAddr) -> Self {
        if principal.is_staff() {
            Asker::Staff
        } else {
            Asker::Anonymous(client)
        }
    }
}

/// A slot held for one analysis (and the client's turn), until dropped.
#[derive(Debug)]
pub struct Slot {
    _slot: tokio::sync::OwnedSemaphorePermit,
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

#[derive(Default)]
struct Kept {
    answers: FxHashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Budget {
    /// `slots` analyses at a time (at least one).
    pub fn new(slots: usize) -> Self {
        Budget {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            turns: Mutex::default(),
            kept: Mutex::default(),
        }
    }

    /// The answer for `key` (which must name everything the answer depends
    /// on: route, parameters, what the caller may see, data version), made
    /// by `make` on the blocking pool if it is not kept.
    pub async fn answer(
        &self,
        key: String,
        asker: Asker,
        make: impl FnOnce() -> Result<Vec<u8>, Problem> + Send + 'static,
    ) -> Result<Bytes, Problem> {
        if let Some(hit) = self.kept(&key) {
            return Ok(hit);
        }
        let _slot = self.slot(asker).await?;
        // Another caller may have made it while this one waited.
        if let Some(hit) = self.kept(&key) {
            return Ok(hit);
        }
        let body = Bytes::from(
            tokio::task::spawn_blocking(make)
                .await
                .map_err(|_| Problem::internal())??,
        );
        self.keep(key, body.clone());
        Ok(body)
    }

    /// A slot for one analysis, held until dropped.
    pub async fn slot(&self, asker: Asker) -> Result<Slot, Problem> {
        let busy = || {
            metrics::counter!("trygg_analysis_busy_total").increment(1);
            Problem::unavailable("the server is busy with other analyses; try again shortly")
        };
        let client = match asker {
            Asker::Staff => {
                return match tokio::time::timeout(
                    STAFF_WAIT,
                    Arc::clone(&self.slots).acquire_owned(),
                )
                .await
                {
                    Ok(Ok(slot)) => Ok(Slot {
                        _slot: slot,
                        _turn: None,
                    }),
                    _ => Err(busy()),
                };
            }
            Asker::Anonymous(client) => client,
        };
        let Ok(Ok(turn)) =
            tokio::time::timeout(TURN_WAIT, self.turn_of(client).acquire_owned()).await
        else {
            return Err(busy());
        };
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(slot) => Ok(Slot {
                _slot: slot,
                _turn: Some(turn),
            }),
            Err(_) => Err(busy()),
        }
    }

    /// The client's turn: one permit, shared by its waiting analyses.
    fn turn_of(&self, client: IpAddr) -> Arc<Semaphore> {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        if turns.len() >= 1024 {
            // Clients with nothing running or waiting.
            turns.retain(|_, t| Arc::strong_count(t) > 1);
        }
        Arc::clone(
            turns
                .entry(client)
                .or_insert_with(|| Arc::new(Semaphore::new(1))),
        )
    }

    fn kept(&self, key: &str) -> Option<Bytes> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.answers.get(key).cloned()
    }

    fn keep(&self, key: String, body: Bytes) {
        if body.len() > CACHED_BYTES / 4 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.answers.contains_key(&key) {
            return;
        }
        while kept.order.len() >= CACHED_ANSWERS || kept.bytes + body.len() > CACHED_BYTES {
            let Some(old) = kept.order.pop_front() else {
                break;
            };
            if let Some(gone) = kept.answers.remove(&old) {
                kept.bytes -= gone.len();
            }
        }
        kept.bytes += body.len();
        kept.order.push_back(key.clone());
        kept.answers.insert(key, body);
    }
}

/// A GeoJSON FeatureCollection written feature by feature: `head`'s members
/// first, then `features`. A large answer is never held as one JSON tree.
pub fn feature_collection(
    head: &serde_json::Value,
    features: impl Iterator<Item = serde_json::Value>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\"");
    if let Some(members) = head.as_object() {
        for (k, v) in members {
            out.push(b',');
            let _ = serde_json::to_writer(&mut out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut out, v);
        }
    }
    out.extend_from_slice(b",\"features\":[");
    for (i, f) in features.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, &f);
    }
    out.extend_from_slice(b"]}");
    out
}

/// What identifies an analysis answer: the route and query, what the caller
/// may see, and the data version.
pub(super) fn answer_key(state: &AppState, uri: &axum::http::Uri, d: Disclosure) -> String {
    format!(
        "{}?{}|{:?}|{}",
        uri.path(),
        uri.query().unwrap_or_default(),
        d,
        state.service.data_version()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_collection_written_in_pieces_is_one_json_document() {
        let body = feature_collection(
            &json!({"resolution": 9}),
            (0..3).map(|i| json!({"type": "Feature", "id": i})),
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["features"].as_array().unwrap().len(), 3);
        assert_eq!(v["resolution"], 9);
        let empty: serde_json::Value =
            serde_json::from_slice(&feature_collection(&json!({}), std::iter::empty())).unwrap();
        assert_eq!(empty["features"], json!([]));
    }

    const A: Asker = Asker::Anonymous(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const B: Asker = Asker::Anonymous(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));

    #[tokio::test]
    async fn anonymous_callers_get_503_when_every_slot_is_taken() {
        let budget = Budget::new(1);
        let held = budget.slot(A).await.unwrap();
        assert_eq!(budget.slot(B).await.unwrap_err().status, 503);
        drop(held);
        assert!(budget.slot(B).await.is_ok());
    }

    #[tokio::test]
    async fn one_client_runs_one_analysis_at_a_time_and_leaves_the_other_slots() {
        let budget = Arc::new(Budget::new(2));
        let first = budget.slot(A).await.unwrap();
        // A's second analysis waits for A's first, holding no slot...
        let waiting = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.slot(A).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        // ...so B finds a slot at once.
        let other = budget.slot(B).await.unwrap();
        drop(other);
        drop(first);
        waiting.await.unwrap().unwrap();
        // Staff are not held to turns.
        let _a = budget.slot(A).await.unwrap();
        let _staff = budget.slot(Asker::Staff).await.unwrap();
    }

    #[tokio::test]
    async fn answers_are_kept_per_key() {
        let budget = Budget::new(1);
        let a = budget
            .answer("k".into(), A, || Ok(b"one".to_vec()))
            .await
            .unwrap();
        let b = budget
            .answer("k".into(), A, || Ok(b"two".to_vec()))
            .await
            .unwrap();
        assert_eq!((a.as_ref(), b.as_ref()), (&b"one"[..], &b"one"[..]));
    }
}
