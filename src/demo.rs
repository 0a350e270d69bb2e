//! Deterministic synthetic demo data for Södertälje.
//!
//! Everything here is made up, shaped to look like what a municipality
//! collects: perceived-insecurity reports clustered at stations, squares and
//! underpasses, more of them in the evening, at night and in the dark months;
//! safety-walk findings along walk routes in each district; place
//! observations from named partner organisations. The same seed, count and
//! end date always give the same data.
//!
//! Area outlines come from `data/areas/sodertalje-approximate.geojson` and are
//! approximations, not official boundaries.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::model::walk::TimeOfDay;
use crate::model::{
    Area, AreaType, FindingState, FindingStatus, Kind, Observation, Taxonomy, Walk, swedish_time,
};

/// The approximate district outlines shipped for the demo.
pub const AREAS_GEOJSON: &str = include_str!("../data/areas/sodertalje-approximate.geojson");
/// Actions of Södertälje's action plan (the seed document), with indicators
/// an area team might follow.
pub const ACTION_PLAN_JSON: &str = include_str!("../data/action-plan.json");

/// Observations `serve --demo` starts with.
pub const DEFAULT_DEMO_COUNT: usize = 50_000;

/// Demo data: areas, walks and observations.
pub struct DemoData {
    pub areas: Vec<Area>,
    pub walks: Vec<Walk>,
    pub observations: Vec<Observation>,
}

/// A place where observations cluster.
struct Hotspot {
    lon: f64,
    lat: f64,
    /// Standard deviation of the scatter, metres.
    spread_m: f64,
    /// Relative share of observations.
    weight: f64,
    /// What kind of place it is.
    place: &'static PlaceType,
}

/// A kind of place: the insecurity people report there, and how much of
/// what is recorded there are incidents (place observations) rather than
/// felt insecurity — high at stations and squares, low on dark paths, so
/// the perception-versus-incidents view has something to show.
struct PlaceType {
    typical: &'static [&'static str],
    /// Share of observations that are place observations.
    incidents: f64,
}

const fn spot(
    lon: f64,
    lat: f64,
    spread_m: f64,
    weight: f64,
    place: &'static PlaceType,
) -> Hotspot {
    Hotspot {
        lon,
        lat,
        spread_m,
        weight,
        place,
    }
}

const STATION: &PlaceType = &PlaceType {
    typical: &[
        "fear_of_robbery",
        "drunk_people",
        "disruptive_youths",
        "harassment_of_women",
    ],
    incidents: 0.5,
};
const SQUARE: &PlaceType = &PlaceType {
    typical: &["disruptive_youths", "drug_use", "fighting", "drunk_people"],
    incidents: 0.55,
};
const UNDERPASS: &PlaceType = &PlaceType {
    typical: &[
        "dark_area",
        "graffiti",
        "fear_of_violence",
        "harassment_of_women",
    ],
    incidents: 0.08,
};
const PARK: &PlaceType = &PlaceType {
    typical: &["dark_area", "drug_use", "fear_of_violence", "litter"],
    incidents: 0.12,
};
const CENTRE: &PlaceType = &PlaceType {
    typical: &[
        "disruptive_youths",
        "litter",
        "graffiti",
        "fear_of_violence",
    ],
    incidents: 0.35,
};

/// Plausible hotspots; positions are approximate.
const HOTSPOTS: &[Hotspot] = &[
    spot(17.6267, 59.1917, 90.0, 9.0, STATION), // Södertälje centrum station
    spot(17.6270, 59.1958, 80.0, 8.0, SQUARE),  // Stora torget
    spot(17.6285, 59.1942, 70.0, 5.0, SQUARE),  // shopping streets
    spot(17.6310, 59.1985, 120.0, 4.0, PARK),   // Stadsparken
    spot(17.6250, 59.1992, 100.0, 3.0, UNDERPASS), // canal walkway
    spot(17.5870, 59.1800, 120.0, 8.0, CENTRE), // Hovsjö centrum
    spot(17.5930, 59.1830, 50.0, 4.0, UNDERPASS), // underpass towards Hovsjö
    spot(17.6005, 59.2040, 100.0, 7.0, CENTRE), // Ronna centrum
    spot(17.5860, 59.2005, 100.0, 6.0, CENTRE), // Geneta centrum
    spot(17.6085, 59.1790, 100.0, 5.0, CENTRE), // Fornhöjden centrum
    spot(17.6380, 59.1840, 120.0, 3.0, CENTRE), // Saltskog
    spot(17.6455, 59.1625, 80.0, 4.0, STATION), // Södertälje syd
    spot(17.6470, 59.1790, 70.0, 3.0, STATION), // Södertälje hamn
    spot(17.6190, 59.2100, 110.0, 3.0, CENTRE), // Brunnsäng centrum
    spot(17.5680, 59.0930, 120.0, 3.0, STATION), // Järna station
];

/// Share of observations spread over the built-up area rather than a hotspot.
const BACKGROUND_SHARE: f64 = 0.12;
const BUILT_UP: [f64; 4] = [17.570, 59.160, 17.660, 59.220];

const PARTNERS: &[&str] = &[
    "Telge Bostäder",
    "Polisen",
    "Securitas",
    "Södertälje kommun",
    "SL",
    "Avarn Security",
];

const ASSIGNEES: &[&str] = &[
    "Gatuavdelningen",
    "Parkavdelningen",
    "Telge Bostäder",
    "Polisen",
    "Trafikverket",
];

const INSECURITY_TEXTS: &[&str] = &[
    "Känns otryggt att gå här efter mörkrets inbrott.",
    "Grupper som hänger här på kvällarna.",
    "Dålig belysning längs gångvägen.",
    "Undviker platsen när jag går hem från bussen.",
    "Har blivit ofredad här tidigare.",
];

const FINDING_TEXTS: &[&str] = &[
    "Lampan i gångtunneln är trasig.",
    "Buskarna skymmer sikten mot parkeringen.",
    "Klotter på väggen vid entrén.",
    "Mycket skräp runt papperskorgarna.",
    "Ingen belysning på stigen mellan husen.",
];

/// Generates `count` observations ending at `end` (exclusive), with the walks
/// and areas they refer to.
pub fn generate(seed: u64, count: usize, end: Date, taxonomy: &Taxonomy) -> DemoData {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let areas = areas();
    let end_t = end.midnight().assume_utc();
    let start_t = end_t - Duration::days(730);
    let walks = walks(&mut rng, &areas, start_t, end_t);

    let total_weight: f64 = HOTSPOTS.iter().map(|h| h.weight).sum();
    let mut observations = Vec::with_capacity(count);
    for n in 0..count {
        // 3 % walk findings (a few dozen per walk); the rest insecurity
        // reports and place observations in the proportions of the place
        // (about 65 : 35 overall).
        let obs = if !walks.is_empty() && rng.random::<f64>() < 0.03 {
            walk_finding(&mut rng, &walks[n % walks.len()], taxonomy, end_t)
        } else {
            let (lon, lat, place) = place(&mut rng, total_weight);
            let kind = if rng.random::<f64>() < place.incidents {
                Kind::PlaceObservation
            } else {
                Kind::Insecurity
            };
            let observed_at = moment(&mut rng, kind, start_t, end_t);
            scattered(
                &mut rng,
                kind,
                lon,
                lat,
                place.typical,
                observed_at,
                taxonomy,
                end_t,
            )
        };
        observations.push(obs);
    }
    // In the order they came in, as a real system lists them: by id, which
    // begins with the time received.
    observations.sort_unstable_by_key(|o| o.id);
    DemoData {
        areas,
        walks,
        observations,
    }
}

/// The shipped approximate area outlines.
pub fn areas() -> Vec<Area> {
    let fc: geojson::FeatureCollection = AREAS_GEOJSON.parse().expect("shipped areas parse");
    fc.features
        .iter()
        .map(|f| {
            let props = f.properties.as_ref().expect("areas have properties");
            let text = |k: &str| props[k].as_str().expect("string property").to_owned();
            Area {
                id: text("id"),
                name: text("name"),
                area_type: AreaType::parse(&text("type")).expect("known area type"),
                geometry: crate::ingest::geometry::multipolygon_from_value(
                    &f.geometry.as_ref().expect("areas have geometry").value,
                )
                .expect("shipped areas are polygons"),
                approximate: true,
            }
        })
        .collect()
}

/// The shipped demo action plan.
pub fn action_plan() -> Vec<crate::model::Action> {
    let mut plan: Vec<crate::model::Action> =
        serde_json::from_str(ACTION_PLAN_JSON).expect("shipped action plan parses");
    for action in &mut plan {
        action.give_indicator_ids();
    }
    plan
}

/// Made-up values of the demo plan's manual indicators, from each
/// baseline period to the last complete one before `today`: a count that
/// grows towards the target with some wobble, entered by "demo".
pub fn indicator_values(
    plan: &[crate::model::Action],
    today: time::Date,
) -> Vec<crate::model::IndicatorValue> {
    use crate::model::{IndicatorSource, IndicatorValue, Period};
    let entered_at = today.midnight().assume_utc();
    let mut values = Vec::new();
    for (a, action) in (0u32..).zip(plan) {
        for ind in action
            .indicators
            .iter()
            .filter(|i| i.source == IndicatorSource::Manual)
        {
            let last = Period::containing(ind.period, today).offset(-1);
            let start = 12.0 + f64::from(7 * a % 23);
            let step = start * ind.target_change_percent / 100.0 / 6.0;
            let mut period = ind.baseline;
            let mut i = 0u32;
            while period <= last {
                let wobble = [0.0, 1.0, -1.0, 2.0, 0.0, -2.0][((i + a) % 6) as usize];
                values.push(IndicatorValue {
                    action: action.id.clone(),
                    indicator: ind.id.clone(),
                    period,
                    value: (start + step * f64::from(i) + wobble).round().max(0.0),
                    note: "Demodata".into(),
                    entered_by: "demo".into(),
                    entered_at,
                });
                period = period.offset(1);
                i += 1;
            }
        }
    }
    values
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn offset(lon: f64, lat: f64, east_m: f64, north_m: f64) -> (f64, f64) {
    let dlat = north_m / 111_320.0;
    let dlon = east_m / (111_320.0 * lat.to_radians().cos());
    (lon + dlon, lat + dlat)
}

fn place(rng: &mut ChaCha8Rng, total_weight: f64) -> (f64, f64, &'static PlaceType) {
    if rng.random::<f64>() < BACKGROUND_SHARE {
        let lon = BUILT_UP[0] + rng.random::<f64>() * (BUILT_UP[2] - BUILT_UP[0]);
        let lat = BUILT_UP[1] + rng.random::<f64>() * (BUILT_UP[3] - BUILT_UP[1]);
        return (lon, lat, CENTRE);
    }
    let mut pick = rng.random::<f64>() * total_weight;
    let h = HOTSPOTS
        .iter()
        .find(|h| {
            pick -= h.weight;
            pick <= 0.0
        })
        .unwrap_or(&HOTSPOTS[0]);
    let (lon, lat) = offset(
        h.lon,
        h.lat,
        normal(rng) * h.spread_m,
        normal(rng) * h.spread_m,
    );
    (lon, lat, h.place)
}

/// Relative weight of a month: more reports in the dark half of the year.
fn month_weight(month: time::Month) -> f64 {
    use time::Month::{
        April, August, December, February, January, July, June, March, May, November, October,
        September,
    };
    match month {
        November | December | January => 1.6,
        October | February => 1.3,
        March | September => 1.0,
        April | August => 0.8,
        May | June | July => 0.6,
    }
}

/// Relative weight of a local hour per kind.
fn hour_weight(kind: Kind, hour: u8) -> f64 {
    match (kind, hour) {
        (Kind::Insecurity, 19..=23) => 3.0,
        (Kind::Insecurity, 0..=2 | 17..=18) => 2.0,
        (Kind::Insecurity, 3..=6) => 0.6,
        (Kind::PlaceObservation, 20..=23 | 0..=2) => 2.5,
        (Kind::PlaceObservation, 3..=7) => 0.4,
        _ => 1.0,
    }
}

/// A time in [start, end) drawn with the month and hour weights.
fn moment(
    rng: &mut ChaCha8Rng,
    kind: Kind,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> OffsetDateTime {
    let span = (end - start).whole_seconds();
    loop {
        let t = start + Duration::seconds(rng.random_range(0..span));
        let local = t.to_offset(swedish_time::offset_at(t));
        let w = month_weight(local.month()) * hour_weight(kind, local.hour()) / (1.6 * 3.0);
        if rng.random::<f64>() < w {
            return t;
        }
    }
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn severity(rng: &mut ChaCha8Rng) -> u8 {
    match rng.random::<f64>() {
        x if x < 0.35 => 1,
        x if x < 0.80 => 2,
        _ => 3,
    }
}

fn id_at(rng: &mut ChaCha8Rng, t: OffsetDateTime) -> Uuid {
    let millis = u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut random = [0u8; 10];
    rng.fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, each value distinct"
)]
fn scattered(
    rng: &mut ChaCha8Rng,
    kind: Kind,
    lon: f64,
    lat: f64,
    typical: &[&str],
    observed_at: OffsetDateTime,
    taxonomy: &Taxonomy,
    end: OffsetDateTime,
) -> Observation {
    let codes: Vec<&str> = taxonomy.codes(kind).collect();
    let category = if kind == Kind::Insecurity && rng.random::<f64>() < 0.6 {
        let t = pick(rng, typical);
        if taxonomy.contains(kind, t) {
            t
        } else {
            pick(rng, &codes)
        }
    } else {
        pick(rng, &codes)
    };
    // Citizen dialogues are entered within days; EST reports weekly.
    let delay = match kind {
        Kind::Insecurity => Duration::minutes(rng.random_range(5..72 * 60)),
        _ => Duration::hours(rng.random_range(1..7 * 24)),
    };
    let received_at = (observed_at + delay).min(end);
    let description = (kind == Kind::Insecurity && rng.random::<f64>() < 0.25)
        .then(|| pick(rng, INSECURITY_TEXTS).to_owned());
    let accuracy_m = (rng.random::<f64>() < 0.5).then(|| f64::from(rng.random_range(5u32..60)));
    Observation {
        id: id_at(rng, received_at),
        kind,
        lon: round6(lon),
        lat: round6(lat),
        accuracy_m,
        observed_at,
        received_at,
        category: category.to_owned(),
        severity: severity(rng),
        description,
        organisation: (kind == Kind::PlaceObservation).then(|| pick(rng, PARTNERS).to_owned()),
        walk_id: None,
        finding: None,
        submitted_by: None,
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Walks: in each district, one in spring and one in autumn each year, on
/// evening loops around the district centre.
fn walks(
    rng: &mut ChaCha8Rng,
    areas: &[Area],
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Vec<Walk> {
    use geo::Centroid;
    let mut walks = Vec::new();
    for area in areas {
        let Some(c) = area.geometry.centroid() else {
            continue;
        };
        let mut date = start.date() + Duration::days(rng.random_range(20..60));
        while date < end.date() {
            let radius = rng.random_range(180.0..320.0);
            let route: Vec<[f64; 2]> = (0..=10)
                .map(|i| {
                    let a = std::f64::consts::TAU * f64::from(i) / 10.0;
                    let r = radius * (1.0 + 0.2 * (3.0 * a).sin());
                    let (lon, lat) = offset(c.x(), c.y(), r * a.cos(), r * a.sin());
                    [round6(lon), round6(lat)]
                })
                .collect();
            let created_at = (date - Duration::days(14)).midnight().assume_utc();
            let id = id_at(rng, created_at);
            let closed = date + Duration::days(1);
            walks.push(Walk {
                id,
                name: format!("Trygghetsvandring {} {}", area.name, date),
                area_id: Some(area.id.clone()),
                date,
                time_of_day: TimeOfDay::Night,
                route,
                join_code: format!("D{:05}", walks.len()),
                created_at,
                closed_at: (closed < end.date()).then(|| closed.midnight().assume_utc()),
            });
            date += Duration::days(rng.random_range(150..210));
        }
    }
    walks
}

fn walk_finding(
    rng: &mut ChaCha8Rng,
    walk: &Walk,
    taxonomy: &Taxonomy,
    end: OffsetDateTime,
) -> Observation {
    // A point along the route, a few metres off it.
    let seg = rng.random_range(0..walk.route.len() - 1);
    let [a, b] = [walk.route[seg], walk.route[seg + 1]];
    let f: f64 = rng.random();
    let (lon, lat) = offset(
        a[0] + (b[0] - a[0]) * f,
        a[1] + (b[1] - a[1]) * f,
        normal(rng) * 12.0,
        normal(rng) * 12.0,
    );
    let local_evening = walk
        .date
        .with_time(Time::from_hms(18, 0, 0).expect("valid time"));
    let start = local_evening.assume_offset(swedish_time::offset_at(local_evening.assume_utc()));
    let observed_at =
        (start + Duration::minutes(rng.random_range(0..150))).min(end - Duration::minutes(1));
    let received_at = (observed_at + Duration::seconds(rng.random_range(5..600))).min(end);
    let codes: Vec<&str> = taxonomy.codes(Kind::WalkFinding).collect();
    let age_days = (end - observed_at).whole_days();
    let roll: f64 = rng.random();
    let (status, days_to_change) = match age_days {
        d if d > 60 && roll < 0.7 => (FindingStatus::Resolved, rng.random_range(3..60)),
        d if d > 14 && roll < 0.85 => (FindingStatus::Assigned, rng.random_range(1..10)),
        _ => (FindingStatus::Open, 0),
    };
    let changed_at = (observed_at + Duration::days(days_to_change)).min(end);
    Observation {
        id: id_at(rng, received_at),
        kind: Kind::WalkFinding,
        lon: round6(lon),
        lat: round6(lat),
        accuracy_m: Some(f64::from(rng.random_range(4u32..20))),
        observed_at,
        received_at,
        category: pick(rng, &codes).to_owned(),
        severity: severity(rng),
        description: (rng.random::<f64>() < 0.4).then(|| pick(rng, FINDING_TEXTS).to_owned()),
        organisation: None,
        walk_id: Some(walk.id),
        finding: Some(FindingState {
            status,
            changed_at,
            changed_by: (status != FindingStatus::Open).then(|| "demo".to_owned()),
            assignee: (status != FindingStatus::Open).then(|| pick(rng, ASSIGNEES).to_owned()),
        }),
        submitted_by: None,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn perception_and_incidents_part_ways_somewhere() {
        use crate::analysis::perception::{Gap, perception_in};
        use crate::index::{Filter, IndexEntry, ObservationIndex};
        let t = Taxonomy::builtin();
        let d = generate(1, 20_000, date!(2026 - 11 - 01), &t);
        let index = ObservationIndex::from_entries(
            d.observations
                .iter()
                .enumerate()
                .map(|(i, o)| IndexEntry::from_observation(i64::try_from(i).unwrap() + 1, o)),
        );
        let cells = perception_in(
            &index,
            h3o::Resolution::Nine,
            &Filter::default(),
            &t.incident_codes(),
            5,
            crate::privacy::Disclosure::Exact,
        );
        for gap in [Gap::MoreInsecurity, Gap::MoreIncidents, Gap::Balanced] {
            assert!(cells.iter().any(|c| c.gap == gap), "no {gap:?} cell");
        }
    }

    #[test]
    fn the_action_plan_is_valid() {
        let taxonomy = Taxonomy::builtin();
        let areas = areas();
        let plan = action_plan();
        assert!(plan.len() >= 10);
        for action in &plan {
            let errors = action.validate(&taxonomy, |a| areas.iter().any(|k| k.id == a));
            assert!(errors.is_empty(), "{}: {errors:?}", action.id);
        }
        let focus: std::collections::HashSet<_> = plan.iter().map(|a| a.focus).collect();
        assert_eq!(focus.len(), 5, "every focus area has an action");
        // The manual indicators have values from their baseline on.
        let values = indicator_values(&plan, date!(2026 - 12 - 04));
        let manual: Vec<_> = plan
            .iter()
            .flat_map(|a| a.indicators.iter().map(move |i| (a, i)))
            .filter(|(_, i)| i.source == crate::model::IndicatorSource::Manual)
            .collect();
        assert!(manual.len() >= 3);
        for (a, ind) in manual {
            let periods: Vec<String> = values
                .iter()
                .filter(|v| v.action == a.id && v.indicator == ind.id)
                .map(|v| v.period.to_string())
                .collect();
            assert_eq!(periods.first().map(String::as_str), Some("2025-Q1"));
            assert_eq!(periods.last().map(String::as_str), Some("2026-Q3"));
        }
    }

    use super::*;
    use crate::model::Region;
    use time::macros::date;

    #[test]
    fn same_seed_same_data() {
        let t = Taxonomy::builtin();
        let a = generate(7, 500, date!(2026 - 11 - 01), &t);
        let b = generate(7, 500, date!(2026 - 11 - 01), &t);
        assert_eq!(a.observations, b.observations);
        let c = generate(8, 500, date!(2026 - 11 - 01), &t);
        assert_ne!(a.observations, c.observations);
    }

    #[test]
    fn demo_data_is_valid_and_shaped_like_the_real_thing() {
        let t = Taxonomy::builtin();
        let end = date!(2026 - 11 - 01);
        let d = generate(1, 20_000, end, &t);
        let region = Region::sodertalje();
        let end_t = end.midnight().assume_utc();
        for o in &d.observations {
            assert!(region.contains(o.lon, o.lat), "{o:?}");
            assert!(t.contains(o.kind, &o.category), "{o:?}");
            assert!(o.observed_at < end_t && o.observed_at >= end_t - Duration::days(731));
            assert!(o.received_at >= o.observed_at);
            assert_eq!(o.organisation.is_some(), o.kind == Kind::PlaceObservation);
            assert_eq!(o.walk_id.is_some(), o.kind == Kind::WalkFinding);
        }
        // In the order received, ids unique.
        assert!(
            d.observations
                .windows(2)
                .all(|w| w[0].id < w[1].id && w[0].received_at <= w[1].received_at)
        );
        // Evenings and nights dominate perceived insecurity; winter beats summer.
        let reports: Vec<_> = d
            .observations
            .iter()
            .filter(|o| o.kind == Kind::Insecurity)
            .collect();
        let local_hour =
            |o: &&Observation| swedish_time::local_hour(o.observed_at.unix_timestamp());
        let evening = reports
            .iter()
            .filter(|o| matches!(local_hour(o), 18..=23 | 0..=2))
            .count();
        assert!(
            evening * 2 > reports.len(),
            "{evening} of {}",
            reports.len()
        );
        let in_month = |m: time::Month| {
            reports
                .iter()
                .filter(|o| o.observed_at.month() == m)
                .count()
        };
        assert!(in_month(time::Month::December) > in_month(time::Month::June) * 2);
        assert!(d.walks.len() >= 8 * 3);
        assert_eq!(d.areas.len(), 8);
        assert!(d.areas.iter().all(|a| a.approximate));
    }
}
