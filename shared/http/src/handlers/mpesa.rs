//! M-Pesa's reports of payments into psychologists' Tills and Paybills (Daraja's C2B
//! callbacks), and the psychologist's list of the payments no booking matched.
//!
//! The two callbacks are public: Safaricom signs nothing, so the path's secret
//! (`CallbackToken`) is what authenticates a call, and an unknown path is a 404 like any
//! missing page. Past the path, Safaricom always gets the acknowledgement Daraja documents,
//! whatever the body: a malformed report is logged (without the payer's details) and
//! acknowledged, never answered with a 5xx, and nothing in it is trusted beyond what
//! `Bookings::receive_mpesa_payment` matches.

use crate::auth::caller;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::views::{SessionView, UnmatchedPaymentView};
use crate::{json, read_json, respond};
use kikao_core::bookings::Bookings;
use kikao_core::domain::{
    daraja_time, Kes, ReceivedPayment, SessionId, ShortCode, TransactionCode,
};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The path's secret, or `None`.
pub(super) fn token(req: &Request) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first("token"))
        .map(str::to_owned)
}

fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

pub(super) fn unknown_path() -> ApiError {
    ApiError::not_found("There is nothing at this address.")
}

/// The callback's account, if the path is one this deployment made and the call comes from
/// an allowed address (when the practice configured a list).
pub(super) async fn callback_account(app: &Bookings, req: &Request) -> Result<String, ApiError> {
    let allowed = &app.config.mpesa_sources;
    if !allowed.is_empty() {
        let ip = source_ip(req).unwrap_or_default();
        if !allowed.iter().any(|a| a == &ip) {
            tracing::warn!(source = %ip, "M-Pesa callback from an address not on the allow list");
            return Err(unknown_path());
        }
    }
    let token = token(req).ok_or_else(unknown_path)?;
    match app.callback_account(&token).await {
        Ok(_) => Ok(token),
        Err(kikao_core::bookings::BookingError::NotFound) => {
            tracing::warn!("M-Pesa callback on a path this deployment did not make");
            Err(unknown_path())
        }
        Err(e) => Err(e.into()),
    }
}

/// Daraja's C2B confirmation and validation body; every value is a string in Daraja's pages,
/// but integrations have seen numbers, so each is read as either.
#[derive(Deserialize, ToSchema)]
pub struct C2bReport {
    #[serde(rename = "TransID")]
    #[schema(value_type = String, example = "RKT83MWP6C")]
    trans_id: Value,
    #[serde(rename = "TransTime")]
    #[schema(value_type = String, example = "20231121121325")]
    trans_time: Value,
    #[serde(rename = "TransAmount")]
    #[schema(value_type = String, example = "2500.00")]
    trans_amount: Value,
    #[serde(rename = "BusinessShortCode")]
    #[schema(value_type = String, example = "600000")]
    business_short_code: Value,
    #[serde(rename = "BillRefNumber", default)]
    #[schema(value_type = Option<String>, example = "KK7Q2M3X")]
    bill_ref_number: Option<Value>,
    #[serde(rename = "FirstName", default)]
    #[schema(value_type = Option<String>, example = "WANJIRU")]
    first_name: Option<Value>,
}

pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Why a report could not be read: logged, never sent back.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("not a C2B report: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("{0} is missing or malformed")]
    Field(&'static str),
}

impl C2bReport {
    /// The payment it reports. Times are Nairobi's (Daraja's `YYYYMMDDHHmmss`).
    pub fn payment(&self) -> Result<ReceivedPayment, ReportError> {
        let receipt = text(&self.trans_id)
            .and_then(|t| TransactionCode::parse(&t))
            .ok_or(ReportError::Field("TransID"))?;
        let amount = text(&self.trans_amount)
            .and_then(|t| Kes::parse(&t))
            .ok_or(ReportError::Field("TransAmount"))?;
        let paid_at = text(&self.trans_time)
            .and_then(|t| daraja_time(&t))
            .ok_or(ReportError::Field("TransTime"))?;
        let shortcode = text(&self.business_short_code)
            .and_then(|t| ShortCode::parse(&t))
            .ok_or(ReportError::Field("BusinessShortCode"))?;
        let nonempty = |v: &Option<Value>| v.as_ref().and_then(text).filter(|t| !t.is_empty());
        Ok(ReceivedPayment {
            receipt,
            amount,
            paid_at,
            shortcode,
            account: nonempty(&self.bill_ref_number),
            payer: nonempty(&self.first_name).map(|n| n.chars().take(60).collect()),
        })
    }
}

/// What Daraja documents as the answer to a confirmation: "always 0".
fn acknowledged() -> Response<Body> {
    json(
        StatusCode::OK,
        &serde_json::json!({"ResultCode": 0, "ResultDesc": "Success"}),
    )
}

#[utoipa::path(
    post,
    path = "/api/hooks/{token}/c2b/confirmation",
    tag = "mpesa",
    summary = "Daraja's C2B confirmation: M-Pesa reports a payment into a psychologist's Till or Paybill (public; the path's secret authenticates it)",
    params(("token" = String, Path, description = "The account's callback secret (`infra/mpesa-callback-urls` prints it)")),
    request_body = C2bReport,
    responses(
        (status = 200, description = "Acknowledged, as Daraja documents (`{\"ResultCode\": 0, \"ResultDesc\": \"Success\"}`), whatever became of the payment; a malformed report is logged and acknowledged."),
        (status = 404, description = "Not a path this deployment made, or not from an allowed address.", body = ErrorBody),
    )
)]
pub async fn mpesa_c2b_confirmation(app: &Bookings, req: Request) -> Response<Body> {
    let token = match callback_account(app, &req).await {
        Ok(t) => t,
        Err(e) => return crate::error_response(&e),
    };
    let report = serde_json::from_slice::<C2bReport>(req.body().as_ref())
        .map_err(ReportError::from)
        .and_then(|r| r.payment());
    let payment = match report {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable M-Pesa confirmation acknowledged");
            return acknowledged();
        }
    };
    match app.receive_mpesa_payment(&token, payment).await {
        Ok(outcome) => tracing::info!(?outcome, "M-Pesa confirmation handled"),
        Err(kikao_core::bookings::BookingError::NotFound) => {
            // the path is this deployment's, but the report is of another account
            tracing::warn!("M-Pesa confirmation of another account than its path's");
            return crate::error_response(&unknown_path());
        }
        // Daraja is not known to retry a confirmation: the payment is then still in the
        // psychologist's M-Pesa statement, which the statement check reads
        Err(e) => tracing::error!(error = %e, "M-Pesa confirmation could not be recorded"),
    }
    acknowledged()
}

#[utoipa::path(
    post,
    path = "/api/hooks/{token}/c2b/validation",
    tag = "mpesa",
    summary = "Daraja's C2B validation: accepts every payment (a payment no booking matches waits in the Unmatched list rather than bouncing)",
    params(("token" = String, Path, description = "The account's callback secret")),
    request_body = C2bReport,
    responses(
        (status = 200, description = "`{\"ResultCode\": \"0\", \"ResultDesc\": \"Accepted\"}`"),
        (status = 404, description = "Not a path this deployment made.", body = ErrorBody),
    )
)]
pub async fn mpesa_c2b_validation(app: &Bookings, req: Request) -> Response<Body> {
    if let Err(e) = callback_account(app, &req).await {
        return crate::error_response(&e);
    }
    json(
        StatusCode::OK,
        &serde_json::json!({"ResultCode": "0", "ResultDesc": "Accepted"}),
    )
}

#[utoipa::path(
    get,
    path = "/api/payments/unmatched",
    tag = "payments",
    summary = "The psychologist's M-Pesa payments that confirmed no booking, oldest first",
    responses(
        (status = 200, description = "The unmatched payments into the caller's Till or Paybill.", body = [UnmatchedPaymentView]),
        (status = 403, description = "Only psychologists have them.", body = ErrorBody),
        (status = 422, description = "The caller's profile has no Till or Paybill.", body = ErrorBody),
    )
)]
pub async fn list_unmatched_payments(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let entries = app.unmatched_payments(&c).await?;
            let views: Vec<UnmatchedPaymentView> =
                entries.iter().map(UnmatchedPaymentView::from).collect();
            Ok(json(StatusCode::OK, &views))
        }
        .await,
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachBody {
    /// The booking the payment was for.
    session_id: String,
}

#[utoipa::path(
    post,
    path = "/api/payments/unmatched/{receipt}/attach",
    tag = "payments",
    summary = "Take an unmatched M-Pesa payment as a booking's: the booking is confirmed",
    params(("receipt" = String, Path, description = "The payment's M-Pesa receipt")),
    request_body = AttachBody,
    responses(
        (status = 200, description = "The booking, now confirmed.", body = SessionView),
        (status = 403, description = "Only psychologists attach payments.", body = ErrorBody),
        (status = 404, description = "Not one of the caller's bookings.", body = ErrorBody),
        (status = 409, description = "The booking is not waiting for payment, or the code pays for another booking.", body = ErrorBody),
        (status = 422, description = "Not an unmatched payment of the caller's account, or less than the price.", body = ErrorBody),
    )
)]
pub async fn attach_payment(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let receipt = req
                .path_parameters_ref()
                .and_then(|p| p.first("receipt"))
                .and_then(TransactionCode::parse)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "receipt",
                        "is not an unmatched payment into your Till or Paybill; refresh the list",
                    )
                })?;
            let body: AttachBody = read_json(&req)?;
            let id =
                SessionId::parse(body.session_id.trim()).ok_or_else(ApiError::session_not_found)?;
            let s = app.attach_payment(&c, &receipt, id).await?;
            Ok(crate::session_response(app, &c, &s, StatusCode::OK))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../tests/fixtures/daraja/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn read(name: &str) -> Result<ReceivedPayment, ReportError> {
        serde_json::from_slice::<C2bReport>(&fixture(name))
            .map_err(ReportError::from)
            .and_then(|r| r.payment())
    }

    #[test]
    fn every_captured_confirmation_shape_is_read() {
        let p = read("c2b_confirmation_paybill.json").unwrap();
        assert_eq!(p.receipt.as_str(), "RKT83MWP6C");
        assert_eq!(p.amount, Kes::new(2500).unwrap());
        assert_eq!(p.shortcode.as_str(), "600000");
        assert_eq!(p.account.as_deref(), Some("KK7Q2M"));
        assert_eq!(p.payer.as_deref(), Some("WANJIRU"));
        // 12:13:25 in Nairobi is 09:13:25 UTC
        assert_eq!(p.paid_at.to_rfc3339(), "2023-11-21T09:13:25+00:00");
        let till = read("c2b_confirmation_buygoods_hashed_msisdn.json").unwrap();
        assert_eq!(
            (till.account, till.payer.as_deref()),
            (None, Some("KIPROTICH"))
        );
        for f in [
            "c2b_confirmation_buygoods_legacy.json",
            "c2b_confirmation_paybill_firstname_only.json",
            "c2b_confirmation_paybill_from_stkpush.json",
            "c2b_confirmation_paybill_legacy_full_msisdn.json",
            "c2b_confirmation_paybill_v1_hashed.json",
            "c2b_validation_paybill.json",
        ] {
            read(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }

    #[test]
    fn a_report_missing_what_matters_is_refused_by_name() {
        let mut v: Value =
            serde_json::from_slice(&fixture("c2b_confirmation_paybill.json")).unwrap();
        v["TransAmount"] = Value::from("25.50");
        let r: C2bReport = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(
            r.payment(),
            Err(ReportError::Field("TransAmount"))
        ));
        v["TransAmount"] = Value::from(2500);
        v["TransID"] = Value::from("short");
        let r: C2bReport = serde_json::from_value(v).unwrap();
        assert!(matches!(r.payment(), Err(ReportError::Field("TransID"))));
        assert!(serde_json::from_slice::<C2bReport>(b"{\"hello\": 1}").is_err());
    }
}
