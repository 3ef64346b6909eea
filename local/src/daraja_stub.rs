//! Safaricom's side of a Till or Paybill payment, for the dev server, where no M-Pesa exists:
//! `POST /dev/mpesa/pay {"session_id"}` pays an approved booking as its client would by hand,
//! and M-Pesa's C2B confirmation of it (Daraja's documented body, as in
//! `tests/fixtures/daraja/c2b_confirmation_paybill.json`) is posted down the account's secret
//! path through the same route Safaricom calls in AWS. `GET /dev/mpesa/callback-urls` shows a
//! psychologist the two URLs to register with Daraja for their Till or Paybill.
//!
//! Daraja itself, for payment requests on a client's phone, under `/dev/daraja`: OAuth, STK push
//! and STK query with Daraja's request and response shapes (its errors too: a wrong key, an
//! unknown token, a wrong password, "being processed"), which the dev server's own Daraja client
//! (`kikao_daraja::DarajaHttp`) calls as it would call Safaricom. `POST /dev/mpesa/stk/{id}
//! {"result_code"}` is the client's phone: 0 enters the PIN, 1032 cancels, 2001 a wrong PIN, …;
//! Safaricom's callback then goes to the URL the request named.

use super::{bearer_account, call_route, json_error, Local};
use axum::body::Body;
use axum::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use kikao_core::domain::{stk_password, ShortCode};
use kikao_core::domain::{BusinessKind, CallbackToken, SessionId, Status};
use kikao_http::routes::ROUTES;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

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
        .uri(format!("/api/hooks/{token}/c2b/confirmation"))
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
        "{}/api/hooks/{}/c2b",
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

/// The dev stand-in's own Daraja app (`kikao_daraja::FixedCredentials` on the dev server).
pub const CONSUMER_KEY: &str = "dev-consumer-key";
pub const CONSUMER_SECRET: &str = "dev-consumer-secret";
pub const PASSKEY: &str = "dev-passkey-bfb279f9aa9bdbcf158e97dd71a467cd";

pub fn credentials() -> kikao_daraja::Credentials {
    kikao_daraja::Credentials {
        consumer_key: CONSUMER_KEY.into(),
        consumer_secret: CONSUMER_SECRET.into(),
        passkey: PASSKEY.into(),
    }
}

/// A payment request on a made-up phone.
#[derive(Clone)]
struct Pending {
    callback_url: String,
    amount: String,
    phone: String,
    /// `None` while the phone shows the request; then the result code.
    result: Option<i64>,
}

/// What the stand-in remembers: the tokens it gave and the requests on phones.
#[derive(Default)]
pub struct Stub {
    tokens: Mutex<Vec<String>>,
    requests: Mutex<HashMap<String, Pending>>,
    queries: AtomicUsize,
}

impl Stub {
    /// How many OAuth tokens the stand-in has handed out.
    pub fn tokens_issued(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }

    /// How many STK queries the stand-in has been asked.
    pub fn queries_asked(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

fn daraja_error(status: StatusCode, code: &str, message: &str) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (
        status,
        Json(
            serde_json::json!({"requestId": &id[..18], "errorCode": code, "errorMessage": message}),
        ),
    )
        .into_response()
}

fn bearer_known(local: &Local, headers: &HeaderMap) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    token.is_some_and(|t| local.daraja.tokens.lock().unwrap().iter().any(|k| k == t))
}

/// `GET /dev/daraja/oauth/v1/generate?grant_type=client_credentials`, Basic auth.
pub(super) async fn oauth(State(local): State<Arc<Local>>, headers: HeaderMap) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{CONSUMER_KEY}:{CONSUMER_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return daraja_error(
            StatusCode::BAD_REQUEST,
            "400.008.01",
            "Invalid Authentication passed",
        );
    }
    let token = uuid::Uuid::new_v4().simple().to_string()[..28].to_owned();
    local.daraja.tokens.lock().unwrap().push(token.clone());
    Json(serde_json::json!({"access_token": token, "expires_in": "3599"})).into_response()
}

fn field(body: &serde_json::Value, name: &str) -> String {
    match &body[name] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `POST /dev/daraja/mpesa/stkpush/v1/processrequest`
pub(super) async fn stk_push(
    State(local): State<Arc<Local>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if !bearer_known(&local, &headers) {
        return daraja_error(
            StatusCode::UNAUTHORIZED,
            "404.001.03",
            "Invalid Access Token",
        );
    }
    let code = field(&body, "BusinessShortCode");
    let Some(shortcode) = ShortCode::parse(&code) else {
        return daraja_error(
            StatusCode::BAD_REQUEST,
            "400.002.02",
            "Bad Request - Invalid BusinessShortCode",
        );
    };
    if field(&body, "Password") != stk_password(&shortcode, PASSKEY, &field(&body, "Timestamp")) {
        return daraja_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500.001.1001",
            "Wrong credentials",
        );
    }
    let callback_url = field(&body, "CallBackURL");
    if !callback_url.starts_with("http")
        || kikao_core::domain::refused_url_word(&callback_url).is_some()
    {
        return daraja_error(
            StatusCode::BAD_REQUEST,
            "400.002.02",
            "Bad Request - Invalid CallBackURL",
        );
    }
    let id = format!(
        "ws_CO_{}{}",
        field(&body, "Timestamp"),
        &uuid::Uuid::new_v4().as_u128().to_string()[..12]
    );
    local.daraja.requests.lock().unwrap().insert(
        id.clone(),
        Pending {
            callback_url,
            amount: field(&body, "Amount"),
            phone: field(&body, "PhoneNumber"),
            result: None,
        },
    );
    Json(serde_json::json!({
        "MerchantRequestID": uuid::Uuid::new_v4().to_string(),
        "CheckoutRequestID": id,
        "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    }))
    .into_response()
}

/// `POST /dev/daraja/mpesa/stkpushquery/v1/query`
pub(super) async fn stk_query(
    State(local): State<Arc<Local>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if !bearer_known(&local, &headers) {
        return daraja_error(
            StatusCode::UNAUTHORIZED,
            "404.001.03",
            "Invalid Access Token",
        );
    }
    local.daraja.queries.fetch_add(1, Ordering::SeqCst);
    let id = field(&body, "CheckoutRequestID");
    let found = local.daraja.requests.lock().unwrap().get(&id).cloned();
    match found {
        None => daraja_error(StatusCode::INTERNAL_SERVER_ERROR, "500.001.1001", "The transaction does not exist"),
        Some(Pending { result: None, .. }) => daraja_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500.001.1001",
            "The transaction is being processed",
        ),
        Some(Pending { result: Some(code), .. }) => Json(serde_json::json!({
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": uuid::Uuid::new_v4().to_string(),
            "CheckoutRequestID": id,
            "ResultCode": code.to_string(),
            "ResultDesc": if code == 0 { "The service request is processed successfully." } else { "Request Cancelled by user." },
        }))
        .into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct PhoneBody {
    result_code: i64,
    /// Safaricom's callback is lost on its way, as some are: only a query learns the result.
    #[serde(default)]
    lose_callback: bool,
}

/// `POST /dev/mpesa/stk/{checkout_id} {"result_code", "lose_callback"?}`: the client's phone
/// answers, and Safaricom's callback goes to the URL the request named (unless it is lost).
pub(super) async fn phone(
    State(local): State<Arc<Local>>,
    Path(id): Path<String>,
    Json(body): Json<PhoneBody>,
) -> Response {
    let request = {
        let mut all = local.daraja.requests.lock().unwrap();
        match all.get_mut(&id) {
            Some(p) if p.result.is_none() => {
                p.result = Some(body.result_code);
                p.clone()
            }
            Some(_) => {
                return refused(
                    StatusCode::CONFLICT,
                    "This payment request was answered already.",
                )
            }
            None => return refused(StatusCode::NOT_FOUND, "There is no such payment request."),
        }
    };
    let mut callback = serde_json::json!({"Body": {"stkCallback": {
        "MerchantRequestID": uuid::Uuid::new_v4().to_string(),
        "CheckoutRequestID": id,
        "ResultCode": body.result_code,
        "ResultDesc": if body.result_code == 0 { "The service request is processed successfully." } else { kikao_core::domain::stk_failure(body.result_code) },
    }}});
    if body.result_code == 0 {
        let nairobi = chrono::FixedOffset::east_opt(3 * 3600).expect("UTC+3");
        let now = kikao_core::ports::Clock::now(local.clock.as_ref()).with_timezone(&nairobi);
        let amount: f64 = request.amount.parse().unwrap_or(0.0);
        callback["Body"]["stkCallback"]["CallbackMetadata"] = serde_json::json!({"Item": [
            {"Name": "Amount", "Value": amount},
            {"Name": "MpesaReceiptNumber", "Value": receipt()},
            {"Name": "TransactionDate", "Value": now.format("%Y%m%d%H%M%S").to_string().parse::<u64>().unwrap_or(0)},
            {"Name": "PhoneNumber", "Value": request.phone.parse::<u64>().unwrap_or(0)},
        ]});
    }
    if body.lose_callback {
        return Json(serde_json::json!({"callback_status": null})).into_response();
    }
    let sent = reqwest::Client::new()
        .post(&request.callback_url)
        .json(&callback)
        .send()
        .await;
    match sent {
        Ok(r) => Json(serde_json::json!({"callback_status": r.status().as_u16()})).into_response(),
        Err(e) => refused(
            StatusCode::BAD_GATEWAY,
            &format!("The callback did not arrive: {e}"),
        ),
    }
}
