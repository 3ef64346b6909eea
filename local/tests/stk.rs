//! Lipa na M-Pesa Online on the dev server, end to end over HTTP: the client asks for the
//! payment request, the dev server's Daraja client calls its stand-in for Daraja (OAuth, STK
//! push, STK query, with Daraja's shapes), the "phone" answers, and Safaricom's callback comes
//! back down the account's secret path. A cancelled request changes nothing and says so; a
//! paid one confirms the booking with the system as the actor; a forged callback that says paid
//! confirms nothing, because Daraja's query does not agree.

use kikao_core::domain::{CallbackToken, ShortCode};
use local::{router, Local, Options, Seed};
use serde_json::{json, Value};
use std::sync::Arc;

struct Live {
    base: String,
    local: Arc<Local>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A dev server listening on a free port of 127.0.0.1, on the system clock: its Daraja client
/// calls its own stand-in over HTTP, and the stand-in's callbacks come back over HTTP.
async fn live() -> Live {
    live_at(None).await
}

/// `live`, telling Safaricom its callbacks go to `public_url` rather than the server's address.
async fn live_at(public_url: Option<&str>) -> Live {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut opts = Options::new(dir.path());
    opts.public_url = public_url.unwrap_or(&base).to_owned();
    opts.seed = Seed::Users;
    let local = Local::open(&opts).await.unwrap();
    let app = router(local.clone(), &opts.static_dir);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Live {
        base,
        local,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Live {
    async fn token(&self, user: &str) -> String {
        let r: Value = self
            .http
            .post(format!("{}/dev/login", self.base))
            .json(&json!({ "user_id": user }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["token"].as_str().unwrap().to_owned()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(u) = user {
            req = req.bearer_auth(self.token(u).await);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Dr. Baraka takes payment through his Paybill 600321, and Wanjiru's `nth` booking with him is
    /// approved: its id.
    async fn approved_on_paybill(&self, nth: usize) -> String {
        let body = json!({"payment_method": "paybill", "business_number": "600321"});
        let (status, me) = self
            .call("PUT", "/api/me", Some("psy-baraka"), Some(body))
            .await;
        assert_eq!(status, 200, "{me}");
        self.approved(nth).await
    }

    /// Wanjiru asks for the payment request of booking `id` on her phone.
    async fn pay_now(&self, id: &str) -> (u16, Value) {
        let path = format!("/api/sessions/{id}/pay-by-mpesa");
        self.call("POST", &path, Some("client-wanjiru"), None).await
    }

    /// A booking of Wanjiru's with Dr. Baraka (paid through his Paybill), approved.
    async fn approved(&self, nth: usize) -> String {
        let (_, dir) = self
            .call("GET", "/api/psychologists", Some("client-wanjiru"), None)
            .await;
        let baraka = dir["psychologists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "psy-baraka")
            .unwrap()
            .clone();
        let type_id = baraka["session_types"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/psychologists/psy-baraka/availability?session_type_id={type_id}");
        let (_, free) = self.call("GET", &path, Some("client-wanjiru"), None).await;
        let starts = free["slots"][nth * 10]["starts_at"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"psychologist_id": "psy-baraka", "session_type_id": type_id, "starts_at": starts});
        let (status, s) = self
            .call("POST", "/api/sessions", Some("client-wanjiru"), Some(body))
            .await;
        assert_eq!(status, 201, "{s}");
        let id = s["id"].as_str().unwrap().to_owned();
        let (status, a) = self
            .call(
                "PUT",
                &format!("/api/sessions/{id}/approve"),
                Some("psy-baraka"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{a}");
        id
    }

    async fn status(&self, id: &str) -> Value {
        self.call(
            "GET",
            &format!("/api/sessions/{id}"),
            Some("client-wanjiru"),
            None,
        )
        .await
        .1
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_request_on_the_phone_confirms_the_booking_only_when_paid() {
    let t = live().await;
    let id = t.approved_on_paybill(0).await;

    // cancelled on the phone: nothing changes, and the client reads why
    let pay = format!("/api/sessions/{id}/pay-by-mpesa");
    let (status, c) = t
        .call("POST", &pay, Some("client-wanjiru"), Some(json!({})))
        .await;
    assert_eq!((status, c["state"].as_str()), (202, Some("pending")), "{c}");
    let first = c["checkout_id"].as_str().unwrap().to_owned();
    assert!(first.starts_with("ws_CO_"), "{first}");
    let (status, r) = t
        .call(
            "POST",
            &format!("/dev/mpesa/stk/{first}"),
            None,
            Some(json!({"result_code": 1032})),
        )
        .await;
    assert_eq!(
        (status, r["callback_status"].as_u64()),
        (200, Some(200)),
        "{r}"
    );
    let (status, c) = t
        .call(
            "GET",
            &format!("/api/payments/checkouts/{first}"),
            Some("client-wanjiru"),
            None,
        )
        .await;
    assert_eq!((status, c["state"].as_str()), (200, Some("failed")), "{c}");
    assert!(c["message"].as_str().unwrap().contains("cancelled"), "{c}");
    assert_eq!(t.status(&id).await["status"], "approved");
    // someone else's payment request is not there for them
    let (status, _) = t
        .call(
            "GET",
            &format!("/api/payments/checkouts/{first}"),
            Some("client-kevin"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // again, and the PIN entered: confirmed by the system, with M-Pesa's receipt
    let (_, c) = t.call("POST", &pay, Some("client-wanjiru"), None).await;
    let second = c["checkout_id"].as_str().unwrap().to_owned();
    t.call(
        "POST",
        &format!("/dev/mpesa/stk/{second}"),
        None,
        Some(json!({"result_code": 0})),
    )
    .await;
    let s = t.status(&id).await;
    assert_eq!(s["status"], "confirmed", "{s}");
    assert_eq!(s["payment"]["by_mpesa"], true);
    let (_, c) = t
        .call(
            "GET",
            &format!("/api/payments/checkouts/{second}"),
            Some("client-wanjiru"),
            None,
        )
        .await;
    assert_eq!(c["state"], "paid");
    assert!(c["message"]
        .as_str()
        .unwrap()
        .contains(s["payment"]["transaction_code"].as_str().unwrap()));
    let history = t
        .call(
            "GET",
            &format!("/api/sessions/{id}"),
            Some("psy-baraka"),
            None,
        )
        .await
        .1;
    let last = history["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "paid_by_mpesa", "{last}");

    // Safaricom sends the success again, and something malformed: acknowledged, nothing changes
    let key = t.local.app.callback_key.callback_key().await.unwrap();
    let token = CallbackToken::for_shortcode(&key, &ShortCode::parse("600321").unwrap());
    let again = json!({"Body": {"stkCallback": {
        "MerchantRequestID": "1-2-3", "CheckoutRequestID": second, "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": s["price_kes"]},
            {"Name": "MpesaReceiptNumber", "Value": s["payment"]["transaction_code"]},
            {"Name": "TransactionDate", "Value": 20300107090000u64},
            {"Name": "PhoneNumber", "Value": 254700000999u64}]}}}});
    for body in [again, json!({"Body": "not a callback"}), json!([])] {
        let (status, ack) = t
            .call("POST", &format!("/api/hooks/{token}/stk"), None, Some(body))
            .await;
        assert_eq!((status, ack["ResultCode"].as_i64()), (200, Some(0)));
    }
    assert_eq!(t.status(&id).await["version"], s["version"]);
    // two payment requests and their queries took one OAuth token: it is kept until it expires
    assert_eq!(t.local.daraja.tokens_issued(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_callback_that_says_paid_confirms_nothing() {
    let t = live().await;
    let id = t.approved_on_paybill(1).await;
    let (_, c) = t.pay_now(&id).await;
    let checkout = c["checkout_id"].as_str().unwrap().to_owned();
    // a success in Daraja's shape, for the pending request, down the right path: Daraja's query
    // says it is still being processed, so nothing is confirmed
    let mut forged: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../tests/fixtures/daraja/stk_callback_success.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    forged["Body"]["stkCallback"]["CheckoutRequestID"] = json!(checkout);
    let key = t.local.app.callback_key.callback_key().await.unwrap();
    let token = CallbackToken::for_shortcode(&key, &ShortCode::parse("600321").unwrap());
    let (status, ack) = t
        .call(
            "POST",
            &format!("/api/hooks/{token}/stk"),
            None,
            Some(forged.clone()),
        )
        .await;
    assert_eq!((status, ack["ResultCode"].as_i64()), (200, Some(0)));
    assert_eq!(t.status(&id).await["status"], "approved");
    let (_, c) = t
        .call(
            "GET",
            &format!("/api/payments/checkouts/{checkout}"),
            Some("client-wanjiru"),
            None,
        )
        .await;
    assert_eq!(c["state"], "pending");
    // a made-up path is not there at all
    let (status, _) = t
        .call(
            "POST",
            "/api/hooks/600321-00000000000000000000000000000000/stk",
            None,
            Some(forged),
        )
        .await;
    assert_eq!(status, 404);
    // a personal-number booking has no payment request
    let body = json!({"payment_method": "personal"});
    t.call("PUT", "/api/me", Some("psy-baraka"), Some(body))
        .await;
    let plain = t.approved(2).await;
    let (status, r) = t
        .call(
            "POST",
            &format!("/api/sessions/{plain}/pay-by-mpesa"),
            Some("client-wanjiru"),
            None,
        )
        .await;
    assert_eq!(status, 422, "{r}");
}

/// Safaricom's callback never comes (it happens): the client is not left waiting. Half a minute
/// after the request, reading it asks Safaricom (no more than every 15 s): a timeout reaches the
/// client as a sentence; a payment Safaricom confirms but whose receipt Kikao never received
/// tells the client to send the code from the SMS, and confirms nothing without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_request_whose_callback_is_lost_is_asked_about() {
    let t = live().await;
    let id = t.approved_on_paybill(0).await;
    let read = |checkout: String| {
        let t = &t;
        async move {
            t.call(
                "GET",
                &format!("/api/payments/checkouts/{checkout}"),
                Some("client-wanjiru"),
                None,
            )
            .await
            .1
        }
    };

    let (_, c) = t.pay_now(&id).await;
    let first = c["checkout_id"].as_str().unwrap().to_owned();
    let (status, r) = t
        .call(
            "POST",
            &format!("/dev/mpesa/stk/{first}"),
            None,
            Some(json!({"result_code": 1037, "lose_callback": true})),
        )
        .await;
    assert_eq!((status, r["callback_status"].clone()), (200, Value::Null));
    // too soon to ask: the callback may yet come
    let c = read(first.clone()).await;
    assert_eq!(c["state"], "pending", "{c}");
    assert_eq!(t.local.daraja.queries_asked(), 0);
    t.local.clock.advance(chrono::Duration::seconds(31));
    let c = read(first.clone()).await;
    assert_eq!(c["state"], "failed", "{c}");
    assert!(c["message"].as_str().unwrap().contains("timed out"), "{c}");
    assert_eq!(t.local.daraja.queries_asked(), 1);
    assert_eq!(t.status(&id).await["status"], "approved");

    // paid on the phone, the callback lost: Safaricom's query says paid but names no receipt
    let (_, c) = t.pay_now(&id).await;
    let second = c["checkout_id"].as_str().unwrap().to_owned();
    t.call(
        "POST",
        &format!("/dev/mpesa/stk/{second}"),
        None,
        Some(json!({"result_code": 0, "lose_callback": true})),
    )
    .await;
    t.local.clock.advance(chrono::Duration::seconds(31));
    // asked once; read again at once, not asked again within 15 s, and still told what
    // Safaricom said
    for _ in 0..2 {
        let c = read(second.clone()).await;
        assert_eq!(t.local.daraja.queries_asked(), 2);
        assert_eq!(c["state"], "pending", "{c}");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("submit the code from M-Pesa's SMS"),
            "{c}"
        );
    }
    t.local.clock.advance(chrono::Duration::seconds(16));
    read(second.clone()).await;
    assert_eq!(t.local.daraja.queries_asked(), 3);
    // nothing is confirmed without a receipt; the client's manual proof stays open
    let s = t.status(&id).await;
    assert_eq!(s["status"], "approved", "{s}");
    assert!(
        s["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "submit_payment"),
        "{s}"
    );
}

/// Safaricom refuses a callback URL with "exe" in it, as API Gateway's own address has: Kikao
/// sends no payment request naming one, and the client reads that M-Pesa is not available.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payment_request_names_an_address_safaricom_refuses() {
    let t = live_at(Some(
        "https://a1b2c3d4e5.execute-api.af-south-1.amazonaws.com",
    ))
    .await;
    let id = t.approved_on_paybill(0).await;
    let (status, e) = t.pay_now(&id).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (503, Some("mpesa_unavailable")),
        "{e}"
    );
    assert_eq!(t.local.daraja.tokens_issued(), 0, "Daraja was called");
    assert_eq!(t.status(&id).await["status"], "approved");
}
