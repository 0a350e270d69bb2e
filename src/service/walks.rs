//! Safety walks' use cases: admins create and close them, staff and a
//! walk's own participants read them, and anyone with a walk's code joins
//! it and gets a participant token for that walk alone.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Service;
use super::refused::{Refused, permit};
use crate::auth::new_token;
use crate::model::permission::Act;
use crate::model::walk::{TimeOfDay, new_join_code, normalise_join_code};
use crate::model::{Principal, Role, ValidationError, Walk};
use crate::store::{StoreError, TokenRecord};

/// Participant tokens stay valid this long after the walk's date, so that
/// findings queued offline can still be sent.
const PARTICIPANT_GRACE_DAYS: i64 = 7;

/// A walk as asked for, before it is checked.
pub struct WalkRequest {
    pub name: String,
    pub area: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `day` or `night`.
    pub time_of_day: String,
    /// A GeoJSON `LineString` geometry, if any.
    pub route: Option<serde_json::Value>,
}

/// What joining a walk gives: the token's secret, once, and its record.
pub struct Joined {
    pub secret: String,
    pub token: TokenRecord,
    pub walk: Walk,
}

fn visible_to(who: &Principal, walk: &Walk) -> bool {
    who.role != Role::WalkParticipant || Some(walk.id) == who.walk_id
}

impl Service {
    pub async fn create_walk(&self, who: &Principal, asked: WalkRequest) -> Result<Walk, Refused> {
        permit(who, Act::CreateWalks)?;
        let mut errors = Vec::new();
        let name = asked.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(ValidationError::new("name", "must be 1–200 characters"));
        }
        let date = Date::parse(
            &asked.date,
            &time::format_description::well_known::Iso8601::DATE,
        )
        .map_err(|_| "must be YYYY-MM-DD".to_owned())
        .and_then(crate::model::period::check_date)
        .map_err(|e| errors.push(ValidationError::new("date", e)))
        .ok();
        let time_of_day = TimeOfDay::parse(&asked.time_of_day)
            .ok_or_else(|| errors.push(ValidationError::new("time_of_day", "must be day or night")))
            .ok();
        let route = match asked.route.as_ref().filter(|r| !r.is_null()) {
            None => Some(Vec::new()),
            Some(route) => crate::ingest::geometry::route_from_value(route, &self.region)
                .map_err(|reason| errors.push(ValidationError::new("route", reason)))
                .ok(),
        };
        if let Some(area) = &asked.area {
            let known = self.store.list_areas().await?.iter().any(|a| &a.id == area);
            if !known {
                errors.push(ValidationError::new("area", format!("no area {area:?}")));
            }
        }
        let (Some(date), Some(time_of_day), Some(route), true) =
            (date, time_of_day, route, errors.is_empty())
        else {
            return Err(Refused::Invalid(errors));
        };
        let now = OffsetDateTime::now_utc();
        for _ in 0..5 {
            let walk = Walk {
                id: crate::model::observation::new_id(now),
                name: name.clone(),
                area_id: asked.area.clone(),
                date,
                time_of_day,
                route: route.clone(),
                join_code: new_join_code(),
                created_at: now,
                closed_at: None,
            };
            match self.store.create_walk(&walk).await {
                Ok(()) => {
                    self.audit(who, "walk.create", walk.id.to_string()).await;
                    return Ok(walk);
                }
                Err(StoreError::AlreadyExists(_)) => {} // join code collision: draw again
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refused::Unavailable(
            "could not draw a free join code".into(),
        ))
    }

    /// The walks `who` may see, newest first.
    pub async fn walks(&self, who: &Principal) -> Result<Vec<Walk>, Refused> {
        permit(who, Act::ReadWalks)?;
        let mut walks = self.store.list_walks().await?;
        walks.retain(|w| visible_to(who, w));
        Ok(walks)
    }

    /// One walk, if `who` may see it.
    pub async fn walk(&self, who: &Principal, id: &str) -> Result<Walk, Refused> {
        permit(who, Act::ReadWalks)?;
        let not_found = || Refused::NotFound(format!("no walk {id:?}"));
        let id = Uuid::parse_str(id).map_err(|_| not_found())?;
        self.store
            .walk(id)
            .await?
            .filter(|w| visible_to(who, w))
            .ok_or_else(not_found)
    }

    /// Closes a walk: no more findings can be submitted to it.
    pub async fn close_walk(&self, who: &Principal, id: &str) -> Result<Walk, Refused> {
        permit(who, Act::CloseWalks)?;
        let uuid = Uuid::parse_str(id).map_err(|_| Refused::NotFound(format!("no walk {id:?}")))?;
        let walk = self
            .store
            .close_walk(uuid, OffsetDateTime::now_utc())
            .await?;
        self.audit(who, "walk.close", walk.id.to_string()).await;
        Ok(walk)
    }

    /// Exchanges a walk's join code for a participant token for that walk.
    pub async fn join_walk(&self, code: &str) -> Result<Joined, Refused> {
        let walk = self
            .store
            .walk_by_code(&normalise_join_code(code))
            .await?
            .ok_or_else(|| Refused::NotFound("no walk has this code".into()))?;
        if !walk.is_open() {
            return Err(Refused::Conflict(format!(
                "the walk {:?} is closed",
                walk.name
            )));
        }
        let (secret, hash) = new_token();
        let now = OffsetDateTime::now_utc();
        // Checked: a walk stored before dates were range-checked may lie in year 9999.
        let expires = walk
            .date
            .midnight()
            .assume_utc()
            .checked_add(time::Duration::days(PARTICIPANT_GRACE_DAYS + 1))
            .unwrap_or(now);
        let token = TokenRecord {
            id: Uuid::now_v7(),
            hash,
            role: Role::WalkParticipant,
            organisation: None,
            walk_id: Some(walk.id),
            label: format!("participant of {}", walk.id),
            created_at: now,
            expires_at: Some(expires.max(now + time::Duration::days(1))),
        };
        self.store.create_token(&token).await?;
        Ok(Joined {
            secret,
            token,
            walk,
        })
    }
}
