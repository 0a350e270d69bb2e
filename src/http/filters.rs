//! The filter query parameters shared by hexagons, observations and (later)
//! tiles: `kind`, `category`, `from`, `to`, `hours`, `area`, `bbox`. Values
//! are comma-separated lists where that makes sense (`kind=insecurity,walk_finding`).

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime};

use super::problem::Problem;
use h3o::Resolution;

use crate::index::{Filter, HourSet, MAX_RESOLUTION, MIN_RESOLUTION};
use crate::model::{Kind, Region, Taxonomy, period, swedish_time};

/// Builds [`FilterParams`] from a query struct that has the fields `kind`,
/// `category`, `from`, `to` and `hours` (all `Option<String>`), with the
/// area and bounding box given explicitly (each endpoint takes them its own way).
macro_rules! filter_params {
    ($p:expr, area: $area:expr, bbox: $bbox:expr) => {
        super::filters::FilterParams {
            kind: $p.kind.as_deref(),
            category: $p.category.as_deref(),
            from: $p.from.as_deref(),
            to: $p.to.as_deref(),
            hours: $p.hours.as_deref(),
            area: $area,
            bbox: $bbox,
        }
    };
}
pub(super) use filter_params;

/// The raw filter parameters of a request.
#[derive(Debug, Default, Clone)]
pub struct FilterParams<'a> {
    pub kind: Option<&'a str>,
    pub category: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub hours: Option<&'a str>,
    pub area: Option<&'a str>,
    pub bbox: Option<&'a str>,
}

impl FilterParams<'_> {
    /// Parses and checks every parameter against the taxonomy.
    pub fn to_filter(&self, taxonomy: &Taxonomy) -> Result<Filter, Problem> {
        let mut f = Filter::default();
        if let Some(kinds) = self.kind {
            for k in list(kinds) {
                let kind = k
                    .parse::<Kind>()
                    .map_err(|e| Problem::invalid_query(format!("kind: {}", e.reason)))?;
                f.kinds.push(kind);
            }
        }
        if let Some(cats) = self.category {
            for c in list(cats) {
                if !taxonomy.knows(c) {
                    return Err(Problem::invalid_query(format!(
                        "category: unknown category {c:?} (see /api/v1/taxonomy)"
                    )));
                }
                f.categories.push(c.to_owned());
            }
        }
        f.from = self.from.map(|s| instant("from", s)).transpose()?;
        f.to = self.to.map(|s| instant("to", s)).transpose()?;
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a >= b
        {
            return Err(Problem::invalid_query("from must be earlier than to"));
        }
        f.hours = self
            .hours
            .map(|h| {
                HourSet::parse(h).map_err(|e| {
                    Problem::invalid_query(format!("hours: {e} (use e.g. 18-24 or 22-6)"))
                })
            })
            .transpose()?;
        f.area = self.area.filter(|a| !a.is_empty()).map(str::to_owned);
        f.bbox = self
            .bbox
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

/// How much `principal` may see of counts, and `filter` as it applies to
/// them: for callers other than analysts times are taken to whole days
/// ([`Filter::whole_days`]) — see [`crate::privacy`].
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
    Ok((d, filter.whole_days()))
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

    #[test]
    fn parses_the_shared_parameters() {
        let t = Taxonomy::builtin();
        let f = FilterParams {
            kind: Some("insecurity, walk_finding"),
            category: Some("dark_area,lighting"),
            from: Some("2026-01-01"),
            to: Some("2026-02-01T00:00:00Z"),
            hours: Some("22-6"),
            ..FilterParams::default()
        }
        .to_filter(&t)
        .unwrap();
        assert_eq!(f.kinds, [Kind::Insecurity, Kind::WalkFinding]);
        assert_eq!(f.from, Some(1_767_222_000)); // 2025-12-31T23:00:00Z
        for bad in [
            FilterParams {
                kind: Some("crime"),
                ..FilterParams::default()
            },
            FilterParams {
                category: Some("unicorns"),
                ..FilterParams::default()
            },
            FilterParams {
                from: Some("last week"),
                ..FilterParams::default()
            },
            FilterParams {
                from: Some("2026-02-01"),
                to: Some("2026-01-01"),
                ..FilterParams::default()
            },
            FilterParams {
                from: Some("9999-01-01"),
                ..FilterParams::default()
            },
            FilterParams {
                to: Some("1899-12-31T23:00:00Z"),
                ..FilterParams::default()
            },
            FilterParams {
                hours: Some("25-3"),
                ..FilterParams::default()
            },
            FilterParams {
                bbox: Some("1,2,3"),
                ..FilterParams::default()
            },
        ] {
            assert_eq!(bad.to_filter(&t).unwrap_err().status, 400, "{bad:?}");
        }
    }
}
