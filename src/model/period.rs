//! Calendar periods — months, quarters and years in Swedish local time —
//! the unit in which area analyses, emerging hot spots and action-plan
//! indicators are reported ("2025-Q1", "2025-03", "2025").
//!
//! Two ranges matter. Input — query parameters, actions, analyses, walks —
//! is accepted only within [`YEARS`], checked where it enters. Arithmetic is
//! total over whatever a `Period` holds: it saturates at the limits of
//! `time::Date` (years ±9999) rather than panic, so a value stored before
//! the check existed still reads back.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime};

use super::swedish_time;

/// The calendar years accepted in periods and dates from outside: any
/// plausible record or plan, and far from the ±9999 limit of `time::Date`.
pub const YEARS: RangeInclusive<i32> = 1900..=2200;

/// `Ok` when `year` lies in [`YEARS`], otherwise the reason, for a problem's detail.
pub fn check_year(year: i32) -> Result<(), String> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(format!(
            "year {year} is outside {}–{}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// [`check_year`] of a date.
pub fn check_date(date: Date) -> Result<Date, String> {
    check_year(date.year()).map(|()| date)
}

/// Month indices (see [`Period`]) of the first and last month `time::Date` holds.
const FIRST_MONTH: i32 = Date::MIN.year() * 12;
const LAST_MONTH: i32 = Date::MAX.year() * 12 + 11;

/// How long a period is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    /// Months per period.
    fn months(self) -> i32 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "month" => Some(PeriodKind::Month),
            "quarter" => Some(PeriodKind::Quarter),
            "year" => Some(PeriodKind::Year),
            _ => None,
        }
    }
}

/// One calendar period: its kind and the index of its first month counted
/// from January of year 0 (so arithmetic across years is plain addition).
/// The index stays within the months `time::Date` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    kind: PeriodKind,
    first_month: i32,
}

impl Period {
    /// The strings [`Period::parse_in_years`] accepts, as the OpenAPI
    /// document declares them: `2025`, `2025-Q3` or `2025-09`, years 1900–2200.
    pub const PATTERN: &str = "^(19[0-9]{2}|2[01][0-9]{2}|2200)(-([Qq][1-4]|0[1-9]|1[0-2]))?$";

    /// The period of `kind` starting at month index `month` or, when that is
    /// not a first month, before it; clamped to the months `time::Date` holds.
    fn at(kind: PeriodKind, month: i32) -> Self {
        let span = kind.months();
        let month = month.clamp(FIRST_MONTH, LAST_MONTH);
        Period {
            kind,
            first_month: month.div_euclid(span) * span,
        }
    }

    /// A period as written (`2025-Q1`), refused unless its year lies in [`YEARS`].
    pub fn parse_in_years(s: &str) -> Result<Self, String> {
        let p: Period = s.parse()?;
        check_year(p.year()).map(|()| p)
    }

    /// The period of `kind` containing `date`.
    pub fn containing(kind: PeriodKind, date: Date) -> Self {
        Self::at(
            kind,
            date.year() * 12 + i32::from(u8::from(date.month())) - 1,
        )
    }

    /// The period of `kind` containing the instant `t`, in Swedish local time.
    pub fn containing_instant(kind: PeriodKind, t: OffsetDateTime) -> Self {
        // In the last hours of year 9999 the local date is not representable:
        // the UTC date's period is the nearest there is.
        let local = t.checked_to_offset(swedish_time::offset_at(t)).unwrap_or(t);
        Self::containing(kind, local.date())
    }

    pub fn kind(self) -> PeriodKind {
        self.kind
    }

    pub fn year(self) -> i32 {
        self.first_month.div_euclid(12)
    }

    /// The period `n` periods later (earlier when negative), saturating at
    /// the first and last periods `time::Date` holds.
    #[must_use]
    pub fn offset(self, n: i32) -> Self {
        let month = self
            .first_month
            .saturating_add(n.saturating_mul(self.kind.months()));
        Self::at(self.kind, month)
    }

    /// The same period one year earlier (saturating like [`Period::offset`]).
    #[must_use]
    pub fn year_before(self) -> Self {
        Self::at(self.kind, self.first_month - 12)
    }

    /// The first day.
    pub fn start(self) -> Date {
        month_start(self.first_month)
    }

    /// The first day after the period; `Date::MAX` for periods that end
    /// with year 9999, a day short, since year 10000 is not representable.
    pub fn end(self) -> Date {
        month_start(self.first_month + self.kind.months())
    }

    /// Start and end (exclusive) as Unix seconds: local midnights in Sweden.
    pub fn unix_bounds(self) -> (i64, i64) {
        (
            swedish_time::local_midnight(self.start()).unix_timestamp(),
            swedish_time::local_midnight(self.end()).unix_timestamp(),
        )
    }

    /// How many periods from `self` to `other` (positive when `other` is later).
    pub fn periods_until(self, other: Period) -> i32 {
        (other.first_month - self.first_month).div_euclid(self.kind.months())
    }
}

/// The first day of month index `index`, clamped to the days `time::Date` holds.
fn month_start(index: i32) -> Date {
    if index > LAST_MONTH {
        return Date::MAX;
    }
    let index = index.max(FIRST_MONTH);
    let month = Month::January.nth_next(u8::try_from(index.rem_euclid(12)).unwrap_or(0));
    Date::from_calendar_date(index.div_euclid(12), month, 1).unwrap_or(Date::MAX)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month = self.first_month.rem_euclid(12);
        match self.kind {
            PeriodKind::Month => write!(f, "{:04}-{:02}", self.year(), month + 1),
            PeriodKind::Quarter => write!(f, "{:04}-Q{}", self.year(), month / 3 + 1),
            PeriodKind::Year => write!(f, "{:04}", self.year()),
        }
    }
}

impl FromStr for Period {
    type Err = String;

    /// `2025`, `2025-Q1` or `2025-03`, with any four-digit year, so that
    /// whatever was stored reads back; input goes through
    /// [`Period::parse_in_years`].
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a period such as 2025, 2025-Q1 or 2025-03");
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        // Digits only, so that no sign or space slips through `parse`.
        let number = |s: &str, len: usize| {
            Some(s)
                .filter(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<i32>().ok())
                .ok_or_else(bad)
        };
        let year = number(year, 4)?;
        let (kind, month) = match rest {
            None => (PeriodKind::Year, 1),
            Some(q) if q.starts_with(['Q', 'q']) => {
                let quarter = number(&q[1..], 1)?;
                if !(1..=4).contains(&quarter) {
                    return Err(bad());
                }
                (PeriodKind::Quarter, (quarter - 1) * 3 + 1)
            }
            Some(m) => {
                let month = number(m, 2)?;
                if !(1..=12).contains(&month) {
                    return Err(bad());
                }
                (PeriodKind::Month, month)
            }
        };
        Ok(Period::at(kind, year * 12 + month - 1))
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn names_round_trip() {
        for s in ["2025", "2025-Q1", "2025-Q4", "2025-03", "2024-12"] {
            assert_eq!(s.parse::<Period>().unwrap().to_string(), s);
        }
        for bad in [
            "25", "2025-Q5", "2025-13", "2025-3", "2025-Q", "x", "2025-", "2025-Q01", "2025-+1",
            "+025", "2025-Q+1", "2025-00",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_across_years() {
        let q1: Period = "2025-Q1".parse().unwrap();
        assert_eq!(q1.offset(-1).to_string(), "2024-Q4");
        assert_eq!(q1.year_before().to_string(), "2024-Q1");
        assert_eq!(q1.end(), date!(2025 - 04 - 01));
        assert_eq!(q1.periods_until("2026-Q2".parse().unwrap()), 5);
        let m = Period::containing(PeriodKind::Month, date!(2025 - 12 - 31));
        assert_eq!(m.offset(1).to_string(), "2026-01");
    }

    #[test]
    fn input_outside_the_supported_years_is_refused() {
        for ok in ["1900", "1900-01", "2200-Q4", "2025-Q3"] {
            assert!(Period::parse_in_years(ok).is_ok(), "{ok}");
        }
        for bad in ["1899-12", "2201", "9999-Q4", "0000-01"] {
            let e = Period::parse_in_years(bad).unwrap_err();
            assert!(e.contains("1900–2200"), "{bad}: {e}");
        }
        assert!(check_date(date!(2200 - 12 - 31)).is_ok());
        assert!(check_date(date!(9999 - 01 - 01)).is_err());
    }

    // Regression: `9999-Q4` as an action's baseline and `to=9999-12-31`
    // panicked in `end()`, and year 9999's last hours in `containing_instant`.
    #[test]
    fn arithmetic_at_the_ends_of_time_does_not_panic() {
        for s in ["9999-Q4", "9999-12", "9999", "0000-01", "0000-Q1", "0000"] {
            let p: Period = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
            let (start, end) = p.unix_bounds();
            assert!(start < end, "{s}");
            for n in [
                i32::MIN,
                -1_000_000,
                -120,
                -1,
                0,
                1,
                120,
                1_000_000,
                i32::MAX,
            ] {
                let q = p.offset(n);
                let _ = (
                    q.unix_bounds(),
                    q.year_before().unix_bounds(),
                    q.to_string(),
                );
                let _ = p.periods_until(q);
            }
        }
        assert_eq!(
            "9999-Q4".parse::<Period>().unwrap().offset(1).to_string(),
            "9999-Q4"
        );
        assert_eq!("9999-12".parse::<Period>().unwrap().end(), Date::MAX);
        assert_eq!(
            "2025-Q1".parse::<Period>().unwrap().offset(-1).to_string(),
            "2024-Q4"
        );
        for kind in [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year] {
            for d in [Date::MIN, Date::MAX] {
                let p = Period::containing(kind, d);
                let _ = (p.unix_bounds(), p.offset(-1).unix_bounds(), p.year_before());
            }
            let late = Period::containing_instant(kind, datetime!(9999-12-31 23:30 UTC));
            assert_eq!(late.year(), 9999);
            let _ = late.unix_bounds();
        }
    }

    #[test]
    fn bounds_are_swedish_midnights() {
        // 1 July is summer time: local midnight is 22:00 UTC the day before.
        let (start, end) = "2025-Q3".parse::<Period>().unwrap().unix_bounds();
        assert_eq!(start, datetime!(2025-06-30 22:00 UTC).unix_timestamp());
        assert_eq!(end, datetime!(2025-09-30 22:00 UTC).unix_timestamp());
        // New Year's Eve 23:30 UTC is already next year in Sweden.
        let p = Period::containing_instant(PeriodKind::Year, datetime!(2025-12-31 23:30 UTC));
        assert_eq!(p.to_string(), "2026");
    }
}
