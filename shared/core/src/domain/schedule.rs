//! The booking grid. Start times sit on 15-minute boundaries and durations are whole cells, so
//! a held session is a set of cells; "no two held sessions of one psychologist overlap" then
//! becomes "no cell is held twice", which every store can enforce with a uniqueness
//! constraint (a primary key in SQLite, a conditional put in DynamoDB). How soon and how far
//! ahead a start may be is each psychologist's own (`availability`).

use chrono::{DateTime, Utc};

pub const SLOT_MINUTES: i64 = 15;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("Start times must be on the quarter hour (:00, :15, :30 or :45).")]
    OffGrid,
}

pub fn check_grid(start: DateTime<Utc>) -> Result<(), ScheduleError> {
    if start.timestamp() % (SLOT_MINUTES * 60) != 0 || start.timestamp_subsec_nanos() != 0 {
        Err(ScheduleError::OffGrid)
    } else {
        Ok(())
    }
}

/// An instant as people and browsers send it: RFC 3339 with an explicit offset (a bare local
/// time would be ambiguous across zones), surrounding spaces ignored.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
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
    use chrono::Duration;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_grid() {
        assert_eq!(check_grid(at("2030-01-01T08:00:00Z")), Ok(()));
        assert_eq!(check_grid(at("2030-01-01T08:45:00Z")), Ok(()));
        assert_eq!(
            check_grid(at("2030-01-01T08:10:00Z")),
            Err(ScheduleError::OffGrid)
        );
        assert_eq!(
            check_grid(at("2030-01-01T08:00:30Z")),
            Err(ScheduleError::OffGrid)
        );
        assert_eq!(
            check_grid(at("2030-01-01T08:00:00.5Z")),
            Err(ScheduleError::OffGrid)
        );
    }

    #[test]
    fn instants_need_an_offset() {
        assert_eq!(
            parse_instant(" 2030-01-25T10:00:00+03:00 "),
            Some(at("2030-01-25T07:00:00Z"))
        );
        assert_eq!(parse_instant("2030-01-25T10:00:00"), None);
        assert_eq!(parse_instant("25/01/2030 10:00"), None);
    }

    proptest! {
        #[test]
        fn parse_instant_never_panics(s in "\\PC{0,40}") {
            let _ = parse_instant(&s);
        }

        #[test]
        fn any_instant_in_any_offset_round_trips(
            secs in 0i64..4_102_444_800, offset_min in -720i32..=840, millis in 0u32..1000,
        ) {
            let t = DateTime::from_timestamp(secs, millis * 1_000_000).unwrap();
            let zone = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let text = t.with_timezone(&zone).to_rfc3339();
            prop_assert_eq!(parse_instant(&text), Some(t));
        }

        #[test]
        fn accepted_starts_are_whole_quarter_hours(secs in 1_800_000_000i64..1_900_000_000) {
            let start = DateTime::from_timestamp(secs, 0).unwrap();
            prop_assert_eq!(check_grid(start).is_ok(), secs % (SLOT_MINUTES * 60) == 0);
        }

        #[test]
        fn cells_tile_a_session_exactly(start_cell in 0i64..1_000_000, n in 1i64..16) {
            let start = DateTime::from_timestamp(start_cell * SLOT_MINUTES * 60, 0).unwrap();
            let end = start + Duration::minutes(n * SLOT_MINUTES);
            let c = cells(start, end);
            prop_assert_eq!(c.len() as i64, n);
            prop_assert_eq!(c[0], start);
            prop_assert!(c.windows(2).all(|w| w[1] - w[0] == Duration::minutes(SLOT_MINUTES)));
        }
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
