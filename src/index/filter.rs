//! Filters shared by every index query: kind, category, time range,
//! hour-of-day range, area, bounding box, walk and organisation.

use rstar::AABB;
use uuid::Uuid;

use super::ObservationIndex;
use crate::model::{Kind, Region};

/// A set of hours of the day (0–23, Swedish local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourSet(u32);

impl HourSet {
    pub const ALL: HourSet = HourSet((1 << 24) - 1);

    /// Hours from `start` up to but not including `end`, wrapping past
    /// midnight when `end <= start` (`22..6` is the night).
    pub fn range(start: u8, end: u8) -> Self {
        let mut mask = 0u32;
        let mut h = start % 24;
        loop {
            mask |= 1 << h;
            h = (h + 1) % 24;
            if h == end % 24 {
                break;
            }
        }
        HourSet(mask)
    }

    /// The strings [`HourSet::parse`] accepts, as the OpenAPI document
    /// declares them for every `hours` parameter.
    pub const PATTERN: &str = "^([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-4]))?$";

    /// Parses `H` (one hour) or `START-END` (end exclusive, may wrap), e.g.
    /// `18-24` for the evening or `22-6` for the night: exactly
    /// [`HourSet::PATTERN`], one or two digits per hour, no signs or spaces.
    pub fn parse(s: &str) -> Result<Self, String> {
        let hour = |p: &str, max: u8| {
            Some(p)
                .filter(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u8>().ok())
                .filter(|h| *h <= max)
                .ok_or_else(|| format!("{p:?} is not an hour 0-{max}"))
        };
        match s.split_once('-') {
            None => Ok(HourSet(1 << hour(s, 23)?)),
            Some((a, b)) => {
                let (a, b) = (hour(a, 23)?, hour(b, 24)?);
                if a == b % 24 {
                    return Ok(HourSet::ALL);
                }
                Ok(HourSet::range(a, b))
            }
        }
    }

    pub fn contains(self, hour: u8) -> bool {
        self.0 & (1 << hour) != 0
    }
}

/// Which observations a query is about. The default matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Empty means every kind.
    pub kinds: Vec<Kind>,
    /// Empty means every category.
    pub categories: Vec<String>,
    /// Inclusive lower bound on `observed_at`, Unix seconds.
    pub from: Option<i64>,
    /// Exclusive upper bound on `observed_at`, Unix seconds.
    pub to: Option<i64>,
    pub hours: Option<HourSet>,
    pub area: Option<String>,
    pub bbox: Option<Region>,
    pub walk_id: Option<Uuid>,
    pub organisation: Option<String>,
}

impl Filter {
    /// The filter with its time range widened to whole calendar months,
    /// Swedish local time: `from` back to the first of its month, `to` on
    /// to the first of the next month unless it is one. Callers who see
    /// rounded counts filter by whole months, the periods a cell's months
    /// are shown by: a window moved a day at a time would tell, by when its
    /// count changes, on which days observations were made.
    #[must_use]
    pub fn whole_months(mut self) -> Self {
        self.from = self.from.map(|t| month_start(t, false));
        self.to = self.to.map(|t| month_start(t, true));
        self
    }
}

/// The local start of the month at or before `t` (at or after it with `up`).
fn month_start(t: i64, up: bool) -> i64 {
    use crate::model::swedish_time::{local_midnight, offset_at};
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(t) else {
        return t;
    };
    let date = at.to_offset(offset_at(at)).date();
    let first = date.replace_day(1).unwrap_or(date);
    let start = local_midnight(first).unix_timestamp();
    if up && start < t {
        let next = if first.month() == time::Month::December {
            time::Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
        } else {
            time::Date::from_calendar_date(first.year(), first.month().next(), 1)
        };
        next.map_or(t, |d| local_midnight(d).unix_timestamp())
    } else {
        start
    }
}

/// A filter resolved against one index's interned values.
pub(super) struct Compiled {
    pub kinds: u8,
    pub categories: Option<Vec<bool>>,
    pub from: i64,
    pub to: i64,
    pub hours: HourSet,
    pub area: Option<usize>,
    pub envelope: Option<AABB<[f64; 2]>>,
    pub walk: Option<u32>,
    pub organisation: Option<u16>,
}

impl Filter {
    /// Resolves names to the index's numbers. `None` when the filter can
    /// match nothing (an unknown area, a category nobody has used yet, …).
    pub(super) fn compile(&self, idx: &ObservationIndex) -> Option<Compiled> {
        let kinds = if self.kinds.is_empty() {
            0b111
        } else {
            self.kinds.iter().fold(0, |m, k| m | (1 << (*k as u8)))
        };
        let categories = if self.categories.is_empty() {
            None
        } else {
            let mut set = vec![false; idx.columns.category_names.len()];
            for c in &self.categories {
                if let Some(i) = idx.columns.category_names.get(c.as_str()) {
                    set[i as usize] = true;
                }
            }
            if !set.contains(&true) {
                return None;
            }
            Some(set)
        };
        let area = match &self.area {
            None => None,
            Some(a) => Some(idx.areas.iter().position(|m| &m.id == a)?),
        };
        let walk = match self.walk_id {
            None => None,
            Some(w) => Some(idx.columns.walk_ids.get(&w)?),
        };
        let organisation = match &self.organisation {
            None => None,
            Some(o) => Some(u16::try_from(idx.columns.organisation_names.get(o.as_str())?).ok()?),
        };
        Some(Compiled {
            kinds,
            categories,
            from: self.from.unwrap_or(i64::MIN),
            to: self.to.unwrap_or(i64::MAX),
            hours: self.hours.unwrap_or(HourSet::ALL),
            area,
            envelope: self
                .bbox
                .map(|b| AABB::from_corners([b.west, b.south], [b.east, b.north])),
            walk,
            organisation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_months_widen_to_local_firsts_of_months() {
        let at = |s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp()
        };
        // Noon on 5 October 2026 in Stockholm (summer time, +2).
        let f = Filter {
            from: Some(at("2026-10-05T12:00:00+02:00")),
            to: Some(at("2026-10-05T12:00:00+02:00")),
            ..Filter::default()
        }
        .whole_months();
        assert_eq!(f.from, Some(at("2026-10-01T00:00:00+02:00")));
        // November starts in winter time (+1).
        assert_eq!(f.to, Some(at("2026-11-01T00:00:00+01:00")));
        // December rolls over into the next year; a first of a month stays.
        let g = Filter {
            from: Some(at("2026-12-01T00:00:00+01:00")),
            to: Some(at("2026-12-31T23:59:59+01:00")),
            ..Filter::default()
        }
        .whole_months();
        assert_eq!(g.from, Some(at("2026-12-01T00:00:00+01:00")));
        assert_eq!(g.to, Some(at("2027-01-01T00:00:00+01:00")));
        // One second after a month's start is in that month.
        let h = Filter {
            to: Some(at("2026-03-01T00:00:01+01:00")),
            ..Filter::default()
        }
        .whole_months();
        assert_eq!(h.to, Some(at("2026-04-01T00:00:00+02:00")));
    }

    #[test]
    fn hour_ranges_wrap_midnight() {
        let night = HourSet::parse("22-6").unwrap();
        for h in [22, 23, 0, 5] {
            assert!(night.contains(h), "{h}");
        }
        for h in [6, 12, 21] {
            assert!(!night.contains(h), "{h}");
        }
        let evening = HourSet::parse("18-24").unwrap();
        assert!(evening.contains(23) && evening.contains(18) && !evening.contains(0));
        assert_eq!(HourSet::parse("0-24").unwrap(), HourSet::ALL);
        assert_eq!(HourSet::parse("7").unwrap(), HourSet::range(7, 8));
        assert!(HourSet::parse("25").is_err());
        assert!(HourSet::parse("x-3").is_err());
        // What PATTERN allows, and nothing more.
        for ok in ["0", "00", "09", "23", "0-24", "00-0", "22-6", "19-24"] {
            assert!(HourSet::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "24", "-", "1-", "-1", "+1", " 1", "1 ", "001", "1-25", "24-1", "1-2-3", "1--2",
        ] {
            assert!(HourSet::parse(bad).is_err(), "{bad}");
        }
    }
}
