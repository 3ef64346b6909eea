//! Booking: a client asks a psychologist for a time. The price and the session type come from
//! the psychologist's profile, never from the request; a repeated request with the same
//! `Idempotency-Key` answers with the booking the first one made; each request counts against
//! the client's hourly quota in the same write as the booking.

use super::{BookingError, Bookings, Caller};
use crate::domain::{book, BookingRequest, Change, Note, Party, Role, Session, PRIVACY_NOTICE};
use crate::ports::{IdempotencyRecord, StoreError};
use chrono::{DateTime, Utc};

/// A booking request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookInput {
    pub psychologist_id: String,
    pub session_type_id: String,
    pub starts_at: DateTime<Utc>,
    pub note: Option<Note>,
    pub idempotency: Option<IdempotencyKey>,
}

/// The client's `Idempotency-Key` and a digest of the request it came with: the same key with
/// another request is a client bug, not a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub session: Session,
    /// True when this answers a retry with the booking the first request made.
    pub replayed: bool,
}

impl Bookings {
    pub async fn book(&self, caller: &Caller, input: BookInput) -> Result<Booked, BookingError> {
        if caller.role != Role::Client {
            return Err(BookingError::Forbidden("Only clients can book sessions."));
        }
        let client = self.ensure_profile(caller).await?;
        if !PRIVACY_NOTICE.accepted_in(&client.consents) {
            return Err(BookingError::ConsentRequired);
        }
        if let Some(k) = &input.idempotency {
            if let Some(rec) = self.sessions.idempotent_booking(&caller.id, &k.key).await? {
                return self.replay(caller, &rec, k).await;
            }
        }
        let now = self.clock.now();
        let profile = match self.psychologist(&input.psychologist_id).await {
            Ok(p) if p.user_id != caller.id => p,
            Ok(_) | Err(BookingError::NoSuchPsychologist) => {
                return Err(BookingError::invalid(
                    "psychologist_id",
                    "there is no such psychologist",
                ))
            }
            Err(e) => return Err(e),
        };
        let psychologist = profile.user_id.clone();
        let session_type = profile
            .session_type(&input.session_type_id)
            .cloned()
            .ok_or_else(|| {
                BookingError::invalid(
                    "session_type_id",
                    "this psychologist offers no such session type",
                )
            })?;
        let duration = chrono::Duration::minutes(i64::from(session_type.duration_minutes));
        self.check_available(&profile, input.starts_at, duration, None)
            .await?;
        let (session, event) = book(
            BookingRequest {
                client: Party {
                    id: caller.id.clone(),
                    name: client.name,
                },
                psychologist: Party {
                    id: psychologist.clone(),
                    name: profile.name.clone(),
                },
                session_type,
                starts_at: input.starts_at,
                note: input.note,
            },
            now,
        );
        let record = input.idempotency.as_ref().map(|k| IdempotencyRecord {
            user: caller.id.clone(),
            key: k.key.clone(),
            fingerprint: k.fingerprint.clone(),
            session_id: session.id,
            created_at: now,
        });
        let quota = self.policy().booking_quota(&caller.id, now);
        let change = Change::new(None, session, event).counted_against(quota);
        match self.sessions.write(&change, record.as_ref()).await {
            Ok(()) => {}
            // the same key raced us: answer as the first request did
            Err(StoreError::DuplicateIdempotencyKey) => {
                let Some(k) = input.idempotency.as_ref() else {
                    return Err(StoreError::DuplicateIdempotencyKey.into());
                };
                let first = self
                    .sessions
                    .idempotent_booking(&caller.id, &k.key)
                    .await?
                    .ok_or(StoreError::DuplicateIdempotencyKey)?;
                return self.replay(caller, &first, k).await;
            }
            Err(StoreError::RateLimited { retry_at }) => {
                return Err(BookingError::RateLimited {
                    retry_after: retry_at - now,
                })
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(session = %change.session.id, "session booked");
        Ok(Booked {
            session: change.session,
            replayed: false,
        })
    }

    async fn replay(
        &self,
        caller: &Caller,
        rec: &IdempotencyRecord,
        k: &IdempotencyKey,
    ) -> Result<Booked, BookingError> {
        if rec.fingerprint != k.fingerprint {
            return Err(BookingError::IdempotencyKeyReused);
        }
        Ok(Booked {
            session: self.session_for(caller, rec.session_id).await?,
            replayed: true,
        })
    }
}
