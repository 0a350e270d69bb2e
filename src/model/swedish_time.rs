//! Swedish local time (CET/CEST) for hour-of-day filters.
//!
//! Planners ask for "evenings" and "nights" in local time. Sweden follows the
//! EU rule since 1996: summer time (UTC+2) from 01:00 UTC on the last Sunday
//! of March to 01:00 UTC on the last Sunday of October, otherwise UTC+1
//! (Directive 2000/84/EC). Ten lines of arithmetic instead of a time-zone
//! database dependency.
//!
//! Every function is total over the instants `time` holds (years ±9999):
//! near those limits a local time may not be representable, so nothing here
//! converts to an offset without checking.

use time::macros::offset;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The UTC offset in force in Sweden at `t`.
pub fn offset_at(t: OffsetDateTime) -> UtcOffset {
    let year = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t).year();
    let summer = match (switch(year, Month::March), switch(year, Month::October)) {
        (Some(start), Some(end)) => t >= start && t < end,
        _ => false,
    };
    if summer { offset!(+2) } else { offset!(+1) }
}

/// 01:00 UTC on the last Sunday of `month`, when the clocks change.
fn switch(year: i32, month: Month) -> Option<OffsetDateTime> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let sunday = last.checked_sub(time::Duration::days(i64::from(
        last.weekday().number_days_from_sunday(),
    )))?;
    sunday
        .midnight()
        .assume_utc()
        .checked_add(time::Duration::hours(1))
}

/// Hour of day (0–23) in Swedish local time for a Unix timestamp in seconds.
pub fn local_hour(unix_seconds: i64) -> u8 {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(unix_seconds) else {
        return 0;
    };
    // Plain arithmetic: the local time itself may lie past year 9999.
    let local = unix_seconds.saturating_add(i64::from(offset_at(t).whole_seconds()));
    u8::try_from(local.rem_euclid(86_400) / 3_600).unwrap_or(0)
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
    fn the_limits_of_time_do_not_panic() {
        for t in [
            OffsetDateTime::new_utc(Date::MIN, Time::MIDNIGHT),
            datetime!(9999-12-31 23:59:59 UTC),
            datetime!(9999-12-31 23:59:59 +01:00),
            datetime!(-9999-01-01 00:00 +01:00),
        ] {
            let _ = offset_at(t);
        }
        assert_eq!(
            local_hour(datetime!(9999-12-31 23:30 UTC).unix_timestamp()),
            0
        );
        for d in [Date::MIN, Date::MAX] {
            let _ = local_midnight(d).unix_timestamp();
        }
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
