//! What the expensive analyses (hot spots, emerging hot spots, perception,
//! analysis tiles) may cost: a few run at a time, and each answer is kept
//! for the data version it was made from, so that asking the same thing
//! again costs nothing. An anonymous caller who finds every slot taken gets
//! `503` at once instead of queueing; staff wait a while for a slot.

use std::collections::VecDeque;
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
/// Answers kept, and their bytes at most.
const CACHED_ANSWERS: usize = 64;
const CACHED_BYTES: usize = 128 * 1024 * 1024;

/// Slots and kept answers of the expensive analyses.
pub struct Budget {
    slots: Arc<Semaphore>,
    kept: Mutex<Kept>,
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
            kept: Mutex::default(),
        }
    }

    /// The answer for `key` (which must name everything the answer depends
    /// on: route, parameters, what the caller may see, data version), made
    /// by `make` on the blocking pool if it is not kept.
    pub async fn answer(
        &self,
        key: String,
        staff: bool,
        make: impl FnOnce() -> Result<Vec<u8>, Problem> + Send + 'static,
    ) -> Result<Bytes, Problem> {
        if let Some(hit) = self.kept(&key) {
            return Ok(hit);
        }
        let _slot = self.slot(staff).await?;
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
    pub async fn slot(&self, staff: bool) -> Result<tokio::sync::OwnedSemaphorePermit, Problem> {
        let busy = || {
            metrics::counter!("trygg_analysis_busy_total").increment(1);
            Problem::unavailable("the server is busy with other analyses; try again shortly")
        };
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        if !staff {
            return Err(busy());
        }
        match tokio::time::timeout(STAFF_WAIT, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(busy()),
        }
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

    #[tokio::test]
    async fn anonymous_callers_get_503_when_every_slot_is_taken() {
        let budget = Budget::new(1);
        let held = budget.slot(false).await.unwrap();
        assert_eq!(budget.slot(false).await.unwrap_err().status, 503);
        drop(held);
        assert!(budget.slot(false).await.is_ok());
    }

    #[tokio::test]
    async fn answers_are_kept_per_key() {
        let budget = Budget::new(1);
        let a = budget
            .answer("k".into(), false, || Ok(b"one".to_vec()))
            .await
            .unwrap();
        let b = budget
            .answer("k".into(), false, || Ok(b"two".to_vec()))
            .await
            .unwrap();
        assert_eq!((a.as_ref(), b.as_ref()), (&b"one"[..], &b"one"[..]));
    }
}
