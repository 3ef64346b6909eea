//! `POST /api/payments/parse-mpesa`: what a pasted message proves, for any signed-in user,
//! nothing stored; and the same reading where a client submits a pasted message as proof.

mod support;

use kikao_http::handlers as h;
use lambda_http::http::{Method, StatusCode};
use serde_json::json;
use support::*;

const PAYMENT: &str = "Fwd: UFMO6P3NSD Confirmed. Ksh2,000.00 sent to AMANI  NJERI 0700***111 on 12/6/26 at 9:47 PM. New M-PESA balance is Ksh1,115.20. Transaction cost, Ksh33.00.";
const RECEIVED: &str = "UO670MA7R8 Confirmed.You have received Ksh5,000.00 from KAMAU MWANGI 0716***482 on 15/6/26 at 6:31 PM  New M-PESA balance is Ksh5,090.00.";

async fn parse(t: &TestApp, who: Option<&User>, body: &str) -> Reply {
    let req = request(Method::POST, "/api/payments/parse-mpesa", who, Some(body));
    reply(h::parse_mpesa(&t.app, req).await).await
}

#[tokio::test]
async fn a_payment_is_read_field_by_field_for_either_role() {
    let t = spawn_app().await;
    for who in [&CLIENT, &PSY] {
        let r = parse(&t, Some(who), &json!({ "message": PAYMENT }).to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            r.body,
            json!({
                "kind": "send_money",
                "transaction_code": "UFMO6P3NSD",
                "amount_kes": 2000.0,
                "recipient_name": "AMANI NJERI",
                "recipient_phone": "0700***111",
                "account": null,
                "sent_at": "2026-06-12T18:47:00Z",
            })
        );
    }
}

#[tokio::test]
async fn what_proves_no_payment_is_refused_in_words() {
    let t = spawn_app().await;
    let r = parse(
        &t,
        Some(&CLIENT),
        &json!({ "message": RECEIVED }).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["code"], "not_a_payment");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("This is a message about money you received"),
        "{message}"
    );

    let r = parse(&t, Some(&CLIENT), r#"{"message":"see you at 4"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["code"], "unreadable");

    let both = format!("{PAYMENT}\nUX00REV001 confirmed. Reversal of transaction UFMO6P3NSD has been successfully reversed on 13/6/26 at 9:00 AM and Ksh2,000.00 is credited to your M-PESA account.");
    let r = parse(&t, Some(&CLIENT), &json!({ "message": both }).to_string()).await;
    assert_eq!(r.body["error"]["code"], "not_a_payment");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("reversed"));
}

#[tokio::test]
async fn bad_requests_are_told_what_to_fix() {
    let t = spawn_app().await;
    assert_eq!(
        parse(&t, None, &json!({ "message": PAYMENT }).to_string())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        parse(&t, Some(&CLIENT), "{").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        parse(&t, Some(&CLIENT), r#"{"text":"x"}"#).await.status,
        StatusCode::BAD_REQUEST
    );
    let long = json!({ "message": format!("{PAYMENT} {}", "x".repeat(2000)) }).to_string();
    let r = parse(&t, Some(&CLIENT), &long).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 2,000 characters"));
}

#[tokio::test]
async fn submitting_money_received_as_proof_is_refused_and_changes_nothing() {
    let t = spawn_app().await;
    let id = t.book().await;
    assert_eq!(
        t.put(&id, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let r = t
        .pay(
            &id,
            &CLIENT,
            &json!({ "mpesa_message": RECEIVED }).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["code"], "not_a_payment");
    assert_eq!(t.get(&id, &CLIENT).await.body["status"], "approved");
    // cents are a payment M-Pesa made, but not a session's price
    let cents = "UBBTXIG5B4 Confirmed. Ksh2,000.55 sent to AMANI NJERI 0700000111 on 1/8/26 at 9:56 AM New M-PESA balance is Ksh1,904.15.";
    let r = t
        .pay(&id, &CLIENT, &json!({ "mpesa_message": cents }).to_string())
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("KSh 2,000.55"));
    let r = t
        .pay(
            &id,
            &CLIENT,
            &json!({ "mpesa_message": PAYMENT }).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["payment"]["amount_kes_claimed"], 2000);
}
