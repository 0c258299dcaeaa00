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

    /// The month before the one containing `now` in `tz`: cron runs early in a month and
    /// assesses the month that just ended.
    pub fn previous_of(now: DateTime<Utc>, tz: Tz) -> Month {
        let local = now.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
        .prev()
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

    /// Whether an interval `[begin, end]` (a report's date range) overlaps this period.
    pub fn overlaps(&self, begin: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        begin < self.end && end >= self.start
    }

    /// Fraction of `[begin, end]` that falls inside the period (1.0 for a zero-length range
    /// inside it). Used to document how reports spanning a month boundary count.
    pub fn overlap_fraction(&self, begin: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
        if end <= begin {
            return if self.overlaps(begin, end) { 1.0 } else { 0.0 };
        }
        let lo = begin.max(self.start);
        let hi = end.min(self.end);
        if hi <= lo {
            return 0.0;
        }
        (hi - lo).num_seconds() as f64 / (end - begin).num_seconds() as f64
    }
}

fn local_midnight(month: Month, tz: Tz) -> DateTime<Utc> {
    let Some(date) = month.first_day() else {
        return DateTime::<Utc>::MIN_UTC;
    };
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
}
