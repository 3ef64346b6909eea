//! The status-changing endpoints. Each one authorizes by role (403), loads the booking as a
//! party (404), checks the state (409), validates its input (422), then commits through
//! `decide`, so the rules in `domain::lifecycle` are the only rules.

use super::sessions::parse_time;
use crate::domain::{check_start, Action, Command, Reason};
use crate::http::auth::Caller;
use crate::http::error::{text_error, ApiError};
use crate::http::openapi::{ErrorBody, IfMatch, SessionPath};
use crate::http::views::SessionView;
use crate::http::{
    authorize, commit, load_for_action, read_json, read_optional_json, respond, session_response,
    App,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

/// Why: required to decline or reject a payment, optional to cancel. The other party sees it.
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
    /// RFC 3339 with an offset, on the 15-minute grid, from 2 hours to 180 days ahead.
    #[schema(format = DateTime, example = "2030-01-25T10:00:00+03:00")]
    starts_at: String,
}

fn reason_of(body: &ReasonBody) -> Result<Option<Reason>, ApiError> {
    match body.reason.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) => Reason::parse(r)
            .map(Some)
            .map_err(|e| text_error("reason", e)),
    }
}

fn required_reason(body: &ReasonBody) -> Result<Reason, ApiError> {
    reason_of(body)?.ok_or_else(|| {
        ApiError::invalid(
            "reason",
            "a reason is required; the other party will see it",
        )
    })
}

/// The common path: authorize, load, check the state, build the command, commit, answer.
async fn act<F>(
    app: &App,
    req: &Request,
    action: Action,
    command: F,
) -> Result<Response<Body>, ApiError>
where
    F: FnOnce(&Caller) -> Result<Command, ApiError>,
{
    let (c, id) = authorize(req, action)?;
    let before = load_for_action(app, req, &c, id, action).await?;
    let cmd = command(&c)?;
    let after = commit(app, &c, &before, cmd).await?;
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
pub async fn approve_session(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, id) = authorize(&req, Action::Approve)?;
            let before = load_for_action(app, &req, &c, id, Action::Approve).await?;
            let mpesa_number = app
                .profiles
                .get_profile(&c.id)
                .await?
                .and_then(|p| p.psychologist)
                .and_then(|d| d.mpesa_number)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "mpesa_number",
                        "add your M-Pesa number to your profile before approving, so the client knows where to pay",
                    )
                })?;
            let after = commit(app, &c, &before, Command::Approve { mpesa_number }).await?;
            Ok(session_response(app, &c, &after, StatusCode::OK))
        }
        .await,
    )
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
pub async fn decline_session(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let body: ReasonBody = read_json(&req)?;
            act(app, &req, Action::Decline, |_| {
                Ok(Command::Decline {
                    reason: required_reason(&body)?,
                })
            })
            .await
        }
        .await,
    )
}

#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    tag = "transitions",
    summary = "Cancel a booking (either party; the reason is optional)",
    params(SessionPath, IfMatch),
    request_body = Option<ReasonBody>,
    responses(
        (status = 200, description = "The booking, now `cancelled` (`refund_due` if it was paid).", body = SessionView),
    )
)]
pub async fn cancel_session(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let body: ReasonBody = read_optional_json(&req)?;
            act(app, &req, Action::Cancel, |_| {
                Ok(Command::Cancel {
                    reason: reason_of(&body)?,
                })
            })
            .await
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
pub async fn verify_payment(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let base = app.config.meeting_link_base.clone();
            act(app, &req, Action::VerifyPayment, |_| {
                // 244 random bits: nobody guesses their way into a therapy session
                let token = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                Ok(Command::VerifyPayment {
                    meeting_link: format!("{base}{token}"),
                })
            })
            .await
        }
        .await,
    )
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
pub async fn reject_payment(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let body: ReasonBody = read_json(&req)?;
            act(app, &req, Action::RejectPayment, |_| {
                Ok(Command::RejectPayment {
                    reason: required_reason(&body)?,
                })
            })
            .await
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
pub async fn propose_reschedule(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let body: RescheduleBody = read_json(&req)?;
            let (c, id) = authorize(&req, Action::Reschedule)?;
            let before = load_for_action(app, &req, &c, id, Action::Reschedule).await?;
            let starts_at = parse_time("starts_at", &body.starts_at)?;
            check_start(starts_at, app.clock.now())?;
            if starts_at == before.starts_at {
                return Err(ApiError::invalid("starts_at", "is the current time of the session; choose a different one"));
            }
            let ends_at = starts_at + (before.ends_at - before.starts_at);
            if app.sessions.held_overlap(&before.psychologist.id, starts_at, ends_at, Some(id)).await?.is_some() {
                return Err(ApiError::conflict(
                    "slot_taken",
                    "The psychologist already holds another session at that time; choose another time.",
                ));
            }
            let after = commit(app, &c, &before, Command::Reschedule { starts_at }).await?;
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
pub async fn accept_reschedule(app: &App, req: Request) -> Response<Body> {
    respond(
        act(app, &req, Action::AcceptReschedule, |_| {
            Ok(Command::AcceptReschedule)
        })
        .await,
    )
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
pub async fn decline_reschedule(app: &App, req: Request) -> Response<Body> {
    respond(
        act(app, &req, Action::DeclineReschedule, |_| {
            Ok(Command::DeclineReschedule)
        })
        .await,
    )
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
pub async fn start_session(app: &App, req: Request) -> Response<Body> {
    respond(act(app, &req, Action::Start, |_| Ok(Command::Start)).await)
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
pub async fn complete_session(app: &App, req: Request) -> Response<Body> {
    respond(act(app, &req, Action::Complete, |_| Ok(Command::Complete)).await)
}
