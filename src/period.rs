//! Reporting periods: calendar months in the organization's time zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A calendar month, the unit the assessment is produced for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid period {0:?}: expected YYYY-MM, for example 2026-10")]
pub struct MonthParseError(pub String);

impl FromStr for Month {
    type Err = MonthParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MonthParseError(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(err());
        }
        let year: i32 = y.parse().map_err(|_| err())?;
        let month: u32 = m.parse().map_err(|_| err())?;
        if !(1..=12).contains(&month) {
            return Err(err());
        }
        Ok(Month { year, month })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Month {
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    /// The month's last calendar day. Due dates and acceptance expiry are counted from it: a
    /// period is a calendar month wherever the organization is, so its last day is the same
    /// date in every time zone (only the UTC instant of its end differs).
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// The month before the one containing `now` in `tz`: cron runs early in a month and
    /// assesses the month that just ended.
    pub fn previous_of(now: DateTime<Utc>, tz: Tz) -> Month {
        Month::containing(now, tz).prev()
    }

    /// The month holding the instant `t` in `tz`.
    pub fn containing(t: DateTime<Utc>, tz: Tz) -> Month {
        let local = t.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }
}

/// A month pinned to a time zone, with its exact UTC bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub month: Month,
    pub timezone: String,
    /// Inclusive start, UTC.
    pub start: DateTime<Utc>,
    /// Exclusive end, UTC.
    pub end: DateTime<Utc>,
}

impl Period {
    pub fn new(month: Month, tz: Tz) -> Period {
        let start = local_midnight(month, tz);
        let end = local_midnight(month.next(), tz);
        Period {
            month,
            timezone: tz.name().to_string(),
            start,
            end,
        }
    }

    /// Whether an interval `[begin, end]` (a report's date range) shares time with this
    /// period. A range that only touches a boundary (ends at midnight when the period starts)
    /// does not: reporters often write the next day's midnight as the end of a one-day report.
    pub fn overlaps(&self, begin: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let (lo, hi) = ordered(begin, end);
        if lo == hi {
            return self.start <= lo && lo < self.end;
        }
        lo < self.end && hi > self.start
    }

    /// When the period is final: local midnight `grace_days` calendar days after it ends, so
    /// "3 days" means the same wall-clock time across a DST change.
    pub fn final_at(&self, grace_days: u32, tz: Tz) -> DateTime<Utc> {
        let end = self
            .month
            .next()
            .first_day()
            .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(grace_days))));
        match end {
            Some(d) => midnight_of(d, tz),
            None => self.end,
        }
    }

    /// Whether a report with date range `[begin, end]` counts toward this period: the period
    /// must contain the midpoint of the range. Reporters choose their windows (usually 24
    /// hours on UTC midnight, sometimes shifted or several days long) and a report cannot be
    /// split by message, so each report is given to exactly one period, the one that holds
    /// most of its window. Consecutive months then add up, and a report straddling a month
    /// edge is never counted twice. The daily series uses the same midpoint
    /// ([`crate::reports::aggregate::midpoint_day`]), so every day charted lies in the period.
    pub fn counts_report(&self, begin: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let mid = midpoint(begin, end);
        self.start <= mid && mid < self.end
    }
}

/// `(min, max)` of two instants: a hostile report may give its range backwards.
fn ordered(a: DateTime<Utc>, b: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    if b < a { (b, a) } else { (a, b) }
}

/// The midpoint of a report's date range, whichever way round it was written.
pub fn midpoint(begin: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
    let (lo, hi) = ordered(begin, end);
    lo + (hi - lo) / 2
}

fn local_midnight(month: Month, tz: Tz) -> DateTime<Utc> {
    match month.first_day() {
        Some(date) => midnight_of(date, tz),
        None => DateTime::<Utc>::MIN_UTC,
    }
}

/// The first instant of `date` in `tz`.
fn midnight_of(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Midnight can fall in a DST gap in a few zones; take the earliest valid instant.
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        chrono::LocalResult::None => {
            let later = naive + chrono::Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Due dates and acceptance expiry count from the month's last calendar day, which must be
    /// the last local day of the period in any time zone, across DST changes and leap years.
    #[test]
    fn last_day_is_the_last_local_day_of_the_period_everywhere() {
        for tz in [
            chrono_tz::UTC,
            chrono_tz::America::Chicago,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Pacific::Pago_Pago,
            chrono_tz::Australia::Lord_Howe,
        ] {
            for label in [
                "2026-02", "2028-02", "2026-03", "2026-10", "2026-11", "2026-12",
            ] {
                let m: Month = label.parse().unwrap();
                let p = Period::new(m, tz);
                let last_local = (p.end - chrono::Duration::seconds(1))
                    .with_timezone(&tz)
                    .date_naive();
                assert_eq!(m.last_day(), last_local, "{label} in {tz}");
            }
        }
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            "2028-02".parse::<Month>().unwrap().last_day(),
            day("2028-02-29")
        );
        assert_eq!(
            "2026-12".parse::<Month>().unwrap().last_day(),
            day("2026-12-31")
        );
    }

    #[test]
    fn parses_and_rejects_months() {
        assert_eq!(
            "2026-10".parse::<Month>().ok(),
            Some(Month {
                year: 2026,
                month: 10
            })
        );
        assert!("2026-13".parse::<Month>().is_err());
        assert!("2026-1".parse::<Month>().is_err());
        assert!("oct".parse::<Month>().is_err());
    }

    #[test]
    fn chicago_october_bounds() {
        let p = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::America::Chicago,
        );
        assert_eq!(p.start.to_rfc3339(), "2026-10-01T05:00:00+00:00");
        // DST ends 1 Nov 2026, so November starts at UTC-6.
        assert_eq!(p.end.to_rfc3339(), "2026-11-01T05:00:00+00:00");
        let p = Period::new(
            Month {
                year: 2026,
                month: 11,
            },
            chrono_tz::America::Chicago,
        );
        assert_eq!(p.end.to_rfc3339(), "2026-12-01T06:00:00+00:00");
    }

    #[test]
    fn previous_month_in_zone() {
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap();
        // Still 31 October in Chicago: the previous month is September.
        assert_eq!(
            Month::previous_of(now, chrono_tz::America::Chicago).to_string(),
            "2026-09"
        );
        assert_eq!(
            Month::previous_of(now, chrono_tz::UTC).to_string(),
            "2026-10"
        );
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn each_report_counts_in_exactly_one_period() {
        let oct = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let sep = Period::new(
            Month {
                year: 2026,
                month: 9,
            },
            chrono_tz::UTC,
        );
        // A one-day report for Sep 30 written with the next midnight as its end: it touches
        // October but shares no time with it.
        let (b, e) = (at("2026-09-30T00:00:00Z"), at("2026-10-01T00:00:00Z"));
        assert!(sep.counts_report(b, e) && !oct.counts_report(b, e));
        assert!(sep.overlaps(b, e) && !oct.overlaps(b, e));
        // A report shifted by 5 hours: mostly October.
        let (b, e) = (at("2026-09-30T19:00:00Z"), at("2026-10-01T19:00:00Z"));
        assert!(oct.counts_report(b, e) && !sep.counts_report(b, e));
        assert!(oct.overlaps(b, e) && sep.overlaps(b, e));
        // Written backwards, the same.
        assert!(oct.counts_report(e, b) && !sep.counts_report(e, b));
        // A zero-length range at the boundary belongs to the period it starts.
        let t = at("2026-10-01T00:00:00Z");
        assert!(oct.counts_report(t, t) && !sep.counts_report(t, t));
        assert!(oct.overlaps(t, t) && !sep.overlaps(t, t));
    }

    #[test]
    fn utc_reports_straddle_a_chicago_month_and_count_once() {
        let tz = chrono_tz::America::Chicago;
        let oct = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            tz,
        );
        let sep = Period::new(
            Month {
                year: 2026,
                month: 9,
            },
            tz,
        );
        // Oct 1 UTC is Sep 30 19:00 to Oct 1 19:00 in Chicago: 5 hours in September.
        let (b, e) = (at("2026-10-01T00:00:00Z"), at("2026-10-01T23:59:59Z"));
        assert!(sep.overlaps(b, e) && oct.overlaps(b, e));
        assert!(oct.counts_report(b, e) && !sep.counts_report(b, e));
        // Sep 30 UTC: 19 of its 24 hours are in Chicago's September.
        let (b, e) = (at("2026-09-30T00:00:00Z"), at("2026-09-30T23:59:59Z"));
        assert!(sep.counts_report(b, e) && !oct.counts_report(b, e));
        // A week-long report from Sep 28 to Oct 5 counts where its midpoint (Oct 1 12:00 UTC) is.
        let (b, e) = (at("2026-09-28T00:00:00Z"), at("2026-10-05T00:00:00Z"));
        assert!(oct.counts_report(b, e) && !sep.counts_report(b, e));
    }

    #[test]
    fn extreme_ranges_do_not_overflow() {
        let oct = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let (lo, hi) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        let _ = oct.counts_report(lo, hi);
        let _ = oct.counts_report(hi, lo);
        assert!(oct.overlaps(lo, hi));
    }
}
