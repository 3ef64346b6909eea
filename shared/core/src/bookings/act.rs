//! Acting on a booking: what a party asks for (`Intent`), checked in one order for every
//! action — the caller's role may take it at all (403), the booking is theirs (404), it is the
//! version they saw (409), the rules allow it now (409) — then the values only the server can
//! supply (the psychologist's M-Pesa number, a meeting link, a checked screenshot) turn it into a
//! `Command`, and `Bookings::apply` writes it. A proposed new time goes the same way through
//! `propose_reschedule`, which also checks it is free.

use super::{BookingError, Bookings, Caller};
use crate::domain::{Action, Command, PaymentClaim, ProofFile, Reason, Session, SessionId};
use chrono::{DateTime, Utc};

/// What a party asks to do to a booking, with its input already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Approve,
    Decline {
        reason: Option<Reason>,
    },
    Cancel {
        reason: Option<Reason>,
    },
    /// The claim as parsed from the code or pasted message; its `proof_key` is checked here.
    SubmitPayment(PaymentClaim),
    VerifyPayment,
    RejectPayment {
        reason: Option<Reason>,
    },
    AcceptReschedule,
    DeclineReschedule,
    Start,
    Complete,
}

impl Intent {
    pub fn action(&self) -> Action {
        match self {
            Intent::Approve => Action::Approve,
            Intent::Decline { .. } => Action::Decline,
            Intent::Cancel { .. } => Action::Cancel,
            Intent::SubmitPayment(_) => Action::SubmitPayment,
            Intent::VerifyPayment => Action::VerifyPayment,
            Intent::RejectPayment { .. } => Action::RejectPayment,
            Intent::AcceptReschedule => Action::AcceptReschedule,
            Intent::DeclineReschedule => Action::DeclineReschedule,
            Intent::Start => Action::Start,
            Intent::Complete => Action::Complete,
        }
    }
}

impl Bookings {
    /// `caller` acts on booking `id`, as they last saw it at version `expected` (if given).
    pub async fn act(
        &self,
        caller: &Caller,
        id: SessionId,
        expected: Option<u64>,
        intent: Intent,
    ) -> Result<Session, BookingError> {
        let before = self
            .session_for_action(caller, id, expected, intent.action())
            .await?;
        let cmd = self.command(caller, &before, intent).await?;
        self.apply(&before, Some((&caller.id, caller.role)), cmd)
            .await
    }

    /// `caller` proposes moving booking `id` to `starts_at`: the same checks as `act`, then the
    /// new time must be free by the psychologist's hours, as a booking would be (the session's
    /// own time does not count against it). Apart from `act` so that only the function that
    /// proposes links the time-zone database the check needs, which keeps every other
    /// transition function under 3 MB.
    pub async fn propose_reschedule(
        &self,
        caller: &Caller,
        id: SessionId,
        expected: Option<u64>,
        starts_at: DateTime<Utc>,
    ) -> Result<Session, BookingError> {
        let before = self
            .session_for_action(caller, id, expected, Action::Reschedule)
            .await?;
        if starts_at == before.starts_at {
            return Err(BookingError::invalid(
                "starts_at",
                "is the current time of the session; choose a different one",
            ));
        }
        let psychologist = self.psychologist(before.psychologist.id.as_str()).await?;
        let duration = before.ends_at - before.starts_at;
        self.check_available(&psychologist, starts_at, duration, Some(before.id))
            .await?;
        let cmd = Command::Reschedule { starts_at };
        self.apply(&before, Some((&caller.id, caller.role)), cmd)
            .await
    }

    async fn command(
        &self,
        caller: &Caller,
        before: &Session,
        intent: Intent,
    ) -> Result<Command, BookingError> {
        Ok(match intent {
            Intent::Approve => {
                let details = self
                    .profiles
                    .get_profile(&caller.id)
                    .await?
                    .and_then(|p| p.psychologist)
                    .unwrap_or_default();
                if details.mpesa_number.is_none() && details.business.is_none() {
                    return Err(BookingError::invalid(
                        "mpesa_number",
                        "add your M-Pesa number, Till or Paybill to your profile before approving, so the client knows where to pay",
                    ));
                }
                Command::Approve {
                    mpesa_number: details.mpesa_number,
                    business: details.business,
                }
            }
            Intent::Decline { reason } => Command::Decline { reason },
            Intent::Cancel { reason } => Command::Cancel { reason },
            Intent::SubmitPayment(claim) => {
                let (proof_key, proof_version, proof_file) = match claim.proof_key {
                    None => (None, None, None),
                    Some(key) => {
                        let stored = self.checked_proof(before.id, &key).await?;
                        let file = ProofFile {
                            content_type: stored.content_type,
                            size_bytes: stored.size_bytes,
                        };
                        (Some(key), stored.version, Some(file))
                    }
                };
                Command::SubmitPayment(PaymentClaim {
                    proof_key,
                    proof_version,
                    proof_file,
                    ..claim
                })
            }
            Intent::VerifyPayment => Command::VerifyPayment {
                meeting_link: self.meeting_link(),
            },
            Intent::RejectPayment { reason } => Command::RejectPayment { reason },
            Intent::AcceptReschedule => Command::AcceptReschedule,
            Intent::DeclineReschedule => Command::DeclineReschedule,
            Intent::Start => Command::Start,
            Intent::Complete => Command::Complete,
        })
    }

    /// A fresh meeting link: two v4 UUIDs give 244 random bits, so nobody guesses their way
    /// into a therapy session.
    pub(super) fn meeting_link(&self) -> String {
        format!(
            "{}{}{}",
            self.config.meeting_link_base,
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    }
}
