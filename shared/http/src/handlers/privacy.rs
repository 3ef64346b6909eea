//! The person's data-protection endpoints: the privacy notice, accepting it, the export of
//! everything Kikao holds about them, and the erasure of a client's account.

use crate::auth::caller;
use crate::handlers::sessions::views_for;
use crate::views::{
    AuditEntryView, ConsentView, ErasureView, PersonalDataView, PrivacyNoticeView, ProfileView,
    SentMessageView, EXPORT_NOT_INCLUDED,
};
use crate::{json, read_json, respond};
use kikao_core::bookings::Bookings;
use lambda_http::http::header::{HeaderValue, CONTENT_DISPOSITION};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

#[utoipa::path(
    get,
    path = "/api/privacy-notice",
    tag = "privacy",
    summary = "The privacy notice in force, which a client accepts before booking",
    responses((status = 200, description = "The notice and its version.", body = PrivacyNoticeView))
)]
pub async fn get_privacy_notice(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            caller(&req)?;
            Ok(json(
                StatusCode::OK,
                &PrivacyNoticeView::from(&app.privacy_notice()),
            ))
        }
        .await,
    )
}

/// The version of the notice the person read and accepts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    #[schema(example = "2026-11-29")]
    pub version: String,
}

#[utoipa::path(
    put,
    path = "/api/me/consent",
    tag = "privacy",
    summary = "Accept the privacy notice in force",
    request_body = ConsentBody,
    responses(
        (status = 200, description = "The profile, with the consent recorded (accepting again keeps the first time).", body = ProfileView),
        (status = 409, description = "`notice_changed`: the version is not the notice in force; read the new one.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn record_consent(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let body: ConsentBody = read_json(&req)?;
            let p = app.record_consent(&c, &body.version).await?;
            Ok(json(StatusCode::OK, &ProfileView::of(&p, &c)))
        }
        .await,
    )
}

#[utoipa::path(
    get,
    path = "/api/me/export",
    tag = "privacy",
    summary = "Everything Kikao holds about the caller, as one JSON document",
    responses(
        (status = 200, description = "The caller's profile, consents and every booking with its history, as they see them; nothing about anyone else beyond what those bookings already show. Sent as a download (`Content-Disposition: attachment`).", body = PersonalDataView),
    )
)]
pub async fn export_me(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let data = app.export(&c).await?;
            let sessions: Vec<_> = data.bookings.iter().map(|(s, _)| s.clone()).collect();
            let views = views_for(app, &c, &sessions).await?;
            let bookings = views
                .into_iter()
                .zip(&data.bookings)
                .map(|(v, (_, history))| v.with_history(history))
                .collect();
            let doc = PersonalDataView {
                kind: "kikao-personal-data",
                exported_at: data.exported_at,
                profile: ProfileView::of(&data.profile, &c),
                consents: data
                    .profile
                    .consents
                    .iter()
                    .map(|x| ConsentView {
                        version: x.version.clone(),
                        at: x.at,
                    })
                    .collect(),
                bookings,
                audit: data.audit.iter().map(AuditEntryView::from).collect(),
                messages: data.messages.iter().map(SentMessageView::from).collect(),
                not_included: EXPORT_NOT_INCLUDED.to_vec(),
            };
            let mut res = json(StatusCode::OK, &doc);
            let name = format!(
                "attachment; filename=\"kikao-my-data-{}.json\"",
                data.exported_at.format("%Y-%m-%d")
            );
            res.headers_mut().insert(
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&name).expect("a plain ASCII header"),
            );
            Ok(res)
        }
        .await,
    )
}

/// The words the person types to confirm.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    /// Exactly `DELETE MY DATA`.
    #[schema(example = "DELETE MY DATA")]
    pub confirm: String,
}

#[utoipa::path(
    delete,
    path = "/api/me",
    tag = "privacy",
    summary = "Erase the caller's account and data (clients)",
    request_body = EraseBody,
    responses(
        (status = 200, description = "Erased: the account no longer works (every later call is 403 `account_erased`); each open booking was cancelled and its psychologist told; past bookings stay in the psychologist's records without the client's name, contact details, note or words; screenshots deleted.", body = ErasureView),
        (status = 403, description = "A psychologist: their account is closed by the practice administrator (deactivation).", body = crate::openapi::ErrorBody),
        (status = 422, description = "`confirm` is not exactly `DELETE MY DATA`.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn erase_me(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let body: EraseBody = read_json(&req)?;
            let done = app.erase(&c, &body.confirm).await?;
            Ok(json(StatusCode::OK, &ErasureView::from(done)))
        }
        .await,
    )
}
