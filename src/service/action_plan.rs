//! The action plan's use cases: read it with each indicator's figures,
//! change an action, and enter the values of manual indicators. Each takes
//! the caller, decides whether it may, and writes the audit entry.

use serde_json::{Value, json};

use super::Service;
use super::refused::{Refused, permit};
use crate::analysis::area::indicator;
use crate::analysis::manual_indicator::manual_figure;
use crate::model::permission::Act;
use crate::model::{Action, IndicatorSource, IndicatorValue, Period, Principal};
use crate::privacy::Disclosure;

/// Which actions to read.
#[derive(Debug, Clone, Copy)]
pub enum PlanScope<'a> {
    Everything,
    /// The actions of no area.
    Municipality,
    Area(&'a str),
}

/// Longest note on an entered value, in characters.
const MAX_NOTE: usize = 1_000;

impl Service {
    /// The actions in `scope`, each with `figures`: every indicator's
    /// latest figures, counts as `d` shows them.
    pub async fn action_plan(
        self: &std::sync::Arc<Self>,
        scope: PlanScope<'_>,
        d: Disclosure,
    ) -> Result<Value, Refused> {
        let actions: Vec<Action> = self
            .store
            .list_actions()
            .await?
            .into_iter()
            .filter(|a| match scope {
                PlanScope::Everything => true,
                PlanScope::Municipality => a.area.is_none(),
                PlanScope::Area(area) => a.area.as_deref() == Some(area),
            })
            .collect();
        let entered = if actions
            .iter()
            .flat_map(|a| &a.indicators)
            .any(|i| i.source == IndicatorSource::Manual)
        {
            self.store.list_indicator_values().await?
        } else {
            Vec::new()
        };
        let service = self.clone();
        let plan = tokio::task::spawn_blocking(move || {
            let now = time::OffsetDateTime::now_utc();
            let index = service.index();
            let items: Vec<Value> = actions
                .iter()
                .map(|a| {
                    let figures: Vec<Value> = a
                        .indicators
                        .iter()
                        .map(|ind| match ind.source {
                            IndicatorSource::Counted => {
                                let last = Period::containing_instant(ind.period, now).offset(-1);
                                let figure = indicator(&index, a, ind, last).as_shown(d);
                                let mut v = serde_json::to_value(figure).unwrap_or_default();
                                v["indicator"] = json!(ind.id);
                                v["source"] = json!("counted");
                                v
                            }
                            IndicatorSource::Manual => {
                                let current = Period::containing_instant(ind.period, now);
                                serde_json::to_value(manual_figure(a, ind, &entered, current))
                                    .unwrap_or_default()
                            }
                        })
                        .collect();
                    let mut v = serde_json::to_value(a).unwrap_or_default();
                    v["figures"] = json!(figures);
                    v
                })
                .collect();
            json!({ "actions": items })
        })
        .await
        .map_err(|_| Refused::Internal)?;
        Ok(plan)
    }

    /// Creates or replaces the action `id`; indicators without an id get one.
    pub async fn put_action(
        &self,
        who: &Principal,
        id: &str,
        mut action: Action,
    ) -> Result<Action, Refused> {
        permit(who, Act::ChangePlan)?;
        if !crate::model::is_slug(id) {
            return Err(Refused::invalid(
                "id",
                "use 1–64 lower-case letters, digits, - or _",
            ));
        }
        if !action.id.is_empty() && action.id != id {
            return Err(Refused::invalid("id", "differs from the id in the path"));
        }
        id.clone_into(&mut action.id);
        let areas = self.store.list_areas().await?;
        let errors = action.validate(&self.taxonomy, |a| areas.iter().any(|known| known.id == a));
        if !errors.is_empty() {
            return Err(Refused::Invalid(errors));
        }
        action.give_indicator_ids();
        self.store.put_action(&action).await?;
        self.audit(who, "action.put", action.id.clone()).await;
        Ok(action)
    }

    pub async fn delete_action(&self, who: &Principal, id: &str) -> Result<(), Refused> {
        permit(who, Act::ChangePlan)?;
        if !self.store.delete_action(id).await? {
            return Err(Refused::NotFound(format!("no action {id:?}")));
        }
        self.audit(who, "action.delete", id.to_owned()).await;
        Ok(())
    }

    /// Enters (or replaces) the value of a manual indicator for `period`.
    pub async fn enter_indicator_value(
        &self,
        who: &Principal,
        action: &str,
        indicator: &str,
        period: &str,
        value: f64,
        note: String,
    ) -> Result<IndicatorValue, Refused> {
        permit(who, Act::EnterIndicatorValues)?;
        let period = self.manual_period(action, indicator, period).await?;
        let mut errors = Vec::new();
        if !value.is_finite() {
            errors.push(crate::model::ValidationError::new(
                "value",
                "must be a number",
            ));
        }
        if note.chars().count() > MAX_NOTE {
            errors.push(crate::model::ValidationError::new(
                "note",
                format!("at most {MAX_NOTE} characters"),
            ));
        }
        if !errors.is_empty() {
            return Err(Refused::Invalid(errors));
        }
        let entered = IndicatorValue {
            action: action.to_owned(),
            indicator: indicator.to_owned(),
            period,
            value,
            note: note.trim().to_owned(),
            entered_by: who.name.clone(),
            entered_at: time::OffsetDateTime::now_utc(),
        };
        self.store
            .put_indicator_value(&entered)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound(_) => {
                    Refused::NotFound(format!("no action {action:?}"))
                }
                other => other.into(),
            })?;
        let detail = format!("{action}/{indicator}/{period}");
        self.audit(who, "indicator_value.put", detail).await;
        Ok(entered)
    }

    /// Removes the value entered for `period`.
    pub async fn remove_indicator_value(
        &self,
        who: &Principal,
        action: &str,
        indicator: &str,
        period: &str,
    ) -> Result<(), Refused> {
        permit(who, Act::EnterIndicatorValues)?;
        let period = self.manual_period(action, indicator, period).await?;
        if !self
            .store
            .delete_indicator_value(action, indicator, period)
            .await?
        {
            return Err(Refused::NotFound(format!(
                "no value entered for {period} of {action}/{indicator}"
            )));
        }
        let detail = format!("{action}/{indicator}/{period}");
        self.audit(who, "indicator_value.delete", detail).await;
        Ok(())
    }

    /// `period` parsed, when `indicator` of `action` is a manual indicator
    /// followed in periods of that length and `period` has begun.
    async fn manual_period(
        &self,
        action: &str,
        indicator: &str,
        period: &str,
    ) -> Result<Period, Refused> {
        let actions = self.store.list_actions().await?;
        let action_found = actions
            .iter()
            .find(|a| a.id == action)
            .ok_or_else(|| Refused::NotFound(format!("no action {action:?}")))?;
        let ind = action_found.indicator(indicator).ok_or_else(|| {
            Refused::NotFound(format!("no indicator {indicator:?} in action {action:?}"))
        })?;
        if ind.source != IndicatorSource::Manual {
            return Err(Refused::invalid(
                "indicator",
                "is counted from the observations; only manual indicators take entered values",
            ));
        }
        let period = Period::parse_in_years(period).map_err(|e| Refused::invalid("period", e))?;
        if period.kind() != ind.period {
            return Err(Refused::invalid(
                "period",
                format!("must be a {} like the indicator's", ind.period.as_str()),
            ));
        }
        if period.start() > time::OffsetDateTime::now_utc().date() {
            return Err(Refused::invalid("period", "has not begun"));
        }
        Ok(period)
    }
}
