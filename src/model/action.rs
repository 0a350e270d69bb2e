//! Action plans (åtgärdsplan, områdesspecifik handlingsplan): actions with
//! their focus area, purpose and goal, the places they target, and the
//! indicators — counts computed from the observations — that should move.

use serde::{Deserialize, Serialize};

use super::{Kind, Period, PeriodKind, Taxonomy, ValidationError};

/// The five focus areas (inriktningar) of Södertälje's action plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Focus {
    /// Unga och kriminalitet.
    YoungPeopleAndCrime,
    /// Minskat våld och brottsutsatthet.
    LessViolence,
    /// Trygga stadsdelar.
    SafeNeighbourhoods,
    /// Motverka den kriminella ekonomin.
    CriminalEconomy,
    /// Stärkt samverkan och kunskapsbaserat arbete.
    Cooperation,
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Planned,
    Ongoing,
    Completed,
    Paused,
}

/// Where an indicator's values come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorSource {
    /// Counted from the observations matching the indicator's filter.
    #[default]
    Counted,
    /// Entered by hand per period (e.g. young people in SSPF, payment
    /// controls made): for actions whose effect is not a place.
    Manual,
}

/// What the action should move, per period, compared with a baseline
/// period and a target change: a count of the observations matching the
/// filter, or a value entered by hand per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable within the action, e.g. `indicator-1`; given when missing.
    /// Entered values refer to it.
    #[serde(default)]
    pub id: String,
    /// What it counts, in words, e.g. "Otrygghetsrapporter om belysning i Hovsjö".
    pub name: String,
    #[serde(default)]
    pub source: IndicatorSource,
    /// Kinds counted (empty: all).
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// Category codes counted (empty: all).
    #[serde(default)]
    pub categories: Vec<String>,
    /// The area counted in; defaults to the action's area (none: the whole municipality).
    #[serde(default)]
    pub area: Option<String>,
    /// Period length the indicator is followed in.
    #[schema(value_type = String, example = "quarter", pattern = "^(month|quarter|year)$")]
    pub period: PeriodKind,
    /// The period the target is measured against, e.g. `2025-Q1`, in 1900–2200.
    #[schema(
        value_type = String,
        example = "2025-Q1",
        pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)(-([Qq][1-4]|0[1-9]|1[0-2]))?$"
    )]
    pub baseline: Period,
    /// Target change against the baseline in per cent, e.g. −30.
    pub target_change_percent: f64,
}

/// A value entered by hand for a manual indicator's period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndicatorValue {
    pub action: String,
    pub indicator: String,
    #[schema(value_type = String, example = "2025-Q3")]
    pub period: Period,
    pub value: f64,
    /// Where the figure comes from or what it means, in words.
    #[serde(default)]
    pub note: String,
    /// Who entered it: the user name or token label.
    pub entered_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub entered_at: time::OffsetDateTime,
}

/// One action of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Stable slug, e.g. `hovsjo-belysning`.
    #[serde(default)]
    pub id: String,
    /// The area the action belongs to; none for municipality-wide actions.
    #[serde(default)]
    pub area: Option<String>,
    pub focus: Focus,
    pub title: String,
    /// Syfte.
    pub purpose: String,
    /// Målsättning.
    pub goal: String,
    #[serde(default)]
    pub description: String,
    /// The responsible organisation.
    pub responsible: String,
    pub status: ActionStatus,
    /// First day of the action.
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub start: time::Date,
    /// Last day, if it has one.
    #[serde(default, with = "iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub end: Option<time::Date>,
    /// Targeted places: GeoJSON `Point`, `MultiPoint`, `Polygon` or `MultiPolygon` geometries.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub places: Vec<serde_json::Value>,
    #[serde(default)]
    pub indicators: Vec<Indicator>,
}

// Dates as `2025-03-01`.
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

const MAX_TEXT: usize = 4_000;

impl Action {
    /// Every problem with the action at once.
    pub fn validate(
        &self,
        taxonomy: &Taxonomy,
        known_area: impl Fn(&str) -> bool,
    ) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let mut check_text = |field: &str, value: &str, required: bool| {
            if required && value.trim().is_empty() {
                errors.push(ValidationError::new(field, "is required"));
            }
            if value.chars().count() > MAX_TEXT {
                errors.push(ValidationError::new(
                    field,
                    format!("at most {MAX_TEXT} characters"),
                ));
            }
        };
        check_text("title", &self.title, true);
        check_text("purpose", &self.purpose, true);
        check_text("goal", &self.goal, true);
        check_text("description", &self.description, false);
        check_text("responsible", &self.responsible, true);
        if let Some(area) = &self.area
            && !known_area(area)
        {
            errors.push(ValidationError::new("area", format!("no area {area:?}")));
        }
        if let Err(e) = super::period::check_date(self.start) {
            errors.push(ValidationError::new("start", e));
        }
        if let Some(Err(e)) = self.end.map(super::period::check_date) {
            errors.push(ValidationError::new("end", e));
        }
        if self.end.is_some_and(|end| end < self.start) {
            errors.push(ValidationError::new("end", "is before start"));
        }
        for (i, place) in self.places.iter().enumerate() {
            if !place_is_valid(place) {
                errors.push(ValidationError::new(
                    format!("places[{i}]"),
                    "must be a GeoJSON Point, MultiPoint, Polygon or MultiPolygon in WGS 84",
                ));
            }
        }
        for (i, ind) in self.indicators.iter().enumerate() {
            let field = |f: &str| format!("indicators[{i}].{f}");
            if ind.name.trim().is_empty() {
                errors.push(ValidationError::new(field("name"), "is required"));
            }
            if !ind.id.is_empty() && !super::is_slug(&ind.id) {
                errors.push(ValidationError::new(
                    field("id"),
                    "use 1–64 lower-case letters, digits, - or _",
                ));
            }
            if self.indicators[..i].iter().any(|other| other.id == ind.id) && !ind.id.is_empty() {
                errors.push(ValidationError::new(field("id"), "is used twice"));
            }
            if ind.source == IndicatorSource::Manual
                && (!ind.kinds.is_empty() || !ind.categories.is_empty() || ind.area.is_some())
            {
                errors.push(ValidationError::new(
                    field("source"),
                    "a manual indicator counts no observations: leave kinds, categories and area out",
                ));
            }
            for c in &ind.categories {
                if !taxonomy.knows(c) {
                    errors.push(ValidationError::new(
                        field("categories"),
                        format!("unknown category {c:?}"),
                    ));
                }
            }
            if let Some(area) = &ind.area
                && !known_area(area)
            {
                errors.push(ValidationError::new(
                    field("area"),
                    format!("no area {area:?}"),
                ));
            }
            if let Err(e) = super::period::check_year(ind.baseline.year()) {
                errors.push(ValidationError::new(field("baseline"), e));
            }
            if ind.baseline.kind() != ind.period {
                errors.push(ValidationError::new(
                    field("baseline"),
                    format!(
                        "must be a {} like the indicator's period",
                        ind.period.as_str()
                    ),
                ));
            }
            if !ind.target_change_percent.is_finite() || ind.target_change_percent < -100.0 {
                errors.push(ValidationError::new(
                    field("target_change_percent"),
                    "must be a number ≥ −100",
                ));
            }
        }
        errors
    }

    /// Gives every indicator without an id the first free `indicator-N`,
    /// N its position or later, so that an action stored before ids
    /// existed gets the same ids each time it is read.
    pub fn give_indicator_ids(&mut self) {
        for i in 0..self.indicators.len() {
            if !self.indicators[i].id.is_empty() {
                continue;
            }
            // Of n + 1 candidates at most n are taken.
            let n = self.indicators.len();
            let id = (i + 1..=i + 1 + n)
                .map(|n| format!("indicator-{n}"))
                .find(|id| !self.indicators.iter().any(|x| &x.id == id))
                .expect("a free id");
            self.indicators[i].id = id;
        }
    }

    /// The indicator with this id.
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The area an indicator counts in: its own, or the action's.
    pub fn indicator_area<'a>(&'a self, indicator: &'a Indicator) -> Option<&'a str> {
        indicator.area.as_deref().or(self.area.as_deref())
    }
}

/// A GeoJSON `Point`, `MultiPoint`, `Polygon` or `MultiPolygon` whose positions are
/// all `[lon, lat]` (nested as deep as the type says, polygon rings closed
/// with at least four positions).
fn place_is_valid(place: &serde_json::Value) -> bool {
    use serde_json::Value;
    fn position(v: &Value) -> Option<[f64; 2]> {
        let a = v.as_array()?;
        if !(2..=3).contains(&a.len()) {
            return None;
        }
        let (lon, lat) = (a[0].as_f64()?, a[1].as_f64()?);
        ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some([lon, lat])
    }
    fn list(v: &Value) -> Option<&Vec<Value>> {
        v.as_array().filter(|a| !a.is_empty())
    }
    fn ring(v: &Value) -> bool {
        list(v).is_some_and(|r| {
            let positions: Option<Vec<[f64; 2]>> = r.iter().map(position).collect();
            positions.is_some_and(|p| p.len() >= 4 && p.first() == p.last())
        })
    }
    fn polygon(v: &Value) -> bool {
        list(v).is_some_and(|rings| rings.iter().all(ring))
    }
    let Some(coordinates) = place.get("coordinates") else {
        return false;
    };
    match place.get("type").and_then(Value::as_str) {
        Some("Point") => position(coordinates).is_some(),
        Some("MultiPoint") => {
            list(coordinates).is_some_and(|ps| ps.iter().all(|p| position(p).is_some()))
        }
        Some("Polygon") => polygon(coordinates),
        Some("MultiPolygon") => list(coordinates).is_some_and(|ps| ps.iter().all(polygon)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(baseline: &str, start: &str) -> Action {
        serde_json::from_value(serde_json::json!({
            "focus": "safe_neighbourhoods",
            "title": "Belysning",
            "purpose": "Tryggare gångvägar",
            "goal": "Färre rapporter om mörker",
            "responsible": "Kommunen",
            "status": "ongoing",
            "start": start,
            "indicators": [{
                "name": "Mörka platser",
                "period": "quarter",
                "baseline": baseline,
                "target_change_percent": -30,
            }],
        }))
        .unwrap()
    }

    // Regression: a baseline of 9999-Q4 was stored, and every later
    // `GET /api/v1/actions` panicked computing its figures.
    #[test]
    fn periods_and_dates_outside_the_supported_years_are_refused() {
        let t = Taxonomy::builtin();
        assert!(
            action("2025-Q1", "2025-03-01")
                .validate(&t, |_| true)
                .is_empty()
        );
        let errors = action("9999-Q4", "9999-03-01").validate(&t, |_| true);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["start", "indicators[0].baseline"], "{errors:?}");
    }
}
