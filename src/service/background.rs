//! The service's background work: catching up with what other processes
//! store, and storing scheduled area analyses. It runs as long as the
//! [`Background`] handle lives, and stops when that is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::Service;
use crate::error_chain;
use crate::model::PeriodKind;
use crate::store::StoreError;

/// The running background tasks; dropping it stops them.
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Service {
    /// Starts catching up every `catch_up_every` (and at once when the
    /// store announces a change) and, with `schedule`, storing each area's
    /// analysis of every such period once it has ended.
    pub fn start_background(
        self: &Arc<Self>,
        catch_up_every: Duration,
        schedule: Option<PeriodKind>,
    ) -> Background {
        let mut tasks = vec![tokio::spawn(catch_up_loop(
            Arc::clone(self),
            catch_up_every,
        ))];
        if let Some(kind) = schedule {
            tasks.push(tokio::spawn(analysis_schedule_loop(Arc::clone(self), kind)));
        }
        Background { tasks }
    }
}

/// How often the schedule looks for a period that has ended.
const SCHEDULE_CHECK: Duration = Duration::from_secs(3600);

/// Stores every area's analysis of each `kind` period once it has ended:
/// checked at start and hourly after, so a restart catches up.
async fn analysis_schedule_loop(service: Arc<Service>, kind: PeriodKind) {
    let mut tick = tokio::time::interval(SCHEDULE_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match service
            .scheduled_analyses(kind, time::OffsetDateTime::now_utc())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                analyses = n,
                period = kind.as_str(),
                "stored scheduled area analyses"
            ),
            Err(StoreError::Closed) => return,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "scheduled area analyses failed");
            }
        }
    }
}

/// Indexes what other processes commit, and rebuilds the index when stored
/// observations were edited or removed: at once when the store announces a
/// change (PostgreSQL `NOTIFY`), and by polling every `every` in any case.
async fn catch_up_loop(service: Arc<Service>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let changes = service.store().changes();
    loop {
        match &changes {
            Some(notify) => tokio::select! {
                _ = tick.tick() => {}
                () = notify.notified() => {}
            },
            None => {
                tick.tick().await;
            }
        }
        match service.catch_up().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(observations = n, "indexed observations written elsewhere"),
            Err(StoreError::Closed) => return,
            Err(e) => tracing::warn!(error = %error_chain(&e), "catch-up failed"),
        }
        match service.refresh_after_changes().await {
            Ok(false) => {}
            Ok(true) => tracing::info!("rebuilt the index after observations were changed"),
            Err(StoreError::Closed) => return,
            Err(e) => tracing::warn!(error = %error_chain(&e), "index rebuild failed"),
        }
    }
}
