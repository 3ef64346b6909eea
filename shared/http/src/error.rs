//! The one error type of the HTTP boundary. Every failure a handler can meet becomes a status
//! and `{"error": {"code", "message", "field"?}}` here: `message` is a sentence for a person,
//! `field` names the input for a program; storage details go to the log, never to the caller.

use kikao_core::bookings::BookingError;
use kikao_core::domain::{
    MpesaMessageError, ProfileError, Refusal, StatementError, TextError, Unavailable,
};
use kikao_core::ports::{AccountsError, StoreError};
use lambda_http::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The input at fault (422), for programs; the sentence names it in words.
    pub field: Option<String>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

/// How a sentence names an input.
fn label(field: &str) -> String {
    let known = match field {
        "phone" => "The phone number",
        "mpesa_number" => "The M-Pesa number",
        "transaction_code" => "The M-Pesa transaction code",
        "mpesa_message" => "The pasted M-Pesa message",
        "starts_at" => "The start time",
        "session_type_id" => "The session type",
        "session_types" => "Session types",
        "psychologist_id" => "The psychologist",
        "time_zone" => "The time zone",
        "name" => "The name",
        "title" => "The title",
        "email" => "The email address",
        "reason" => "The reason",
        "note" => "The note",
        "proof_key" => "The screenshot",
        "content_type" => "The screenshot's type",
        "size_bytes" => "The screenshot's size",
        "availability" => "Working hours",
        "limit" => "The page size",
        "file_base64" => "The statement file",
        "view" => "The view",
        "since" => "The time to catch up from",
        "status" => "The status",
        "from" => "The start of the range",
        "to" => "The end of the range",
        "payment_method" => "Where clients pay",
        "business_number" => "The Till or Paybill number",
        "receipt" => "That M-Pesa payment",
        "session_id" => "The booking",
        other => return format!("The {}", other.replace('_', " ")),
    };
    known.to_owned()
}

/// "The phone number must be …." from ("phone", "must be …"); a message that is already a
/// sentence of its own ("the screenshot is empty", "give …") is only capitalised.
fn sentence(field: &str, message: &str) -> String {
    let m = message.trim().trim_end_matches('.');
    let predicate = ["must ", "is ", "are ", "has ", "was "]
        .iter()
        .any(|p| m.starts_with(p));
    let text = if predicate {
        format!("{} {m}", label(field))
    } else {
        let mut c = m.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    };
    format!("{text}.")
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sign in to continue.",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn session_not_found() -> Self {
        Self::not_found("There is no such booking in your account.")
    }
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                sentence(field, &message.to_string()),
            )
        }
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
    /// 429 with `Retry-After`.
    pub fn rate_limited(wait: chrono::Duration) -> Self {
        let secs = wait.num_seconds().max(1) as u64;
        Self {
            retry_after: Some(secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "You have sent many booking requests in a short time; try again in {} minute{}.",
                    secs.div_ceil(60),
                    if secs.div_ceil(60) == 1 { "" } else { "s" }
                ),
            )
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; nothing was changed. Please try again.",
        )
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::WrongRole(_) => Self::forbidden(r.to_string()),
            Refusal::ReasonRequired => Self::invalid(
                "reason",
                "a reason is required; the other party will see it",
            ),
            _ => Self::conflict("invalid_transition", r.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict => Self::conflict("version_conflict", e.to_string()),
            StoreError::SlotTaken => Self::conflict("slot_taken", e.to_string()),
            StoreError::DuplicateCode => {
                Self::conflict("duplicate_transaction_code", e.to_string())
            }
            StoreError::DuplicateIdempotencyKey => {
                Self::conflict("idempotency_conflict", e.to_string())
            }
            StoreError::BadCursor => Self::malformed(e.to_string()),
            StoreError::Deactivated => {
                Self::new(StatusCode::FORBIDDEN, "account_deactivated", e.to_string())
            }
            // only a booking counts against a quota, and `Bookings::book` says when it frees up
            StoreError::RateLimited { .. } => Self::rate_limited(chrono::Duration::minutes(1)),
            StoreError::Backend(_) => Self::internal(&e),
        }
    }
}

impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        match e {
            BookingError::NotFound => Self::session_not_found(),
            BookingError::Stale => Self::conflict("version_conflict", e.to_string()),
            BookingError::Refused(r) => r.into(),
            BookingError::Forbidden(m) => Self::forbidden(m),
            BookingError::Invalid { field, message } => Self::invalid(field, message),
            BookingError::TooLarge(m) => Self::too_large(m),
            BookingError::NoProof => Self::not_found(e.to_string()),
            BookingError::IdempotencyKeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                e.to_string(),
            ),
            BookingError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            BookingError::NoSuchPsychologist => Self::not_found(e.to_string()),
            BookingError::Deactivated => {
                Self::new(StatusCode::FORBIDDEN, "account_deactivated", e.to_string())
            }
            BookingError::RecentSignInRequired => Self::new(
                StatusCode::FORBIDDEN,
                "recent_sign_in_required",
                e.to_string(),
            ),
            BookingError::Erased => {
                Self::new(StatusCode::FORBIDDEN, "account_erased", e.to_string())
            }
            BookingError::ConsentRequired => {
                Self::new(StatusCode::FORBIDDEN, "consent_required", e.to_string())
            }
            BookingError::StaleNotice => Self::conflict("notice_changed", e.to_string()),
            BookingError::Schedule(e) => Self::invalid("starts_at", e),
            BookingError::Unavailable(u) => u.into(),
            BookingError::Profile(ProfileError::Invalid { field, message }) => {
                Self::invalid(field, message)
            }
            BookingError::MpesaMessage(e) => e.into(),
            BookingError::Statement(e) => e.into(),
            BookingError::Store(e) => e.into(),
            BookingError::Proof(e) => Self::internal(&e),
            BookingError::Secret(e) => Self::internal(&e),
            BookingError::MpesaUnavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mpesa_unavailable",
                e.to_string(),
            ),
            BookingError::Accounts(AccountsError::Exists) => Self::conflict(
                "account_exists",
                "Someone already has a Kikao account with that email address.",
            ),
            BookingError::Accounts(AccountsError::Refused(detail)) => {
                tracing::info!(%detail, "identity provider refused the details");
                Self::invalid(
                    "email",
                    "the sign-in service would not accept this address or phone number; check both and try again",
                )
            }
            BookingError::Accounts(e @ AccountsError::Backend(_)) => {
                tracing::error!(error = %e, "identity provider failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "accounts_unavailable",
                    "The sign-in service did not answer. Please try again in a minute: trying again is safe.",
                )
            }
        }
    }
}

/// A start inside the hours but on held time is the same conflict as approving onto it; a
/// start outside the hours is the caller's to change, and the sentence names the rule.
impl From<Unavailable> for ApiError {
    fn from(u: Unavailable) -> Self {
        match u {
            Unavailable::Taken => Self::conflict("slot_taken", u.to_string()),
            _ => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "outside_availability",
                u.to_string(),
            ),
        }
    }
}

/// A pasted message that is readable but proves no payment is `not_a_payment`; one that is not
/// an M-Pesa confirmation at all is `unreadable`. The message is the parser's own sentence,
/// which names what it saw.
impl From<MpesaMessageError> for ApiError {
    fn from(e: MpesaMessageError) -> Self {
        let code = match e.kind() {
            Some(_) => "not_a_payment",
            None => "unreadable",
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
    }
}

/// A statement Kikao cannot use: the sentence says what to upload instead.
impl From<StatementError> for ApiError {
    fn from(e: StatementError) -> Self {
        let code = match e {
            StatementError::OtherNumber { .. } => "other_number",
            StatementError::NoRows | StatementError::CsvColumns => "unreadable_statement",
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
    }
}

/// Text errors carry their own wording; the field is named by the caller.
pub fn text_error(field: &str, e: TextError) -> ApiError {
    ApiError::invalid(field, e)
}

#[cfg(test)]
mod sentence_tests {
    use super::*;

    #[test]
    fn a_refused_input_is_named_in_words_not_by_its_field() {
        let said = |f: &str, m: &str| ApiError::invalid(f, m).message;
        assert_eq!(
            said(
                "phone",
                "must be a Kenyan mobile number such as 0712 345 678"
            ),
            "The phone number must be a Kenyan mobile number such as 0712 345 678."
        );
        assert_eq!(
            said("proof_key", "is not an upload for this booking"),
            "The screenshot is not an upload for this booking."
        );
        assert_eq!(
            said("size_bytes", "the screenshot is empty"),
            "The screenshot is empty."
        );
        assert_eq!(
            said("psychologist_id", "there is no such psychologist"),
            "There is no such psychologist."
        );
        assert_eq!(
            said(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters"
            ),
            "The Idempotency-Key must be 1 to 255 visible ASCII characters."
        );
        let e = ApiError::invalid("transaction_code", "is not an M-Pesa code");
        assert_eq!(e.field.as_deref(), Some("transaction_code"));
        assert!(!e.message.contains("transaction_code"));
    }
}
