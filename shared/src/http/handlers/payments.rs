//! M-Pesa proof: the presigned screenshot upload, submitting the code (or the pasted SMS), and
//! the short-lived link that lets the two parties see the screenshot.

use crate::domain::{Action, Command, MpesaReceipt, PaymentClaim, TransactionCode};
use crate::http::auth::caller;
use crate::http::error::ApiError;
use crate::http::{
    authorize, commit, json, load_for, load_for_action, read_json, respond, session_id,
    session_response, App,
};
use chrono::Duration;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadBody {
    content_type: String,
    size_bytes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    transaction_code: Option<String>,
    mpesa_message: Option<String>,
    proof_key: Option<String>,
}

fn proof_prefix(id: &crate::domain::SessionId) -> String {
    format!("proofs/{id}/")
}

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
                &serde_json::json!({
                    "upload_url": signed.url,
                    "method": "PUT",
                    "headers": {"content-type": body.content_type},
                    "key": key,
                    "expires_at": signed.expires_at,
                }),
            ))
        }
        .await,
    )
}

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
                &serde_json::json!({"url": signed.url, "expires_at": signed.expires_at}),
            ))
        }
        .await,
    )
}
