//! M-Pesa proof: the presigned screenshot upload, submitting the code (or the pasted SMS), and
//! the short-lived link that lets the two parties see the screenshot. What makes a screenshot
//! acceptable is the use case's (`kikao_core::bookings`); this reads and answers requests.

use crate::auth::caller;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, IfMatch, SessionPath};
use crate::views::{
    ChecksView, MpesaReading, ProofLink, SessionView, UploadHeaders, UploadInstructions,
};
use crate::{expected_version, json, read_json, respond, session_id, session_response};
use kikao_core::bookings::{Bookings, Intent};
use kikao_core::domain::{MpesaReceipt, PaymentClaim, SessionId, TransactionCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

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
/// Longest pasted message accepted: an M-Pesa confirmation is a few hundred characters.
const MAX_MESSAGE_CHARS: usize = 2000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseBody {
    /// The pasted M-Pesa SMS (or several, as copied from a chat or an inbox).
    #[schema(
        max_length = 2000,
        example = "QK71ABC123 Confirmed. Ksh2,000.00 sent to AMANI NJERI 0700000111 on 25/10/26 at 10:00 AM New M-PESA balance is Ksh106.00."
    )]
    message: String,
    /// The booking it would pay: then the answer also compares it with that booking.
    session_id: Option<String>,
}

/// A pasted message, read; the long ones are refused before reading.
fn read_message(field: &str, message: &str) -> Result<MpesaReceipt, ApiError> {
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(
            field,
            "is longer than one M-Pesa message; paste only the confirmation (at most 2,000 characters)",
        ));
    }
    Ok(MpesaReceipt::parse(message)?)
}

#[utoipa::path(
    post,
    path = "/api/payments/parse-mpesa",
    tag = "payments",
    summary = "What a pasted M-Pesa SMS proves (any signed-in user; nothing is stored)",
    request_body = ParseBody,
    responses(
        (status = 200, description = "A payment: send money, pay bill, buy goods (till) or Pochi la Biashara.", body = MpesaReading),
        (status = 404, description = "`session_id` is not one of the caller's bookings.", body = ErrorBody),
        (status = 422, description = "`not_a_payment`: an M-Pesa message that proves no payment (money received, a withdrawal, a reversal, Fuliza…; the message names it), a payment pasted with its own reversal, or two payments at once. `unreadable`: not an M-Pesa confirmation.", body = ErrorBody),
    )
)]
pub async fn parse_mpesa(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let body: ParseBody = read_json(&req)?;
            let r = read_message("message", &body.message)?;
            let mut reading = MpesaReading::from(&r);
            if let Some(id) = body.session_id.as_deref() {
                let id = SessionId::parse(id).ok_or_else(ApiError::session_not_found)?;
                let checks = app.payment_checks(&c, id, &r).await?;
                reading.checks = Some(ChecksView::from(&checks));
            }
            Ok(json(StatusCode::OK, &reading))
        }
        .await,
    )
}

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
pub async fn request_proof_upload(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let body: UploadBody = read_json(&req)?;
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let expected = expected_version(&req)?;
            let up = app
                .proof_upload(&c, id, expected, body.content_type, body.size_bytes)
                .await?;
            Ok(json(
                StatusCode::OK,
                &UploadInstructions {
                    upload_url: up.signed.url,
                    method: "PUT".to_owned(),
                    headers: UploadHeaders {
                        content_type: up.content_type,
                    },
                    key: up.key,
                    expires_at: up.signed.expires_at,
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
pub async fn submit_payment(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let body: SubmitBody = read_json(&req)?;
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let expected = expected_version(&req)?;
            let claim = body.claim()?;
            let after = app
                .act(&c, id, expected, Intent::SubmitPayment(claim))
                .await?;
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
pub async fn get_payment_proof(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let signed = app.proof_link(&c, id).await?;
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

impl SubmitBody {
    /// The payment as claimed: a typed code, a pasted M-Pesa message (which gives the amount,
    /// time and recipient too), or both when they agree.
    fn claim(&self) -> Result<PaymentClaim, ApiError> {
        let typed = match self.transaction_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => Some(TransactionCode::parse(t).ok_or_else(|| {
                ApiError::invalid(
                    "transaction_code",
                    "an M-Pesa code is 10 letters and digits, such as QK71ABC123",
                )
            })?),
        };
        let receipt = match self.mpesa_message.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) => Some(read_message("mpesa_message", m)?),
        };
        let proof_key = self.proof_key.clone().filter(|k| !k.is_empty());
        match (typed, receipt) {
            (None, None) => Err(ApiError::invalid(
                "transaction_code",
                "give the M-Pesa transaction code or paste the M-Pesa confirmation message",
            )),
            (Some(code), None) => Ok(PaymentClaim {
                code,
                amount: None,
                paid_at: None,
                recipient: None,
                recipient_phone: None,
                proof_key,
                proof_version: None,
                proof_file: None,
            }),
            (Some(t), Some(r)) if t != r.code => Err(ApiError::invalid(
                "transaction_code",
                "does not match the code in the pasted M-Pesa message; send one or make them agree",
            )),
            (_, Some(r)) => Ok(PaymentClaim {
                amount: Some(r.amount.whole_kes().ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "not_a_payment",
                        format!(
                            "The M-Pesa message shows {}, which is not a whole number of shillings as a session's price is; paste the confirmation of the payment for this session.",
                            r.amount
                        ),
                    )
                })?),
                code: r.code,
                paid_at: r.sent_at,
                recipient: r.recipient,
                recipient_phone: r.recipient_phone,
                proof_key,
                proof_version: None,
                proof_file: None,
            }),
        }
    }
}
