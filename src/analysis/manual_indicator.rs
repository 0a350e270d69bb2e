//! Figures of a manual indicator: values entered by hand per period (for
//! actions whose effect is not a place, such as SSPF or controls of
//! payments), compared with the value entered for the baseline period.
//! Unlike counted indicators, a period may have no value yet.

use serde::Serialize;

use super::trend::mann_kendall;
use crate::model::{Action, Indicator, IndicatorValue, Period};

/// Periods of a manual indicator's series, ending with the current one.
const SERIES_PERIODS: i32 = 8;

/// One period of the series: its value and who entered it, if entered.
#[derive(Debug, Clone, Serialize)]
pub struct EnteredPeriod {
    pub period: Period,
    pub value: Option<f64>,
    pub note: Option<String>,
    pub entered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub entered_at: Option<time::OffsetDateTime>,
}

/// A manual indicator's figures, shaped like a counted one's where they
/// mean the same, with gaps where nothing is entered.
#[derive(Debug, Clone, Serialize)]
pub struct ManualFigure {
    pub action: String,
    pub action_title: String,
    pub indicator: String,
    pub name: String,
    pub source: &'static str,
    /// The latest period with a value (the current period when none has).
    pub period: Period,
    pub value: Option<f64>,
    pub baseline_period: Period,
    pub baseline: Option<f64>,
    pub target_change_percent: f64,
    /// Baseline × (1 + target change); none without a baseline value.
    pub target: Option<f64>,
    pub change_percent: Option<f64>,
    /// Whether the latest value has reached the target; none until both a
    /// baseline and a later value are entered.
    pub on_track: Option<bool>,
    /// The last periods, oldest first, ending with the current period.
    pub series: Vec<EnteredPeriod>,
    /// Mann–Kendall over the entered values of the series:
    /// `increasing`, `decreasing` or `no_trend` (p ≥ 0.05, or fewer than 4).
    pub trend: &'static str,
}

/// The figures of `ind`, a manual indicator of `action`, from the values
/// entered for it (any order; others' are ignored), as of `current`, the
/// period of the indicator's length containing today.
pub fn manual_figure(
    action: &Action,
    ind: &Indicator,
    values: &[IndicatorValue],
    current: Period,
) -> ManualFigure {
    let entered = |p: Period| {
        values
            .iter()
            .find(|v| v.action == action.id && v.indicator == ind.id && v.period == p)
    };
    let series: Vec<EnteredPeriod> = (1 - SERIES_PERIODS..=0)
        .map(|i| {
            let period = current.offset(i);
            let v = entered(period);
            EnteredPeriod {
                period,
                value: v.map(|v| v.value),
                note: v.map(|v| v.note.clone()).filter(|n| !n.is_empty()),
                entered_by: v.map(|v| v.entered_by.clone()),
                entered_at: v.map(|v| v.entered_at),
            }
        })
        .collect();
    let latest = series.iter().rev().find(|p| p.value.is_some());
    let (period, value) = latest.map_or((current, None), |p| (p.period, p.value));
    let baseline = entered(ind.baseline).map(|v| v.value);
    let target = baseline.map(|b| b * (1.0 + ind.target_change_percent / 100.0));
    // A value at or before the baseline period says nothing of progress.
    let later = value.filter(|_| period > ind.baseline);
    let on_track = target.zip(later).map(|(target, value)| {
        if ind.target_change_percent <= 0.0 {
            value <= target
        } else {
            value >= target
        }
    });
    let change_percent = baseline
        .zip(later)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, v)| (v - b) / b.abs() * 100.0);
    let known: Vec<f64> = series.iter().filter_map(|p| p.value).collect();
    let trend = if known.len() < 4 {
        "no_trend"
    } else {
        let mk = mann_kendall(&known);
        match mk.p < 0.05 {
            false => "no_trend",
            true if mk.z > 0.0 => "increasing",
            true => "decreasing",
        }
    };
    ManualFigure {
        action: action.id.clone(),
        action_title: action.title.clone(),
        indicator: ind.id.clone(),
        name: ind.name.clone(),
        source: "manual",
        period,
        value,
        baseline_period: ind.baseline,
        baseline,
        target_change_percent: ind.target_change_percent,
        target,
        change_percent,
        on_track,
        series,
        trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action() -> Action {
        let mut a: Action = serde_json::from_value(serde_json::json!({
            "id": "sspf",
            "focus": "young_people_and_crime",
            "title": "SSPF",
            "purpose": "p",
            "goal": "g",
            "responsible": "r",
            "status": "ongoing",
            "start": "2025-01-01",
            "indicators": [{
                "name": "Unga med SSPF-insats",
                "source": "manual",
                "period": "quarter",
                "baseline": "2025-Q1",
                "target_change_percent": 20,
            }],
        }))
        .unwrap();
        a.give_indicator_ids();
        a
    }

    fn value(period: &str, value: f64) -> IndicatorValue {
        IndicatorValue {
            action: "sspf".into(),
            indicator: "indicator-1".into(),
            period: period.parse().unwrap(),
            value,
            note: String::new(),
            entered_by: "ann".into(),
            entered_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn figure(values: &[IndicatorValue]) -> ManualFigure {
        let a = action();
        manual_figure(&a, &a.indicators[0], values, "2025-Q4".parse().unwrap())
    }

    #[test]
    fn nothing_entered_says_nothing() {
        let f = figure(&[]);
        assert_eq!(
            (f.value, f.baseline, f.target, f.on_track),
            (None, None, None, None)
        );
        assert_eq!(f.period.to_string(), "2025-Q4");
        assert_eq!(f.series.len(), 8);
        assert!(f.series.iter().all(|p| p.value.is_none()));
    }

    #[test]
    fn the_latest_value_is_measured_against_the_target() {
        // Target +20 % on 10: 12.
        let f = figure(&[value("2025-Q1", 10.0), value("2025-Q2", 12.0)]);
        assert_eq!(f.target, Some(12.0));
        assert_eq!(
            (f.period.to_string(), f.value),
            ("2025-Q2".into(), Some(12.0))
        );
        assert_eq!(f.on_track, Some(true), "exactly on the target is on track");
        assert_eq!(f.change_percent, Some(20.0));
        let f = figure(&[value("2025-Q1", 10.0), value("2025-Q3", 11.9)]);
        assert_eq!(f.on_track, Some(false));
        // Only the baseline: no progress to judge yet.
        let f = figure(&[value("2025-Q1", 10.0)]);
        assert_eq!((f.on_track, f.change_percent), (None, None));
        // A later value without a baseline: no target.
        let f = figure(&[value("2025-Q3", 10.0)]);
        assert_eq!((f.target, f.on_track), (None, None));
    }

    #[test]
    fn a_zero_baseline_has_a_target_but_no_percent_change() {
        let f = figure(&[value("2025-Q1", 0.0), value("2025-Q2", 3.0)]);
        assert_eq!(
            (f.target, f.on_track, f.change_percent),
            (Some(0.0), Some(true), None)
        );
    }

    #[test]
    fn other_indicators_values_are_ignored() {
        let mut other = value("2025-Q2", 99.0);
        other.indicator = "indicator-2".into();
        let f = figure(&[value("2025-Q1", 10.0), other]);
        assert_eq!(f.value, Some(10.0));
    }
}
