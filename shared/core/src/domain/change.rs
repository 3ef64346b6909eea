//! A change as a store must write it: the new session, its event, the calendar cells it takes
//! or frees, the transaction code it claims, and how it moves each party's tallies. Computed
//! once here from the before and after states, so every store writes the same thing and only
//! has to make it atomic.

use super::lifecycle::{awaits, holds_slot, Action};
use super::schedule::cells;
use super::session::{Event, Role, Session, Status};
use super::{TransactionCode, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotCell {
    pub psychologist: UserId,
    pub start: DateTime<Utc>,
}

/// How one change moves one party's counts. Every change bumps both parties' change counters,
/// which is what lets an unchanged poll be answered from one small read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub user: UserId,
    pub status_deltas: Vec<(Status, i64)>,
    pub awaiting_delta: i64,
}

/// What a user's dashboard header needs without reading the sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// Goes up by one with every change to any of the user's sessions.
    pub counter: u64,
    pub counts: BTreeMap<Status, u64>,
    /// Sessions waiting on this user to act.
    pub awaiting: u64,
}

impl UserSummary {
    pub fn apply(&mut self, t: &Tally) {
        self.counter += 1;
        for (status, d) in &t.status_deltas {
            let n = self.counts.entry(*status).or_default();
            *n = n.saturating_add_signed(*d);
        }
        self.awaiting = self.awaiting.saturating_add_signed(t.awaiting_delta);
        self.counts.retain(|_, n| *n > 0);
    }
}

/// One more booking request against a client's quota: the store counts it in the same write
/// as the booking and refuses the write (`StoreError::RateLimited`) once `max` are counted in
/// the window. Fixed windows: at most twice `max` can land around a window's edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingQuota {
    pub user: UserId,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub session: Session,
    pub event: Event,
    pub hold: Vec<SlotCell>,
    pub release: Vec<SlotCell>,
    pub claim_code: Option<TransactionCode>,
    pub tallies: Vec<Tally>,
    pub quota: Option<BookingQuota>,
}

fn held_cells(s: &Session) -> Vec<SlotCell> {
    if !holds_slot(s.status) {
        return Vec::new();
    }
    cells(s.starts_at, s.ends_at)
        .into_iter()
        .map(|start| SlotCell {
            psychologist: s.psychologist.id.clone(),
            start,
        })
        .collect()
}

impl Change {
    pub fn new(before: Option<&Session>, session: Session, event: Event) -> Self {
        let old = before.map(held_cells).unwrap_or_default();
        let new = held_cells(&session);
        // only the difference: a cell both held and freed by one change is neither
        let hold = new.iter().filter(|c| !old.contains(c)).cloned().collect();
        let release = old.iter().filter(|c| !new.contains(c)).cloned().collect();
        let claims = matches!(
            event.action,
            Action::SubmitPayment | Action::PaidByMpesa | Action::AttachPayment
        );
        let claim_code = claims
            .then(|| session.payment.as_ref().map(|p| p.transaction_code.clone()))
            .flatten();
        let tallies = [Role::Client, Role::Psychologist]
            .into_iter()
            .map(|role| {
                let mut status_deltas = vec![(session.status, 1)];
                let mut awaiting_delta = i64::from(awaits(&session, role));
                if let Some(b) = before {
                    awaiting_delta -= i64::from(awaits(b, role));
                    if b.status == session.status {
                        status_deltas.clear();
                    } else {
                        status_deltas.insert(0, (b.status, -1));
                    }
                }
                Tally {
                    user: session.party(role).id.clone(),
                    status_deltas,
                    awaiting_delta,
                }
            })
            .collect();
        Self {
            session,
            event,
            hold,
            release,
            claim_code,
            tallies,
            quota: None,
        }
    }

    /// The same change, counted against a booking quota.
    pub fn counted_against(self, quota: BookingQuota) -> Self {
        Self {
            quota: Some(quota),
            ..self
        }
    }

    /// The version the stored session must still have for this change to apply; `None` for a
    /// new booking.
    pub fn expected_version(&self) -> Option<u64> {
        (self.session.version > 1).then(|| self.session.version - 1)
    }
}
