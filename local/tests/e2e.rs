//! The whole lifecycle through the dev server's router, as a browser or curl would drive it:
//! dev sign-in tokens and the same route table, once on the embedded default (SQLite, disk,
//! notification log) and once on the AWS adapters (`--aws`) against moto.

mod support;

use support::{now0, Server};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use kikao_core::ports::Clock;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Res {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Embedded,
    Aws,
}

/// Each test gets its own data folder, or its own table and bucket in moto.
async fn spawn_server(kind: Kind) -> Server {
    Server::spawn(kind == Kind::Aws).await
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name(super::Kind::Embedded).await })*
        }
        mod aws {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name(super::Kind::Aws).await })*
        }
    };
}

on_both_backends!(
    dev_sign_in_and_unauthenticated_requests,
    two_users_through_the_whole_lifecycle,
    decline_reject_and_pay_again_and_every_cancel,
    overlapping_approval_is_slot_taken_and_expiry_releases_it,
    fifty_conflicting_actions_one_winner,
);

impl Server {
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Res {
        let (status, headers, bytes) = self
            .request(method, path, token, body.as_ref(), headers)
            .await;
        let etag = headers.get("etag").map(|v| v.to_str().unwrap().to_owned());
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        assert!(
            !status.is_server_error(),
            "{method} {path}: {status} {body}"
        );
        Res { status, body, etag }
    }

    async fn login(&self, user: &str) -> String {
        let r = self
            .send(
                "POST",
                "/dev/login",
                None,
                Some(json!({"user_id": user})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        r.body["token"].as_str().unwrap().to_owned()
    }

    async fn type_id(&self, token: &str, psychologist: &str) -> String {
        let r = self
            .send("GET", "/api/psychologists", Some(token), None, &[])
            .await;
        let p = r.body["psychologists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == psychologist)
            .unwrap()
            .clone();
        p["session_types"][0]["id"].as_str().unwrap().to_owned()
    }

    async fn book_at(&self, token: &str, starts: DateTime<Utc>) -> String {
        let type_id = self.type_id(token, "psy-amani").await;
        let body = json!({"psychologist_id": "psy-amani", "session_type_id": type_id, "starts_at": starts.to_rfc3339()});
        let r = self
            .send("POST", "/api/sessions", Some(token), Some(body), &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn book(&self, token: &str, days: i64, hour: i64) -> String {
        self.book_at(token, now0() + Duration::days(days) + Duration::hours(hour))
            .await
    }

    /// A request to a presigned URL: the dev server's own (relative) or S3's (absolute, moto).
    async fn raw(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let header = |h: Option<&axum::http::HeaderValue>| {
            h.map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        if url.starts_with("http") {
            let mut r = reqwest::Client::new()
                .request(method.parse().unwrap(), url)
                .body(body);
            if let Some(ct) = content_type {
                r = r.header("content-type", ct);
            }
            let res = r.send().await.unwrap();
            let ct = header(res.headers().get("content-type"));
            (StatusCode::from_u16(res.status().as_u16()).unwrap(), ct)
        } else {
            let mut b = Request::builder().method(method).uri(url);
            if let Some(ct) = content_type {
                b = b.header("content-type", ct);
            }
            let res = self
                .router
                .clone()
                .oneshot(b.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            (res.status(), header(res.headers().get("content-type")))
        }
    }

    async fn act(
        &self,
        method: &str,
        id: &str,
        action: &str,
        token: &str,
        body: Option<Value>,
    ) -> Res {
        let path = if action.is_empty() {
            format!("/api/sessions/{id}")
        } else {
            format!("/api/sessions/{id}/{action}")
        };
        self.send(method, &path, Some(token), body, &[]).await
    }
}

async fn dev_sign_in_and_unauthenticated_requests(kind: Kind) {
    let s = spawn_server(kind).await;
    let users = s.send("GET", "/dev/users", None, None, &[]).await;
    assert!(users
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["role"] == "psychologist"));
    assert!(users
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["role"] == "client"));
    assert_eq!(
        s.send(
            "POST",
            "/dev/login",
            None,
            Some(json!({"user_id": "nobody"})),
            &[]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.send("POST", "/dev/login", None, Some(json!({"id": 1})), &[])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    for token in [None, Some("junk"), Some("eyJhbGciOiJIUzI1NiJ9.e30.sig")] {
        let r = s.send("GET", "/api/sessions", token, None, &[]).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
    }
    let t = s.login("client-wanjiru").await;
    let me = s.send("GET", "/api/me", Some(&t), None, &[]).await;
    assert_eq!(
        (me.body["id"].as_str(), me.body["role"].as_str()),
        (Some("client-wanjiru"), Some("client"))
    );
    assert_eq!(
        s.send("GET", "/api/nothing-here", Some(&t), None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.send("PATCH", "/api/me", Some(&t), None, &[]).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

async fn two_users_through_the_whole_lifecycle(kind: Kind) {
    let s = spawn_server(kind).await;
    let (client, psy) = (s.login("client-wanjiru").await, s.login("psy-amani").await);
    let other_client = s.login("client-kevin").await;
    let other_psy = s.login("psy-baraka").await;

    // the psychologist's dashboard before anything happens, and its cheap poll
    let first = s.send("GET", "/api/sessions", Some(&psy), None, &[]).await;
    let tag = first.etag.clone().unwrap();
    let poll = s
        .send(
            "GET",
            "/api/sessions",
            Some(&psy),
            None,
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(poll.status, StatusCode::NOT_MODIFIED);

    // book -> the psychologist's poll changes
    let id = s.book(&client, 2, 1).await;
    let poll = s
        .send(
            "GET",
            "/api/sessions",
            Some(&psy),
            None,
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(poll.status, StatusCode::OK);
    assert_eq!(poll.body["sessions"][0]["id"], id.as_str());
    assert_eq!(poll.body["action_required"], 1);
    let pending = s
        .send(
            "GET",
            "/api/sessions/pending-approval",
            Some(&psy),
            None,
            &[],
        )
        .await;
    assert_eq!(pending.body["sessions"].as_array().unwrap().len(), 1);

    // approve -> the client sees payment instructions
    assert_eq!(
        s.act("PUT", &id, "approve", &psy, None).await.status,
        StatusCode::OK
    );
    let c = s.act("GET", &id, "", &client, None).await;
    assert_eq!(c.body["status"], "approved");
    assert_eq!(
        c.body["payment_instructions"]["mpesa_number"],
        "+254700000111"
    );
    assert_eq!(c.body["actions"], json!(["submit_payment", "cancel"]));

    // pay with a screenshot uploaded through the signed URL and a pasted SMS
    let up = s
        .act(
            "POST",
            &id,
            "payment-proof",
            &client,
            Some(json!({"content_type": "image/png", "size_bytes": 8})),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let url = up.body["upload_url"].as_str().unwrap();
    let png = b"\x89PNG\r\n\x1a\n".to_vec();
    if kind == Kind::Embedded {
        // the dev server checks the signed type as S3 does (moto does not; see aws_adapters)
        let wrong = s.raw("PUT", url, Some("image/jpeg"), png.clone()).await;
        assert_eq!(wrong.0, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        s.raw("PUT", url, Some("image/png"), png).await.0,
        StatusCode::OK
    );
    let sms = "RK12MNO345 Confirmed. Ksh2,000.00 sent to AMANI NJERI 0700000111 on 7/1/30 at 11:00 AM New M-PESA balance is Ksh5.00.";
    let paid = s
        .act(
            "POST",
            &id,
            "submit-payment",
            &client,
            Some(json!({"mpesa_message": sms, "proof_key": up.body["key"]})),
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    assert_eq!(paid.body["payment"]["transaction_code"], "RK12MNO345");

    // the psychologist sees the proof, verifies, and both get the link; nobody else does
    let p = s.act("GET", &id, "", &psy, None).await;
    assert_eq!(p.body["status"], "payment_submitted");
    assert_eq!(
        p.body["actions"],
        json!(["verify_payment", "reject_payment", "cancel"])
    );
    let proof = s.act("GET", &id, "payment-proof", &psy, None).await;
    let img = s
        .raw("GET", proof.body["url"].as_str().unwrap(), None, Vec::new())
        .await;
    assert_eq!(img, (StatusCode::OK, "image/png".to_owned()));
    let verified = s.act("PUT", &id, "verify-payment", &psy, None).await;
    let link = verified.body["meeting_link"].as_str().unwrap().to_owned();
    assert_eq!(
        s.act("GET", &id, "", &client, None).await.body["meeting_link"],
        link.as_str()
    );
    for outsider in [&other_client, &other_psy] {
        let r = s.act("GET", &id, "", outsider, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(!r.body.to_string().contains(&link));
        let list = s
            .send("GET", "/api/sessions", Some(outsider), None, &[])
            .await;
        assert!(!list.body.to_string().contains(&id));
    }

    // reschedule proposed by the client and accepted by the psychologist
    let new_start = now0() + Duration::days(3) + Duration::hours(1);
    let r = s
        .act(
            "PUT",
            &id,
            "reschedule",
            &client,
            Some(json!({"starts_at": new_start.to_rfc3339()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s.act("PUT", &id, "reschedule/accept", &psy, None).await;
    assert_eq!(
        r.body["starts_at"],
        new_start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );

    // start (not before 15 minutes ahead) and complete
    assert_eq!(
        s.act("PUT", &id, "start", &psy, None).await.status,
        StatusCode::CONFLICT
    );
    s.clock.set(new_start - Duration::minutes(10));
    assert_eq!(
        s.act("PUT", &id, "start", &psy, None).await.body["status"],
        "in_progress"
    );
    assert_eq!(
        s.act("PUT", &id, "complete", &psy, None).await.body["status"],
        "completed"
    );
    let history = s.act("GET", &id, "", &client, None).await.body["history"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        history, 8,
        "book, approve, pay, verify, propose, accept, start, complete"
    );

    // every event reached the other party through the feed, by SMS and email (on AWS that is
    // the stream notifier's job, tested in shared/tests/aws_adapters.rs)
    if kind == Kind::Aws {
        return;
    }
    s.local.background_pass().await;
    let log = s.send("GET", "/dev/notifications", None, None, &[]).await;
    let all = log.body["notifications"].as_array().unwrap();
    let sms: Vec<&Value> = all
        .iter()
        .filter(|n| n["message"]["channel"] == "sms")
        .collect();
    assert_eq!(sms.len(), 8);
    assert_eq!(all.len(), 16, "and one email each");
    let body = |n: &Value| n["message"]["body"].as_str().unwrap().to_owned();
    assert!(sms.iter().any(|n| n["recipient"] == "psy-amani"
        && n["purpose"] == "book"
        && body(n).starts_with("Kikao: New booking request for ")));
    assert!(sms.iter().any(|n| n["recipient"] == "client-wanjiru"
        && n["purpose"] == "approve"
        && body(n).contains("Pay KSh 2,000 to M-Pesa 0700 000 111")));
    // names live in the emails only
    assert!(sms.iter().all(|n| body(n).chars().count() <= 160
        && !body(n).contains("Wanjiru")
        && body(n).ends_with("http://127.0.0.1:3000/")));
    assert!(all
        .iter()
        .any(|n| n["message"]["channel"] == "email" && body(n).contains("Wanjiru Kamau asks for")));
}

async fn decline_reject_and_pay_again_and_every_cancel(kind: Kind) {
    let s = spawn_server(kind).await;
    let (client, psy) = (s.login("client-wanjiru").await, s.login("psy-amani").await);

    let declined = s.book(&client, 2, 1).await;
    let r = s
        .act(
            "PUT",
            &declined,
            "decline",
            &psy,
            Some(json!({"reason": "Fully booked on this date"})),
        )
        .await;
    assert_eq!(r.body["status"], "declined");
    assert_eq!(
        s.act("GET", &declined, "", &client, None).await.body["decline_reason"],
        "Fully booked on this date"
    );

    let id = s.book(&client, 2, 3).await;
    s.act("PUT", &id, "approve", &psy, None).await;
    s.act(
        "POST",
        &id,
        "submit-payment",
        &client,
        Some(json!({"transaction_code": "TX00000001"})),
    )
    .await;
    let r = s
        .act(
            "PUT",
            &id,
            "reject-payment",
            &psy,
            Some(json!({"reason": "No such payment received"})),
        )
        .await;
    assert_eq!(r.body["status"], "approved");
    let c = s.act("GET", &id, "", &client, None).await;
    assert_eq!(
        c.body["payment"]["rejection_reason"],
        "No such payment received"
    );
    let again = s
        .act(
            "POST",
            &id,
            "submit-payment",
            &client,
            Some(json!({"transaction_code": "TX00000002"})),
        )
        .await;
    assert_eq!(again.body["status"], "payment_submitted");

    // a code used on one booking cannot pay for another
    let other = s.book(&client, 4, 1).await;
    s.act("PUT", &other, "approve", &psy, None).await;
    let dup = s
        .act(
            "POST",
            &other,
            "submit-payment",
            &client,
            Some(json!({"transaction_code": "TX00000002"})),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("duplicate_transaction_code"))
    );

    // cancel at each cancellable state
    let pending = s.book(&client, 5, 1).await;
    assert_eq!(
        s.act("DELETE", &pending, "", &client, None).await.body["status"],
        "cancelled"
    );
    assert_eq!(
        s.act("DELETE", &other, "", &psy, Some(json!({"reason": "Sick"})))
            .await
            .body["cancelled_by"],
        "psychologist"
    );
    let r = s
        .act(
            "DELETE",
            &id,
            "",
            &client,
            Some(json!({"reason": "Plans changed"})),
        )
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["refund_due"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    let confirmed = s.book(&client, 7, 1).await;
    s.act("PUT", &confirmed, "approve", &psy, None).await;
    s.act(
        "POST",
        &confirmed,
        "submit-payment",
        &client,
        Some(json!({"transaction_code": "TX00000003"})),
    )
    .await;
    s.act("PUT", &confirmed, "verify-payment", &psy, None).await;
    let r = s
        .act(
            "DELETE",
            &confirmed,
            "",
            &psy,
            Some(json!({"reason": "Emergency"})),
        )
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["refund_due"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    assert_eq!(
        s.act("DELETE", &declined, "", &client, None).await.status,
        StatusCode::CONFLICT
    );
}

async fn overlapping_approval_is_slot_taken_and_expiry_releases_it(kind: Kind) {
    let s = spawn_server(kind).await;
    let (a, b, psy) = (
        s.login("client-wanjiru").await,
        s.login("client-kevin").await,
        s.login("psy-amani").await,
    );
    let first = s.book(&a, 2, 1).await;
    // same psychologist, overlapping by half an hour
    let second = s
        .book_at(&b, now0() + Duration::days(2) + Duration::minutes(90))
        .await;
    assert_eq!(
        s.act("PUT", &first, "approve", &psy, None).await.status,
        StatusCode::OK
    );
    let r = s.act("PUT", &second, "approve", &psy, None).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("slot_taken"))
    );

    // the first is never paid: after its deadline the expiry job cancels it and frees the time
    s.clock.advance(Duration::hours(25));
    s.local.background_pass().await;
    let r = s.act("GET", &first, "", &a, None).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["cancelled_by"].as_str()),
        (Some("cancelled"), Some("system"))
    );
    assert_eq!(
        s.act("PUT", &second, "approve", &psy, None).await.status,
        StatusCode::OK
    );

    // an unanswered request expires at its start time
    let unanswered = s.book(&a, 3, 5).await;
    s.clock.set(now0() + Duration::days(3) + Duration::hours(5));
    s.local.background_pass().await;
    assert_eq!(
        s.act("GET", &unanswered, "", &a, None).await.body["status"],
        "cancelled"
    );
}

/// 50 conflicting actions at once on one booking: exactly one wins, the rest get 409, and the
/// history has exactly one event for the winning change.
async fn fifty_conflicting_actions_one_winner(kind: Kind) {
    let s = Arc::new(spawn_server(kind).await);
    let (client, psy) = (s.login("client-wanjiru").await, s.login("psy-amani").await);
    let id = s.book(&client, 2, 1).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (s, id, client, psy, barrier) = (
            s.clone(),
            id.clone(),
            client.clone(),
            psy.clone(),
            barrier.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            // every request acts on the version all of them saw (If-Match), so a late one
            // cannot succeed on the state an earlier winner left
            let seen = [("if-match", "\"1\"")];
            let path = format!("/api/sessions/{id}");
            match i % 3 {
                0 => {
                    s.send("PUT", &format!("{path}/approve"), Some(&psy), None, &seen)
                        .await
                        .status
                }
                1 => {
                    s.send("DELETE", &path, Some(&client), None, &seen)
                        .await
                        .status
                }
                _ => {
                    let body = Some(json!({"reason": "No"}));
                    s.send("PUT", &format!("{path}/decline"), Some(&psy), body, &seen)
                        .await
                        .status
                }
            }
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflict = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflict), (1, 49), "{statuses:?}");
    let history = s.act("GET", &id, "", &client, None).await.body["history"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        history.len(),
        2,
        "the booking and exactly one change: {history:?}"
    );
}

/// `POST /dev/clock` moves the dev server's clock and runs the due work at once: a confirmed
/// session's 24-hour and 1-hour reminders reach both parties' log entries (with the booking and
/// the purpose), each once, whatever the passes in between. Embedded only: on the AWS
/// adapters the stream notifier and the reminder job send, and the rehearsal runs those.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dev_clock_drives_reminders_each_sent_once() {
    let s = spawn_server(Kind::Embedded).await;
    let (client, psy) = (s.login("client-wanjiru").await, s.login("psy-amani").await);
    let id = s.book(&client, 2, 1).await;
    let start = now0() + Duration::days(2) + Duration::hours(1);
    s.act("PUT", &id, "approve", &psy, None).await;
    let paid = json!({"transaction_code": "QK71CLK123"});
    s.act("POST", &id, "submit-payment", &client, Some(paid))
        .await;
    s.act("PUT", &id, "verify-payment", &psy, None).await;
    s.local.background_pass().await;

    let log = |purpose: &'static str| {
        let s = &s;
        let id = id.clone();
        async move {
            let r = s.send("GET", "/dev/notifications", None, None, &[]).await;
            let mut who: Vec<String> = r.body["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["session_id"] == id.as_str() && n["purpose"] == purpose)
                .map(|n| {
                    format!(
                        "{} {}",
                        n["recipient"].as_str().unwrap(),
                        n["message"]["channel"].as_str().unwrap()
                    )
                })
                .collect();
            who.sort();
            who
        }
    };
    let both = [
        "client-wanjiru email",
        "client-wanjiru sms",
        "psy-amani email",
        "psy-amani sms",
    ];
    assert_eq!(
        log("verify_payment").await,
        ["client-wanjiru email", "client-wanjiru sms"]
    );
    assert!(log("reminder_24h").await.is_empty());

    let to = |at: DateTime<Utc>| json!({"advance_minutes": (at - s.clock.now()).num_minutes()});
    let r = s
        .send(
            "POST",
            "/dev/clock",
            None,
            Some(to(start - Duration::hours(23))),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(log("reminder_24h").await, both);
    s.local.background_pass().await;
    s.send(
        "POST",
        "/dev/clock",
        None,
        Some(json!({"advance_minutes": 60})),
        &[],
    )
    .await;
    assert_eq!(log("reminder_24h").await, both, "once each");

    s.send(
        "POST",
        "/dev/clock",
        None,
        Some(to(start - Duration::minutes(30))),
        &[],
    )
    .await;
    assert_eq!(log("reminder_1h").await, both);
    s.local.background_pass().await;
    assert_eq!(log("reminder_1h").await, both, "once each");
    let r = s.send("GET", "/dev/notifications", None, None, &[]).await;
    let sms: Vec<&str> = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["purpose"] == "reminder_1h" && n["message"]["channel"] == "sms")
        .map(|n| n["message"]["body"].as_str().unwrap())
        .collect();
    assert!(
        sms.iter()
            .all(|b| b.starts_with("Kikao: Your session starts in an hour")),
        "{sms:?}"
    );

    for (body, status) in [
        (
            json!({"advance_minutes": -5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"advance_minutes": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"minutes": 5}), StatusCode::BAD_REQUEST),
    ] {
        let r = s.send("POST", "/dev/clock", None, Some(body), &[]).await;
        assert_eq!(r.status, status, "{}", r.body);
        assert!(r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("minute"));
    }
}

/// A new M-Pesa number is told to the psychologist's contacts as they were before the change,
/// by SMS and email even with both switched off (a security alert, not a notification), once;
/// ten minutes after signing in, the number is out of reach. Embedded only: on the AWS adapters
/// the stream notifier sends it (the AWS adapter tests and the rehearsal).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_m_pesa_number_alerts_the_old_contacts_once() {
    let s = spawn_server(Kind::Embedded).await;
    let psy = s.login("psy-amani").await;
    let off = json!({"notify_sms": false, "notify_email": false});
    assert_eq!(
        s.send("PUT", "/api/me", Some(&psy), Some(off), &[])
            .await
            .status,
        StatusCode::OK
    );
    let change = json!({"mpesa_number": "0711 222 999"});
    let r = s
        .send("PUT", "/api/me", Some(&psy), Some(change), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let alerts = || async {
        s.local.background_pass().await;
        let r = s.send("GET", "/dev/notifications", None, None, &[]).await;
        let mut got: Vec<String> = r.body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["purpose"] == "mpesa_number_changed")
            .map(|n| {
                assert!(n["session_id"].is_null(), "{n}");
                let m = &n["message"];
                format!(
                    "{} {} {}",
                    n["recipient"].as_str().unwrap(),
                    m["channel"].as_str().unwrap(),
                    m["to"].as_str().unwrap()
                )
            })
            .collect();
        got.sort();
        got
    };
    let expected = [
        "psy-amani email amani@example.test",
        "psy-amani sms +254700000101",
    ];
    assert_eq!(alerts().await, expected);
    assert_eq!(alerts().await, expected, "sent once");

    s.clock.advance(Duration::minutes(10));
    let again = json!({"mpesa_number": "0711 222 000"});
    let r = s.send("PUT", "/api/me", Some(&psy), Some(again), &[]).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("recent_sign_in_required"))
    );
    assert_eq!(alerts().await, expected, "no alert for a refused change");
}

/// SMS go only to a number its owner has confirmed. A client who types a new number gets none
/// (email still goes) until they enter the code sent to it, which the dev sign-in sends to the
/// notification log as Cognito sends its own; a wrong code changes nothing; the right one gives
/// a token that vouches for the number, and the next message reaches it. Embedded only: on the
/// AWS adapters the stream notifier sends (the AWS adapter tests and the rehearsal).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sms_wait_for_a_confirmed_phone() {
    let s = spawn_server(Kind::Embedded).await;
    let client = s.login("client-kevin").await;
    let psy = s.login("psy-amani").await;
    let me = s.send("GET", "/api/me", Some(&client), None, &[]).await;
    assert_eq!(me.body["phone_verified"], true, "{}", me.body);
    let new = json!({"phone": "0711 300 401"});
    let me = s
        .send("PUT", "/api/me", Some(&client), Some(new), &[])
        .await;
    assert_eq!(
        (
            me.status,
            me.body["phone"].as_str(),
            &me.body["phone_verified"]
        ),
        (StatusCode::OK, Some("+254711300401"), &json!(false))
    );
    // what reached the client's new number and address, by purpose
    let to_client = |purpose: &'static str| {
        let s = &s;
        async move {
            s.local.background_pass().await;
            let r = s.send("GET", "/dev/notifications", None, None, &[]).await;
            r.body["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["recipient"] == "client-kevin" && n["purpose"] == purpose)
                .map(|n| n["message"]["to"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let first = s.book(&client, 3, 1).await;
    assert_eq!(
        s.act("PUT", &first, "approve", &psy, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        to_client("approve").await,
        ["kevin@example.test"],
        "email only: the new number is unconfirmed"
    );

    let ask = |body: Value| s.send("POST", "/dev/phone/code", Some(&client), Some(body), &[]);
    let r = ask(json!({"phone": "+1 555 0100"})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_phone"))
    );
    let r = ask(json!({"phone": "0711 300 401"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(to_client("phone_verification").await, ["+254711300401"]);
    let log = s.send("GET", "/dev/notifications", None, None, &[]).await;
    let text = log.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|n| n["purpose"] == "phone_verification")
        .map(|n| n["message"]["body"].as_str().unwrap().to_owned())
        .unwrap();
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let verify = |code: String| {
        s.send(
            "POST",
            "/dev/phone/verify",
            Some(&client),
            Some(json!({ "code": code })),
            &[],
        )
    };
    let r = verify(wrong).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code_mismatch"))
    );
    let me = s.send("GET", "/api/me", Some(&client), None, &[]).await;
    assert_eq!(me.body["phone_verified"], false);
    let r = verify(code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let confirmed = r.body["token"].as_str().unwrap().to_owned();
    let me = s.send("GET", "/api/me", Some(&confirmed), None, &[]).await;
    assert_eq!(
        (me.body["phone"].as_str(), &me.body["phone_verified"]),
        (Some("+254711300401"), &json!(true))
    );

    let second = s.book(&confirmed, 4, 1).await;
    assert_eq!(
        s.act("PUT", &second, "approve", &psy, None).await.status,
        StatusCode::OK
    );
    let mut got = to_client("approve").await;
    got.sort();
    assert_eq!(
        got,
        ["+254711300401", "kevin@example.test", "kevin@example.test"]
    );
}

/// `POST /dev/users` adds someone who starts from nothing, as a new sign-up or invitation does:
/// listed at once, signs in, gets a profile of their role on first sight with no bookings, an
/// unconfirmed phone, and (a psychologist) changes refused until two-step sign-in is on. Bad
/// requests are refused in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_dev_user_starts_from_nothing() {
    let s = spawn_server(Kind::Embedded).await;
    let add = |name: &str, role: &str| {
        let body = json!({ "name": name, "role": role });
        s.send("POST", "/dev/users", None, Some(body), &[])
    };
    let r = add("Akinyi Odhiambo", "client").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["role"].as_str()),
        (Some("Akinyi Odhiambo"), Some("client"))
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    let listed = s.send("GET", "/dev/users", None, None, &[]).await;
    assert!(listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["id"] == id.as_str()));
    let token = s.login(&id).await;
    let me = s.send("GET", "/api/me", Some(&token), None, &[]).await;
    assert_eq!(
        (
            me.body["name"].as_str(),
            me.body["role"].as_str(),
            &me.body["phone_verified"]
        ),
        (Some("Akinyi Odhiambo"), Some("client"), &json!(false))
    );
    let mine = s
        .send("GET", "/api/sessions", Some(&token), None, &[])
        .await;
    assert_eq!(mine.body["sessions"], json!([]), "{}", mine.body);

    let r = add("Dr. Wekesa Barasa", "psychologist").await;
    let psy = s.login(r.body["id"].as_str().unwrap()).await;
    let me = s.send("GET", "/api/me", Some(&psy), None, &[]).await;
    assert_eq!(
        (
            me.body["role"].as_str(),
            &me.body["mfa_required"],
            &me.body["mfa"]
        ),
        (Some("psychologist"), &json!(true), &json!(false))
    );
    let put = json!({"title": "Counselling Psychologist"});
    let r = s.send("PUT", "/api/me", Some(&psy), Some(put), &[]).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required"))
    );
    let r = add("Nia Otieno", "practice_admin").await;
    assert_eq!(r.body["role"], "practice_admin");

    for (body, status, code) in [
        (
            json!({"name": "X", "role": "owner"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_role",
        ),
        (
            json!({"name": "  ", "role": "client"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
        ),
        (
            json!({"name": "X"}),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        (
            json!({"name": "X", "role": "client", "admin": true}),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
    ] {
        let r = s
            .send("POST", "/dev/users", None, Some(body.clone()), &[])
            .await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
}

/// An erasure on the dev server: the client's messages, and the messages about them, leave the
/// dev outbox (`/dev/notifications` stands in for phones and mailboxes), the psychologist is
/// told of the cancelled booking without the client's name, and the dev directory forgets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn erasure_on_the_dev_server_empties_its_outbox_of_the_client() {
    let s = spawn_server(Kind::Embedded).await;
    let kevin = s.login("client-kevin").await;
    let amani = s.login("psy-amani").await;
    let id = s.book(&kevin, 2, 1).await;
    let r = s
        .send(
            "PUT",
            &format!("/api/sessions/{id}/approve"),
            Some(&amani),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    s.local.background_pass().await;
    let logged = || serde_json::to_string(&s.local.notifier.recent(10_000)).unwrap();
    let kevins = ["Kevin", "Mwangi", "kevin@example.test", "+254700000202"];
    let before = logged();
    for trace in kevins {
        assert!(before.contains(trace), "the set-up logs {trace}");
    }

    let r = s
        .send(
            "DELETE",
            "/api/me",
            Some(&kevin),
            Some(json!({"confirm": "DELETE MY DATA"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    s.local.background_pass().await;
    let after = logged();
    for trace in kevins {
        assert!(!after.contains(trace), "{trace} is still in the dev outbox");
    }
    // Dr. Amani heard of the cancellation, with no name in it
    let told: Vec<Value> = s
        .local
        .notifier
        .recent(10_000)
        .into_iter()
        .map(|n| serde_json::to_value(n).unwrap())
        .filter(|n| n["recipient"] == "psy-amani" && n["purpose"] == "cancel")
        .collect();
    assert_eq!(told.len(), 2, "an SMS and an email: {told:?}");
    assert!(told.iter().any(|n| n.to_string().contains("Former client")));
    // gone from the directory, so no more dev sign-in as Kevin
    let users = s.send("GET", "/dev/users", None, None, &[]).await;
    assert!(!users.body.to_string().contains("client-kevin"));
    let r = s.send("GET", "/api/me", Some(&kevin), None, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
