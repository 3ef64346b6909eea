//! `GET`/`PUT /api/me`, the psychologist directory and a psychologist's free times.

use crate::auth::caller;
use crate::error::ApiError;
use crate::views::{Directory, DirectoryEntry, FreeSlotsView, ProfileView};
use crate::{json, read_json, respond};
use chrono::Duration;
use kikao_core::bookings::Bookings;
use kikao_core::domain::{parse_instant, ProfileUpdate};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use utoipa::IntoParams;

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "profile",
    summary = "The caller's profile (made from the token on first sight)",
    responses((status = 200, description = "The caller's profile.", body = ProfileView))
)]
pub async fn get_me(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let p = app.ensure_profile(&c).await?;
            Ok(json(StatusCode::OK, &ProfileView::of(&p, &c)))
        }
        .await,
    )
}

#[utoipa::path(
    put,
    path = "/api/me",
    tag = "profile",
    summary = "Change the caller's profile; absent fields stay as they are",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The profile after the change.", body = ProfileView),
        (status = 403, description = "`mfa_required` (a psychologist without two-step sign-in), or `recent_sign_in_required`: a new M-Pesa number needs a sign-in within the last 5 minutes.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn update_me(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let update: ProfileUpdate = read_json(&req)?;
            let updated = app.update_profile(&c, update).await?;
            Ok(json(StatusCode::OK, &ProfileView::of(&updated, &c)))
        }
        .await,
    )
}

#[utoipa::path(
    get,
    path = "/api/psychologists",
    tag = "profile",
    summary = "Psychologists who offer at least one session type",
    responses((status = 200, description = "The directory.", body = Directory))
)]
pub async fn list_psychologists(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            caller(&req)?;
            let bookable: Vec<DirectoryEntry> = app
                .directory()
                .await?
                .iter()
                .map(DirectoryEntry::from)
                .collect();
            Ok(json(
                StatusCode::OK,
                &Directory {
                    psychologists: bookable,
                },
            ))
        }
        .await,
    )
}

/// The psychologist named in the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PsychologistPath {
    /// The psychologist's id, as the directory gives it.
    #[allow(dead_code)]
    pub id: String,
}

/// Which free times to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    /// One of the psychologist's session types: its length decides which starts fit.
    #[allow(dead_code)]
    session_type_id: String,
    /// RFC 3339 with an offset, such as `2030-01-07T00:00:00Z` (default: now).
    #[allow(dead_code)]
    from: Option<String>,
    /// RFC 3339 with an offset, at most 31 days after `from` (default: 14 days after it).
    #[allow(dead_code)]
    to: Option<String>,
}

/// The days a slot picker shows when it names no end.
const DEFAULT_SLOT_DAYS: i64 = 14;

#[utoipa::path(
    get,
    path = "/api/psychologists/{id}/availability",
    tag = "profile",
    summary = "A psychologist's free starts for one session type, within their working hours",
    params(PsychologistPath, SlotsQuery),
    responses(
        (status = 200, description = "Every start that can be booked now, earliest first.", body = FreeSlotsView),
        (status = 400, description = "`session_type_id` is missing.", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such psychologist in the directory.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`from` or `to` is not a time with an offset, `to` is not after `from` or more than 31 days after it, or the session type is not one of theirs.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn psychologist_availability(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            caller(&req)?;
            let id = req
                .path_parameters_ref()
                .and_then(|p| p.first("id"))
                .unwrap_or_default()
                .to_owned();
            let q = req.query_string_parameters();
            let session_type = q.first("session_type_id").ok_or_else(|| {
                ApiError::malformed(
                    "Say which session type to find times for: add ?session_type_id= with an id from the directory.",
                )
            })?;
            let instant = |name: &'static str| -> Result<Option<_>, ApiError> {
                q.first(name)
                    .map(|t| {
                        parse_instant(t).ok_or_else(|| {
                            ApiError::invalid(
                                name,
                                "must be a time with its offset, such as 2030-01-07T00:00:00Z",
                            )
                        })
                    })
                    .transpose()
            };
            let from = instant("from")?.unwrap_or_else(|| app.clock.now());
            let to = instant("to")?.unwrap_or(from + Duration::days(DEFAULT_SLOT_DAYS));
            let free = app.free_slots(&id, session_type, from, to).await?;
            Ok(json(StatusCode::OK, &FreeSlotsView::from(&free)))
        }
        .await,
    )
}
