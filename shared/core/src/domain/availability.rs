//! When a psychologist can be booked: weekly hours in their own time zone (several ranges a
//! day), time off, a buffer between sessions, minimum notice and a booking horizon. `free_slots`
//! lists the grid starts a client may choose; `check` says which rule a chosen start breaks.
//! Both read the same rules, so every offered slot is bookable and no bookable start is left
//! out (the property tests below hold them to that).
//!
//! Hours bound the session itself: a psychologist who works 08:00 to 17:00 is offered an
//! 08:00 session. The buffer keeps a session that far from every session already held.
//! Working hours are wall-clock times, so a psychologist in a zone with daylight saving keeps
//! 09:00 all year; the UTC instants move instead.
//!
//! The stored form and the wire form are one and the same (`{"weekday": "mon", "start":
//! "08:00", "end": "17:00"}`), so the profile panel edits exactly what is stored; `parse`
//! holds a draft from `PUT /api/me` to the rules below.

use super::profile::{invalid, ProfileError};
use super::schedule::SLOT_MINUTES;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub const DEFAULT_NOTICE_MINUTES: u32 = 120;
pub const DEFAULT_HORIZON_DAYS: u32 = 180;
pub const MAX_HORIZON_DAYS: u32 = 365;
pub const MAX_BUFFER_MINUTES: u32 = 60;
/// A week's notice is the most a psychologist may ask for: more would hide them from clients.
pub const MAX_NOTICE_MINUTES: u32 = 7 * 24 * 60;
const MAX_RANGES: usize = 35;
const MAX_TIME_OFF: usize = 100;

/// One stretch of working time on one weekday, `start` before `end` on the same day, both on
/// the quarter hour (so the latest end is 23:45).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    #[serde(with = "weekday_name")]
    pub weekday: Weekday,
    #[serde(with = "clock_time")]
    pub start: NaiveTime,
    #[serde(with = "clock_time")]
    pub end: NaiveTime,
}

/// Whole days off, `from` to `to` inclusive, in the psychologist's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOff {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// Sorted by weekday (Monday first), then start.
    pub weekly: Vec<WeeklyHours>,
    #[serde(default)]
    pub time_off: Vec<TimeOff>,
    #[serde(default)]
    pub buffer_minutes: u32,
    #[serde(default = "default_notice")]
    pub notice_minutes: u32,
    #[serde(default = "default_horizon")]
    pub horizon_days: u32,
}

/// A psychologist who has not set their hours yet works Monday to Friday, 09:00 to 17:00 (as
/// Cal.com starts everyone): bookable at once, and the profile panel shows what to change.
impl Default for Availability {
    fn default() -> Self {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("valid");
        let five = NaiveTime::from_hms_opt(17, 0, 0).expect("valid");
        Self {
            weekly: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|weekday| WeeklyHours {
                weekday,
                start: nine,
                end: five,
            })
            .collect(),
            time_off: Vec::new(),
            buffer_minutes: 0,
            notice_minutes: DEFAULT_NOTICE_MINUTES,
            horizon_days: DEFAULT_HORIZON_DAYS,
        }
    }
}

/// Availability as `PUT /api/me` sends it: the same shape as stored, every field required so
/// that a half-filled form never silently keeps old values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AvailabilityDraft {
    pub weekly: Vec<WeeklyHoursDraft>,
    pub time_off: Vec<TimeOffDraft>,
    pub buffer_minutes: u32,
    pub notice_minutes: u32,
    pub horizon_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WeeklyHoursDraft {
    /// `mon` … `sun`
    pub weekday: String,
    /// `HH:MM`, on the quarter hour
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeOffDraft {
    /// `YYYY-MM-DD`, the first day off
    pub from: String,
    /// `YYYY-MM-DD`, the last day off
    pub to: String,
}

const FIELD: &str = "availability";

fn quarter_hour(s: &str) -> Result<NaiveTime, ProfileError> {
    clock_time::parse(s)
        .filter(|t| i64::from(t.minute()) % SLOT_MINUTES == 0)
        .ok_or_else(|| {
            invalid(
                FIELD,
                format!("{s:?} is not a time on the quarter hour such as 08:00 or 16:45"),
            )
        })
}

fn day(s: &str) -> Result<NaiveDate, ProfileError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(FIELD, format!("{s:?} is not a date such as 2030-12-25")))
}

impl AvailabilityDraft {
    /// The same hours on several days, such as `(&["mon", "tue"], "09:00", "17:00")`, with no
    /// time off: what demo data, tests and benchmarks set up.
    pub fn week(
        ranges: &[(&[&str], &str, &str)],
        buffer_minutes: u32,
        notice_minutes: u32,
        horizon_days: u32,
    ) -> Self {
        Self {
            weekly: ranges
                .iter()
                .flat_map(|(days, start, end)| {
                    days.iter().map(|d| WeeklyHoursDraft {
                        weekday: (*d).to_owned(),
                        start: (*start).to_owned(),
                        end: (*end).to_owned(),
                    })
                })
                .collect(),
            time_off: Vec::new(),
            buffer_minutes,
            notice_minutes,
            horizon_days,
        }
    }

    pub fn parse(self) -> Result<Availability, ProfileError> {
        if self.weekly.len() > MAX_RANGES {
            return Err(invalid(
                FIELD,
                format!("at most {MAX_RANGES} ranges of working hours a week"),
            ));
        }
        let mut weekly = Vec::with_capacity(self.weekly.len());
        for w in &self.weekly {
            let weekday = weekday_name::parse(&w.weekday).ok_or_else(|| {
                invalid(
                    FIELD,
                    format!(
                        "{:?} is not a day of the week such as mon or sat",
                        w.weekday
                    ),
                )
            })?;
            let (start, end) = (quarter_hour(&w.start)?, quarter_hour(&w.end)?);
            if start >= end {
                return Err(invalid(
                    FIELD,
                    format!(
                        "working hours on {} must end after they start ({} to {})",
                        weekday_name::long(weekday),
                        w.start,
                        w.end
                    ),
                ));
            }
            weekly.push(WeeklyHours {
                weekday,
                start,
                end,
            });
        }
        weekly.sort_by_key(|w| (w.weekday.num_days_from_monday(), w.start));
        if let Some(pair) = weekly
            .windows(2)
            .find(|p| p[0].weekday == p[1].weekday && p[1].start < p[0].end)
        {
            return Err(invalid(
                FIELD,
                format!(
                    "two ranges of working hours on {} overlap; join them into one",
                    weekday_name::long(pair[0].weekday)
                ),
            ));
        }
        if self.time_off.len() > MAX_TIME_OFF {
            return Err(invalid(
                FIELD,
                format!("at most {MAX_TIME_OFF} periods of time off"),
            ));
        }
        let mut time_off = Vec::with_capacity(self.time_off.len());
        for t in &self.time_off {
            let (from, to) = (day(&t.from)?, day(&t.to)?);
            if to < from {
                return Err(invalid(
                    FIELD,
                    format!("time off from {from} must end on or after that day, not {to}"),
                ));
            }
            time_off.push(TimeOff { from, to });
        }
        time_off.sort_by_key(|t| t.from);
        if self.buffer_minutes > MAX_BUFFER_MINUTES {
            return Err(invalid(
                FIELD,
                format!("the buffer between sessions is 0 to {MAX_BUFFER_MINUTES} minutes"),
            ));
        }
        if self.notice_minutes > MAX_NOTICE_MINUTES {
            return Err(invalid(
                FIELD,
                "minimum notice is at most 7 days (10,080 minutes)",
            ));
        }
        if !(1..=MAX_HORIZON_DAYS).contains(&self.horizon_days) {
            return Err(invalid(
                FIELD,
                format!("the booking horizon is 1 to {MAX_HORIZON_DAYS} days"),
            ));
        }
        Ok(Availability {
            weekly,
            time_off,
            buffer_minutes: self.buffer_minutes,
            notice_minutes: self.notice_minutes,
            horizon_days: self.horizon_days,
        })
    }
}

/// Weekdays as `mon` … `sun`, the way people and the page write them.
mod weekday_name {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [(&str, &str, Weekday); 7] = [
        ("mon", "Monday", Weekday::Mon),
        ("tue", "Tuesday", Weekday::Tue),
        ("wed", "Wednesday", Weekday::Wed),
        ("thu", "Thursday", Weekday::Thu),
        ("fri", "Friday", Weekday::Fri),
        ("sat", "Saturday", Weekday::Sat),
        ("sun", "Sunday", Weekday::Sun),
    ];

    pub fn parse(s: &str) -> Option<Weekday> {
        let s = s.trim();
        NAMES
            .iter()
            .find(|(short, long, _)| short.eq_ignore_ascii_case(s) || long.eq_ignore_ascii_case(s))
            .map(|&(_, _, d)| d)
    }

    pub fn short(d: Weekday) -> &'static str {
        NAMES[d.num_days_from_monday() as usize].0
    }

    pub fn long(d: Weekday) -> &'static str {
        NAMES[d.num_days_from_monday() as usize].1
    }

    pub fn serialize<S: Serializer>(d: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(short(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom("not a weekday"))
    }
}

/// Wall-clock times as `HH:MM`.
mod clock_time {
    use chrono::{NaiveTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
    }

    /// `HH:MM` or `H:MM`, 00:00 to 23:59.
    pub fn parse(s: &str) -> Option<NaiveTime> {
        let (h, m) = s.trim().split_once(':')?;
        let n = |x: &str| {
            (!x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit()))
                .then(|| x.parse::<u32>().ok())
                .flatten()
        };
        (m.len() == 2)
            .then(|| NaiveTime::from_hms_opt(n(h)?, n(m)?, 0))
            .flatten()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom("not HH:MM"))
    }
}

fn default_notice() -> u32 {
    DEFAULT_NOTICE_MINUTES
}

fn default_horizon() -> u32 {
    DEFAULT_HORIZON_DAYS
}

/// Which rule a start breaks, in words the client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("That time is outside the psychologist's working hours; choose one of the free times shown.")]
    OutsideHours,
    #[error("The psychologist is away on {0}; choose another day.")]
    TimeOff(NaiveDate),
    #[error("That is too soon: this psychologist needs {0} minutes' notice.")]
    Notice(u32),
    #[error("That is too far ahead: this psychologist takes bookings up to {0} days ahead.")]
    Horizon(u32),
    #[error("That time is taken, or too close to a session already booked; choose another.")]
    Taken,
}

/// A session already held, [start, end).
pub type Held = (DateTime<Utc>, DateTime<Utc>);

impl Availability {
    /// Whether a session of `duration` may start at `starts_at` (on the grid), given the
    /// sessions already `held`, judged at `now`.
    pub fn check(
        &self,
        tz: Tz,
        starts_at: DateTime<Utc>,
        duration: Duration,
        held: &[Held],
        now: DateTime<Utc>,
    ) -> Result<(), Unavailable> {
        self.check_against(tz, starts_at, duration, &merged(held), now)
    }

    /// `check`, with the held time already sorted and merged (`merged`), so that a month of
    /// candidate starts costs a binary search each rather than a pass over every held cell.
    fn check_against(
        &self,
        tz: Tz,
        starts_at: DateTime<Utc>,
        duration: Duration,
        held: &[Held],
        now: DateTime<Utc>,
    ) -> Result<(), Unavailable> {
        let ends_at = starts_at + duration;
        if starts_at < now + Duration::minutes(i64::from(self.notice_minutes)) {
            return Err(Unavailable::Notice(self.notice_minutes));
        }
        if starts_at > now + Duration::days(i64::from(self.horizon_days)) {
            return Err(Unavailable::Horizon(self.horizon_days));
        }
        let (start, end) = (starts_at.with_timezone(&tz), ends_at.with_timezone(&tz));
        for day in [start.date_naive(), end.date_naive()] {
            if self.time_off.iter().any(|t| t.from <= day && day <= t.to) {
                return Err(Unavailable::TimeOff(day));
            }
        }
        // inside one range of the start's weekday, on the same local day: it starts inside the
        // range and ends by its end. Both are needed on an autumn clock change, where a session
        // can end at an earlier wall time than it starts: 01:45 EDT to 01:00 EST ends by 01:00
        // but does not start inside 00:15-01:00
        let inside = end.date_naive() == start.date_naive()
            && self.weekly.iter().any(|w| {
                w.weekday == start.weekday()
                    && w.start <= start.time()
                    && start.time() < w.end
                    && end.time() <= w.end
            });
        if !inside {
            return Err(Unavailable::OutsideHours);
        }
        let buffer = Duration::minutes(i64::from(self.buffer_minutes));
        let (lo, hi) = (starts_at - buffer, ends_at + buffer);
        // the first held stretch that ends after `lo` is the only one that can reach into it
        let first = held.partition_point(|&(_, e)| e <= lo);
        if held.get(first).is_some_and(|&(s, _)| s < hi) {
            return Err(Unavailable::Taken);
        }
        Ok(())
    }

    /// Every grid start in [from, to) where a session of `duration` may be booked.
    pub fn free_slots(
        &self,
        tz: Tz,
        duration: Duration,
        held: &[Held],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Held> {
        let step = Duration::minutes(SLOT_MINUTES);
        let held = merged(held);
        let mut slots = Vec::new();
        // walk the local days that [from, to) touches, and each range of their weekday
        let mut day = from.with_timezone(&tz).date_naive();
        let last = to.with_timezone(&tz).date_naive();
        while day <= last {
            for w in self.weekly.iter().filter(|w| w.weekday == day.weekday()) {
                let mut t = day.and_time(w.start);
                let range_end = day.and_time(w.end);
                // every start in the range is tried and `check` decides: on the night the clocks
                // go back, a session that starts before the change may end, in real time, before
                // the range's wall-clock end even though start + duration on the wall is later
                while t < range_end {
                    // a wall-clock time skipped by a daylight-saving change has no instant; a
                    // repeated one has two, and both are offered if they fit
                    let local = tz.from_local_datetime(&t);
                    for start in [local.earliest(), local.latest()].into_iter().flatten() {
                        let start = start.with_timezone(&Utc);
                        if start >= from
                            && start < to
                            && self.check_against(tz, start, duration, &held, now).is_ok()
                        {
                            slots.push((start, start + duration));
                        }
                    }
                    t += step;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        slots.sort();
        slots.dedup();
        slots
    }
}

/// Held time sorted and with touching or overlapping stretches joined: disjoint, so both the
/// starts and the ends are in order.
fn merged(held: &[Held]) -> Vec<Held> {
    let mut sorted = held.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<Held> = Vec::with_capacity(sorted.len());
    for (s, e) in sorted {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// `psy-amani`'s week in the demo: Mon–Fri 08:00–17:00, Sat 09:00–13:00, 15-minute buffer.
    fn amani() -> Availability {
        let mut weekly: Vec<WeeklyHours> = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|weekday| WeeklyHours {
            weekday,
            start: hm(8, 0),
            end: hm(17, 0),
        })
        .collect();
        weekly.push(WeeklyHours {
            weekday: Weekday::Sat,
            start: hm(9, 0),
            end: hm(13, 0),
        });
        Availability {
            weekly,
            time_off: vec![],
            buffer_minutes: 15,
            notice_minutes: DEFAULT_NOTICE_MINUTES,
            horizon_days: DEFAULT_HORIZON_DAYS,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const NAIROBI: Tz = chrono_tz::Africa::Nairobi;
    const LONDON: Tz = chrono_tz::Europe::London;

    #[test]
    fn a_week_in_nairobi() {
        // Monday 2030-01-07, 06:00 Nairobi
        let now = at("2030-01-07T03:00:00Z");
        let hour = Duration::minutes(60);
        let slots = amani().free_slots(NAIROBI, hour, &[], now, now + Duration::days(7), now);
        let local: Vec<String> = slots
            .iter()
            .map(|(s, _)| s.with_timezone(&NAIROBI).format("%a %H:%M").to_string())
            .collect();
        // notice: nothing before 08:00 Monday anyway; Monday 08:00 is exactly 2 h away
        assert_eq!(local.first().map(String::as_str), Some("Mon 08:00"));
        assert!(local.contains(&"Mon 16:00".to_owned()));
        assert!(!local.contains(&"Mon 16:15".to_owned()), "ends after 17:00");
        assert!(local.contains(&"Sat 12:00".to_owned()));
        assert!(!local.iter().any(|l| l.starts_with("Sun")));
        // 9 hours × 4 starts − 3 at the end, five days; Saturday 4 h × 4 − 3
        assert_eq!(slots.len(), 5 * (36 - 3) + (16 - 3));
    }

    #[test]
    fn held_sessions_and_their_buffer_are_kept_clear() {
        let now = at("2030-01-07T03:00:00Z");
        let hour = Duration::minutes(60);
        // held: Tuesday 10:00–11:00 Nairobi
        let held = [(at("2030-01-08T07:00:00Z"), at("2030-01-08T08:00:00Z"))];
        let a = amani();
        let tuesday = |h: u32, m: u32| {
            NAIROBI
                .with_ymd_and_hms(2030, 1, 8, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(a.check(NAIROBI, tuesday(8, 45), hour, &held, now), Ok(()));
        assert_eq!(
            a.check(NAIROBI, tuesday(9, 0), hour, &held, now),
            Err(Unavailable::Taken),
            "ends at 10:00, inside the 15-minute buffer"
        );
        assert_eq!(
            a.check(NAIROBI, tuesday(11, 0), hour, &held, now),
            Err(Unavailable::Taken)
        );
        assert_eq!(a.check(NAIROBI, tuesday(11, 15), hour, &held, now), Ok(()));
    }

    #[test]
    fn each_rule_is_named() {
        let now = at("2030-01-07T03:00:00Z");
        let hour = Duration::minutes(60);
        let mut a = amani();
        a.time_off.push(TimeOff {
            from: NaiveDate::from_ymd_opt(2030, 1, 9).unwrap(),
            to: NaiveDate::from_ymd_opt(2030, 1, 10).unwrap(),
        });
        let local = |d: u32, h: u32| {
            NAIROBI
                .with_ymd_and_hms(2030, 1, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(
            a.check(NAIROBI, local(13, 10), hour, &[], now),
            Err(Unavailable::OutsideHours),
            "a Sunday"
        );
        assert_eq!(
            a.check(NAIROBI, local(8, 7), hour, &[], now),
            Err(Unavailable::OutsideHours)
        );
        assert!(matches!(
            a.check(NAIROBI, local(9, 10), hour, &[], now),
            Err(Unavailable::TimeOff(_))
        ));
        assert_eq!(
            a.check(NAIROBI, local(7, 7), hour, &[], now),
            Err(Unavailable::Notice(120))
        );
        assert_eq!(
            a.check(NAIROBI, now + Duration::days(181), hour, &[], now),
            Err(Unavailable::Horizon(180))
        );
    }

    #[test]
    fn wall_clock_hours_hold_across_the_london_clock_change() {
        // the clocks go forward on Sunday 2030-03-31; 09:00 London is 09:00 UTC before and
        // 08:00 UTC after
        let a = Availability {
            weekly: vec![
                WeeklyHours {
                    weekday: Weekday::Fri,
                    start: hm(9, 0),
                    end: hm(10, 0),
                },
                WeeklyHours {
                    weekday: Weekday::Mon,
                    start: hm(9, 0),
                    end: hm(10, 0),
                },
            ],
            time_off: vec![],
            buffer_minutes: 0,
            notice_minutes: 0,
            horizon_days: 365,
        };
        let now = at("2030-03-25T00:00:00Z");
        let slots = a.free_slots(
            LONDON,
            Duration::minutes(60),
            &[],
            now,
            now + Duration::days(10),
            now,
        );
        let starts: Vec<String> = slots.iter().map(|(s, _)| s.to_rfc3339()).collect();
        assert_eq!(
            starts,
            [
                "2030-03-25T09:00:00+00:00",
                "2030-03-29T09:00:00+00:00",
                "2030-04-01T08:00:00+00:00",
            ]
        );
    }

    #[test]
    fn the_repeated_hour_of_the_autumn_change_is_offered_where_it_fits() {
        // London goes back from 02:00 BST to 01:00 GMT on Sunday 2030-10-27. With hours 00:00
        // to 01:30, an hour from 01:00 BST ends at 01:00 GMT: inside, though 01:00 + 1 h on the
        // wall is past 01:30
        let a = Availability {
            weekly: vec![WeeklyHours {
                weekday: Weekday::Sun,
                start: hm(0, 0),
                end: hm(1, 30),
            }],
            time_off: vec![],
            buffer_minutes: 0,
            notice_minutes: 0,
            horizon_days: 365,
        };
        let now = at("2030-10-20T00:00:00Z");
        let day = (at("2030-10-26T20:00:00Z"), at("2030-10-27T06:00:00Z"));
        let hour = Duration::minutes(60);
        let starts: Vec<String> = a
            .free_slots(LONDON, hour, &[], day.0, day.1, now)
            .iter()
            .map(|(s, _)| s.to_rfc3339())
            .collect();
        assert_eq!(
            starts,
            [
                "2030-10-26T23:00:00+00:00", // 00:00 BST
                "2030-10-26T23:15:00+00:00",
                "2030-10-26T23:30:00+00:00",
                "2030-10-27T00:00:00+00:00", // 01:00 BST, ends 01:00 GMT
                "2030-10-27T00:15:00+00:00",
            ]
        );
        for s in &starts {
            let t: DateTime<Utc> = s.parse().unwrap();
            assert_eq!(a.check(LONDON, t, hour, &[], now), Ok(()));
        }
    }

    fn availability() -> impl Strategy<Value = Availability> {
        let range = (0u32..7, 0u32..96, 1u32..=48).prop_map(|(d, start, len)| {
            let start_min = start * 15;
            let end_min = (start_min + len * 15).min(24 * 60 - 15);
            WeeklyHours {
                weekday: Weekday::try_from(d as u8).unwrap(),
                start: NaiveTime::from_hms_opt(start_min / 60, start_min % 60, 0).unwrap(),
                end: NaiveTime::from_hms_opt(end_min / 60, end_min % 60, 0).unwrap(),
            }
        });
        (
            proptest::collection::vec(range, 0..6),
            0u32..=4,
            0u32..=480,
            1u32..=40,
            proptest::option::of(0u32..10),
        )
            .prop_map(|(weekly, buffer, notice, horizon, off)| Availability {
                weekly: weekly.into_iter().filter(|w| w.start < w.end).collect(),
                time_off: off
                    .map(|d| {
                        let day = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap()
                            + Duration::days(i64::from(d));
                        vec![TimeOff { from: day, to: day }]
                    })
                    .unwrap_or_default(),
                buffer_minutes: buffer * 15,
                notice_minutes: notice,
                horizon_days: horizon,
            })
    }

    proptest! {
        /// Every offered slot passes `check`, and every grid start that passes `check` is
        /// offered: the picker and the booking refusal can never disagree. No slot overlaps a
        /// held session or its buffer.
        #[test]
        fn offered_is_exactly_bookable(
            a in availability(),
            zone in prop_oneof![Just(NAIROBI), Just(LONDON), Just(chrono_tz::America::New_York)],
            duration in (1i64..=8).prop_map(|q| Duration::minutes(q * 15)),
            held_starts in proptest::collection::vec(0i64..(14 * 96), 0..6),
            now_offset in 0i64..96,
            // two weeks around the spring and the autumn clock changes of London and New York
            base in prop_oneof![Just("2030-03-04T00:00:00Z"), Just("2030-10-24T00:00:00Z")],
        ) {
            let base = at(base);
            let a = Availability {
                time_off: a
                    .time_off
                    .iter()
                    .map(|t| {
                        let shift = base.date_naive() - NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
                        TimeOff { from: t.from + shift, to: t.to + shift }
                    })
                    .collect(),
                ..a
            };
            let now = base + Duration::minutes(now_offset * 15);
            let held: Vec<Held> = held_starts
                .iter()
                .map(|q| {
                    let s = base + Duration::minutes(q * 15);
                    (s, s + Duration::minutes(60))
                })
                .collect();
            let (from, to) = (base, base + Duration::days(14));
            let slots = a.free_slots(zone, duration, &held, from, to, now);
            let buffer = Duration::minutes(i64::from(a.buffer_minutes));
            for &(s, e) in &slots {
                prop_assert_eq!(e - s, duration);
                prop_assert!(a.check(zone, s, duration, &held, now).is_ok());
                prop_assert!(held.iter().all(|&(hs, he)| !(hs < e + buffer && s - buffer < he)));
            }
            let mut t = from;
            while t < to {
                if a.check(zone, t, duration, &held, now).is_ok() {
                    prop_assert!(slots.iter().any(|&(s, _)| s == t), "{} bookable but not offered", t);
                }
                t += Duration::minutes(SLOT_MINUTES);
            }
        }
    }
}
