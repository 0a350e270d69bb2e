//! The area analysis (områdesanalys): one area and one period — counts by
//! kind and category, the rate against the whole municipality, change
//! against the previous period and the same period a year earlier, the top
//! cells and hot spots, the share made in darkness, walk findings and their
//! follow-up, and the action plan's indicators.
//!
//! Darkness: the sun's altitude at the observation's place and time
//! (suncalc's algorithm, `sun` crate) below −0.833°, the altitude of the
//! sun's upper limb at sunrise and sunset with standard refraction.

use std::collections::BTreeMap;

use geo::ChamberlainDuquetteArea;
use h3o::{CellIndex, Resolution};
use rustc_hash::FxHashMap;
use serde::Serialize;
use time::OffsetDateTime;

use super::hotspots::hot_spots_in;
use super::trend::mann_kendall;
use crate::index::{Filter, ObservationIndex};
use crate::model::{
    Action, Area, FindingStatus, Indicator, IndicatorSource, Kind, Observation, Period, Region,
    Taxonomy,
};
use crate::privacy::{Disclosure, Keyed};

/// Cells of this resolution (about 0.015 km²) for top cells and hot spots.
pub const CELL_RESOLUTION: Resolution = Resolution::Ten;
/// How many top cells an analysis lists.
const TOP_CELLS: usize = 10;
/// Indicator series length, in the indicator's periods.
const INDICATOR_PERIODS: i32 = 8;
/// The sun's altitude at sunrise and sunset, degrees.
const SUNSET_ALTITUDE: f64 = -0.833;

/// Whether the sun is below the horizon at a place and time (Unix seconds).
pub fn is_dark(lon: f64, lat: f64, unix_seconds: i64) -> bool {
    sun::pos(unix_seconds.saturating_mul(1000), lat, lon)
        .altitude
        .to_degrees()
        < SUNSET_ALTITUDE
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaAnalysis {
    pub area: AreaFacts,
    pub period: Period,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Kinds and categories the analysis was restricted to (empty: all).
    pub kinds: Vec<Kind>,
    pub categories: Vec<String>,
    pub total: u32,
    pub by_kind: BTreeMap<&'static str, u32>,
    pub by_category: Vec<CategoryCount>,
    /// Observations per km² of the area.
    pub per_km2: f64,
    pub municipality: Municipality,
    pub previous: Comparison,
    pub year_before: Comparison,
    pub darkness: Darkness,
    /// The busiest resolution-10 cells, busiest first.
    pub top_cells: Vec<CellFigure>,
    /// Resolution-10 cells with a significant Gi* (k = 1) over the area.
    pub hot_spots: Vec<HotCell>,
    pub findings: Findings,
    pub indicators: Vec<IndicatorFigure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaFacts {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub area_type: &'static str,
    pub km2: f64,
    pub approximate: bool,
    /// The boundary as it was when the analysis was made (GeoJSON).
    pub geometry: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryCount {
    pub code: String,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Municipality {
    pub total: u32,
    pub per_km2: f64,
    /// The area's share of the municipality's observations.
    pub share_of_observations: Option<f64>,
    /// The area's share of the municipality's land.
    pub share_of_area: f64,
    /// The area's rate over the municipality's: above 1 means over-represented.
    pub rate_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub period: Period,
    pub total: u32,
    /// Change from that period to this one, per cent (none when it had no observations).
    pub change_percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Darkness {
    /// Observations made while the sun was below the horizon.
    pub dark: u32,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellFigure {
    pub cell: String,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct HotCell {
    pub cell: String,
    pub count: u32,
    pub z: f64,
    pub bin: i8,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Findings {
    /// Walk findings made in the area during the period.
    pub total: u32,
    pub open: u32,
    pub assigned: u32,
    pub resolved: u32,
    /// Median days from observation to resolution, over the resolved ones.
    pub median_days_to_resolve: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndicatorFigure {
    pub action: String,
    pub action_title: String,
    pub name: String,
    /// The indicator's period that contains the end of the analysed period.
    pub period: Period,
    pub value: u32,
    pub baseline_period: Period,
    pub baseline: u32,
    /// Cell keys of `value` and `baseline`, for public rounding ([`crate::privacy`]).
    #[serde(skip)]
    pub keys: [u32; 2],
    pub target_change_percent: f64,
    pub target: f64,
    /// Change against the baseline, per cent.
    pub change_percent: Option<f64>,
    pub on_track: bool,
    /// The last periods' values, oldest first, ending with `period`.
    pub series: Vec<PeriodValue>,
    /// Mann–Kendall over the series: `increasing`, `decreasing` or `no_trend` (p ≥ 0.05).
    pub trend: &'static str,
    pub trend_p: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodValue {
    pub period: Period,
    pub value: u32,
    #[serde(skip)]
    pub key: u32,
}

/// What an analysis needs besides the index.
pub struct AreaInput<'a> {
    pub area: &'a Area,
    pub period: Period,
    /// Kinds and categories to restrict to; time, area and other fields are ignored.
    pub base: Filter,
    pub region: Region,
    /// The area's walk findings of the period, with their follow-up state.
    pub findings: &'a [Observation],
    /// The actions whose indicators are shown.
    pub actions: &'a [Action],
    pub now: OffsetDateTime,
}

pub fn change(now: u32, then: u32) -> Option<f64> {
    (then > 0).then(|| (f64::from(now) - f64::from(then)) / f64::from(then) * 100.0)
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// The filter for `period` in `area` (none: the whole municipality).
fn in_period(base: &Filter, period: Period, area: Option<&str>) -> Filter {
    let (from, to) = period.unix_bounds();
    Filter {
        kinds: base.kinds.clone(),
        categories: base.categories.clone(),
        from: Some(from),
        to: Some(to),
        area: area.map(str::to_owned),
        ..Filter::default()
    }
}

/// Area of a region's bounding box, km².
pub fn region_km2(region: &Region) -> f64 {
    geo::Rect::new((region.west, region.south), (region.east, region.north))
        .to_polygon()
        .chamberlain_duquette_unsigned_area()
        / 1e6
}

/// What one pass over the area's observations of the period gathers.
struct Tally {
    total: u32,
    by_kind: [u32; 3],
    by_category: Vec<CategoryCount>,
    top: Vec<(CellIndex, u32)>,
    dark: u32,
}

fn tally(index: &ObservationIndex, filter: &Filter) -> Tally {
    let mut total = 0u32;
    let mut by_kind = [0u32; 3];
    let mut by_category: FxHashMap<String, u32> = FxHashMap::default();
    let mut cells: FxHashMap<CellIndex, u32> = FxHashMap::default();
    let mut dark = 0u32;
    index.visit(filter, |v| {
        total += 1;
        by_kind[v.kind.index()] += 1;
        *by_category.entry(v.category.to_owned()).or_default() += 1;
        if let Some(cell) = index.cell_of(v.record, CELL_RESOLUTION) {
            *cells.entry(cell).or_default() += 1;
        }
        if is_dark(v.lon, v.lat, v.observed_at) {
            dark += 1;
        }
    });
    let mut by_category: Vec<CategoryCount> = by_category
        .into_iter()
        .map(|(code, count)| CategoryCount { code, count })
        .collect();
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    let mut top: Vec<(CellIndex, u32)> = cells.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_CELLS);
    Tally {
        total,
        by_kind,
        by_category,
        top,
        dark,
    }
}

/// Computes the analysis of one area and period.
pub fn analyse_area(index: &ObservationIndex, input: &AreaInput<'_>) -> AreaAnalysis {
    let area = input.area;
    let filter = in_period(&input.base, input.period, Some(&area.id));
    let Tally {
        total,
        by_kind,
        by_category,
        top,
        dark,
    } = tally(index, &filter);
    let count = |period: Period, area: Option<&str>| {
        u32::try_from(index.count(&in_period(&input.base, period, area))).unwrap_or(u32::MAX)
    };
    let km2 = area.geometry.chamberlain_duquette_unsigned_area() / 1e6;
    let municipality_km2 = region_km2(&input.region);
    let municipality_total = count(input.period, None);
    let per_km2 = if km2 > 0.0 {
        f64::from(total) / km2
    } else {
        0.0
    };
    let municipality_per_km2 = f64::from(municipality_total) / municipality_km2;

    let previous = input.period.offset(-1);
    let year_before = input.period.year_before();
    let previous_total = count(previous, Some(&area.id));
    let year_before_total = count(year_before, Some(&area.id));

    // Stored analyses are for analysts: exact counts.
    let exact = Disclosure::Exact;
    let hot_spots = super::region_cells(&area.geometry, CELL_RESOLUTION, 50_000)
        .map(|region| hot_spots_in(index, &region, CELL_RESOLUTION, &filter, 1, exact))
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h.bin != 0)
        .map(|h| HotCell {
            cell: h.cell.to_string(),
            count: h.count,
            z: h.z,
            bin: h.bin,
        })
        .collect();

    AreaAnalysis {
        area: AreaFacts {
            id: area.id.clone(),
            name: area.name.clone(),
            area_type: area.area_type.as_str(),
            km2,
            approximate: area.approximate,
            geometry: serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(
                &area.geometry,
            )))
            .unwrap_or_default(),
        },
        period: input.period,
        generated_at: input.now,
        kinds: input.base.kinds.clone(),
        categories: input.base.categories.clone(),
        total,
        by_kind: Kind::ALL
            .iter()
            .map(|k| (k.as_str(), by_kind[k.index()]))
            .collect(),
        by_category,
        per_km2,
        municipality: Municipality {
            total: municipality_total,
            per_km2: municipality_per_km2,
            share_of_observations: ratio(f64::from(total), f64::from(municipality_total)),
            share_of_area: km2 / municipality_km2,
            rate_ratio: ratio(per_km2, municipality_per_km2),
        },
        previous: Comparison {
            period: previous,
            total: previous_total,
            change_percent: change(total, previous_total),
        },
        year_before: Comparison {
            period: year_before,
            total: year_before_total,
            change_percent: change(total, year_before_total),
        },
        darkness: Darkness {
            dark,
            share: ratio(f64::from(dark), f64::from(total)),
        },
        top_cells: top
            .into_iter()
            .map(|(cell, count)| CellFigure {
                cell: cell.to_string(),
                count,
            })
            .collect(),
        hot_spots,
        findings: findings(input.findings),
        indicators: input
            .actions
            .iter()
            .flat_map(|a| a.indicators.iter().map(move |i| (a, i)))
            // Manual indicators count no observations.
            .filter(|(_, ind)| ind.source == IndicatorSource::Counted)
            .map(|(action, ind)| indicator(index, action, ind, input.period))
            .collect(),
    }
}

/// Follow-up figures for walk findings.
pub fn findings(observations: &[Observation]) -> Findings {
    let mut f = Findings::default();
    let mut days = Vec::new();
    for o in observations.iter().filter(|o| o.kind == Kind::WalkFinding) {
        f.total += 1;
        match o.finding.as_ref().map(|s| s.status) {
            Some(FindingStatus::Resolved) => {
                f.resolved += 1;
                if let Some(s) = &o.finding {
                    days.push((s.changed_at - o.observed_at).as_seconds_f64() / 86_400.0);
                }
            }
            Some(FindingStatus::Assigned) => f.assigned += 1,
            _ => f.open += 1,
        }
    }
    days.sort_by(f64::total_cmp);
    f.median_days_to_resolve = match days.len() {
        0 => None,
        n if n % 2 == 1 => Some(days[n / 2]),
        n => Some(f64::midpoint(days[n / 2 - 1], days[n / 2])),
    };
    f
}

/// An indicator's figures for the indicator period containing the end of `period`.
pub fn indicator(
    index: &ObservationIndex,
    action: &Action,
    ind: &Indicator,
    period: Period,
) -> IndicatorFigure {
    let last_day = period.end().previous_day().unwrap_or(period.start());
    let current = Period::containing(ind.period, last_day);
    let base = Filter {
        kinds: ind.kinds.clone(),
        categories: ind.categories.clone(),
        ..Filter::default()
    };
    let area = action.indicator_area(ind);
    let value_of = |p: Period| index.count_keyed(&in_period(&base, p, area));
    let series: Vec<PeriodValue> = (1 - INDICATOR_PERIODS..=0)
        .map(|i| {
            let p = current.offset(i);
            let c = value_of(p);
            PeriodValue {
                period: p,
                value: c.n,
                key: c.key,
            }
        })
        .collect();
    let (value, value_key) = series.last().map_or((0, 0), |v| (v.value, v.key));
    let Keyed {
        n: baseline,
        key: baseline_key,
    } = value_of(ind.baseline);
    let mut figure = IndicatorFigure {
        action: action.id.clone(),
        action_title: action.title.clone(),
        name: ind.name.clone(),
        period: current,
        value,
        baseline_period: ind.baseline,
        baseline,
        keys: [value_key, baseline_key],
        target_change_percent: ind.target_change_percent,
        target: 0.0,
        change_percent: None,
        on_track: false,
        series,
        trend: "no_trend",
        trend_p: 1.0,
    };
    figure.derive();
    figure
}

impl IndicatorFigure {
    /// The figure as `d` shows it: every count as shown
    /// ([`Disclosure::shown`]), and target, change, `on_track` and the
    /// trend derived again from those, so that none of them says more
    /// than the shown counts.
    #[must_use]
    pub fn as_shown(&self, d: Disclosure) -> IndicatorFigure {
        if d.is_exact() {
            return self.clone();
        }
        let mut f = self.clone();
        f.value = d.shown(Keyed {
            n: self.value,
            key: self.keys[0],
        });
        f.baseline = d.shown(Keyed {
            n: self.baseline,
            key: self.keys[1],
        });
        for v in &mut f.series {
            v.value = d.shown(Keyed {
                n: v.value,
                key: v.key,
            });
        }
        f.derive();
        f
    }

    /// Target, change, `on_track` and trend from the values.
    fn derive(&mut self) {
        self.target = f64::from(self.baseline) * (1.0 + self.target_change_percent / 100.0);
        self.on_track = if self.target_change_percent <= 0.0 {
            f64::from(self.value) <= self.target
        } else {
            f64::from(self.value) >= self.target
        };
        self.change_percent = change(self.value, self.baseline);
        let values: Vec<f64> = self.series.iter().map(|v| f64::from(v.value)).collect();
        let mk = mann_kendall(&values);
        self.trend = match mk.p < 0.05 {
            false => "no_trend",
            true if mk.z > 0.0 => "increasing",
            true => "decreasing",
        };
        self.trend_p = mk.p;
    }
}

/// Category labels for presenting an analysis.
pub fn category_label<'a>(taxonomy: &'a Taxonomy, code: &'a str, swedish: bool) -> &'a str {
    Kind::ALL
        .iter()
        .flat_map(|k| taxonomy.categories(*k))
        .find(|c| c.code == code)
        .map_or(code, |c| {
            if swedish {
                c.sv.as_str()
            } else {
                c.en.as_str()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn darkness_follows_the_swedish_seasons() {
        // Södertälje, 59.2 N: at 15:30 local time in December the sun has
        // set (sunset about 14:50); at the same time in June it is high.
        let (lon, lat) = (17.626, 59.196);
        assert!(is_dark(
            lon,
            lat,
            datetime!(2025-12-15 14:30 UTC).unix_timestamp()
        ));
        assert!(!is_dark(
            lon,
            lat,
            datetime!(2025-06-15 13:30 UTC).unix_timestamp()
        ));
        // Midsummer midnight is below the horizon but barely; noon in
        // December is light.
        assert!(is_dark(
            lon,
            lat,
            datetime!(2025-06-21 22:00 UTC).unix_timestamp()
        ));
        assert!(!is_dark(
            lon,
            lat,
            datetime!(2025-12-21 11:00 UTC).unix_timestamp()
        ));
        // Around sunset on 15 December (13:50 UTC): light 10 minutes before,
        // dark 10 minutes after.
        assert!(!is_dark(
            lon,
            lat,
            datetime!(2025-12-15 13:40 UTC).unix_timestamp()
        ));
        assert!(is_dark(
            lon,
            lat,
            datetime!(2025-12-15 14:00 UTC).unix_timestamp()
        ));
    }

    #[test]
    fn median_resolution_time() {
        assert_eq!(findings(&[]).median_days_to_resolve, None);
    }
}
