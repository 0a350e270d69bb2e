//! A walk participant's own findings, changed or removed while the walk is
//! open. The index cannot take a record out, so a change is followed by a
//! rebuild from the store ([`Service::refresh_after_changes`]); every other
//! instance rebuilds too, when it sees the store's change number grow.
//!
//! Removals are few per participant ([`MAX_REMOVALS`]): a finding removed
//! and made again under a new id gets a new record key, so each round trip
//! would show how a public count next to it rounds under a fresh cell key —
//! enough round trips, and the rounding gives the exact count away (see
//! [`crate::privacy`]). Changing a finding keeps its key.

use uuid::Uuid;

use super::{Refused, Service, permit};
use crate::model::permission::Act;
use crate::model::{FindingChange, Observation, Principal};
use crate::store::{ObservationEdit, Removal};

/// Most findings one participant may remove.
pub const MAX_REMOVALS: u64 = 10;

impl Service {
    /// Changes the category, severity or description of a finding the
    /// caller submitted.
    pub async fn change_finding(
        &self,
        who: &Principal,
        id: Uuid,
        change: FindingChange,
    ) -> Result<Observation, Refused> {
        let o = self.own_open_finding(who, id).await?;
        let (category, severity, description) =
            change.apply(&o, &self.taxonomy).map_err(Refused::Invalid)?;
        let edit = ObservationEdit {
            category,
            severity,
            description,
            by: who.actor.clone(),
        };
        let edited = self.store.edit_observation(id, edit).await?;
        self.audit(who, "observations.change", id.to_string()).await;
        self.refresh_soon().await;
        Ok(edited)
    }

    /// Removes a finding the caller submitted, for good.
    pub async fn remove_finding(&self, who: &Principal, id: Uuid) -> Result<(), Refused> {
        self.own_open_finding(who, id).await?;
        let removal = self
            .store
            .remove_observation(id, &who.actor, MAX_REMOVALS)
            .await?;
        if removal == Removal::LimitReached {
            return Err(Refused::Conflict(format!(
                "you have removed {MAX_REMOVALS} findings, the most one participant may; \
                 change this one instead"
            )));
        }
        self.audit(who, "observations.remove", id.to_string()).await;
        self.refresh_soon().await;
        Ok(())
    }

    /// The finding `id`, if the caller submitted it and its walk is open.
    /// Records out of the caller's reach are not found, as when reading.
    async fn own_open_finding(&self, who: &Principal, id: Uuid) -> Result<Observation, Refused> {
        permit(who, Act::ChangeOwnFindings)?;
        let reach = who.reach();
        let o = self
            .store
            .get(id)
            .await?
            .filter(|o| reach.covers(o))
            .ok_or_else(|| Refused::NotFound(format!("no observation {id}")))?;
        if o.submitted_by.as_deref() != Some(who.actor.as_str()) {
            return Err(Refused::NotYours(
                "you can only change findings you submitted".into(),
            ));
        }
        if let Some(walk_id) = o.walk_id
            && let Some(walk) = self.store.walk(walk_id).await?
            && !walk.is_open()
        {
            return Err(Refused::Conflict(format!(
                "the walk {:?} is closed",
                walk.name
            )));
        }
        Ok(o)
    }

    /// Rebuilds the index now, so that the caller's next read shows the
    /// change; when that fails, the background catch-up tries again.
    async fn refresh_soon(&self) {
        if let Err(e) = self.refresh_after_changes().await {
            tracing::warn!(error = %crate::error_chain(&e), "index rebuild after a change failed");
        }
    }
}
