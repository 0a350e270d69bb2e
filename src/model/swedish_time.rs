//! Swedish local time (CET/CEST) for hour-of-day filters.
//!
//! Planners ask for "evenings" and "nights" in local time. Sweden follows the
//! EU rule since 1996: summer time (UTC+2) from 01:00 UTC on the last Sunday
//! of March to 01:00 UTC on the last Sunday of October, otherwise UTC+1
//! (Directive 2000/84/EC). Ten lines of arithmetic instead of a time-zone
//! database dependency.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The UTC offset in force in Sweden at `t`.
pub fn offset_at(t: OffsetDateTime) -> UtcOffset {
    let year = t.to_offset(UtcOffset::UTC).year();
    let start = last_sunday(year, Month::March).midnight().assume_utc() + time::Duration::hours(1);
    let end = last_sunday(year, Month::October).midnight().assume_utc() + time::Duration::hours(1);
    let hours = if t >= start && t < end { 2 } else { 1 };
    UtcOffset::from_hms(hours, 0, 0).expect("valid offset")
}

fn last_sunday(year: i32, month: Month) -> Date {
    let last = Date::from_calendar_date(year, month, month.length(year)).expect("valid date");
    last - time::Duration::days(i64::from(last.weekday().number_days_from_sunday()))
}

/// Hour of day (0–23) in Swedish local time for a Unix timestamp in seconds.
pub fn local_hour(unix_seconds: i64) -> u8 {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(unix_seconds) else {
        return 0;
    };
    t.to_offset(offset_at(t)).hour()
}

/// The instant of local midnight starting `date` in Sweden.
pub fn local_midnight(date: Date) -> OffsetDateTime {
    let naive = PrimitiveDateTime::new(date, Time::MIDNIGHT);
    // Midnight is never inside a DST transition (they happen at 02:00/03:00 local).
    let guess = naive.assume_utc();
    naive.assume_offset(offset_at(guess))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn transitions_2026() {
        // Summer time 2026: 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(offset_at(datetime!(2026-03-29 00:59 UTC)).whole_hours(), 1);
        assert_eq!(offset_at(datetime!(2026-03-29 01:00 UTC)).whole_hours(), 2);
        assert_eq!(offset_at(datetime!(2026-10-25 00:59 UTC)).whole_hours(), 2);
        assert_eq!(offset_at(datetime!(2026-10-25 01:00 UTC)).whole_hours(), 1);
    }

    #[test]
    fn local_hours() {
        assert_eq!(
            local_hour(datetime!(2026-01-15 21:30 UTC).unix_timestamp()),
            22
        );
        assert_eq!(
            local_hour(datetime!(2026-07-15 21:30 UTC).unix_timestamp()),
            23
        );
        assert_eq!(
            local_hour(datetime!(2026-07-15 22:30 UTC).unix_timestamp()),
            0
        );
    }

    #[test]
    fn midnight() {
        assert_eq!(
            local_midnight(date!(2026 - 01 - 01)),
            datetime!(2025-12-31 23:00 UTC)
        );
        assert_eq!(
            local_midnight(date!(2026 - 07 - 01)),
            datetime!(2026-06-30 22:00 UTC)
        );
    }
}
