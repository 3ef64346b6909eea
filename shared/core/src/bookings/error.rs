//! The one error type of the application boundary: every way a use case can refuse or fail,
//! with its cause kept. The HTTP layer maps each to a status and a sentence; the jobs log them.

use crate::domain::{
    MpesaMessageError, ProfileError, Refusal, ScheduleError, StatementError, Unavailable,
};
use crate::ports::{AccountsError, ProofError, SecretError, StoreError};
use chrono::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// Not one of the caller's bookings (or no such booking: the two look the same).
    #[error("There is no such booking in your account.")]
    NotFound,
    /// The booking moved on since the version the caller acted on.
    #[error("This booking has changed since you loaded it; refresh and try again.")]
    Stale,
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The caller's role may never do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A value the caller gave is wrong; `message` says how, for a person.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    TooLarge(&'static str),
    #[error("No payment screenshot was submitted for this booking.")]
    NoProof,
    #[error(
        "This Idempotency-Key was used for a different booking; use a new key for a new request."
    )]
    IdempotencyKeyReused,
    /// The client's booking quota is full for `retry_after`.
    #[error("too many booking requests")]
    RateLimited { retry_after: Duration },
    #[error("There is no such psychologist in the directory.")]
    NoSuchPsychologist,
    /// The caller's account was deactivated by the practice.
    #[error("This account has been deactivated by the practice; ask the practice administrator if that is a mistake.")]
    Deactivated,
    /// The caller erased their account: nothing of theirs is left to open.
    #[error("This account was closed and its data erased at its owner's request.")]
    Erased,
    /// The change needs a sign-in within `RECENT_SIGN_IN`.
    #[error("To change where clients pay (your M-Pesa number, Till or Paybill), sign out and sign in again, then save within 5 minutes.")]
    RecentSignInRequired,
    /// A client books before accepting the current privacy notice.
    #[error("Please read and accept Kikao's privacy notice before you book a session.")]
    ConsentRequired,
    /// The caller accepted a version of the notice that is not the one in force.
    #[error(
        "The privacy notice has changed since you opened it; read the new one and accept it again."
    )]
    StaleNotice,
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The start breaks one of the psychologist's availability rules (which one is kept).
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    MpesaMessage(#[from] MpesaMessageError),
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Safaricom's API refused or did not answer (the cause is logged where it happened).
    #[error("M-Pesa did not take the payment request just now; try again in a minute, or pay by hand and send the code.")]
    MpesaUnavailable,
}

impl BookingError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
