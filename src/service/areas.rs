//! Areas' use cases: anyone reads them; admins add and replace them, and
//! the index counts in the new outline from then on.

use super::Service;
use super::refused::{Refused, permit};
use crate::model::permission::Act;
use crate::model::{Area, Principal};

impl Service {
    /// Every area.
    pub async fn areas(&self) -> Result<Vec<Area>, Refused> {
        Ok(self.store.list_areas().await?)
    }

    /// One area.
    pub async fn area(&self, id: &str) -> Result<Area, Refused> {
        self.store
            .list_areas()
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Refused::NotFound(format!("no area {id:?}")))
    }

    /// Adds or replaces an area (admins), checked by the caller's parser.
    pub async fn put_area(&self, who: &Principal, area: Area) -> Result<Area, Refused> {
        permit(who, Act::ChangeAreas)?;
        if !crate::model::is_slug(&area.id) {
            return Err(Refused::invalid(
                "id",
                "use 1–64 lower-case letters, digits, - or _",
            ));
        }
        self.store.put_area(&area).await?;
        self.reload_areas().await?;
        self.audit(who, "area.put", area.id.clone()).await;
        Ok(area)
    }
}
