//! Lipa na M-Pesa Online: the client asks for the payment request on their phone, reads how it
//! went, and Safaricom's callback (public, down the account's secret path) reports it. The
//! callback is always acknowledged as Daraja documents past the path: a malformed one is
//! logged, never a 5xx; what it says is believed only once Safaricom's query agrees
//! (`Bookings::stk_callback`).

use super::mpesa::{callback_account, text};
use crate::auth::caller;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::{json, read_optional_json, respond, session_id};
use kikao_core::bookings::{Bookings, StkCallback};
use kikao_core::domain::{daraja_time, CheckoutState, Kes, PhoneNumber, TransactionCode};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    /// The M-Pesa number to send the request to, if not the caller's own confirmed one.
    phone: Option<String>,
}

/// A payment request as its client reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutView {
    pub checkout_id: String,
    pub session_id: String,
    /// `pending` (waiting for the PIN), `paid` or `failed`.
    pub state: &'static str,
    pub amount_kes: u32,
    /// What to do now, in a sentence.
    pub message: String,
}

fn view(status: &kikao_core::bookings::CheckoutStatus) -> CheckoutView {
    let c = &status.checkout;
    let (state, message) = match &c.state {
        CheckoutState::Pending => (
            "pending",
            status
                .message
                .unwrap_or(
                    "Check your phone: enter your M-Pesa PIN to pay. This page updates by itself.",
                )
                .to_owned(),
        ),
        CheckoutState::Paid { receipt } => (
            "paid",
            format!("Paid: M-Pesa receipt {receipt}. Your session is confirmed."),
        ),
        CheckoutState::Failed { .. } => {
            ("failed", status.message.unwrap_or("Not paid.").to_owned())
        }
    };
    CheckoutView {
        checkout_id: c.id.clone(),
        session_id: c.session.to_string(),
        state,
        amount_kes: c.amount.amount(),
        message,
    }
}

#[utoipa::path(
    post,
    path = "/api/sessions/{id}/pay-by-mpesa",
    tag = "payments",
    summary = "Put the payment request (Lipa na M-Pesa Online) on the client's phone, for a booking paid through a Till or Paybill",
    params(("id" = String, Path, description = "The booking")),
    request_body(content = PayBody, description = "Optional: another M-Pesa number to pay from"),
    responses(
        (status = 202, description = "Sent: the client enters their PIN on the phone; `GET /api/payments/checkouts/{checkout_id}` says how it went.", body = CheckoutView),
        (status = 404, description = "Not one of the caller's bookings.", body = ErrorBody),
        (status = 409, description = "The booking is not waiting for payment, or its deadline passed.", body = ErrorBody),
        (status = 422, description = "The booking is paid to a personal number, or no phone to send to.", body = ErrorBody),
        (status = 503, description = "`mpesa_unavailable`: M-Pesa did not take the request; try again, or pay by hand.", body = ErrorBody),
    )
)]
pub async fn pay_by_mpesa(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let id = session_id(&req)?;
            let body: PayBody = read_optional_json(&req)?;
            let phone = match body.phone.as_deref() {
                None => None,
                Some(p) => Some(PhoneNumber::parse(p).ok_or_else(|| {
                    ApiError::invalid(
                        "phone",
                        "must be a Kenyan M-Pesa number such as 0712 345 678",
                    )
                })?),
            };
            let checkout = app.pay_by_mpesa(&c, id, phone).await?;
            let status = kikao_core::bookings::CheckoutStatus {
                checkout,
                message: None,
            };
            Ok(json(StatusCode::ACCEPTED, &view(&status)))
        }
        .await,
    )
}

#[utoipa::path(
    get,
    path = "/api/payments/checkouts/{checkout_id}",
    tag = "payments",
    summary = "How a payment request on the client's phone went",
    params(("checkout_id" = String, Path, description = "From `pay-by-mpesa`")),
    responses(
        (status = 200, description = "The request's state and a sentence. One still pending 30 s after it was sent is asked about at Safaricom (at most every 15 s), its callback being late or lost.", body = CheckoutView),
        (status = 404, description = "Not one of the caller's payment requests.", body = ErrorBody),
    )
)]
pub async fn get_checkout(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let id = req
                .path_parameters_ref()
                .and_then(|p| p.first("checkout_id"))
                .filter(|id| !id.is_empty() && id.len() <= 64)
                .map(str::to_owned)
                .ok_or_else(|| ApiError::not_found("There is no such payment request."))?;
            let status = app.checkout_status(&c, &id).await.map_err(|e| match e {
                kikao_core::bookings::BookingError::NotFound => {
                    ApiError::not_found("There is no such payment request.")
                }
                e => e.into(),
            })?;
            Ok(json(StatusCode::OK, &view(&status)))
        }
        .await,
    )
}

/// Daraja's STK callback body: `{"Body": {"stkCallback": {…}}}`.
#[derive(Deserialize, ToSchema)]
pub struct StkCallbackBody {
    #[serde(rename = "Body")]
    #[schema(value_type = Object)]
    body: Value,
}

/// Why a callback could not be read: logged, never sent back.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("not an STK callback: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("{0} is missing or malformed")]
    Field(&'static str),
}

impl StkCallbackBody {
    pub fn callback(&self) -> Result<StkCallback, CallbackError> {
        let cb = &self.body["stkCallback"];
        let checkout_id = cb["CheckoutRequestID"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .ok_or(CallbackError::Field("CheckoutRequestID"))?
            .to_owned();
        let result_code = cb["ResultCode"]
            .as_i64()
            .or_else(|| cb["ResultCode"].as_str().and_then(|s| s.parse().ok()))
            .ok_or(CallbackError::Field("ResultCode"))?;
        let item = |name: &str| {
            cb["CallbackMetadata"]["Item"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["Name"] == name))
                .map(|i| i["Value"].clone())
        };
        let receipt = item("MpesaReceiptNumber")
            .as_ref()
            .and_then(text)
            .and_then(|t| TransactionCode::parse(&t));
        // "2500.00" or the number 2500.0: whole shillings only
        let amount = item("Amount").and_then(|v| match v {
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .and_then(|f| Kes::new(f as u32)),
            v => text(&v).and_then(|t| Kes::parse(&t)),
        });
        let paid_at = item("TransactionDate")
            .as_ref()
            .and_then(text)
            .and_then(|t| daraja_time(&t));
        if result_code == 0 && (receipt.is_none() || amount.is_none()) {
            return Err(CallbackError::Field("CallbackMetadata"));
        }
        Ok(StkCallback {
            checkout_id,
            result_code,
            receipt,
            amount,
            paid_at,
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/hooks/{token}/stk",
    tag = "mpesa",
    summary = "Daraja's STK callback: how a payment request on a client's phone went (public; the path's secret authenticates it, and Safaricom's query confirms a payment)",
    params(("token" = String, Path, description = "The account's callback secret")),
    request_body = StkCallbackBody,
    responses(
        (status = 200, description = "`{\"ResultCode\": 0, \"ResultDesc\": \"Accepted\"}`, whatever the callback said; a malformed one is logged and acknowledged."),
        (status = 404, description = "Not a path this deployment made, or a request of another account.", body = ErrorBody),
    )
)]
pub async fn mpesa_stk_callback(app: &Bookings, req: Request) -> Response<Body> {
    let token = match callback_account(app, &req).await {
        Ok(t) => t,
        Err(e) => return crate::error_response(&e),
    };
    let read = serde_json::from_slice::<StkCallbackBody>(req.body().as_ref())
        .map_err(CallbackError::from)
        .and_then(|b| b.callback());
    match read {
        Err(e) => tracing::warn!(error = %e, "unreadable STK callback acknowledged"),
        Ok(cb) => match app.stk_callback(&token, cb).await {
            Ok(outcome) => tracing::info!(?outcome, "STK callback handled"),
            Err(kikao_core::bookings::BookingError::NotFound) => {
                tracing::warn!("STK callback of another account than its path's");
                return crate::error_response(&super::mpesa::unknown_path());
            }
            Err(e) => tracing::error!(error = %e, "STK callback could not be handled"),
        },
    }
    json(
        StatusCode::OK,
        &serde_json::json!({"ResultCode": 0, "ResultDesc": "Accepted"}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str) -> Result<StkCallback, CallbackError> {
        let path = format!(
            "{}/../../tests/fixtures/daraja/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice::<StkCallbackBody>(&std::fs::read(&path).unwrap())
            .map_err(CallbackError::from)
            .and_then(|b| b.callback())
    }

    #[test]
    fn every_captured_callback_is_read() {
        let ok = read("stk_callback_success.json").unwrap();
        assert_eq!(ok.result_code, 0);
        assert_eq!(ok.receipt.unwrap().as_str(), "NKP3WQ58DX");
        assert_eq!(ok.amount, Kes::new(2500));
        // 10:21:15 in Nairobi
        assert_eq!(
            ok.paid_at.unwrap().to_rfc3339(),
            "2019-12-19T07:21:15+00:00"
        );
        read("stk_callback_success_with_balance.json").unwrap();
        for (f, code) in [
            ("stk_callback_1032_cancelled.json", 1032),
            ("stk_callback_1032_cancelled_prefixed.json", 1032),
            ("stk_callback_1031_cancelled.json", 1031),
            ("stk_callback_1037_ds_timeout.json", 1037),
            ("stk_callback_1037_ds_timeout_short.json", 1037),
            ("stk_callback_1037_no_response.json", 1037),
            ("stk_callback_2001_invalid_initiator.json", 2001),
            ("stk_callback_2001_prefixed.json", 2001),
            ("stk_callback_1_insufficient_balance.json", 1),
            ("stk_callback_1001_subscriber_locked.json", 1001),
            ("stk_callback_1019_expired.json", 1019),
            ("stk_callback_1025_push_error.json", 1025),
            ("stk_callback_1036_smsc_ack_timeout.json", 1036),
            ("stk_callback_17_rule_limited.json", 17),
            ("stk_callback_2028_not_permitted.json", 2028),
            ("stk_callback_26_system_busy.json", 26),
            ("stk_callback_8006_credential_locked.json", 8006),
            ("stk_callback_9999_push_error.json", 9999),
        ] {
            let cb = read(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!((cb.result_code, cb.receipt), (code, None), "{f}");
        }
    }
}
