//! What is left of a client after they erase their account (Kenya's Data Protection Act 2019,
//! the right to erasure). Their past bookings stay in the psychologist's records, because they
//! are the practice's record of sessions and payments, but with nothing that says who the
//! client was: no name, phone, email, note or words of theirs. The profile stays as a closed
//! shell, so a token issued before the erasure opens nothing in its last hour.

use super::{Event, Profile, Session};
use chrono::{DateTime, Utc};

/// How an erased client is named on the bookings kept.
pub const ERASED_NAME: &str = "Former client";

/// What the person types to confirm: erasure cannot be undone.
pub const ERASURE_CONFIRMATION: &str = "DELETE MY DATA";

/// The reason on each open booking an erasure cancels, which the psychologist reads.
pub const ERASURE_REASON: &str = "The client closed their Kikao account.";

impl Profile {
    /// The closed shell of an erased profile: the id (which names nobody), the role and the
    /// times; nothing that says who the person was or how to reach them.
    pub fn erased(&self, now: DateTime<Utc>) -> Profile {
        let mut p = Profile::from_claims(
            self.user_id.clone(),
            self.role,
            ERASED_NAME,
            None,
            None,
            self.created_at,
        );
        p.updated_at = now;
        p.deactivated_at = Some(self.deactivated_at.unwrap_or(now));
        p.erased_at = Some(self.erased_at.unwrap_or(now));
        p
    }

    pub fn is_erased(&self) -> bool {
        self.erased_at.is_some()
    }
}

impl Session {
    /// The booking as the psychologist keeps it once the client is erased: the time, type,
    /// price, status and payment record stay; the client's name, note and own words go, and
    /// the screenshot (deleted with them) is no longer named.
    pub fn without_client(&self) -> Session {
        let mut s = self.clone();
        s.client.name = ERASED_NAME.to_owned();
        s.note = None;
        if s.cancelled_by.as_deref() == Some("client")
            && s.cancel_reason.as_deref() != Some(ERASURE_REASON)
        {
            s.cancel_reason = None;
        }
        if let Some(p) = s.payment.as_mut() {
            p.proof_key = None;
            p.proof_version = None;
            p.proof_file = None;
            // the first name M-Pesa reported with the payment may be the client's own
            p.payer = None;
        }
        s
    }

    /// Whether `without_client` would change anything.
    pub fn names_client(&self) -> bool {
        *self != self.without_client()
    }
}

impl Event {
    /// The event without the client: their words (the booking note, their reasons) and their
    /// name in the facts go; who did what, when, stays.
    pub fn without_client(&self) -> Event {
        let mut e = self.clone();
        if e.actor.role.as_str() == "client" && e.note.as_deref() != Some(ERASURE_REASON) {
            e.note = None;
        }
        if let Some(f) = e.facts.as_mut() {
            f.client.name = ERASED_NAME.to_owned();
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn booked() -> (Session, Event) {
        book(
            BookingRequest {
                client: Party {
                    id: UserId::parse("client-x").unwrap(),
                    name: "Achieng Otieno".into(),
                },
                psychologist: Party {
                    id: UserId::parse("psy-x").unwrap(),
                    name: "Dr. Psy".into(),
                },
                session_type: SessionType {
                    id: SessionTypeId::parse("t1").unwrap(),
                    name: "Individual".into(),
                    duration_minutes: 60,
                    price_kes: Kes::new(2000).unwrap(),
                },
                starts_at: at("2030-01-09T06:00:00Z"),
                note: Some(Note::parse("I have been anxious since March.").unwrap()),
            },
            at("2030-01-07T06:00:00Z"),
        )
    }

    #[test]
    fn the_kept_booking_says_nothing_of_the_client() {
        let (s, e) = booked();
        assert!(s.names_client());
        let kept = s.without_client();
        assert!(!kept.names_client());
        let text = format!("{:?}{:?}", kept, e.without_client());
        for gone in ["Achieng", "Otieno", "anxious"] {
            assert!(!text.contains(gone), "{gone}");
        }
        // what the practice keeps as its record
        assert_eq!(
            (kept.id, kept.starts_at, kept.price_kes, kept.status),
            (s.id, s.starts_at, s.price_kes, s.status)
        );
        assert_eq!(kept.client.id, s.client.id);
        assert_eq!(e.without_client().action, e.action);
    }

    #[test]
    fn the_psychologists_words_stay_and_the_erasure_says_why() {
        let (s, _) = booked();
        let psy = UserId::parse("psy-x").unwrap();
        let reason = |r: &str| Some(Reason::parse(r).unwrap());
        let (declined, e) = decide(
            &s,
            Some((&psy, Role::Psychologist)),
            Command::Decline {
                reason: reason("Fully booked that week."),
            },
            at("2030-01-07T07:00:00Z"),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(
            declined.without_client().decline_reason.as_deref(),
            Some("Fully booked that week.")
        );
        assert_eq!(
            e.without_client().note.as_deref(),
            Some("Fully booked that week.")
        );

        let client = s.client.id.clone();
        let cancel = |r: &str| {
            decide(
                &s,
                Some((&client, Role::Client)),
                Command::Cancel { reason: reason(r) },
                at("2030-01-07T07:00:00Z"),
                &Policy::default(),
            )
            .unwrap()
        };
        let (mine, e) = cancel("My husband found out.");
        assert_eq!(mine.without_client().cancel_reason, None);
        assert_eq!(e.without_client().note, None);
        let (erased, e) = cancel(ERASURE_REASON);
        assert_eq!(
            erased.without_client().cancel_reason.as_deref(),
            Some(ERASURE_REASON)
        );
        assert_eq!(e.without_client().note.as_deref(), Some(ERASURE_REASON));
    }

    #[test]
    fn an_erased_profile_is_closed_and_anonymous() {
        let p = Profile::from_claims(
            UserId::parse("client-x").unwrap(),
            Role::Client,
            "Achieng Otieno",
            Some("achieng@example.test"),
            Some("+254700000999"),
            at("2030-01-01T00:00:00Z"),
        );
        let now = at("2030-02-01T00:00:00Z");
        let e = p.erased(now);
        assert!(!e.active() && e.is_erased());
        assert_eq!((e.email.as_deref(), e.phone.as_ref()), (None, None));
        assert_eq!(e.name, ERASED_NAME);
        assert_eq!(e.created_at, p.created_at);
        // erasing again keeps the first time
        assert_eq!(e.erased(at("2030-03-01T00:00:00Z")).erased_at, Some(now));
    }
}
