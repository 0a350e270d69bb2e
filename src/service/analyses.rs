//! Area analyses' use cases for staff: one computed now, storing one, and
//! reading the stored ones. Every read and store is audited.

use std::sync::Arc;

use uuid::Uuid;

use super::refused::{Refused, permit};
use super::{Service, StoredOutcome};
use crate::analysis::AreaAnalysis;
use crate::index::Filter;
use crate::model::permission::Act;
use crate::model::{Period, Principal};
use crate::store::StoredAnalysis;

impl Service {
    /// The analysis of `area` in `period`, computed now.
    pub async fn live_analysis(
        self: &Arc<Self>,
        who: &Principal,
        area: &str,
        period: Period,
        base: Filter,
    ) -> Result<AreaAnalysis, Refused> {
        permit(who, Act::ReadAnalyses)?;
        let analysis = self
            .analyse_area(area, period, base)
            .await?
            .ok_or_else(|| Refused::NotFound(format!("no area {area:?}")))?;
        self.audit(who, "analysis.live", format!("{area} {period}"))
            .await;
        Ok(analysis)
    }

    /// Stores the analysis of `area` in `period`, unless the newest stored
    /// one says the same.
    pub async fn store_analysis(
        self: &Arc<Self>,
        who: &Principal,
        area: &str,
        period: Period,
    ) -> Result<StoredOutcome, Refused> {
        permit(who, Act::StoreAnalyses)?;
        let outcome = self
            .store_area_analysis(area, period)
            .await?
            .ok_or_else(|| Refused::NotFound(format!("no area {area:?}")))?;
        let (StoredOutcome::Created(stored) | StoredOutcome::Unchanged(stored)) = &outcome;
        let detail = format!("{area} {period} {}", stored.id);
        self.audit(who, "analysis.store", detail).await;
        Ok(outcome)
    }

    /// An area's stored analyses, newest period first.
    pub async fn stored_analyses(
        &self,
        who: &Principal,
        area: &str,
    ) -> Result<Vec<StoredAnalysis>, Refused> {
        permit(who, Act::ReadAnalyses)?;
        Ok(self.store.list_analyses(area).await?)
    }

    /// One stored analysis, read to be shown `how` (a format, for the audit).
    pub async fn stored_analysis(
        &self,
        who: &Principal,
        id: &str,
        how: &str,
    ) -> Result<StoredAnalysis, Refused> {
        permit(who, Act::ReadAnalyses)?;
        let not_found = || Refused::NotFound(format!("no analysis {id:?}"));
        let uuid = Uuid::parse_str(id).map_err(|_| not_found())?;
        let stored = self.store.get_analysis(uuid).await?.ok_or_else(not_found)?;
        self.audit(who, "analysis.read", format!("{id} {how}"))
            .await;
        Ok(stored)
    }
}
