//! Free times: the slots a client may choose from, and the check that refuses any other start
//! when booking or proposing a new time. Both read the psychologist's hours from their profile
//! and the held time around the request in one range read, and both judge by the same rules
//! (`Availability`), so the picker and the refusal never disagree.

use super::{BookingError, Bookings};
use crate::domain::{
    check_grid, Availability, Held, Profile, Role, SessionId, UserId, SLOT_MINUTES,
};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// The longest span one request for free slots may cover: a month is what a picker shows, and
/// it bounds the work of one request.
pub const MAX_SLOT_RANGE_DAYS: i64 = 31;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeSlots {
    /// The psychologist's zone, which their hours are in.
    pub time_zone: Tz,
    pub slots: Vec<Held>,
}

fn hours(p: &Profile) -> Availability {
    p.psychologist
        .as_ref()
        .map(|d| d.availability.clone())
        .unwrap_or_default()
}

impl Bookings {
    /// A psychologist's free starts in [from, to) for one of their session types.
    pub async fn free_slots(
        &self,
        psychologist_id: &str,
        session_type_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<FreeSlots, BookingError> {
        if to <= from {
            return Err(BookingError::invalid("to", "must be after from"));
        }
        if to - from > Duration::days(MAX_SLOT_RANGE_DAYS) {
            return Err(BookingError::invalid(
                "to",
                format!("ask for at most {MAX_SLOT_RANGE_DAYS} days at a time"),
            ));
        }
        let profile = self.psychologist(psychologist_id).await?;
        let duration = profile
            .session_type(session_type_id)
            .map(|t| Duration::minutes(i64::from(t.duration_minutes)))
            .ok_or_else(|| {
                BookingError::invalid(
                    "session_type_id",
                    "this psychologist offers no such session type",
                )
            })?;
        let a = hours(&profile);
        let buffer = Duration::minutes(i64::from(a.buffer_minutes));
        let held = self
            .held(
                &profile.user_id,
                from - buffer,
                to + duration + buffer,
                None,
            )
            .await?;
        let tz = profile.zone();
        Ok(FreeSlots {
            time_zone: tz,
            slots: a.free_slots(tz, duration, &held, from, to, self.clock.now()),
        })
    }

    /// A psychologist in the directory (not deactivated), or `NoSuchPsychologist`.
    pub(super) async fn psychologist(&self, id: &str) -> Result<Profile, BookingError> {
        let id = UserId::parse(id).ok_or(BookingError::NoSuchPsychologist)?;
        self.profiles
            .get_profile(&id)
            .await?
            .filter(|p| p.role == Role::Psychologist && p.active())
            .ok_or(BookingError::NoSuchPsychologist)
    }

    /// Whether a session of `duration` may start at `starts_at` with `psychologist`: on the
    /// grid, inside their hours, and clear (with the buffer) of time held by sessions other
    /// than `except` (the session being moved).
    pub(super) async fn check_available(
        &self,
        psychologist: &Profile,
        starts_at: DateTime<Utc>,
        duration: Duration,
        except: Option<SessionId>,
    ) -> Result<(), BookingError> {
        check_grid(starts_at)?;
        let a = hours(psychologist);
        let buffer = Duration::minutes(i64::from(a.buffer_minutes));
        let held = self
            .held(
                &psychologist.user_id,
                starts_at - buffer,
                starts_at + duration + buffer,
                except,
            )
            .await?;
        a.check(
            psychologist.zone(),
            starts_at,
            duration,
            &held,
            self.clock.now(),
        )?;
        Ok(())
    }

    /// The time held in [from, to) by sessions other than `except`, as grid cells.
    async fn held(
        &self,
        psychologist: &UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        except: Option<SessionId>,
    ) -> Result<Vec<Held>, BookingError> {
        let cells = crate::domain::cells(from, to);
        let (Some(first), Some(last)) = (cells.first(), cells.last()) else {
            return Ok(Vec::new());
        };
        let cell = Duration::minutes(SLOT_MINUTES);
        Ok(self
            .sessions
            .holds(psychologist, *first, *last)
            .await?
            .into_iter()
            .filter(|(_, owner)| Some(*owner) != except)
            .map(|(start, _)| (start, start + cell))
            .collect())
    }
}
