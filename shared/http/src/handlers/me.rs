//! `GET`/`PUT /api/me` and the psychologist directory.

use crate::auth::caller;
use crate::views::{Directory, DirectoryEntry, ProfileView};
use crate::{json, read_json, respond};
use kikao_core::bookings::Bookings;
use kikao_core::domain::ProfileUpdate;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

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
            Ok(json(StatusCode::OK, &ProfileView::from(&p)))
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
    )
)]
pub async fn update_me(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let update: ProfileUpdate = read_json(&req)?;
            let updated = app.update_profile(&c, update).await?;
            Ok(json(StatusCode::OK, &ProfileView::from(&updated)))
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
