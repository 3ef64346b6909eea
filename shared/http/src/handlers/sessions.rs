//! Booking, listing (with the cheap unchanged-poll path) and reading one session.

use crate::auth::{caller, Caller};
use crate::error::{text_error, ApiError};
use crate::openapi::{ErrorBody, IdempotencyKey, IfNoneMatch, SessionPath};
use crate::views::{counts_of, ChangeList, ChangeView, SessionList, SessionView};
use crate::{json, read_json, respond, session_id, session_response};
use chrono::{DateTime, Utc};
use kikao_core::bookings::{BookInput, Bookings};
use kikao_core::domain::{parse_instant, Note, Session, Status, UserId, UserSummary, View};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

/// A booking request. The price and duration come from the psychologist's session type, never
/// from the client.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    /// From `GET /api/psychologists`.
    psychologist_id: String,
    /// One of that psychologist's `session_types`.
    session_type_id: String,
    /// RFC 3339 with an offset, on the 15-minute grid, from 2 hours to 180 days ahead.
    #[schema(format = DateTime, example = "2030-01-25T10:00:00+03:00")]
    starts_at: String,
    /// Shown to the psychologist with the request.
    #[schema(max_length = 1000)]
    note: Option<String>,
}

/// `field` as an instant (`domain::parse_instant`), or a 422 that shows the form wanted.
pub fn parse_time(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_instant(s).ok_or_else(|| {
        ApiError::invalid(
            field,
            "must be an RFC 3339 time with an offset, such as 2030-01-25T10:00:00+03:00",
        )
    })
}

fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = v.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

#[utoipa::path(
    post,
    path = "/api/sessions",
    tag = "sessions",
    summary = "Request a session (clients)",
    params(IdempotencyKey),
    request_body = BookBody,
    responses(
        (status = 201, description = "Requested: the booking, now `pending_approval`.", body = SessionView,
            headers(("Location" = String, description = "The booking's URL"))),
        (status = 403, description = "`consent_required`: the client has not accepted the privacy notice in force (`PUT /api/me/consent`); or not a client.", body = ErrorBody),
        (status = 409, description = "`slot_taken`: the psychologist holds another session then.", body = ErrorBody),
        (status = 422, description = "A field is wrong (the message names it), or the Idempotency-Key was used for another booking.", body = ErrorBody),
        (status = 429, description = "Too many booking requests: try again after `Retry-After` seconds.", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds until a booking request is accepted again"))),
    )
)]
pub async fn book_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let key = idempotency_key(&req)?;
            let body: BookBody = read_json(&req)?;
            let idempotency = key.map(|key| kikao_core::bookings::IdempotencyKey {
                key,
                fingerprint: hex(&Sha256::digest(req.body().as_ref())),
            });
            let note = match body.note.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(n) => Some(Note::parse(n).map_err(|e| text_error("note", e))?),
            };
            let input = BookInput {
                psychologist_id: body.psychologist_id,
                session_type_id: body.session_type_id,
                starts_at: parse_time("starts_at", &body.starts_at)?,
                note,
                idempotency,
            };
            let booked = app.book(&c, input).await?;
            let mut res = session_response(app, &c, &booked.session, StatusCode::CREATED);
            if let Ok(v) = HeaderValue::from_str(&format!("/api/sessions/{}", booked.session.id)) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            if booked.replayed {
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(res)
        }
        .await,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long an ETag stays valid even with no change: `actions` depend on the clock (starting
/// opens 15 minutes before), so a tag also turns over every five minutes.
const ETAG_PERIOD_SECS: i64 = 300;

/// Identifies what the caller's lists look like now: their change counter, the time period,
/// and the user, so that one browser shared by two accounts never reuses the other's list.
pub fn etag(user: &UserId, summary: &UserSummary, now: DateTime<Utc>) -> String {
    let who = hex(&Sha256::digest(user.as_str().as_bytes())[..4]);
    format!(
        "\"{who}-{}-{}\"",
        summary.counter,
        now.timestamp().div_euclid(ETAG_PERIOD_SECS)
    )
}

/// When the current tag's period began: a catch-up from before it may miss what the clock alone
/// changed (a session that may now be started), so it says the views must be read again.
fn period_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = now.timestamp().div_euclid(ETAG_PERIOD_SECS) * ETAG_PERIOD_SECS;
    DateTime::from_timestamp(secs, 0).unwrap_or(now)
}

fn not_modified(req: &Request, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

async fn list(
    app: &Bookings,
    req: Request,
    only: Option<Status>,
) -> Result<Response<Body>, ApiError> {
    let c = caller(&req)?;
    if only == Some(Status::PendingApproval) {
        app.may_answer_requests(&c)?;
    }
    // the counter is read before the list, so a tag is never newer than the body it labels
    let summary = app.summary(&c).await?;
    let now = app.clock.now();
    let tag = etag(&c.id, &summary, now);
    let mut res = if not_modified(&req, &tag) {
        let mut r = Response::new(Body::Empty);
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let q = req.query_string_parameters();
        let limit = match q.first("limit") {
            None => 50,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid("limit", "must be a whole number from 1 to 100")
                })?,
        };
        let status = match q.first("status") {
            None => only,
            Some(s) => {
                let asked = Status::parse(s).ok_or_else(|| {
                    ApiError::invalid("status", "is not one of the booking statuses")
                })?;
                if only.is_some_and(|o| o != asked) {
                    return Err(ApiError::invalid(
                        "status",
                        "this list holds only requests pending approval",
                    ));
                }
                Some(asked)
            }
        };
        let view = q
            .first("view")
            .map(|v| {
                View::parse(v).ok_or_else(|| {
                    ApiError::invalid("view", "must be one of action, upcoming, waiting and past")
                })
            })
            .transpose()?;
        let since = q
            .first("since")
            .map(|t| {
                DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::invalid(
                            "since",
                            "must be a time such as 2030-01-07T06:00:00Z, as the last answer's next_since gives it",
                        )
                    })
            })
            .transpose()?;
        let cursor = q.first("cursor");
        if view.is_some() && status.is_some() {
            return Err(ApiError::invalid(
                "view",
                "a view already says which bookings it holds: ask for a view or a status, not both",
            ));
        }
        if since.is_some() && (view.is_some() || status.is_some() || cursor.is_some()) {
            return Err(ApiError::invalid(
                "since",
                "a catch-up read holds every change since that time: send it without view, status or cursor",
            ));
        }
        let (items, next_cursor, complete) = match (since, view) {
            (Some(t), _) => {
                let (changed, complete) = app.changes_since(&c, t, limit).await?;
                (changed, None, Some(complete && t >= period_start(now)))
            }
            (None, Some(v)) => {
                let page = app.view_page(&c, v, limit, cursor).await?;
                (page.items, page.next_cursor, None)
            }
            (None, None) => {
                let page = app.page(&c, status, limit, cursor).await?;
                (page.items, page.next_cursor, None)
            }
        };
        let sessions = views_for(app, &c, &items).await?;
        json(
            StatusCode::OK,
            &SessionList {
                sessions,
                counts: counts_of(&summary),
                action_required: summary.awaiting,
                next_cursor,
                next_since: now,
                complete,
            },
        )
    };
    let h = res.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("tags are ASCII"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(res)
}

/// The sessions as the caller sees them; a psychologist's pending requests also say whether
/// they overlap a session already held.
pub(crate) async fn views_for(
    app: &Bookings,
    c: &Caller,
    sessions: &[Session],
) -> Result<Vec<SessionView>, ApiError> {
    let now = app.clock.now();
    let clashing = app.clashing_requests(c, sessions).await?;
    Ok(sessions
        .iter()
        .map(|s| {
            let mut v = SessionView::new(s, c.role, now, app.policy());
            if c.role == kikao_core::domain::Role::Psychologist
                && s.status == Status::PendingApproval
            {
                v.overlaps_held_session = Some(clashing.contains(&s.id));
            }
            v
        })
        .collect())
}

/// The list endpoints' query.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 100 (default 50).
    #[allow(dead_code)]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Only sessions in this status.
    #[allow(dead_code)]
    status: Option<Status>,
    /// `next_cursor` of the previous page.
    #[allow(dead_code)]
    cursor: Option<String>,
    /// One dashboard section, in its order: `action` (waiting on the caller), `upcoming`
    /// (confirmed and in progress), `waiting` (on the other party), `past` (completed, declined,
    /// cancelled; the latest first). The others by start, the soonest first. Not with `status`.
    #[allow(dead_code)]
    view: Option<View>,
    /// Only what changed since this time (`next_since` of the last answer), the earliest change
    /// first: how a page catches up. Not with `view`, `status` or `cursor`.
    #[allow(dead_code)]
    since: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get,
    path = "/api/sessions",
    tag = "sessions",
    summary = "The caller's sessions, most recent activity first, with counts by status",
    params(ListQuery, IfNoneMatch),
    responses(
        (status = 200, description = "A page of the caller's sessions.", body = SessionList,
            headers(("ETag" = String, description = "Send as If-None-Match to poll cheaply"))),
        (status = 304, description = "Nothing changed since the ETag sent.",
            headers(("ETag" = String))),
        (status = 400, description = "The cursor is not one this API gave out.", body = ErrorBody),
        (status = 422, description = "`limit` or `status` is wrong.", body = ErrorBody),
    )
)]
pub async fn list_sessions(app: &Bookings, req: Request) -> Response<Body> {
    respond(list(app, req, None).await)
}

#[utoipa::path(
    get,
    path = "/api/sessions/pending-approval",
    tag = "sessions",
    summary = "Requests waiting for the psychologist's answer (psychologists)",
    params(ListQuery, IfNoneMatch),
    responses(
        (status = 200, description = "A page of requests.", body = SessionList,
            headers(("ETag" = String, description = "Send as If-None-Match to poll cheaply"))),
        (status = 304, description = "Nothing changed since the ETag sent.",
            headers(("ETag" = String))),
        (status = 400, description = "The cursor is not one this API gave out.", body = ErrorBody),
        (status = 422, description = "`limit` or `status` is wrong.", body = ErrorBody),
    )
)]
pub async fn list_pending_approval(app: &Bookings, req: Request) -> Response<Body> {
    respond(list(app, req, Some(Status::PendingApproval)).await)
}

/// How many changes the bell lists.
const BELL_CHANGES: usize = 20;

#[utoipa::path(
    get,
    path = "/api/me/changes",
    tag = "sessions",
    summary = "The latest changes to the caller's bookings, newest first (the bell)",
    responses(
        (status = 200, description = "At most 20 changes, each with its booking's other party and time.", body = ChangeList),
    )
)]
pub async fn list_changes(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let changes = app
                .recent_changes(&c, BELL_CHANGES)
                .await?
                .iter()
                .map(|(s, e)| ChangeView::new(s, e, c.role))
                .collect();
            Ok(json(StatusCode::OK, &ChangeList { changes }))
        }
        .await,
    )
}

#[utoipa::path(
    get,
    path = "/api/sessions/{id}",
    tag = "sessions",
    summary = "One of the caller's sessions, with its history",
    params(SessionPath),
    responses(
        (status = 200, description = "The booking as the caller sees it.", body = SessionView),
    )
)]
pub async fn get_session(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let (s, history) = app.with_history(&c, id).await?;
            let view = views_for(app, &c, std::slice::from_ref(&s))
                .await?
                .remove(0)
                .with_history(&history);
            Ok(json(StatusCode::OK, &view))
        }
        .await,
    )
}
