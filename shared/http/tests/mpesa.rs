//! A psychologist paid through a Paybill or Till: M-Pesa's C2B reports (Daraja's documented
//! payloads, from `tests/fixtures/daraja/`) confirm the bookings they match, retries change
//! nothing, forged and malformed calls confirm nothing, and what matches nothing waits in the
//! Unmatched list for the psychologist to attach.

mod support;

use kikao_core::domain::{CallbackToken, ShortCode};
use lambda_http::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;

const PAYBILL: &str = "600000";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/daraja/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn token(shortcode: &str) -> String {
    CallbackToken::for_shortcode(
        CALLBACK_KEY.as_bytes(),
        &ShortCode::parse(shortcode).unwrap(),
    )
}

/// A paybill confirmation of `amount` with `account` typed, receipt `receipt`.
fn report(receipt: &str, amount: u32, account: &str) -> Value {
    let mut v = fixture("c2b_confirmation_paybill.json");
    v["TransID"] = receipt.into();
    v["TransAmount"] = format!("{amount}.00").into();
    v["BillRefNumber"] = account.into();
    v["FirstName"] = "CLIENT".into();
    v
}

impl TestApp {
    async fn set_paybill(&self, who: &User, kind: &str, number: &str) -> Reply {
        let body = json!({"payment_method": kind, "business_number": number}).to_string();
        let req = request(Method::PUT, "/api/me", Some(who), Some(&body));
        reply(kikao_http::handlers::update_me(&self.app, req).await).await
    }

    /// Safaricom posting `body` down `token`'s path (no token of a user: the route is public).
    async fn report(&self, token: &str, body: &str) -> Reply {
        let path = format!("/api/hooks/{token}/c2b/confirmation");
        let req = request(Method::POST, &path, None, Some(body));
        reply(kikao_http::handlers::mpesa_c2b_confirmation(&self.app, req).await).await
    }

    async fn unmatched(&self, who: &User) -> Reply {
        let req = request(Method::GET, "/api/payments/unmatched", Some(who), None);
        reply(kikao_http::handlers::list_unmatched_payments(&self.app, req).await).await
    }

    async fn attach(&self, who: &User, receipt: &str, session: &str) -> Reply {
        let path = format!("/api/payments/unmatched/{receipt}/attach");
        let body = json!({ "session_id": session }).to_string();
        let req = request(Method::POST, &path, Some(who), Some(&body));
        reply(kikao_http::handlers::attach_payment(&self.app, req).await).await
    }

    /// A booking of CLIENT `days` from now approved by PSY (paid through the Paybill), and
    /// its reference.
    async fn approved_on_paybill(&self, days: i64) -> (String, String) {
        let id = self.book_at(&CLIENT, self.start_in(days)).await;
        assert_eq!(
            self.put(&id, "approve", &PSY, None).await.status,
            StatusCode::OK
        );
        let r = self.get(&id, &CLIENT).await;
        let account = r.body["payment_instructions"]["account"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, account)
    }
}

async fn paybill_app() -> TestApp {
    let t = spawn_app().await;
    let r = t.set_paybill(&PSY, "paybill", PAYBILL).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["payment_method"].as_str(),
            r.body["business_number"].as_str()
        ),
        (Some("paybill"), Some(PAYBILL))
    );
    t
}

#[tokio::test]
async fn a_paybill_payment_with_the_booking_reference_confirms_it_once() {
    let t = paybill_app().await;
    let (id, account) = t.approved_on_paybill(2).await;
    let i = &t.get(&id, &CLIENT).await.body["payment_instructions"];
    assert_eq!(
        (
            i["method"].as_str(),
            i["business_number"].as_str(),
            i["amount_kes"].as_u64()
        ),
        (Some("paybill"), Some(PAYBILL), Some(2000))
    );
    assert!(account.starts_with("KK") && account.len() == 8, "{account}");

    // typed the way people type it: lower case, with a space
    let typed = format!("{} {}", &account[..4], &account[4..]).to_lowercase();
    let body = report("RKT83MWP6C", 2000, &typed).to_string();
    let r = t.report(&token(PAYBILL), &body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, fixture("c2b_confirmation_ack.json"));

    let s = t.get(&id, &CLIENT).await.body;
    assert_eq!(s["status"], "confirmed");
    assert_eq!(s["payment"]["transaction_code"], "RKT83MWP6C");
    assert_eq!(s["payment"]["by_mpesa"], true);
    assert!(s["meeting_link"].as_str().unwrap().starts_with("https://"));
    let detail = t.get(&id, &PSY).await.body;
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["action"].as_str(), last["actor"]["role"].as_str()),
        (Some("paid_by_mpesa"), None),
        "{last}"
    );
    let version = s["version"].as_u64();

    // Safaricom sends it again: acknowledged, nothing changes
    let r = t.report(&token(PAYBILL), &body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(t.get(&id, &CLIENT).await.body["version"].as_u64(), version);
    assert_eq!(t.unmatched(&PSY).await.body, json!([]));

    // the same receipt reported for another booking's reference pays for nothing more
    let (other, other_account) = t.approved_on_paybill(3).await;
    let again = report("RKT83MWP6C", 2000, &other_account).to_string();
    assert_eq!(
        t.report(&token(PAYBILL), &again).await.status,
        StatusCode::OK
    );
    assert_eq!(t.get(&other, &CLIENT).await.body["status"], "approved");
}

#[tokio::test]
async fn forged_and_malformed_reports_confirm_nothing() {
    let t = paybill_app().await;
    let (id, account) = t.approved_on_paybill(2).await;
    let body = report("RKT83MWP7D", 2000, &account).to_string();

    // a path this deployment did not make, one of another account, and one made with another key
    let other_key = CallbackToken::for_shortcode(
        b"somebody else's key, also long enough",
        &ShortCode::parse(PAYBILL).unwrap(),
    );
    for path_token in [
        "600000-00000000000000000000000000000000".to_owned(),
        token("600001"),
        other_key,
        "nothing".to_owned(),
    ] {
        let r = t.report(&path_token, &body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path_token}");
    }
    // the right path, but a report of another account's payment
    let mut elsewhere = report("RKT83MWP7D", 2000, &account);
    elsewhere["BusinessShortCode"] = "600001".into();
    let r = t.report(&token(PAYBILL), &elsewhere.to_string()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // malformed on the right path: acknowledged as Daraja expects, never a 5xx, nothing kept
    for bad in [
        "".to_owned(),
        "not json".to_owned(),
        "{}".to_owned(),
        json!({"TransID": "RKT83MWP7D", "TransAmount": "lots"}).to_string(),
        report("RKT83MWP7D", 2000, &account)
            .to_string()
            .replace("\"2000.00\"", "\"2000.50\""),
    ] {
        let r = t.report(&token(PAYBILL), &bad).await;
        assert_eq!(r.status, StatusCode::OK, "{bad}");
        assert_eq!(r.body["ResultCode"], 0);
    }
    assert_eq!(t.get(&id, &CLIENT).await.body["status"], "approved");
    assert_eq!(t.unmatched(&PSY).await.body, json!([]));

    // the validation URL answers only on a real path, and accepts
    let path = format!("/api/hooks/{}/c2b/validation", token(PAYBILL));
    let req = request(
        Method::POST,
        &path,
        None,
        Some(&fixture("c2b_validation_paybill.json").to_string()),
    );
    let r = reply(kikao_http::handlers::mpesa_c2b_validation(&t.app, req).await).await;
    assert_eq!(
        (r.status, r.body["ResultCode"].as_str()),
        (StatusCode::OK, Some("0"))
    );
    let req = request(
        Method::POST,
        "/api/hooks/600000-nope/c2b/validation",
        None,
        Some("{}"),
    );
    let r = reply(kikao_http::handlers::mpesa_c2b_validation(&t.app, req).await).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn what_matches_nothing_waits_in_the_unmatched_list_until_attached() {
    let t = paybill_app().await;
    let (id, account) = t.approved_on_paybill(2).await;
    let send = |receipt: &str, amount: u32, acc: &str| report(receipt, amount, acc).to_string();

    // the right reference but not the price; a reference of no booking; no reference at all
    // from someone whose name fits no booking
    t.report(&token(PAYBILL), &send("RKT83MWP8A", 1500, &account))
        .await;
    t.report(&token(PAYBILL), &send("RKT83MWP8B", 2000, "KK000000"))
        .await;
    let mut nameless = report("RKT83MWP8C", 2000, "");
    nameless["FirstName"] = "OTIENO".into();
    t.report(&token(PAYBILL), &nameless.to_string()).await;
    assert_eq!(t.get(&id, &CLIENT).await.body["status"], "approved");

    let list = t.unmatched(&PSY).await;
    assert_eq!(list.status, StatusCode::OK);
    let whys: Vec<(&str, &str)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["receipt"].as_str().unwrap(), p["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        whys,
        [
            ("RKT83MWP8A", "amount_differs"),
            ("RKT83MWP8B", "unknown_reference"),
            ("RKT83MWP8C", "no_reference")
        ]
    );
    assert_eq!(list.body[0]["session_id"].as_str(), Some(id.as_str()));
    assert!(list.body[0]["explanation"].as_str().unwrap().ends_with('.'));

    // less than the price is not attached; the others' clients and strangers cannot see or
    // attach; a psychologist with no Till or Paybill has no list
    let r = t.attach(&PSY, "RKT83MWP8A", &id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("KSh 1,500"));
    assert_eq!(t.unmatched(&CLIENT).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.attach(&CLIENT, "RKT83MWP8B", &id).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.unmatched(&PSY2).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.attach(&PSY2, "RKT83MWP8B", &id).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // another psychologist's booking is not found, even with a payment of one's own
    let r = t.set_paybill(&PSY2, "till", "700700").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.attach(&PSY2, "RKT83MWP8B", &id).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a payment into PSY2's till"
    );

    // the psychologist takes the payment with the unknown reference as this booking's
    let r = t.attach(&PSY, "RKT83MWP8B", &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "confirmed");
    assert_eq!(r.body["payment"]["transaction_code"], "RKT83MWP8B");
    let left: Vec<String> = t
        .unmatched(&PSY)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["receipt"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, ["RKT83MWP8A", "RKT83MWP8C"]);
    // once attached, it is no longer unmatched
    assert_eq!(
        t.attach(&PSY, "RKT83MWP8B", &id).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn a_till_payment_matches_by_price_and_the_clients_first_name_when_only_one_fits() {
    let t = spawn_app().await;
    assert_eq!(
        t.set_paybill(&PSY, "till", PAYBILL).await.status,
        StatusCode::OK
    );
    let id = t.book().await;
    t.put(&id, "approve", &PSY, None).await;
    let i = &t.get(&id, &CLIENT).await.body["payment_instructions"];
    assert_eq!(
        (i["method"].as_str(), i["account"].is_null()),
        (Some("till"), true)
    );

    let mut till = fixture("c2b_confirmation_buygoods_hashed_msisdn.json");
    till["TransAmount"] = "2000.00".into();
    till["FirstName"] = "Client".into();
    let r = t.report(&token(PAYBILL), &till.to_string()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(t.get(&id, &CLIENT).await.body["status"], "confirmed");

    // two bookings by clients of the same first name at the same price: neither is guessed
    let a = t.book_at(&CLIENT, t.start_in(3)).await;
    let b = t.book_at(&CLIENT, t.start_in(4)).await;
    for x in [&a, &b] {
        t.put(x, "approve", &PSY, None).await;
    }
    till["TransID"] = "SGT8K413WQ".into();
    t.report(&token(PAYBILL), &till.to_string()).await;
    for x in [&a, &b] {
        assert_eq!(t.get(x, &CLIENT).await.body["status"], "approved");
    }
    assert_eq!(t.unmatched(&PSY).await.body[0]["why"], "ambiguous");
}

#[tokio::test]
async fn the_client_who_already_sent_the_code_is_confirmed_by_the_report_of_it() {
    let t = paybill_app().await;
    let (id, _) = t.approved_on_paybill(2).await;
    // the client pasted the code before M-Pesa's report arrived, with no reference typed
    let r = t
        .pay(&id, &CLIENT, r#"{"transaction_code":"RKT83MWP9Z"}"#)
        .await;
    assert_eq!(r.body["status"], "payment_submitted");
    let mut v = report("RKT83MWP9Z", 2000, "");
    v["FirstName"] = "SOMEONE".into();
    t.report(&token(PAYBILL), &v.to_string()).await;
    let s = t.get(&id, &PSY).await.body;
    assert_eq!(
        (s["status"].as_str(), s["payment"]["by_mpesa"].as_bool()),
        (Some("confirmed"), Some(true))
    );
}

#[tokio::test]
async fn changing_where_clients_pay_needs_a_fresh_sign_in_and_is_refused_in_words() {
    let t = spawn_app().await;
    for (kind, number, field) in [
        ("bank", "600000", "payment_method"),
        ("paybill", "12", "business_number"),
        ("till", "", "business_number"),
    ] {
        let r = t.set_paybill(&PSY, kind, number).await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{kind} {number}"
        );
        assert!(!r.body["error"]["message"].as_str().unwrap().contains('_'));
    }
    // a client has no Till
    let r = t.set_paybill(&CLIENT, "till", "600000").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // an hour after signing in, the change waits for a new sign-in
    t.clock.set(t0() + chrono::Duration::hours(1));
    let r = t.set_paybill(&PSY, "till", "600000").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "recent_sign_in_required")
    );
}

#[tokio::test]
async fn an_erased_client_leaves_no_name_on_a_payment_m_pesa_reported() {
    use kikao_core::ports::PaymentLedger;
    let t = paybill_app().await;
    let (id, account) = t.approved_on_paybill(2).await;
    let body = report("RKT83MWPE1", 2000, &account).to_string();
    t.report(&token(PAYBILL), &body).await;
    assert_eq!(
        t.get(&id, &PSY).await.body["payment"]["payer"].as_str(),
        Some("CLIENT")
    );
    // a confirmed session is cancelled by the erasure, with its payment record kept
    let req = request(
        Method::DELETE,
        "/api/me",
        Some(&CLIENT),
        Some(r#"{"confirm": "DELETE MY DATA"}"#),
    );
    let r = reply(kikao_http::handlers::erase_me(&t.app, req).await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kept = t.get(&id, &PSY).await.body;
    assert_eq!(kept["payment"]["transaction_code"], "RKT83MWPE1");
    assert!(kept["payment"]["payer"].is_null(), "{kept}");
    let entry = t
        .store
        .as_ref()
        .unwrap()
        .payment(
            &ShortCode::parse(PAYBILL).unwrap(),
            &kikao_core::domain::TransactionCode::parse("RKT83MWPE1").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.payment.payer, None);
    assert_eq!(entry.payment.amount.amount(), 2000);
}

#[tokio::test]
async fn with_an_allow_list_a_call_from_elsewhere_finds_nothing() {
    let mut t = paybill_app().await;
    let (id, account) = t.approved_on_paybill(2).await;
    t.app.config.mpesa_sources = vec!["196.201.214.200".into()];
    let body = report("RKT83MWPA1", 2000, &account).to_string();
    // the test's requests carry no source address Safaricom is known to use
    assert_eq!(
        t.report(&token(PAYBILL), &body).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.get(&id, &CLIENT).await.body["status"], "approved");
    t.app.config.mpesa_sources.clear();
    assert_eq!(
        t.report(&token(PAYBILL), &body).await.status,
        StatusCode::OK
    );
    assert_eq!(t.get(&id, &CLIENT).await.body["status"], "confirmed");
}
