//! The logs of a whole booking, as the dev server writes them through the production
//! subscriber (`kikao_telemetry`): every line is a JSON object, every API line carries the
//! request id and the caller's user id, and no line holds a token, a phone number or an
//! M-Pesa transaction code in clear, even at debug level; nor, once the client erased their
//! account, their name, email or note.

mod support;

use support::{now0, Server};

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const CODE: &str = "RK12MNO345";
const NOTE: &str = "logs-note-3f9a: sleeping badly";
const SMS: &str = "RK12MNO345 Confirmed. Ksh2,000.00 sent to AMANI NJERI 0700000111 on 7/1/30 at 11:00 AM New M-PESA balance is Ksh5.00.";

/// One request; its status and JSON body.
async fn send(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = server
        .request(method, path, token, body.as_ref(), &[])
        .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_booking_logs_json_with_ids_and_no_secrets() {
    // SAFETY of intent: this test file is its own process and sets the level before any log
    std::env::set_var("RUST_LOG", "debug");
    let captured = Captured::default();
    tracing::subscriber::set_global_default(kikao_telemetry::subscriber(captured.clone())).unwrap();

    let server = Server::spawn(false).await;
    let login = |user: &'static str| {
        let server = &server;
        async move {
            let (_, b) = send(
                server,
                "POST",
                "/dev/login",
                None,
                Some(json!({"user_id": user})),
            )
            .await;
            b["token"].as_str().unwrap().to_owned()
        }
    };
    let client = login("client-wanjiru").await;
    let psy = login("psy-amani").await;

    // a phone number through the profile, a booking, and the way to a confirmed session
    let (s, _) = send(
        &server,
        "PUT",
        "/api/me",
        Some(&client),
        Some(json!({"phone": "0712 555 019"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, dir_body) = send(&server, "GET", "/api/psychologists", Some(&client), None).await;
    let type_id = dir_body["psychologists"][0]["session_types"][0]["id"].clone();
    let starts = now0() + Duration::days(2) + Duration::hours(1);
    let (s, b) = send(
        &server,
        "POST",
        "/api/sessions",
        Some(&client),
        Some(json!({"psychologist_id": "psy-amani", "session_type_id": type_id, "starts_at": starts.to_rfc3339(), "note": NOTE})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    let (s, _) = send(
        &server,
        "PUT",
        &format!("/api/sessions/{id}/approve"),
        Some(&psy),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = send(
        &server,
        "POST",
        &format!("/api/sessions/{id}/submit-payment"),
        Some(&client),
        Some(json!({"mpesa_message": SMS})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // the psychologist verifies the payment
    let (s, _) = send(
        &server,
        "PUT",
        &format!("/api/sessions/{id}/verify-payment"),
        Some(&psy),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // refused callers: a forged token, and a token in the wrong place
    let forged = format!("{}.AAAA", client.rsplit_once('.').unwrap().0);
    let (s, _) = send(&server, "GET", "/api/sessions", Some(&forged), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = send(
        &server,
        "GET",
        &format!("/api/sessions?token={client}"),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // the client erases their account (their confirmed booking is cancelled)
    let (s, b) = send(
        &server,
        "DELETE",
        "/api/me",
        Some(&client),
        Some(json!({"confirm": "DELETE MY DATA"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // the notifications for all of it (SMS to both parties' phones)
    server.local.background_pass().await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 10, "too few log lines:\n{text}");
    let mut handled = 0;
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["message"] == "handled" {
            handled += 1;
            let span = &v["span"];
            assert!(
                !span["request_id"].as_str().unwrap_or("").is_empty(),
                "{line}"
            );
            assert!(
                span["route"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(['G', 'P', 'D']),
                "{line}"
            );
            assert!(v["status"].is_u64(), "{line}");
            if v["status"] != 401 {
                let who = span["user_id"].as_str().unwrap_or("");
                assert!(who == "client-wanjiru" || who == "psy-amani", "{line}");
            }
        }
    }
    assert_eq!(
        handled, 7,
        "one line per API request that passed the token check:\n{text}"
    );
    assert_eq!(text.matches("refused: no valid token").count(), 2, "{text}");
    assert!(text.contains("\"message\":\"session changed\""), "{text}");
    assert!(text.contains("\"message\":\"notified\""), "{text}");
    let signature = |t: &str| t.rsplit_once('.').unwrap().1.to_owned();
    for secret in [
        client.clone(),
        signature(&client),
        signature(&psy),
        CODE.to_owned(),
        "712555019".into(),
        "712 555 019".into(),
        "700000111".into(),
        "700000201".into(),
        "700000101".into(),
        // nothing that says who the erased client was, or what they wrote
        "Wanjiru".into(),
        "Kamau".into(),
        "wanjiru@example.test".into(),
        NOTE.into(),
    ] {
        assert!(!text.contains(&secret), "{secret} is in the log:\n{text}");
    }
}
