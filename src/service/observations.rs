//! Observations' use cases: submit one, import many, list, find nearby,
//! read one, follow up. Each takes the caller, asks the permission table
//! (`model::permission`) and keeps reads within the caller's [`Reach`];
//! reads of records and changes to them are audited.

use std::io::BufRead;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{ImportError, Refused, Service, permit};
use crate::index::Filter;
use crate::ingest::{self, Checked, Format};
use crate::model::observation::ValidationContext;
use crate::model::observation::anonymous_id;
use crate::model::permission::{Act, Reach};
use crate::model::{
    FindingStatus, Kind, NewObservation, Observation, Principal, Region, Role, Taxonomy,
    ValidationError,
};
use crate::store::{FindingUpdate, Inserted, Store, StreamOutcome};

/// Rejections listed in one import's answer; the count covers them all.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// Longest assignee of a finding, in characters.
const MAX_ASSIGNEE_CHARS: usize = 200;

/// One page of records, oldest first.
pub struct RecordPage {
    pub observations: Vec<Observation>,
    /// The cursor for the next page while more remain.
    pub next: Option<Uuid>,
}

/// What an import did, for the caller's answer.
pub struct Imported {
    pub checked: Checked,
    pub outcome: StreamOutcome,
}

impl Imported {
    /// Whether the batch was refused as a whole (an invalid record or a
    /// conflicting id without `partial`): then nothing was stored.
    pub fn refused_whole(&self, partial: bool) -> bool {
        !partial && (self.checked.rejected > 0 || !self.outcome.conflicts.is_empty())
    }
}

impl Service {
    /// Submits one observation: fills in what the caller's credentials
    /// decide (organisation, walk, an anonymous id's namespace), checks the
    /// walk is open, validates, stores and indexes it.
    pub async fn submit_for(
        &self,
        who: &Principal,
        mut new: NewObservation,
    ) -> Result<Inserted, Refused> {
        if let Some(kind) = new.kind.as_deref().and_then(|k| k.parse::<Kind>().ok()) {
            permit(who, Act::Submit(kind))?;
        }
        match who.role {
            Role::Partner => {
                if new
                    .organisation
                    .as_ref()
                    .is_some_and(|o| Some(o) != who.organisation.as_ref())
                {
                    return Err(Refused::NotYours(
                        "the organisation is set by your token".into(),
                    ));
                }
                new.organisation.clone_from(&who.organisation);
            }
            // Anonymous ids live in a namespace of their own (see `anonymous_id`).
            Role::Anonymous => new.id = new.id.map(anonymous_id),
            Role::WalkParticipant => {
                if new.walk_id.is_some_and(|w| Some(w) != who.walk_id) {
                    return Err(Refused::NotYours(
                        "you can only submit findings to the walk you joined".into(),
                    ));
                }
                new.walk_id = who.walk_id;
            }
            Role::Analyst | Role::Admin => {}
        }
        if new.kind.as_deref() == Some("walk_finding")
            && let Some(walk_id) = new.walk_id
        {
            match self.store.walk(walk_id).await? {
                None => return Err(Refused::invalid("walk", format!("no walk {walk_id}"))),
                Some(w) if !w.is_open() => {
                    return Err(Refused::Conflict(format!(
                        "the walk {:?} is closed",
                        w.name
                    )));
                }
                Some(_) => {}
            }
        }
        let mut observation = new
            .validate(self.validation_context())
            .map_err(Refused::Invalid)?;
        if who.role == Role::Anonymous
            && let Some(reach) = self.anonymous_reach_back
            && observation.observed_at < time::OffsetDateTime::now_utc() - reach
        {
            return Err(Refused::invalid(
                "observed_at",
                format!(
                    "is more than {} days ago; a report reaches back at most that far",
                    reach.whole_days()
                ),
            ));
        }
        if who.role == Role::WalkParticipant {
            // So that the participant may change it while the walk is open.
            observation.submitted_by = Some(who.actor.clone());
        }
        Ok(self.submit(observation).await?)
    }

    /// Imports a document in `format` read from `input` (on a blocking
    /// thread): every record validated, those of kinds the caller may not
    /// submit rejected, stored in one transaction and indexed. Audited
    /// when something may have been stored.
    pub async fn import_for(
        self: &Arc<Self>,
        who: &Principal,
        format: Format,
        input: impl BufRead + Send + 'static,
        partial: bool,
    ) -> Result<Imported, ImportError> {
        permit(who, Act::Import)?;
        let (taxonomy, region) = (self.taxonomy.clone(), self.region);
        let parse = parse_for(
            who,
            format,
            input,
            (taxonomy, region),
            MAX_LISTED_REJECTIONS,
        );
        let (checked, outcome) = self.import_streamed(partial, parse).await?;
        let imported = Imported { checked, outcome };
        audit_import(self.store.as_ref(), who, &imported, partial).await;
        Ok(imported)
    }

    /// A page of the records matching `filter` within the caller's reach,
    /// after the cursor `after`.
    pub async fn list_records(
        &self,
        who: &Principal,
        filter: Filter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<RecordPage, Refused> {
        permit(who, Act::ReadRecords)?;
        let (ids, more) = match within_reach(who, filter) {
            Some(filter) => self.index().select(&filter, after, limit),
            None => (Vec::new(), false),
        };
        let observations = self.store.get_many(&ids).await?;
        let returned = observations.len();
        self.audit(who, "observations.list", format!("{returned} returned"))
            .await;
        let next = ids.last().copied().filter(|_| more);
        Ok(RecordPage { observations, next })
    }

    /// Records within `radius_m` of a point, nearest first, each with its
    /// distance in metres.
    pub async fn nearby_records(
        &self,
        who: &Principal,
        (lon, lat): (f64, f64),
        radius_m: f64,
        filter: Filter,
        limit: usize,
    ) -> Result<Vec<(Observation, f64)>, Refused> {
        permit(who, Act::ReadRecords)?;
        let found = match within_reach(who, filter) {
            Some(filter) => self.index().nearby(lon, lat, radius_m, &filter, limit),
            None => Vec::new(),
        };
        let ids: Vec<Uuid> = found.iter().map(|n| n.id).collect();
        let observations = self.store.get_many(&ids).await?;
        let returned = observations.len();
        self.audit(who, "observations.nearby", format!("{returned} returned"))
            .await;
        Ok(observations
            .into_iter()
            .zip(found.iter().map(|n| n.distance_m))
            .collect())
    }

    /// One record, if it is within the caller's reach.
    pub async fn record(&self, who: &Principal, id: Uuid) -> Result<Observation, Refused> {
        permit(who, Act::ReadRecords)?;
        let reach = who.reach();
        let found = self.store.get(id).await?.filter(|o| reach.covers(o));
        let Some(o) = found else {
            return Err(Refused::NotFound(format!("no observation {id}")));
        };
        self.audit(who, "observations.get", "1 returned".into())
            .await;
        Ok(o)
    }

    /// A page of every record `filter` matches, by offset, and how many
    /// match in all (the OGC collection).
    pub async fn records_at(
        &self,
        who: &Principal,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Observation>, usize), Refused> {
        permit(who, Act::ReadExact)?;
        let (page, matched) = {
            let index = self.index();
            let (ids, _) = index.select(filter, None, offset.saturating_add(limit));
            let page: Vec<Uuid> = ids.into_iter().skip(offset).collect();
            (page, index.count(filter))
        };
        let observations = self.store.get_many(&page).await?;
        let returned = observations.len();
        self.audit(who, "ogc.observations", format!("{returned} returned"))
            .await;
        Ok((observations, matched))
    }

    /// Any one record (the OGC collection's item).
    pub async fn any_record(
        &self,
        who: &Principal,
        id: Uuid,
    ) -> Result<Option<Observation>, Refused> {
        permit(who, Act::ReadExact)?;
        let found = self.store.get(id).await?;
        if found.is_some() {
            self.audit(who, "ogc.observation", id.to_string()).await;
        }
        Ok(found)
    }

    /// Changes a walk finding's follow-up status and who is responsible.
    pub async fn follow_up(
        &self,
        who: &Principal,
        id: Uuid,
        status: FindingStatus,
        assignee: Option<String>,
    ) -> Result<Observation, Refused> {
        permit(who, Act::FollowUp)?;
        let assignee = assignee.filter(|a| !a.trim().is_empty());
        if assignee
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_ASSIGNEE_CHARS)
        {
            return Err(Refused::invalid(
                "assignee",
                format!("longer than {MAX_ASSIGNEE_CHARS} characters"),
            ));
        }
        let update = FindingUpdate {
            status,
            assignee,
            by: who.actor.clone(),
            at: OffsetDateTime::now_utc(),
        };
        let updated = self.store.update_finding(id, update).await?;
        let detail = format!("{id} -> {}", status.as_str());
        self.audit(who, "observations.status", detail).await;
        Ok(updated)
    }
}

/// Imports a document into `store` as [`Service::import_for`] does, but
/// indexes nothing: for the command line, whose writes a running server
/// picks up by catching up. At most `max_listed` rejections are listed.
pub async fn import_into(
    store: &dyn Store,
    who: &Principal,
    (taxonomy, region): (Taxonomy, Region),
    format: Format,
    input: impl BufRead + Send + 'static,
    partial: bool,
    max_listed: usize,
) -> Result<Imported, ImportError> {
    permit(who, Act::Import)?;
    let parse = parse_for(who, format, input, (taxonomy, region), max_listed);
    let (checked, outcome, _) = super::store_while_parsing(store, partial, parse, None).await?;
    let imported = Imported { checked, outcome };
    audit_import(store, who, &imported, partial).await;
    Ok(imported)
}

/// The parse of an import for `who`: every record validated, those of
/// kinds the caller may not submit rejected.
fn parse_for(
    who: &Principal,
    format: Format,
    input: impl BufRead + Send + 'static,
    (taxonomy, region): (Taxonomy, Region),
    max_listed: usize,
) -> impl FnOnce(&mut (dyn FnMut(Vec<Observation>) + Send)) -> Result<Checked, ingest::ParseError>
+ Send
+ 'static {
    let caller = who.clone();
    move |on_accepted| {
        let allow = |new: &NewObservation| {
            let kind = new.kind.as_deref().and_then(|k| k.parse::<Kind>().ok());
            if kind.is_some_and(|k| !caller.may(Act::Submit(k))) {
                return Err(ValidationError::new("kind", "not allowed for your role"));
            }
            Ok(())
        };
        let ctx = ValidationContext::new(&taxonomy, &region, OffsetDateTime::now_utc());
        ingest::parse_and_validate_chunked(format, input, ctx, &allow, max_listed, on_accepted)
    }
}

/// Audits an import unless it was refused as a whole (nothing stored).
async fn audit_import(store: &dyn Store, who: &Principal, imported: &Imported, partial: bool) {
    if !imported.refused_whole(partial) {
        let stored = imported.outcome.stored;
        super::audit(
            store,
            who,
            "observations.import",
            format!("{stored} stored"),
        )
        .await;
    }
}

/// `filter` narrowed to the records `who` may read; `None` when that is
/// none at all.
fn within_reach(who: &Principal, mut filter: Filter) -> Option<Filter> {
    match who.reach() {
        Reach::Everything => {}
        Reach::Walk(walk) => {
            filter.kinds = vec![Kind::WalkFinding];
            filter.walk_id = Some(walk?);
        }
        Reach::Organisation(organisation) => {
            filter.kinds = vec![Kind::PlaceObservation];
            filter.organisation = Some(organisation?);
        }
        Reach::Nothing => return None,
    }
    Some(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_narrows_a_filter_to_the_callers_own() {
        let walk = Uuid::from_u128(3);
        let participant = Principal {
            role: Role::WalkParticipant,
            walk_id: Some(walk),
            ..Principal::anonymous()
        };
        let f = within_reach(&participant, Filter::default()).unwrap();
        assert_eq!((f.kinds, f.walk_id), (vec![Kind::WalkFinding], Some(walk)));

        let partner = Principal {
            role: Role::Partner,
            organisation: Some("Bostadsbolaget".into()),
            ..Principal::anonymous()
        };
        let f = within_reach(&partner, Filter::default()).unwrap();
        assert_eq!(f.kinds, vec![Kind::PlaceObservation]);
        assert_eq!(f.organisation.as_deref(), Some("Bostadsbolaget"));

        // Without the walk or organisation a token should carry: nothing.
        let lost = Principal {
            role: Role::Partner,
            ..Principal::anonymous()
        };
        assert!(within_reach(&lost, Filter::default()).is_none());
    }
}
