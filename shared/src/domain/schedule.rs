//! The booking grid. Start times sit on 15-minute boundaries and durations are whole cells, so
//! a held session is a set of cells; "no two held sessions of one psychologist overlap" then
//! becomes "no cell is held twice", which every store can enforce with a uniqueness
//! constraint (a primary key in SQLite, a conditional put in DynamoDB).

use chrono::{DateTime, Duration, Utc};

pub const SLOT_MINUTES: i64 = 15;
/// How far ahead a session may be booked.
pub const MAX_DAYS_AHEAD: i64 = 180;
/// The least notice a booking needs, so there is time to approve and to pay.
pub const MIN_HOURS_AHEAD: i64 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("Start times must be on the quarter hour (:00, :15, :30 or :45).")]
    OffGrid,
    #[error("Choose a start at least {MIN_HOURS_AHEAD} hours from now, so there is time to approve and to pay.")]
    TooSoon,
    #[error("Sessions can be booked at most {MAX_DAYS_AHEAD} days ahead.")]
    TooFar,
}

pub fn check_start(start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ScheduleError> {
    if start.timestamp() % (SLOT_MINUTES * 60) != 0 || start.timestamp_subsec_nanos() != 0 {
        Err(ScheduleError::OffGrid)
    } else if start < now + Duration::hours(MIN_HOURS_AHEAD) {
        Err(ScheduleError::TooSoon)
    } else if start > now + Duration::days(MAX_DAYS_AHEAD) {
        Err(ScheduleError::TooFar)
    } else {
        Ok(())
    }
}

/// The start of every grid cell that [start, end) touches.
pub fn cells(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let step = SLOT_MINUTES * 60;
    let first = start.timestamp().div_euclid(step) * step;
    (first..end.timestamp())
        .step_by(step as usize)
        .filter_map(|t| DateTime::from_timestamp(t, 0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn grid_and_window() {
        let now = at("2030-01-01T06:00:00Z");
        assert_eq!(check_start(at("2030-01-01T08:00:00Z"), now), Ok(()));
        assert_eq!(
            check_start(at("2030-01-01T08:10:00Z"), now),
            Err(ScheduleError::OffGrid)
        );
        assert_eq!(
            check_start(at("2030-01-01T08:00:30Z"), now),
            Err(ScheduleError::OffGrid)
        );
        assert_eq!(
            check_start(at("2030-01-01T07:45:00Z"), now),
            Err(ScheduleError::TooSoon)
        );
        assert_eq!(
            check_start(at("2029-12-31T08:00:00Z"), now),
            Err(ScheduleError::TooSoon)
        );
        assert_eq!(check_start(now + Duration::days(180), now), Ok(()));
        assert_eq!(
            check_start(now + Duration::days(180) + Duration::minutes(15), now),
            Err(ScheduleError::TooFar)
        );
    }

    #[test]
    fn cells_cover_the_session() {
        let c = cells(at("2030-01-01T10:00:00Z"), at("2030-01-01T11:00:00Z"));
        assert_eq!(c.len(), 4);
        assert_eq!(c[0], at("2030-01-01T10:00:00Z"));
        assert_eq!(c[3], at("2030-01-01T10:45:00Z"));
        // back-to-back sessions share no cell; overlapping ones do
        let next = cells(at("2030-01-01T11:00:00Z"), at("2030-01-01T11:30:00Z"));
        assert!(next.iter().all(|x| !c.contains(x)));
        let overlap = cells(at("2030-01-01T10:45:00Z"), at("2030-01-01T11:15:00Z"));
        assert!(overlap.iter().any(|x| c.contains(x)));
    }
}
