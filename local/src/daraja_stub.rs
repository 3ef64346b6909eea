//! Safaricom's side of a Till or Paybill payment, for the dev server, where no M-Pesa exists:
//! `POST /dev/mpesa/pay {"session_id"}` pays an approved booking as its client would by hand,
//! and M-Pesa's C2B confirmation of it (Daraja's documented body, as in
//! `tests/fixtures/daraja/c2b_confirmation_paybill.json`) is posted down the account's secret
//! path through the same route Safaricom calls in AWS. `GET /dev/mpesa/callback-urls` shows a
//! psychologist the two URLs to register with Daraja for their Till or Paybill.

use super::{bearer_account, call_route, json_error, Local};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kikao_core::domain::{BusinessKind, CallbackToken, SessionId, Status};
use kikao_http::routes::ROUTES;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(super) struct PayBody {
    session_id: String,
}

fn refused(status: StatusCode, message: &str) -> Response {
    json_error(status, "dev_mpesa", message)
}

/// A receipt of M-Pesa's shape (ten letters and digits), made up.
fn receipt() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("TK{}", &raw[..8])
}

pub(super) async fn pay(
    State(local): State<Arc<Local>>,
    headers: HeaderMap,
    Json(body): Json<PayBody>,
) -> Response {
    let (_, who) = match bearer_account(&local, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let session = match SessionId::parse(body.session_id.trim()) {
        Some(id) => local.app.sessions.get(id).await.ok().flatten(),
        None => None,
    };
    let Some(s) = session.filter(|s| s.client.id == who.user_id) else {
        return refused(
            StatusCode::NOT_FOUND,
            "There is no such booking in your account.",
        );
    };
    let Some(business) = s.business.clone().filter(|_| s.status == Status::Approved) else {
        return refused(
            StatusCode::CONFLICT,
            "Only a booking approved with a Till or Paybill is paid this way.",
        );
    };
    let key = match local.app.callback_key.callback_key().await {
        Ok(k) => k,
        Err(e) => return refused(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let nairobi = chrono::FixedOffset::east_opt(3 * 3600).expect("UTC+3");
    let now = kikao_core::ports::Clock::now(local.clock.as_ref()).with_timezone(&nairobi);
    let paybill = business.kind == BusinessKind::Paybill;
    let first = s
        .client
        .name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_uppercase();
    let report = serde_json::json!({
        "TransactionType": if paybill { "Pay Bill" } else { "Customer Merchant Payment" },
        "TransID": receipt(),
        "TransTime": now.format("%Y%m%d%H%M%S").to_string(),
        "TransAmount": format!("{}.00", s.price_kes.amount()),
        "BusinessShortCode": business.shortcode.as_str(),
        "BillRefNumber": if paybill { s.reference().to_string() } else { String::new() },
        "InvoiceNumber": "",
        "OrgAccountBalance": "",
        "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 126",
        "FirstName": first,
    });
    let token = CallbackToken::for_shortcode(&key, &business.shortcode);
    let route = ROUTES
        .iter()
        .find(|r| r.function == "mpesa-c2b-confirmation")
        .expect("the confirmation route");
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/mpesa/{token}/c2b/confirmation"))
        .header("content-type", "application/json")
        .body(Body::from(report.to_string()))
        .expect("a request");
    let res = call_route(local.clone(), route, req).await;
    if !res.status().is_success() {
        return refused(StatusCode::BAD_GATEWAY, "The callback refused the payment.");
    }
    Json(serde_json::json!({ "reported": report })).into_response()
}

/// The signed-in psychologist's callback URLs, for their Till or Paybill.
pub(super) async fn callback_urls(State(local): State<Arc<Local>>, headers: HeaderMap) -> Response {
    let (_, who) = match bearer_account(&local, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let business = local
        .app
        .profiles
        .get_profile(&who.user_id)
        .await
        .ok()
        .flatten()
        .and_then(|p| p.psychologist)
        .and_then(|d| d.business);
    let Some(b) = business else {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Add a Till or Paybill to your profile first.",
        );
    };
    let key = match local.app.callback_key.callback_key().await {
        Ok(k) => k,
        Err(e) => return refused(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let base = format!(
        "{}/api/mpesa/{}/c2b",
        local.public_url.trim_end_matches('/'),
        CallbackToken::for_shortcode(&key, &b.shortcode)
    );
    Json(serde_json::json!({
        "shortcode": b.shortcode.as_str(),
        "confirmation_url": format!("{base}/confirmation"),
        "validation_url": format!("{base}/validation"),
    }))
    .into_response()
}
