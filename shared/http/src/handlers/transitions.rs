//! The status-changing endpoints. Each one parses its body (400, or 422 for a value that is
//! not well formed) and `If-Match`, then hands an `Intent` to `Bookings::act` (a new time goes to
//! `Bookings::propose_reschedule`, which also checks it is free), which checks the
//! caller's role (403), that the booking is theirs (404), the version (409) and the rules
//! (409, or 422 for a missing reason) in that order, so the rules in `domain::lifecycle` are the
//! only rules.

use super::sessions::parse_time;
use crate::auth::caller;
use crate::error::{text_error, ApiError};
use crate::openapi::{ErrorBody, IfMatch, SessionPath};
use crate::views::SessionView;
use crate::{
    expected_version, read_json, read_optional_json, respond, session_id, session_response,
};
use kikao_core::bookings::{Bookings, Intent};
use kikao_core::domain::Reason;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

/// Why: required to decline or reject a payment, and for a psychologist to cancel; optional for
/// a client to cancel. The other party sees it.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(max_length = 500, example = "I am away that week.")]
    reason: Option<String>,
}

/// A new time for the session, proposed to the other party.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    /// RFC 3339 with an offset, on the 15-minute grid, free by the psychologist's availability
    /// (`GET /api/psychologists/{id}/availability`).
    #[schema(format = DateTime, example = "2030-01-25T10:00:00+03:00")]
    starts_at: String,
}

impl ReasonBody {
    /// The reason, if one was given; whether one is required is the rules' to say.
    fn reason(&self) -> Result<Option<Reason>, ApiError> {
        match self.reason.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(r) => Reason::parse(r)
                .map(Some)
                .map_err(|e| text_error("reason", e)),
        }
    }
}

/// The common path: who, which booking, which version; then the use case, then the answer.
async fn act(app: &Bookings, req: &Request, intent: Intent) -> Result<Response<Body>, ApiError> {
    let c = caller(req)?;
    let id = session_id(req)?;
    let expected = expected_version(req)?;
    let after = app.act(&c, id, expected, intent).await?;
    Ok(session_response(app, &c, &after, StatusCode::OK))
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/approve",
    tag = "transitions",
    summary = "Approve a request (the psychologist)",
    params(SessionPath, IfMatch),
    responses(
        (status = 200, description = "The booking, now `approved`, with a payment deadline.", body = SessionView),
        (status = 422, description = "The psychologist has no M-Pesa number in their profile yet.", body = ErrorBody),
        (status = 409, description = "Not pending, too close to its start, `slot_taken` (another held session overlaps), or changed since If-Match.", body = ErrorBody),
    )
)]
pub async fn approve_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(act(app, &req, Intent::Approve).await)
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/decline",
    tag = "transitions",
    summary = "Decline a request with a reason (the psychologist)",
    params(SessionPath, IfMatch),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The booking, now `declined`.", body = SessionView),
    )
)]
pub async fn decline_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let body: ReasonBody = read_json(&req)?;
            let reason = body.reason()?;
            act(app, &req, Intent::Decline { reason }).await
        }
        .await,
    )
}

#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    tag = "transitions",
    summary = "Cancel a booking (either party; a reason is required from the psychologist)",
    params(SessionPath, IfMatch),
    request_body = Option<ReasonBody>,
    responses(
        (status = 200, description = "The booking, now `cancelled` (`refund_due` if it was paid).", body = SessionView),
    )
)]
pub async fn cancel_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let body: ReasonBody = read_optional_json(&req)?;
            let reason = body.reason()?;
            act(app, &req, Intent::Cancel { reason }).await
        }
        .await,
    )
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/verify-payment",
    tag = "transitions",
    summary = "Confirm the payment was received (the psychologist)",
    params(SessionPath, IfMatch),
    responses(
        (status = 200, description = "The booking, now `confirmed`, with its meeting link.", body = SessionView),
    )
)]
pub async fn verify_payment(app: &Bookings, req: Request) -> Response<Body> {
    respond(act(app, &req, Intent::VerifyPayment).await)
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/reject-payment",
    tag = "transitions",
    summary = "Reject the payment proof with a reason (the psychologist)",
    params(SessionPath, IfMatch),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The booking, back to `approved` with a fresh payment window.", body = SessionView),
    )
)]
pub async fn reject_payment(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let body: ReasonBody = read_json(&req)?;
            let reason = body.reason()?;
            act(app, &req, Intent::RejectPayment { reason }).await
        }
        .await,
    )
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/reschedule",
    tag = "transitions",
    summary = "Propose a new time (either party of a confirmed booking)",
    params(SessionPath, IfMatch),
    request_body = RescheduleBody,
    responses(
        (status = 200, description = "The booking with the proposal.", body = SessionView),
    )
)]
pub async fn propose_reschedule(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let body: RescheduleBody = read_json(&req)?;
            let starts_at = parse_time("starts_at", &body.starts_at)?;
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let expected = expected_version(&req)?;
            let after = app.propose_reschedule(&c, id, expected, starts_at).await?;
            Ok(session_response(app, &c, &after, StatusCode::OK))
        }
        .await,
    )
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/reschedule/accept",
    tag = "transitions",
    summary = "Accept the other party's proposed time",
    params(SessionPath, IfMatch),
    responses(
        (status = 200, description = "The booking at its new time.", body = SessionView),
    )
)]
pub async fn accept_reschedule(app: &Bookings, req: Request) -> Response<Body> {
    respond(act(app, &req, Intent::AcceptReschedule).await)
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/reschedule/decline",
    tag = "transitions",
    summary = "Decline the other party's proposed time",
    params(SessionPath, IfMatch),
    responses(
        (status = 200, description = "The booking at its old time.", body = SessionView),
    )
)]
pub async fn decline_reschedule(app: &Bookings, req: Request) -> Response<Body> {
    respond(act(app, &req, Intent::DeclineReschedule).await)
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/start",
    tag = "transitions",
    summary = "Start the session, from 15 minutes before (the psychologist)",
    params(SessionPath, IfMatch),
    responses(
        (status = 200, description = "The booking, now `in_progress`.", body = SessionView),
    )
)]
pub async fn start_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(act(app, &req, Intent::Start).await)
}

#[utoipa::path(
    put,
    path = "/api/sessions/{id}/complete",
    tag = "transitions",
    summary = "Mark the session completed (the psychologist)",
    params(SessionPath, IfMatch),
    responses(
        (status = 200, description = "The booking, now `completed`.", body = SessionView),
    )
)]
pub async fn complete_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(act(app, &req, Intent::Complete).await)
}
