//! Who may call what: every endpoint × every kind of caller, through the dev server's router
//! with real signed tokens, in one table below that a reader can audit line by line.
//!
//! Each row gets a fresh server and one booking between Wanjiru (client) and Dr. Amani
//! (psychologist), brought through the API to the status the endpoint acts on. The whole table
//! runs on the embedded default, on the AWS adapters (moto), and once more with the server
//! checking RS256 tokens against an OpenID provider's published keys as API Gateway's JWT
//! authorizer does (`--oidc-issuer`). The callers:
//!
//! | column | who |
//! |---|---|
//! | `none` | no `Authorization` header |
//! | `bad` | a token whose signature is not the server's (the provider's) |
//! | `expired` | a token the server signed, expired an hour ago |
//! | `client2` | Kevin: another client, with bookings of his own |
//! | `psy2` | Dr. Baraka: another psychologist, with bookings of his own |
//! | `wrong` | the booking's own party in the role the endpoint is not for (Dr. Amani on a client endpoint, Wanjiru on a psychologist endpoint); on endpoints open to both roles, a signed-in user with no Kikao group; on the administrator's, Wanjiru |
//! | `admin` | Nia: a practice administrator, party to no booking |
//! | `nomfa` | Dr. Amani (on the administrator's endpoints, Nia) before setting up two-step sign-in: every change is `403 mfa_required` |
//! | `right` | the booking's party the endpoint is for (Wanjiru where both may act); on the administrator's endpoints, Nia |
//!
//! M-Pesa's callbacks are public: every column gets the same answer there, since the secret in
//! the path, not a token, is what lets a call in (the rows report a payment of no booking).
//!
//! Every refused call must leave the booking as it was, and no body a caller other than the
//! booking's parties receives may carry any of its fields (id, the client's name, the note,
//! the transaction code, the meeting link).

mod support;

use std::sync::Arc;
use support::issuer::Issuer;
use support::{now0, Server};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use kikao_http::routes::ROUTES;
use serde_json::{json, Value};
use tower::ServiceExt;

/// What the booking must be before the row's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Pending,
    Approved,
    /// Paid with a screenshot, so the proof link exists.
    PaymentSubmitted,
    Confirmed,
    /// Confirmed, with a new time proposed by the psychologist (the client answers).
    RescheduleProposed,
    /// Confirmed, and the clock ten minutes before the start.
    AboutToStart,
    InProgress,
    /// Dr. Amani paid through a Paybill (Dr. Baraka through a Till of his own), the booking
    /// approved, and a payment into the Paybill that matched nothing waiting in her list.
    ApprovedOnPaybill,
}
use Stage::*;

const PAYBILL: &str = "600000";
/// The receipt of the payment that matched nothing.
const UNMATCHED: &str = "RKT83MTX99";
/// The payment request on the client's phone.
const CHECKOUT: &str = "ws_CO_0701203009000012345";

struct Row {
    method: &'static str,
    path: &'static str,
    stage: Stage,
    /// Status for: none, bad, expired, client2, psy2, wrong, admin, nomfa, right.
    expect: [u16; 9],
}

const fn row(method: &'static str, path: &'static str, stage: Stage, expect: [u16; 9]) -> Row {
    Row {
        method,
        path,
        stage,
        expect,
    }
}

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //   method    path                                        stage                none bad  exp  client2 psy2 wrong admin nomfa right
    row("GET",    "/api/me",                                   Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("PUT",    "/api/me",                                   Pending,            [401, 401, 401, 200,    200, 403,  403,  403,  200]),
    row("GET",    "/api/privacy-notice",                       Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("PUT",    "/api/me/consent",                           Pending,            [401, 401, 401, 200,    200, 403,  403,  403,  200]),
    row("GET",    "/api/me/export",                            Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("DELETE", "/api/me",                                   Pending,            [401, 401, 401, 200,    403, 403,  403,  403,  200]),
    row("GET",    "/api/me/changes",                           Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("GET",    "/api/psychologists",                        Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("GET",    "/api/psychologists/{id}/availability",      Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("POST",   "/api/sessions",                             Pending,            [401, 401, 401, 201,    403, 403,  403,  403,  201]),
    row("GET",    "/api/sessions",                             Pending,            [401, 401, 401, 200,    200, 403,  403,  200,  200]),
    row("GET",    "/api/sessions/pending-approval",            Pending,            [401, 401, 401, 403,    200, 403,  403,  200,  200]),
    row("GET",    "/api/sessions/{id}",                        Pending,            [401, 401, 401, 404,    404, 403,  403,  200,  200]),
    row("PUT",    "/api/sessions/{id}/approve",                Pending,            [401, 401, 401, 403,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/decline",                Pending,            [401, 401, 401, 403,    404, 403,  403,  403,  200]),
    row("POST",   "/api/sessions/{id}/payment-proof",          Approved,           [401, 401, 401, 404,    403, 403,  403,  403,  200]),
    row("POST",   "/api/payments/parse-mpesa",                 Approved,           [401, 401, 401, 404,    404, 403,  403,  403,  200]),
    row("POST",   "/api/payments/statement",                   PaymentSubmitted,   [401, 401, 401, 403,    200, 403,  403,  403,  200]),
    row("GET",    "/api/payments/unmatched",                   ApprovedOnPaybill,  [401, 401, 401, 403,    200, 403,  403,  200,  200]),
    row("POST",   "/api/payments/unmatched/{receipt}/attach",  ApprovedOnPaybill,  [401, 401, 401, 403,    422, 403,  403,  403,  200]),
    // public: the path's secret is the authentication, whoever calls (a payment of no booking)
    row("POST",   "/api/hooks/{token}/c2b/confirmation",       ApprovedOnPaybill,  [200, 200, 200, 200,    200, 200,  200,  200,  200]),
    row("POST",   "/api/hooks/{token}/c2b/validation",         ApprovedOnPaybill,  [200, 200, 200, 200,    200, 200,  200,  200,  200]),
    // the client's own call reaches Daraja, which the matrix's server (no listening port) cannot:
    // 503 mpesa_unavailable, nothing changed; local/tests/stk.rs pays over HTTP
    row("POST",   "/api/sessions/{id}/pay-by-mpesa",           ApprovedOnPaybill,  [401, 401, 401, 404,    403, 403,  403,  403,  503]),
    row("GET",    "/api/payments/checkouts/{checkout_id}",     ApprovedOnPaybill,  [401, 401, 401, 404,    404, 403,  403,  200,  200]),
    row("POST",   "/api/hooks/{token}/stk",                    ApprovedOnPaybill,  [200, 200, 200, 200,    200, 200,  200,  200,  200]),
    row("POST",   "/api/sessions/{id}/submit-payment",         Approved,           [401, 401, 401, 404,    403, 403,  403,  403,  200]),
    row("GET",    "/api/sessions/{id}/payment-proof",          PaymentSubmitted,   [401, 401, 401, 404,    404, 403,  403,  200,  200]),
    row("PUT",    "/api/sessions/{id}/verify-payment",         PaymentSubmitted,   [401, 401, 401, 403,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/reject-payment",         PaymentSubmitted,   [401, 401, 401, 403,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/reschedule",             Confirmed,          [401, 401, 401, 404,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/reschedule/accept",      RescheduleProposed, [401, 401, 401, 404,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/reschedule/decline",     RescheduleProposed, [401, 401, 401, 404,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/start",                  AboutToStart,       [401, 401, 401, 403,    404, 403,  403,  403,  200]),
    row("PUT",    "/api/sessions/{id}/complete",               InProgress,         [401, 401, 401, 403,    404, 403,  403,  403,  200]),
    row("DELETE", "/api/sessions/{id}",                        Pending,            [401, 401, 401, 404,    404, 403,  403,  403,  200]),
    row("GET",    "/api/admin/psychologists",                  Pending,            [401, 401, 401, 403,    403, 403,  200,  200,  200]),
    row("POST",   "/api/admin/psychologists",                  Pending,            [401, 401, 401, 403,    403, 403,  201,  403,  201]),
    row("POST",   "/api/admin/psychologists/{id}/deactivate",  Pending,            [401, 401, 401, 403,    403, 403,  200,  403,  200]),
];

const COLUMNS: [&str; 9] = [
    "none", "bad", "expired", "client2", "psy2", "wrong", "admin", "nomfa", "right",
];
const NOTE: &str = "matrix-note-7f3a: private words for Dr. Amani";
const CODE: &str = "QK71MTX123";

fn starts_at() -> DateTime<Utc> {
    now0() + Duration::days(2) + Duration::hours(1)
}

impl Server {
    /// A token as `/dev/login` makes it, for anyone in the directory (or a made-up person),
    /// with `groups` and second factor as given, issued at `iat`.
    fn token(&self, user: &str, groups: &[String], mfa: bool, iat: i64) -> String {
        let a = self.local.accounts.get(user).unwrap();
        let (name, email, phone) = a
            .as_ref()
            .map_or(("No Group", "n@example.test", "+254700000999"), |a| {
                (a.name.as_str(), a.email.as_str(), a.phone.as_str())
            });
        let phone_verified = a.as_ref().is_some_and(|a| a.phone_verified);
        if let Some(issuer) = &self.issuer {
            return issuer.id_token(user, name, email, phone, phone_verified, groups, mfa, iat);
        }
        let who = local::dev_auth::Identity {
            sub: user,
            name,
            email,
            phone,
            phone_verified,
            groups,
            mfa,
        };
        self.local.auth.issue(&who, iat, iat)
    }

    /// `user` signed in as the directory has them now.
    fn as_in_directory(&self, user: &str, iat: i64) -> String {
        let a = self.local.accounts.get(user).unwrap().unwrap();
        self.token(user, &a.groups, a.mfa.on(), iat)
    }

    fn signed_in(&self, user: &str) -> String {
        self.as_in_directory(user, Utc::now().timestamp())
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, String) {
        let (status, _, bytes) = self.request(method, path, token, body, &[]).await;
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A call that must succeed; its JSON body.
    async fn ok(&self, method: &str, path: &str, who: &str, body: Option<Value>) -> Value {
        let (status, text) = self
            .send(method, path, Some(&self.signed_in(who)), body.as_ref())
            .await;
        assert!(
            status.is_success(),
            "{method} {path} as {who}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn type_id(&self, psychologist: &str) -> String {
        let d = self
            .ok("GET", "/api/psychologists", "client-wanjiru", None)
            .await;
        d["psychologists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == psychologist)
            .unwrap()["session_types"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn booking_body(&self, starts: DateTime<Utc>, note: &str) -> Value {
        json!({
            "psychologist_id": "psy-amani",
            "session_type_id": self.type_id("psy-amani").await,
            "starts_at": starts.to_rfc3339(),
            "note": note,
        })
    }

    /// Wanjiru's booking with Dr. Amani, taken to `stage` by its parties; and, so that the
    /// other callers have something of their own, a booking each for Kevin and Dr. Baraka.
    async fn booking_at(&self, stage: Stage) -> String {
        let other = json!({
            "psychologist_id": "psy-baraka",
            "session_type_id": self.type_id("psy-baraka").await,
            "starts_at": (starts_at() + Duration::days(1)).to_rfc3339(),
        });
        self.ok("POST", "/api/sessions", "client-kevin", Some(other))
            .await;
        let body = self.booking_body(starts_at(), NOTE).await;
        let b = self
            .ok("POST", "/api/sessions", "client-wanjiru", Some(body))
            .await;
        let id = b["id"].as_str().unwrap().to_owned();
        let at = |action: &str| format!("/api/sessions/{id}/{action}");
        if stage == Pending {
            return id;
        }
        if stage == ApprovedOnPaybill {
            for (who, method, number) in [
                ("psy-amani", "paybill", PAYBILL),
                ("psy-baraka", "till", "700700"),
            ] {
                let body = json!({"payment_method": method, "business_number": number});
                // where clients pay changes only on a fresh sign-in, by the server's clock
                let fresh = self.as_in_directory(
                    who,
                    kikao_core::ports::Clock::now(self.clock.as_ref()).timestamp(),
                );
                let (status, text) = self.send("PUT", "/api/me", Some(&fresh), Some(&body)).await;
                assert_eq!(status, StatusCode::OK, "{text}");
            }
        }
        self.ok("PUT", &at("approve"), "psy-amani", None).await;
        if stage == Approved {
            return id;
        }
        if stage == ApprovedOnPaybill {
            // a payment request on the client's phone, as `pay-by-mpesa` keeps one
            let checkout = kikao_core::domain::Checkout {
                id: CHECKOUT.to_owned(),
                session: kikao_core::domain::SessionId::parse(&id).unwrap(),
                shortcode: kikao_core::domain::ShortCode::parse(PAYBILL).unwrap(),
                amount: kikao_core::domain::Kes::new(2000).unwrap(),
                started_at: starts_at() - Duration::days(1),
                state: kikao_core::domain::CheckoutState::Pending,
                queried_at: None,
                said_paid: false,
            };
            self.local
                .app
                .checkouts
                .put_checkout(&checkout)
                .await
                .unwrap();
            let path = format!(
                "/api/hooks/{}/c2b/confirmation",
                self.callback_token().await
            );
            let (status, _) = self
                .send("POST", &path, None, Some(&c2b_report("KK000000")))
                .await;
            assert_eq!(status, StatusCode::OK);
            return id;
        }
        let up = self
            .ok(
                "POST",
                &at("payment-proof"),
                "client-wanjiru",
                Some(json!({"content_type": "image/png", "size_bytes": 8})),
            )
            .await;
        let url = up["upload_url"].as_str().unwrap();
        let png = b"\x89PNG\r\n\x1a\n".to_vec();
        if url.starts_with("http") {
            // S3's own URL (moto)
            let res = reqwest::Client::new()
                .put(url)
                .header("content-type", "image/png")
                .body(png)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
        } else {
            let put = Request::builder()
                .method("PUT")
                .uri(url)
                .header("content-type", "image/png")
                .body(Body::from(png))
                .unwrap();
            let res = self.router.clone().oneshot(put).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        self.ok(
            "POST",
            &at("submit-payment"),
            "client-wanjiru",
            Some(json!({"transaction_code": CODE, "proof_key": up["key"]})),
        )
        .await;
        if stage == PaymentSubmitted {
            return id;
        }
        self.ok("PUT", &at("verify-payment"), "psy-amani", None)
            .await;
        match stage {
            RescheduleProposed => {
                let new = (starts_at() + Duration::days(3)).to_rfc3339();
                self.ok(
                    "PUT",
                    &at("reschedule"),
                    "psy-amani",
                    Some(json!({"starts_at": new})),
                )
                .await;
            }
            AboutToStart | InProgress => {
                self.clock.set(starts_at() - Duration::minutes(10));
                if stage == InProgress {
                    self.ok("PUT", &at("start"), "psy-amani", None).await;
                }
            }
            _ => {}
        }
        id
    }

    /// The secret path of the Paybill's callbacks, as the dev server's key makes it.
    async fn callback_token(&self) -> String {
        let key = self.local.app.callback_key.callback_key().await.unwrap();
        kikao_core::domain::CallbackToken::for_shortcode(
            &key,
            &kikao_core::domain::ShortCode::parse(PAYBILL).unwrap(),
        )
    }

    async fn version(&self, id: &str) -> (String, u64) {
        let s = self
            .ok(
                "GET",
                &format!("/api/sessions/{id}"),
                "client-wanjiru",
                None,
            )
            .await;
        (
            s["status"].as_str().unwrap().to_owned(),
            s["version"].as_u64().unwrap(),
        )
    }
}

/// Where both roles may act, `right` is the client and `wrong` has no Kikao group; on the
/// administrator's endpoints, `right` is Nia and `wrong` Wanjiru.
fn parties(row: &Row) -> (&'static str, &'static str) {
    if row.path.starts_with("/api/admin/") {
        return ("admin-nia", "client-wanjiru");
    }
    let right_is_psychologist = row.expect[3] == 403;
    let right_is_client = row.expect[4] == 403;
    match (right_is_client, right_is_psychologist) {
        (true, false) => ("client-wanjiru", "psy-amani"),
        (false, true) => ("psy-amani", "client-wanjiru"),
        _ => ("client-wanjiru", "nobody"),
    }
}

/// Daraja's C2B confirmation of a payment of KSh 2,000 into the Paybill with `account` typed.
fn c2b_report(account: &str) -> Value {
    json!({
        "TransactionType": "Pay Bill", "TransID": UNMATCHED, "TransTime": "20300107090000",
        "TransAmount": "2000.00", "BusinessShortCode": PAYBILL, "BillRefNumber": account,
        "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 126", "FirstName": "JOHN",
    })
}

/// A body the right party could send, about booking `id`.
async fn body_for(s: &Server, row: &Row, id: &str) -> Option<Value> {
    // a Tuesday and a Monday: Dr. Amani works Monday to Saturday
    let new_time = (starts_at() + Duration::days(6)).to_rfc3339();
    match (row.method, row.path) {
        ("PUT", "/api/me") => Some(json!({"notify_email": false})),
        ("DELETE", "/api/me") => Some(json!({"confirm": "DELETE MY DATA"})),
        ("PUT", "/api/me/consent") => {
            Some(json!({"version": kikao_core::domain::PRIVACY_NOTICE.version}))
        }
        ("POST", "/api/sessions") => Some(
            s.booking_body(starts_at() + Duration::days(5), "Another time, please.")
                .await,
        ),
        (_, p) if p.ends_with("/decline") || p.ends_with("/reject-payment") => {
            Some(json!({"reason": "Not this time."}))
        }
        (_, p) if p.ends_with("/reschedule") => Some(json!({"starts_at": new_time})),
        ("POST", p) if p.ends_with("/payment-proof") => {
            Some(json!({"content_type": "image/jpeg", "size_bytes": 1000}))
        }
        (_, p) if p.ends_with("/submit-payment") => Some(json!({"transaction_code": CODE})),
        // checked against the booking, so only its parties may name it
        (_, "/api/payments/parse-mpesa") => Some(json!({
            "message": format!("{CODE} Confirmed. Ksh2,000.00 sent to AMANI NJERI 0700000111 on 1/1/30 at 9:00 AM New M-PESA balance is Ksh5.00."),
            "session_id": id,
        })),
        // another psychologist's check finds none of this booking: their own, empty
        (_, "/api/payments/statement") => Some(json!({
            "file_base64": base64::engine::general_purpose::STANDARD.encode(format!(
                "Receipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn\n\
                 {CODE},2030-01-01 09:00:00,Funds received from - 07******111 AMANI NJERI,Completed,2000.00,\n"
            )),
        })),
        ("POST", "/api/admin/psychologists") => Some(json!({
            "name": "Dr. Zawadi Achieng", "email": "zawadi@example.test", "phone": "0700 000 150",
        })),
        ("POST", p) if p.ends_with("/deactivate") => Some(json!({})),
        ("POST", p) if p.ends_with("/attach") => Some(json!({"session_id": id})),
        // Safaricom's callback for a payment request Kikao never sent: acknowledged, ignored
        ("POST", p) if p.ends_with("/stk") => Some(json!({"Body": {"stkCallback": {
            "MerchantRequestID": "1-2-3", "CheckoutRequestID": "ws_CO_NOT_OURS", "ResultCode": 1032,
            "ResultDesc": "Request cancelled by user"}}})),
        // M-Pesa's report of another payment that matches nothing (a retry of the first)
        ("POST", p) if p.starts_with("/api/hooks/") => Some(c2b_report("KK000000")),
        _ => None,
    }
}

#[test]
fn the_matrix_has_one_row_per_route() {
    for route in ROUTES {
        let n = MATRIX
            .iter()
            .filter(|r| r.method == route.method && r.path == route.path)
            .count();
        assert_eq!(n, 1, "{} {} has {n} rows", route.method, route.path);
    }
    assert_eq!(MATRIX.len(), ROUTES.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_for_every_caller_on_the_embedded_default() {
    every_endpoint_for_every_caller(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_for_every_caller_on_dynamodb_and_s3() {
    every_endpoint_for_every_caller(true).await;
}

/// Once more with the dev server checking RS256 tokens against an OpenID provider's published
/// keys, as API Gateway's JWT authorizer does (`--oidc-issuer`): the same table holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_for_every_caller_with_tokens_checked_as_api_gateway_does() {
    let issuer = Arc::new(Issuer::start().await);
    let cells = every_endpoint_for_every_caller_with(false, Some(issuer.clone())).await;
    assert_eq!(cells, MATRIX.len() * COLUMNS.len());
    assert_eq!(
        issuer.fetches(),
        MATRIX.len(),
        "one key-set fetch per server, at its start"
    );
}

async fn every_endpoint_for_every_caller(aws: bool) {
    every_endpoint_for_every_caller_with(aws, None).await;
}

async fn every_endpoint_for_every_caller_with(aws: bool, issuer: Option<Arc<Issuer>>) -> usize {
    let mut cells = 0;
    for row in MATRIX {
        let s = Server::spawn_with(aws, issuer.clone()).await;
        let id = s.booking_at(row.stage).await;
        let path = if row.path.starts_with("/api/psychologists/") {
            let ty = s.type_id("psy-amani").await;
            format!("/api/psychologists/psy-amani/availability?session_type_id={ty}")
        } else if row.path.starts_with("/api/admin/") {
            // Dr. Baraka, who is party to none of the booking under test
            row.path.replace("{id}", "psy-baraka")
        } else if row.path.contains("{token}") {
            row.path.replace("{token}", &s.callback_token().await)
        } else if row.path.contains("{receipt}") {
            row.path.replace("{receipt}", UNMATCHED)
        } else if row.path.contains("{checkout_id}") {
            row.path.replace("{checkout_id}", CHECKOUT)
        } else {
            row.path.replace("{id}", &id)
        };
        let (right, wrong) = parties(row);
        let now = Utc::now().timestamp();
        let unready = if row.path.starts_with("/api/admin/") {
            "admin-nia"
        } else {
            "psy-amani"
        };
        let tokens: [Option<String>; 9] = [
            None,
            Some({
                // the server's own token for Wanjiru, with its signature replaced
                let t = s.signed_in("client-wanjiru");
                let (head, _) = t.rsplit_once('.').unwrap();
                format!("{head}.{}", "A".repeat(43))
            }),
            Some(s.as_in_directory(right, now - 13 * 3600)),
            Some(s.signed_in("client-kevin")),
            Some(s.signed_in("psy-baraka")),
            Some(if wrong == "nobody" {
                s.token("nobody", &["visitors".to_owned()], false, now)
            } else {
                s.signed_in(wrong)
            }),
            Some(s.signed_in("admin-nia")),
            Some({
                let a = s.local.accounts.get(unready).unwrap().unwrap();
                s.token(unready, &a.groups, false, now)
            }),
            Some(s.signed_in(right)),
        ];
        let before = s.version(&id).await;
        let body = body_for(&s, row, &id).await;
        for (i, token) in tokens.iter().enumerate() {
            let who = COLUMNS[i];
            // an invitation per caller: the same address twice is a 409 of its own
            let body = match (&body, row.path) {
                (Some(b), "/api/admin/psychologists") => {
                    let mut b = b.clone();
                    b["email"] = json!(format!("zawadi-{who}@example.test"));
                    Some(b)
                }
                _ => body.clone(),
            };
            let (status, text) = s
                .send(row.method, &path, token.as_deref(), body.as_ref())
                .await;
            assert_eq!(
                status.as_u16(),
                row.expect[i],
                "{} {} as {who}: {text}",
                row.method,
                row.path
            );
            let public = row.path.starts_with(kikao_http::routes::PUBLIC_PREFIX);
            if who == "nomfa" && row.method != "GET" && !public {
                assert!(
                    text.contains("mfa_required"),
                    "{} {} as {who}: {text}",
                    row.method,
                    row.path
                );
            }
            let admin_row = row.path.starts_with("/api/admin/");
            let is_party = !admin_row
                && (matches!(who, "right" | "nomfa") || (who == "wrong" && wrong != "nobody"));
            if !is_party {
                for secret in [id.as_str(), "Wanjiru", NOTE, CODE, "meet.jit.si"] {
                    assert!(
                        !text.contains(secret),
                        "{} {} as {who} shows {secret:?}: {text}",
                        row.method,
                        row.path
                    );
                }
            }
            if who != "right" {
                assert_eq!(
                    s.version(&id).await,
                    before,
                    "{} {} as {who} changed the booking",
                    row.method,
                    row.path
                );
            }
            cells += 1;
        }
    }
    assert_eq!(cells, COLUMNS.len() * ROUTES.len());
    cells
}
