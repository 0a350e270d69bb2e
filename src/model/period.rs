//! Calendar periods — months, quarters and years in Swedish local time —
//! the unit in which area analyses, emerging hot spots and action-plan
//! indicators are reported ("2025-Q1", "2025-03", "2025").

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime};

use super::swedish_time;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    kind: PeriodKind,
    first_month: i32,
}

impl Period {
    /// The period of `kind` containing `date`.
    pub fn containing(kind: PeriodKind, date: Date) -> Self {
        let month = date.year() * 12 + i32::from(u8::from(date.month())) - 1;
        let span = kind.months();
        Period {
            kind,
            first_month: month.div_euclid(span) * span,
        }
    }

    /// The period of `kind` containing the instant `t`, in Swedish local time.
    pub fn containing_instant(kind: PeriodKind, t: OffsetDateTime) -> Self {
        Self::containing(kind, t.to_offset(swedish_time::offset_at(t)).date())
    }

    pub fn kind(self) -> PeriodKind {
        self.kind
    }

    pub fn year(self) -> i32 {
        self.first_month.div_euclid(12)
    }

    /// The period `n` periods later (earlier when negative).
    #[must_use]
    pub fn offset(self, n: i32) -> Self {
        Period {
            kind: self.kind,
            first_month: self.first_month + n * self.kind.months(),
        }
    }

    /// The same period one year earlier.
    #[must_use]
    pub fn year_before(self) -> Self {
        Period {
            kind: self.kind,
            first_month: self.first_month - 12,
        }
    }

    /// The first day.
    pub fn start(self) -> Date {
        month_start(self.first_month)
    }

    /// The first day after the period.
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

fn month_start(index: i32) -> Date {
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).expect("1..=12"))
        .expect("a month number");
    Date::from_calendar_date(index.div_euclid(12), month, 1).expect("the first of a month")
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

    /// `2025`, `2025-Q1` or `2025-03`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a period such as 2025, 2025-Q1 or 2025-03");
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        if year.len() != 4 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let (kind, month) = match rest {
            None => (PeriodKind::Year, 1),
            Some(q) if q.starts_with(['Q', 'q']) => {
                let quarter: i32 = q[1..].parse().map_err(|_| bad())?;
                if !(1..=4).contains(&quarter) {
                    return Err(bad());
                }
                (PeriodKind::Quarter, (quarter - 1) * 3 + 1)
            }
            Some(m) => {
                let month: i32 = m.parse().map_err(|_| bad())?;
                if m.len() != 2 || !(1..=12).contains(&month) {
                    return Err(bad());
                }
                (PeriodKind::Month, month)
            }
        };
        Ok(Period {
            kind,
            first_month: year * 12 + month - 1,
        })
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
        for bad in ["25", "2025-Q5", "2025-13", "2025-3", "2025-Q", "x", "2025-"] {
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
