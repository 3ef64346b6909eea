//! The practice administrator's endpoints: invite a psychologist, list them, end one's access.

use crate::auth::administrator;
use crate::error::ApiError;
use crate::views::{DeactivationView, PractitionerView, Practitioners};
use crate::{json, read_json, respond};
use kikao_core::bookings::{Bookings, Invitation};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use utoipa::ToSchema;

/// Who to invite: the invitation (a temporary password) goes to `email`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    #[schema(example = "Dr. Zawadi Achieng")]
    pub name: String,
    #[schema(example = "zawadi@example.com")]
    pub email: String,
    /// A Kenyan mobile number: `0712 345 678` or `+254712345678`.
    #[schema(example = "0712 345 678")]
    pub phone: String,
}

#[utoipa::path(
    get,
    path = "/api/admin/psychologists",
    tag = "admin",
    summary = "Every psychologist of the practice, deactivated ones too (practice administrators)",
    responses((status = 200, description = "By name.", body = Practitioners))
)]
pub async fn list_practitioners(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let admin = administrator(&req)?;
            let all = app.practice_psychologists(&admin).await?;
            Ok(json(
                StatusCode::OK,
                &Practitioners {
                    psychologists: all.iter().map(PractitionerView::from).collect(),
                },
            ))
        }
        .await,
    )
}

#[utoipa::path(
    post,
    path = "/api/admin/psychologists",
    tag = "admin",
    summary = "Invite a psychologist: their account is made and the invitation emailed (practice administrators)",
    request_body = InvitationRequest,
    responses(
        (status = 201, description = "Invited: they sign in with the emailed temporary password, then set up two-step sign-in.", body = PractitionerView),
        (status = 409, description = "Someone already has an account with that email address (`account_exists`).", body = crate::openapi::ErrorBody),
        (status = 503, description = "The sign-in service did not answer; nothing was changed.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn invite_psychologist(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let admin = administrator(&req)?;
            let r: InvitationRequest = read_json(&req)?;
            let invitation = Invitation::parse(&r.name, &r.email, &r.phone)?;
            let p = app.invite_psychologist(&admin, invitation).await?;
            Ok(json(StatusCode::CREATED, &PractitionerView::from(&p)))
        }
        .await,
    )
}

#[utoipa::path(
    post,
    path = "/api/admin/psychologists/{id}/deactivate",
    tag = "admin",
    summary = "End a psychologist's access: signed out everywhere, out of the directory, open bookings withdrawn with their clients told (practice administrators)",
    params(crate::handlers::me::PsychologistPath),
    responses(
        (status = 200, description = "Deactivated (repeating it changes nothing more).", body = DeactivationView),
        (status = 404, description = "No such psychologist.", body = crate::openapi::ErrorBody),
        (status = 503, description = "The sign-in service did not answer; nothing was changed.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn deactivate_psychologist(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let admin = administrator(&req)?;
            let id = req
                .path_parameters_ref()
                .and_then(|p| p.first("id"))
                .unwrap_or_default()
                .to_owned();
            let done = app
                .deactivate_psychologist(&admin, &id)
                .await
                .map_err(ApiError::from)?;
            Ok(json(StatusCode::OK, &DeactivationView::from(&done)))
        }
        .await,
    )
}
