//! `GET`/`PUT /api/me` and the psychologist directory.

use crate::domain::{Profile, ProfileUpdate, Role};
use crate::http::auth::{caller, Caller};
use crate::http::error::ApiError;
use crate::http::views::{Directory, DirectoryEntry, ProfileView};
use crate::http::{json, read_json, respond, App};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// The caller's stored profile, created from the token's claims on first sight. The role always
/// follows the token: a person moved between groups gets the other role's profile fields.
pub async fn ensure_profile(app: &App, c: &Caller) -> Result<Profile, ApiError> {
    let now = app.clock.now();
    let fresh = Profile::from_claims(
        c.id.clone(),
        c.role,
        &c.name,
        c.email.as_deref(),
        c.phone.as_deref(),
        now,
    );
    let stored = match app.profiles.get_profile(&c.id).await? {
        Some(p) => p,
        None => app.profiles.create_profile_if_absent(&fresh).await?,
    };
    if stored.role == c.role {
        return Ok(stored);
    }
    let moved = Profile {
        role: c.role,
        psychologist: (c.role == Role::Psychologist)
            .then(|| stored.psychologist.clone().unwrap_or_default()),
        updated_at: now,
        ..stored
    };
    app.profiles.put_profile(&moved).await?;
    Ok(moved)
}

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "profile",
    summary = "The caller's profile (made from the token on first sight)",
    responses((status = 200, description = "The caller's profile.", body = ProfileView))
)]
pub async fn get_me(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let p = ensure_profile(app, &c).await?;
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
pub async fn update_me(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let update: ProfileUpdate = read_json(&req)?;
            let p = ensure_profile(app, &c).await?;
            let updated = p.apply(update, app.clock.now())?;
            app.profiles.put_profile(&updated).await?;
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
pub async fn list_psychologists(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            caller(&req)?;
            let all = app.profiles.list_psychologists().await?;
            let bookable: Vec<DirectoryEntry> = all
                .iter()
                .filter(|p| {
                    p.psychologist
                        .as_ref()
                        .is_some_and(|d| !d.session_types.is_empty())
                })
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
