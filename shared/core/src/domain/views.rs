//! Where a booking sits on each party's dashboard: the list API hands out one view at a time, in
//! the order that view is read (the soonest first, the past newest first), so that a busy
//! practice's page holds every session it shows. The view is the server's word; the page places
//! each card by it and never works it out from the status.

use super::{awaits, Role, Session, Status};
use serde::{Deserialize, Serialize};

/// One section of a dashboard, as the list API serves it (`GET /api/sessions?view=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// The caller must answer: a request or a payment to verify (psychologist), a payment to
    /// make (client), a new time the other party proposed (either).
    Action,
    /// Confirmed and in progress, the caller's schedule.
    Upcoming,
    /// Open, waiting on the other party: requests not yet answered and payments under review
    /// (client), approved bookings not yet paid (psychologist).
    Waiting,
    /// Completed, declined and cancelled, whatever their date.
    Past,
}

impl View {
    pub const ALL: [View; 4] = [View::Action, View::Upcoming, View::Waiting, View::Past];

    pub fn as_str(self) -> &'static str {
        match self {
            View::Action => "action",
            View::Upcoming => "upcoming",
            View::Waiting => "waiting",
            View::Past => "past",
        }
    }

    pub fn parse(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The past is read backwards, from the latest session; every other view from the soonest.
    pub fn newest_first(self) -> bool {
        self == View::Past
    }
}

/// The view `s` belongs to on `role`'s dashboard.
pub fn view_of(s: &Session, role: Role) -> View {
    if awaits(s, role) {
        return View::Action;
    }
    match s.status {
        Status::Confirmed | Status::InProgress => View::Upcoming,
        Status::PendingApproval | Status::Approved | Status::PaymentSubmitted => View::Waiting,
        Status::Completed | Status::Declined | Status::Cancelled => View::Past,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status::*;

    fn view(status: Status, role: Role) -> View {
        let mut s = crate::domain::lifecycle::tests::booked();
        s.status = status;
        view_of(&s, role)
    }

    #[test]
    fn each_status_has_one_view_for_each_party() {
        use Role::*;
        use View::*;
        let table = [
            (PendingApproval, Action, Waiting),
            (Approved, Waiting, Action),
            (PaymentSubmitted, Action, Waiting),
            (Confirmed, Upcoming, Upcoming),
            (InProgress, Upcoming, Upcoming),
            (Completed, Past, Past),
            (Declined, Past, Past),
            (Cancelled, Past, Past),
        ];
        for (status, psy, client) in table {
            assert_eq!(view(status, Psychologist), psy, "{status:?}, psychologist");
            assert_eq!(view(status, Client), client, "{status:?}, client");
        }
    }

    #[test]
    fn a_new_time_proposed_asks_the_other_party_only() {
        let mut s = crate::domain::lifecycle::tests::booked();
        s.status = Confirmed;
        s.reschedule = Some(crate::domain::RescheduleProposal {
            proposed_by: Role::Client,
            starts_at: s.starts_at + chrono::Duration::days(1),
            ends_at: s.ends_at + chrono::Duration::days(1),
            proposed_at: s.updated_at,
        });
        assert_eq!(view_of(&s, Role::Psychologist), View::Action);
        assert_eq!(view_of(&s, Role::Client), View::Upcoming);
    }

    #[test]
    fn views_have_wire_names() {
        for v in View::ALL {
            assert_eq!(View::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert_eq!(View::parse("everything"), None);
    }
}
