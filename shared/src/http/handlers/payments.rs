//! M-Pesa proof: the presigned screenshot upload, submitting the code (or the pasted SMS), and
//! the short-lived link that lets the two parties see the screenshot.

use crate::domain::{Action, Command, MpesaReceipt, PaymentClaim, TransactionCode};
use crate::http::auth::caller;
use crate::http::error::ApiError;
use crate::http::openapi::{ErrorBody, IfMatch, SessionPath};
use crate::http::views::{ProofLink, SessionView, UploadHeaders, UploadInstructions};
use crate::http::{
    authorize, commit, json, load_for, load_for_action, read_json, respond, session_id,
    session_response, App,
};
use chrono::Duration;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

pub const MAX_PROOF_BYTES: u64 = 5 * 1024 * 1024;
const UPLOAD_TTL_MINUTES: i64 = 10;
const DOWNLOAD_TTL_MINUTES: i64 = 5;

/// Screenshot types phones produce, and the extension each is stored under.
const IMAGE_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/heic", "heic"),
];

/// The screenshot about to be uploaded.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadBody {
    #[schema(example = "image/jpeg")]
    content_type: String,
    /// At most 5 MB.
    #[schema(minimum = 1, maximum = 5242880)]
    size_bytes: u64,
}

/// The payment proof: the code, or the pasted M-Pesa SMS (or both, if they agree), and
/// optionally an uploaded screenshot.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// Ten letters and digits from the M-Pesa confirmation.
    #[schema(example = "QK71ABC123")]
    transaction_code: Option<String>,
    /// The whole M-Pesa confirmation SMS; the code, amount, recipient and time are read from it.
    #[schema(max_length = 2000)]
    mpesa_message: Option<String>,
    /// `key` from `POST /api/sessions/{id}/payment-proof`, after the upload.
    proof_key: Option<String>,
}

fn proof_prefix(id: &crate::domain::SessionId) -> String {
    format!("proofs/{id}/")
}

#[utoipa::path(
    post,
    path = "/api/sessions/{id}/payment-proof",
    tag = "payments",
    summary = "Get a signed URL to upload the M-Pesa screenshot (the client of an approved booking)",
    params(SessionPath, IfMatch),
    request_body = UploadBody,
    responses(
        (status = 200, description = "Where and how to upload.", body = UploadInstructions),
        (status = 409, description = "The booking is not waiting for payment, or it changed (If-Match).", body = ErrorBody),
        (status = 413, description = "The body is over 64 KB, or the screenshot over 5 MB.", body = ErrorBody),
        (status = 422, description = "Not an image type a phone makes, or empty.", body = ErrorBody),
    )
)]
pub async fn request_proof_upload(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let body: UploadBody = read_json(&req)?;
            let (c, id) = authorize(&req, Action::SubmitPayment)?;
            load_for_action(app, &req, &c, id, Action::SubmitPayment).await?;
            let ext = IMAGE_TYPES
                .iter()
                .find(|(t, _)| *t == body.content_type)
                .map(|(_, e)| *e)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "content_type",
                        "the screenshot must be a JPEG, PNG, WebP or HEIC image",
                    )
                })?;
            if body.size_bytes == 0 {
                return Err(ApiError::invalid("size_bytes", "the screenshot is empty"));
            }
            if body.size_bytes > MAX_PROOF_BYTES {
                return Err(ApiError::too_large(
                    "The screenshot is larger than 5 MB; crop it or send a smaller one.",
                ));
            }
            let key = format!(
                "{}{}.{ext}",
                proof_prefix(&id),
                uuid::Uuid::new_v4().simple()
            );
            let signed = app
                .proofs
                .presign_upload(
                    &key,
                    &body.content_type,
                    body.size_bytes,
                    Duration::minutes(UPLOAD_TTL_MINUTES),
                )
                .await?;
            Ok(json(
                StatusCode::OK,
                &UploadInstructions {
                    upload_url: signed.url,
                    method: "PUT".to_owned(),
                    headers: UploadHeaders {
                        content_type: body.content_type,
                    },
                    key,
                    expires_at: signed.expires_at,
                },
            ))
        }
        .await,
    )
}

#[utoipa::path(
    post,
    path = "/api/sessions/{id}/submit-payment",
    tag = "payments",
    summary = "Submit proof of payment (the client of an approved booking)",
    params(SessionPath, IfMatch),
    request_body = SubmitBody,
    responses(
        (status = 200, description = "The booking, now `payment_submitted`.", body = SessionView),
        (status = 409, description = "Not waiting for payment, the payment window closed, the code was used for another booking (`duplicate_transaction_code`), or the booking changed.", body = ErrorBody),
        (status = 413, description = "The body is over 64 KB, or the screenshot over 5 MB.", body = ErrorBody),
        (status = 422, description = "The code or message is not M-Pesa's, or the screenshot is missing.", body = ErrorBody),
    )
)]
pub async fn submit_payment(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let body: SubmitBody = read_json(&req)?;
            let (c, id) = authorize(&req, Action::SubmitPayment)?;
            let before = load_for_action(app, &req, &c, id, Action::SubmitPayment).await?;

            let typed = match body.transaction_code.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(t) => Some(TransactionCode::parse(t).ok_or_else(|| {
                    ApiError::invalid("transaction_code", "an M-Pesa code is 10 letters and digits, such as QK71ABC123")
                })?),
            };
            let receipt = match body.mpesa_message.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(m) => Some(MpesaReceipt::parse(m)?),
            };
            let claim = match (typed, receipt) {
                (None, None) => {
                    return Err(ApiError::invalid(
                        "transaction_code",
                        "give the M-Pesa transaction code or paste the M-Pesa confirmation message",
                    ))
                }
                (Some(code), None) => PaymentClaim { code, amount: None, paid_at: None, recipient: None, proof_key: None },
                (typed, Some(r)) => {
                    if typed.as_ref().is_some_and(|t| t != &r.code) {
                        return Err(ApiError::invalid(
                            "transaction_code",
                            "does not match the code in the pasted M-Pesa message; send one or make them agree",
                        ));
                    }
                    PaymentClaim { code: r.code, amount: Some(r.amount), paid_at: r.sent_at, recipient: r.recipient, proof_key: None }
                }
            };
            let proof_key = match body.proof_key.as_deref() {
                None | Some("") => None,
                Some(k) => {
                    if !k.starts_with(&proof_prefix(&id)) {
                        return Err(ApiError::invalid("proof_key", "is not an upload for this booking"));
                    }
                    let obj = app.proofs.head(k).await?.ok_or_else(|| {
                        ApiError::invalid("proof_key", "no screenshot was uploaded under this key; upload it first")
                    })?;
                    if !IMAGE_TYPES.iter().any(|(t, _)| *t == obj.content_type) {
                        return Err(ApiError::invalid("proof_key", "the uploaded file is not an image"));
                    }
                    if obj.size_bytes > MAX_PROOF_BYTES {
                        return Err(ApiError::too_large("The uploaded screenshot is larger than 5 MB."));
                    }
                    Some(k.to_owned())
                }
            };
            let after = commit(app, &c, &before, Command::SubmitPayment(PaymentClaim { proof_key, ..claim })).await?;
            Ok(session_response(app, &c, &after, StatusCode::OK))
        }
        .await,
    )
}

#[utoipa::path(
    get,
    path = "/api/sessions/{id}/payment-proof",
    tag = "payments",
    summary = "A five-minute link to the payment screenshot (either party)",
    params(SessionPath),
    responses(
        (status = 200, description = "The link.", body = ProofLink),
        (status = 404, description = "Not one of the caller's bookings, or no screenshot was sent.", body = ErrorBody),
    )
)]
pub async fn get_payment_proof(app: &App, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let s = load_for(app, &c, id).await?;
            let key = s
                .payment
                .as_ref()
                .and_then(|p| p.proof_key.clone())
                .ok_or_else(|| {
                    ApiError::not_found("No payment screenshot was submitted for this booking.")
                })?;
            let signed = app
                .proofs
                .presign_download(&key, Duration::minutes(DOWNLOAD_TTL_MINUTES))
                .await?;
            Ok(json(
                StatusCode::OK,
                &ProofLink {
                    url: signed.url,
                    expires_at: signed.expires_at,
                },
            ))
        }
        .await,
    )
}
