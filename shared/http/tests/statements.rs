//! `POST /api/payments/statement`: a psychologist's M-Pesa statement against the payments waiting
//! for them to verify, from the file as they upload it (base64 in JSON) to the verdicts, and the
//! one action that verifies what matched. The statements are the fixtures of
//! tests/fixtures/statements (real layouts, made-up people) and CSVs in a converter's layout.

mod support;

use base64::Engine as _;
use kikao_http::handlers as h;
use lambda_http::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/statements/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn check(t: &TestApp, who: &User, body: &Value) -> Reply {
    let body = body.to_string();
    let req = request(
        Method::POST,
        "/api/payments/statement",
        Some(who),
        Some(&body),
    );
    reply(h::check_statement(&t.app, req).await).await
}

/// A statement as mpesa2csv writes it (BOM, CRLF, oldest first), one row per payment:
/// (receipt, Nairobi time, details, paid in).
fn csv(rows: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut out =
        "\u{feff}Receipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\r\n"
            .to_owned();
    for (receipt, at, details, paid_in) in rows {
        out.push_str(&format!(
            "{receipt},{at},{details},Completed,{paid_in},,5000\r\n"
        ));
    }
    out.into_bytes()
}

/// Books, approves and submits `code` as CLIENT's payment, `days` ahead; returns the id.
async fn awaiting(t: &TestApp, days: i64, code: &str) -> String {
    let id = t.book_at(&CLIENT, t.start_in(days)).await;
    assert_eq!(
        t.put(&id, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let r = t
        .pay(
            &id,
            &CLIENT,
            &json!({ "transaction_code": code }).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    id
}

/// Each booking of a list with its verdict.
fn verdicts(list: &Value) -> Vec<(&str, &str)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["session"]["id"].as_str().unwrap(),
                m["verdict"].as_str().unwrap(),
            )
        })
        .collect()
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["session"]["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_statement_proves_what_it_shows_and_says_why_not_the_rest_then_one_action_verifies() {
    let t = spawn_app().await;
    // t0 is 09:00 in Nairobi on 7 January 2030: the payments come in that morning
    let paid = awaiting(&t, 2, "UA7AB12CD3").await;
    let short = awaiting(&t, 3, "UA7EF45GH6").await;
    let missing = awaiting(&t, 4, "UA7JK78LM9").await;
    let statement = csv(&[
        (
            "UA7AB12CD3",
            "2030-01-07 09:05:10",
            "Funds received from - 07******482 BRIAN OTIENO ODHIAMBO",
            "2000",
        ),
        (
            "UA7EF45GH6",
            "2030-01-07 09:06:00",
            "Funds received from - 07******913 SAMUEL KIPRUTO",
            "1500",
        ),
        (
            "UA7ZZ00ZZ0",
            "2030-01-07 11:00:00",
            "Funds received from - 07******071 PETER LANGAT",
            "700",
        ),
    ]);
    let r = check(&t, &PSY, &json!({ "file_base64": b64(&statement) })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["rows"], 3);
    assert_eq!(r.body["unreadable_rows"], 0);
    // a CSV prints no totals to check the rows against
    assert_eq!(r.body["totals_agree"], Value::Null);
    assert_eq!(r.body["first"], "2030-01-07T06:05:10Z");
    assert_eq!(ids(&r.body["matching"]), [paid.as_str()]);
    let m = &r.body["matching"][0];
    assert_eq!(m["verdict"], "paid");
    assert_eq!(m["payer_name"], "BRIAN OTIENO ODHIAMBO");
    assert_eq!(m["payer_phone"], "07******482");
    assert_eq!(m["received_at"], "2030-01-07T06:05:10Z");
    // "Client One" is not Brian: a relative may have paid, and the page says so
    assert_eq!(m["name_agrees"], false);
    assert_eq!(
        ids(&r.body["not_matching"]),
        [short.as_str(), missing.as_str()]
    );
    assert_eq!(r.body["not_matching"][0]["verdict"], "wrong_amount");
    assert_eq!(
        r.body["not_matching"][0]["explanation"],
        "The statement shows KSh 1,500 received under this code, not the KSh 2,000 due."
    );
    assert_eq!(r.body["not_matching"][1]["verdict"], "missing");

    // nothing was changed by reading it
    for id in [&paid, &short, &missing] {
        assert_eq!(t.get(id, &PSY).await.body["status"], "payment_submitted");
    }

    // "Verify 1 matching payment": the page verifies on the version it was shown
    let version = m["session"]["version"].as_u64().unwrap();
    let req = request(
        Method::PUT,
        &format!("/api/sessions/{paid}/verify-payment"),
        Some(&PSY),
        None,
    );
    let (mut parts, body) = req.into_parts();
    parts
        .headers
        .insert("if-match", format!("\"{version}\"").parse().unwrap());
    let r =
        reply(h::verify_payment(&t.app, lambda_http::http::Request::from_parts(parts, body)).await)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "confirmed");

    // the same statement again: the verified payment is no longer waiting
    let r = check(&t, &PSY, &json!({ "file_base64": b64(&statement) })).await;
    assert_eq!(ids(&r.body["matching"]), Vec::<&str>::new());
    assert_eq!(
        ids(&r.body["not_matching"]),
        [short.as_str(), missing.as_str()]
    );
}

#[tokio::test]
async fn a_code_paid_before_approval_or_sent_back_proves_nothing() {
    let t = spawn_app().await;
    let old = awaiting(&t, 2, "UA6AB12CD3").await;
    let reversed = awaiting(&t, 3, "UA7RV12RV3").await;
    let statement = csv(&[
        // a payment of the day before, its code reused
        (
            "UA6AB12CD3",
            "2030-01-06 18:00:00",
            "Funds received from - 07******482 CLIENT ONE",
            "2000",
        ),
        (
            "UA7RV12RV3",
            "2030-01-07 09:05:00",
            "Funds received from - 07******111 CLIENT ONE",
            "2000",
        ),
    ]);
    let mut text = String::from_utf8(statement).unwrap();
    text.push_str("UA7RV99RV9,2030-01-07 09:30:00,Send Money Reversal via API to - 07******111 CLIENT ONE,Completed,,2000,3000\r\n");
    let r = check(&t, &PSY, &json!({ "file_base64": b64(text.as_bytes()) })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(&r.body["matching"]), Vec::<&str>::new());
    let said = verdicts(&r.body["not_matching"]);
    assert_eq!(
        said,
        [
            (old.as_str(), "before_approval"),
            (reversed.as_str(), "reversed")
        ]
    );
}

#[tokio::test]
async fn only_a_psychologist_checks_and_only_against_their_own_bookings() {
    let t = spawn_app().await;
    awaiting(&t, 2, "UA7AB12CD3").await;
    let statement = csv(&[(
        "UA7AB12CD3",
        "2030-01-07 09:05:10",
        "Funds received from - 07******482 CLIENT ONE",
        "2000",
    )]);
    let body = json!({ "file_base64": b64(&statement) });
    let r = check(&t, &CLIENT, &body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // another psychologist's check reads the statement and finds none of PSY's bookings
    let r = check(&t, &PSY2, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["matching"], json!([]));
    assert_eq!(r.body["not_matching"], json!([]));
    assert!(!r.body.to_string().contains("Client One"));
}

#[tokio::test]
async fn a_statement_pdf_is_read_in_either_layout_and_must_be_the_profiles_number() {
    let t = spawn_app().await;
    // PSY2 has no M-Pesa number yet, so any statement is theirs to check; every transaction
    // of the text each PDF was drawn from (one completion time each) is read
    for (pdf, rows) in [
        ("mpesa_full_statement.pdf", 22),
        ("mpesa_full_statement_2023.pdf", 18),
    ] {
        let r = check(&t, &PSY2, &json!({ "file_base64": b64(&fixture(pdf)) })).await;
        assert_eq!(r.status, StatusCode::OK, "{pdf}: {}", r.body);
        assert_eq!(r.body["rows"], rows, "{pdf}");
        assert_eq!(r.body["unreadable_rows"], 0, "{pdf}");
        assert_eq!(r.body["totals_agree"], true, "{pdf}");
        assert_eq!(r.body["warning"], Value::Null, "{pdf}");
    }
    // page 1 of 3, re-saved, under the whole statement's summary: said, not hidden
    let r = check(
        &t,
        &PSY2,
        &json!({ "file_base64": b64(&fixture("mpesa_full_statement_reprinted.pdf")) }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totals_agree"], false);
    assert!(r.body["warning"]
        .as_str()
        .unwrap()
        .contains("some rows may not have been read"));
    // PSY's clients pay 0700 000 111; this statement is 0700 123 456's
    let r = check(
        &t,
        &PSY,
        &json!({ "file_base64": b64(&fixture("mpesa_full_statement.pdf")) }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "other_number");
    assert_eq!(
        r.body["error"]["message"],
        "This statement is for 0700 123 456, but the M-Pesa number in your profile is 0700 000 111. Upload the statement of the number your clients pay."
    );
}

/// Sets PSY's M-Pesa number in the store, as a number change (with its recent sign-in) would.
async fn psy_number(t: &TestApp, number: &str) {
    let id = kikao_core::domain::UserId::parse(PSY.id).unwrap();
    let mut p = t.app.profiles.get_profile(&id).await.unwrap().unwrap();
    p.psychologist.as_mut().unwrap().mpesa_number = kikao_core::domain::PhoneNumber::parse(number);
    t.app.profiles.put_profile(&p).await.unwrap();
}

#[tokio::test]
async fn a_statement_of_the_number_a_waiting_booking_was_approved_with_still_checks_it() {
    let t = spawn_app().await;
    // approved while PSY's clients paid 0700 123 456, the number of the statement fixtures
    psy_number(&t, "0700123456").await;
    let old = awaiting(&t, 2, "UA7AB12CD3").await;
    // then the number changed
    psy_number(&t, "0700000111").await;
    let new = awaiting(&t, 3, "UA7EF45GH6").await;
    let r = check(
        &t,
        &PSY,
        &json!({ "file_base64": b64(&fixture("mpesa_full_statement.pdf")) }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let said = verdicts(&r.body["not_matching"]);
    // the old booking is judged by the statement (its 2030 payment is after the 2025 rows);
    // the new one was paid to another number, which this statement cannot show
    assert_eq!(
        said,
        [
            (old.as_str(), "ends_before"),
            (new.as_str(), "other_number")
        ]
    );
    assert_eq!(
        r.body["not_matching"][1]["explanation"],
        "This booking was paid to 0700 000 111, not to the number of this statement; check it on that number's statement."
    );
}

#[tokio::test]
async fn a_locked_statement_asks_for_its_password_which_opens_it() {
    let t = spawn_app().await;
    let file = b64(&fixture("mpesa_full_statement_locked_aes256.pdf"));
    let r = check(&t, &PSY2, &json!({ "file_base64": file })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "statement_locked");
    let r = check(
        &t,
        &PSY2,
        &json!({ "file_base64": file, "password": "00000000" }),
    )
    .await;
    assert_eq!(r.code(), "wrong_password");
    let r = check(
        &t,
        &PSY2,
        &json!({ "file_base64": file, "password": "31415926" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["rows"], 22);
}

#[tokio::test]
async fn what_is_not_a_statement_gets_a_sentence() {
    let t = spawn_app().await;
    let cases: [(Value, StatusCode, &str, &str); 6] = [
        (
            json!({ "file_base64": "not base64!" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "choose the statement file again",
        ),
        (
            json!({ "file_base64": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "is empty",
        ),
        (
            json!({ "file_base64": b64(&[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F']) }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_statement",
            "neither a PDF nor a CSV",
        ),
        (
            json!({ "file_base64": b64(b"name,amount\nAmani,2000\n") }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_statement",
            "Receipt No",
        ),
        (
            json!({ "file_base64": b64(&vec![b'a'; 4 * 1024 * 1024 + 1]) }),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "larger than 4 MB",
        ),
        (
            json!({ "statement": "x" }),
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "wrong shape",
        ),
    ];
    for (body, status, code, words) in cases {
        let r = check(&t, &PSY, &body).await;
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.code(), code, "{}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(!message.contains("file_base64"), "{message}");
        }
    }
}
