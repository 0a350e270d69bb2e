//! The filter parameters, declared once ([`FilterQuery`]) and parsed once
//! into an index [`Filter`] by the [`Filtered`] extractor, for every
//! endpoint and tile layer that filters: `kind`, `category`, `from`, `to`,
//! `hours`, `area`, `bbox`. Each endpoint names the ones it takes
//! ([`Filtering::FILTERS`]); the others are refused as unknown. Values are
//! comma-separated lists where that makes sense (`kind=insecurity,walk_finding`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime};
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use super::AppState;
use super::extract::parse_query_pairs;
use super::problem::Problem;
use h3o::Resolution;

use crate::index::{Filter, HourSet, MAX_RESOLUTION, MIN_RESOLUTION};
use crate::model::{Kind, Region, Taxonomy, period, swedish_time};

/// The filter parameters as sent.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FilterQuery {
    /// Comma-separated kinds.
    pub kind: Option<String>,
    /// Comma-separated category codes.
    pub category: Option<String>,
    /// Start of the period (inclusive): a date (local midnight) or RFC 3339 time.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// End of the period (exclusive): a date (local midnight) or RFC 3339 time.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Hours of the day, Swedish local time: `H` or `START-END` (end exclusive, may wrap);
    /// without an analyst token one of 6-18, 18-24, 22-6 and 18-6.
    #[param(
        pattern = "^([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-4]))?$",
        example = "22-6"
    )]
    pub hours: Option<String>,
    /// Area id.
    pub area: Option<String>,
    /// Only observations inside west,south,east,north (WGS 84). For callers
    /// other than analysts, counts take whole cells: those whose centre lies inside.
    pub bbox: Option<String>,
}

/// An endpoint's own query parameters, and the filter parameters it takes.
pub trait Filtering: DeserializeOwned {
    /// Names of the [`FilterQuery`] fields this endpoint takes.
    const FILTERS: &'static [&'static str];
    /// Filter parameters' names this endpoint uses for parameters of its
    /// own, with another meaning.
    const OWN: &'static [&'static str] = &[];
}

/// Every filter parameter.
pub const ALL_FILTERS: &[&str] = &["kind", "category", "from", "to", "hours", "area", "bbox"];
/// Every filter parameter but the bounding box.
pub const NO_BBOX: &[&str] = &["kind", "category", "from", "to", "hours", "area"];

/// A request's query: the endpoint's own parameters, the filter parameters
/// as sent and the filter they make, checked against the taxonomy. Unknown
/// parameters are refused; empty values count as absent.
pub struct Filtered<P> {
    pub params: P,
    pub query: FilterQuery,
    pub filter: Filter,
}

impl<P: Filtering + Send> FromRequestParts<AppState> for Filtered<P> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let (params, query) = split_query::<P>(parts.uri.query().unwrap_or(""))?;
        let filter = query.to_filter(&state.service.taxonomy)?;
        Ok(Filtered {
            params,
            query,
            filter,
        })
    }
}

/// A request's query split as [`Filtered`] splits it, the filter
/// parameters not yet parsed: for tiles, whose cached answers need none.
pub struct Split<P> {
    pub params: P,
    pub query: FilterQuery,
}

impl<P: Filtering + Send, S: Send + Sync> FromRequestParts<S> for Split<P> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let (params, query) = split_query::<P>(parts.uri.query().unwrap_or(""))?;
        Ok(Split { params, query })
    }
}

/// The endpoint's parameters and the filter parameters of a query string.
fn split_query<P: Filtering>(q: &str) -> Result<(P, FilterQuery), Problem> {
    let bad = |e: serde_urlencoded::de::Error| Problem::invalid_query(e.to_string());
    let pairs = parse_query_pairs(q).map_err(bad)?;
    if let Some((name, _)) = pairs.iter().find(|(k, _)| {
        let k = k.as_str();
        ALL_FILTERS.contains(&k) && !P::FILTERS.contains(&k) && !P::OWN.contains(&k)
    }) {
        return Err(Problem::invalid_query(format!(
            "{name}: this endpoint does not filter by {name}; it takes {}",
            P::FILTERS.join(", ")
        )));
    }
    let (filters, own): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| P::FILTERS.contains(&k.as_str()));
    // Encoding pairs of strings cannot fail.
    let encode =
        |pairs: Vec<(String, String)>| serde_urlencoded::to_string(pairs).unwrap_or_default();
    let params = serde_urlencoded::from_str(&encode(own)).map_err(bad)?;
    let query = serde_urlencoded::from_str(&encode(filters)).map_err(bad)?;
    Ok((params, query))
}

impl<P: Filtering + IntoParams> IntoParams for Filtered<P> {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = P::into_params(&parameter_in);
        params.extend(
            FilterQuery::into_params(&parameter_in)
                .into_iter()
                .filter(|p| P::FILTERS.contains(&p.name.as_str())),
        );
        params
    }
}

impl FilterQuery {
    /// The parameters present, in a fixed order, to link to more of the same.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("bbox", &self.bbox),
            ("kind", &self.kind),
            ("category", &self.category),
            ("from", &self.from),
            ("to", &self.to),
            ("hours", &self.hours),
            ("area", &self.area),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
    /// Parses and checks every parameter against the taxonomy.
    pub fn to_filter(&self, taxonomy: &Taxonomy) -> Result<Filter, Problem> {
        let mut f = Filter::default();
        if let Some(kinds) = self.kind.as_deref() {
            for k in list(kinds) {
                let kind = k
                    .parse::<Kind>()
                    .map_err(|e| Problem::invalid_query(format!("kind: {}", e.reason)))?;
                f.kinds.push(kind);
            }
        }
        if let Some(cats) = self.category.as_deref() {
            for c in list(cats) {
                if !taxonomy.knows(c) {
                    return Err(Problem::invalid_query(format!(
                        "category: unknown category {c:?} (see /api/v1/taxonomy)"
                    )));
                }
                f.categories.push(c.to_owned());
            }
        }
        f.from = self
            .from
            .as_deref()
            .map(|s| instant("from", s))
            .transpose()?;
        f.to = self.to.as_deref().map(|s| instant("to", s)).transpose()?;
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a >= b
        {
            return Err(Problem::invalid_query("from must be earlier than to"));
        }
        f.hours = self
            .hours
            .as_deref()
            .map(|h| {
                HourSet::parse(h).map_err(|e| {
                    Problem::invalid_query(format!("hours: {e} (use e.g. 18-24 or 22-6)"))
                })
            })
            .transpose()?;
        f.area = self.area.clone().filter(|a| !a.is_empty());
        f.bbox = self
            .bbox
            .as_deref()
            .map(|b| {
                Region::parse_bbox(b).map_err(|e| Problem::invalid_query(format!("bbox: {e}")))
            })
            .transpose()?;
        Ok(f)
    }
}

/// Finest H3 resolution shown to callers other than analysts (cells of
/// about 2,000 m²): a cell of resolution 12 is a few houses' width.
pub const MAX_PUBLIC_RESOLUTION: h3o::Resolution = h3o::Resolution::Eleven;

/// The times of day callers other than analysts may filter by: the day,
/// the evening, the night, and evening and night together. Any range at
/// all could be moved an hour at a time, and the hour at which a count
/// changes would tell when an observation was made.
pub const PUBLIC_HOURS: [&str; 4] = ["6-18", "18-24", "22-6", "18-6"];

/// How much `principal` may see of counts, and `filter` as it applies to
/// them: for callers other than analysts times are taken to whole months
/// ([`Filter::whole_months`]) and times of day are one of
/// [`PUBLIC_HOURS`] — see [`crate::privacy`].
pub fn as_seen(
    principal: &crate::model::Principal,
    k: u32,
    filter: Filter,
) -> Result<(crate::privacy::Disclosure, Filter), Problem> {
    let d = crate::privacy::Disclosure::for_caller(principal.reads_raw(), k);
    if d.is_exact() {
        return Ok((d, filter));
    }
    check_categories(d, &filter)?;
    check_hours(d, &filter)?;
    Ok((d, filter.whole_months()))
}

/// Refuses a time of day other than [`PUBLIC_HOURS`] to callers other
/// than analysts.
pub fn check_hours(d: crate::privacy::Disclosure, filter: &Filter) -> Result<(), Problem> {
    let Some(hours) = filter.hours.filter(|_| !d.is_exact()) else {
        return Ok(());
    };
    let public = |p: &&str| HourSet::parse(p).is_ok_and(|h| h == hours);
    if hours == HourSet::ALL || PUBLIC_HOURS.iter().any(public) {
        return Ok(());
    }
    Err(Problem::invalid_query(format!(
        "hours: without an analyst token, one of {}",
        PUBLIC_HOURS.join(", ")
    )))
}

/// Refuses a list of categories to callers other than analysts: categories
/// of 1..k−1 each, asked for together, would show a count that each one
/// alone does not. (Kinds may be listed: a public total is the sum of its
/// kinds as shown.)
pub fn check_categories(d: crate::privacy::Disclosure, filter: &Filter) -> Result<(), Problem> {
    if d.is_exact() || filter.categories.len() <= 1 {
        return Ok(());
    }
    Err(Problem::invalid_query(
        "category: one category at a time without an analyst token",
    ))
}

/// Refuses a resolution finer than [`MAX_PUBLIC_RESOLUTION`] to callers
/// other than analysts.
pub fn check_resolution(
    d: crate::privacy::Disclosure,
    res: h3o::Resolution,
) -> Result<(), Problem> {
    if d.is_exact() || res <= MAX_PUBLIC_RESOLUTION {
        return Ok(());
    }
    Err(Problem::invalid_query(format!(
        "res: resolution {} is for analysts; at most {} without an analyst token",
        u8::from(res),
        u8::from(MAX_PUBLIC_RESOLUTION)
    )))
}

/// A `true`/`false` query parameter named `name`; absent is false.
pub fn flag(name: &str, value: Option<&str>) -> Result<bool, Problem> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(o) => Err(Problem::invalid_query(format!(
            "{name}: {o:?} is not true or false"
        ))),
    }
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// Unix seconds of an RFC 3339 time, or of local (Swedish) midnight starting
/// a date; the year must lie in [`period::YEARS`].
fn instant(name: &str, s: &str) -> Result<i64, Problem> {
    let out_of_range = |e: String| Problem::invalid_query(format!("{name}: {e}"));
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        period::check_year(t.year()).map_err(out_of_range)?;
        return Ok(t.unix_timestamp());
    }
    if let Ok(d) = Date::parse(s, &Iso8601::DATE) {
        period::check_date(d).map_err(out_of_range)?;
        return Ok(swedish_time::local_midnight(d).unix_timestamp());
    }
    Err(Problem::invalid_query(format!(
        "{name}: {s:?} is neither a date (2026-01-31) nor an RFC 3339 time (2026-01-31T18:00:00+01:00)"
    )))
}

/// A date parameter `name` (`2026-01-31`) whose year lies in [`period::YEARS`].
pub fn day(name: &str, s: &str) -> Result<Date, Problem> {
    let d = Date::parse(s, &Iso8601::DATE).map_err(|_| {
        Problem::invalid_query(format!("{name}: {s:?} is not a date such as 2026-01-31"))
    })?;
    period::check_date(d).map_err(|e| Problem::invalid_query(format!("{name}: {e}")))
}

/// The resolution `res` defaults to.
const DEFAULT_RESOLUTION: u8 = 9;

/// Parses `res`, defaulting to [`DEFAULT_RESOLUTION`].
pub fn parse_resolution(s: Option<&str>) -> Result<Resolution, Problem> {
    let bad = || {
        Problem::invalid_query(format!(
            "res: must be an H3 resolution from {} to {}",
            u8::from(MIN_RESOLUTION),
            u8::from(MAX_RESOLUTION)
        ))
    };
    let r = match s {
        None => DEFAULT_RESOLUTION,
        Some(s) => s.parse::<u8>().map_err(|_| bad())?,
    };
    Resolution::try_from(r)
        .ok()
        .filter(|r| (MIN_RESOLUTION..=MAX_RESOLUTION).contains(r))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_outside_5_to_12_are_refused() {
        assert_eq!(parse_resolution(None).unwrap(), Resolution::Nine);
        assert_eq!(parse_resolution(Some("12")).unwrap(), Resolution::Twelve);
        for bad in ["4", "13", "x", "-1"] {
            assert!(parse_resolution(Some(bad)).is_err(), "{bad}");
        }
    }

    fn q(pairs: &[(&str, &str)]) -> FilterQuery {
        let text = serde_urlencoded::to_string(pairs).unwrap();
        serde_urlencoded::from_str(&text).unwrap()
    }

    #[test]
    fn parses_the_shared_parameters() {
        let t = Taxonomy::builtin();
        let f = q(&[
            ("kind", "insecurity, walk_finding"),
            ("category", "dark_area,lighting"),
            ("from", "2026-01-01"),
            ("to", "2026-02-01T00:00:00Z"),
            ("hours", "22-6"),
        ])
        .to_filter(&t)
        .unwrap();
        assert_eq!(f.kinds, [Kind::Insecurity, Kind::WalkFinding]);
        assert_eq!(f.from, Some(1_767_222_000)); // 2025-12-31T23:00:00Z
        for bad in [
            q(&[("kind", "crime")]),
            q(&[("category", "unicorns")]),
            q(&[("from", "last week")]),
            q(&[("from", "2026-02-01"), ("to", "2026-01-01")]),
            q(&[("from", "9999-01-01")]),
            q(&[("to", "1899-12-31T23:00:00Z")]),
            q(&[("hours", "25-3")]),
            q(&[("bbox", "1,2,3")]),
        ] {
            assert_eq!(bad.to_filter(&t).unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Own {
        res: Option<String>,
    }

    impl Filtering for Own {
        const FILTERS: &'static [&'static str] = &["kind", "from"];
    }

    #[test]
    fn an_endpoint_gets_its_own_and_the_filters_it_takes_and_nothing_else() {
        let (own, query) = split_query::<Own>("res=8&kind=insecurity&from=&to=").unwrap();
        assert_eq!(own.res.as_deref(), Some("8"));
        assert_eq!(query.kind.as_deref(), Some("insecurity"));
        assert_eq!(query.from, None);
        // A filter parameter the endpoint does not take is refused, naming
        // those it does.
        let refused = split_query::<Own>("to=2026-01-01").err().unwrap();
        assert_eq!(
            refused.detail,
            "to: this endpoint does not filter by to; it takes kind, from"
        );
        for refused in ["bbox=1,2,3,4", "color=red", "res=8&res=9"] {
            assert!(split_query::<Own>(refused).is_err(), "{refused}");
        }
    }
}
