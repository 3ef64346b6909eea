//! The one error type of the HTTP boundary. Every failure a handler can meet becomes a status
//! and `{"error": {"code", "message"}}` here; storage details go to the log, never to the caller.

use crate::domain::{MpesaMessageError, ProfileError, Refusal, ScheduleError, TextError};
use crate::ports::{ProofError, StoreError};
use lambda_http::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
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
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {message}"),
        )
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
            Refusal::ReasonRequired => Self::invalid("reason", "a reason is required"),
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
            // only a booking counts against a quota, and `book_session` says when it frees up
            StoreError::RateLimited { .. } => Self::rate_limited(chrono::Duration::minutes(1)),
            StoreError::Backend(_) => Self::internal(&e),
        }
    }
}

impl From<ProofError> for ApiError {
    fn from(e: ProofError) -> Self {
        Self::internal(&e)
    }
}

impl From<ScheduleError> for ApiError {
    fn from(e: ScheduleError) -> Self {
        Self::invalid("starts_at", e)
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        let ProfileError::Invalid { field, message } = e;
        Self::invalid(field, message)
    }
}

impl From<MpesaMessageError> for ApiError {
    fn from(e: MpesaMessageError) -> Self {
        Self::invalid("mpesa_message", e)
    }
}

/// Text errors carry their own wording; the field is named by the caller.
pub fn text_error(field: &str, e: TextError) -> ApiError {
    ApiError::invalid(field, e)
}
