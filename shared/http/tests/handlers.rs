//! Every endpoint's handler, called with requests shaped as API Gateway sends them: success,
//! no claims (401), wrong role (403), not a party (404), wrong state (409), malformed body
//! (400) and invalid values (422), on a real SQLite store.

mod support;

use chrono::Duration;
use kikao_http::handlers as h;
use lambda_http::http::{Method, StatusCode};
use lambda_http::RequestExt;
use serde_json::json;
use support::*;

const SMS: &str = "QK71ABC123 Confirmed. Ksh2,000.00 sent to TEST ONE 0700000111 on 7/1/30 at 10:00 AM New M-PESA balance is Ksh106.00. Transaction cost, Ksh0.00.";

/// `phone_verified` follows what the token vouches for: a number is confirmed once the identity
/// provider says so for that number, a new one typed in the profile is not until then, and
/// choosing the number the token vouches for confirms it at once.
#[tokio::test]
async fn a_phone_is_confirmed_as_the_token_vouches() {
    let t = spawn_app().await;
    // someone seen for the first time here (CLIENT's profile exists from the test app's set-up)
    const FIRST: User = User {
        id: "client-first",
        ..CLIENT
    };
    let me = |vouched: &'static str, method: Method, body: Option<&'static str>| {
        let app = t.app.clone();
        async move {
            let mut r = request(method.clone(), "/api/me", Some(&FIRST), body);
            let mut c = claims(&FIRST);
            c.insert("phone_number_verified".into(), vouched.into());
            r = r.with_request_context(kikao_http::auth::api_gateway_context(
                &c,
                method.as_str(),
                "/api/me",
                "test",
                "req-1",
            ));
            let res = if method == Method::GET {
                h::get_me(&app, r).await
            } else {
                h::update_me(&app, r).await
            };
            let r = reply(res).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            (
                r.body["phone"].as_str().unwrap_or_default().to_owned(),
                r.body["phone_verified"].as_bool().unwrap(),
            )
        }
    };
    let at = |n: &str, v: bool| (n.to_owned(), v);
    assert_eq!(
        me("false", Method::GET, None).await,
        at("+254700000201", false)
    );
    assert_eq!(
        me("true", Method::GET, None).await,
        at("+254700000201", true)
    );
    // a later token that does not say so takes nothing away
    assert_eq!(
        me("false", Method::GET, None).await,
        at("+254700000201", true)
    );
    let other = Some(r#"{"phone":"0711 222 333"}"#);
    assert_eq!(
        me("true", Method::PUT, other).await,
        at("+254711222333", false)
    );
    assert_eq!(
        me("true", Method::GET, None).await,
        at("+254711222333", false)
    );
    let back = Some(r#"{"phone":"+254700000201"}"#);
    assert_eq!(
        me("true", Method::PUT, back).await,
        at("+254700000201", true)
    );
}

#[tokio::test]
async fn me_is_created_from_claims_and_updated_by_its_owner() {
    let t = spawn_app().await;
    let r =
        reply(h::get_me(&t.app, request(Method::GET, "/api/me", Some(&CLIENT), None)).await).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["role"].as_str(), r.body["name"].as_str()),
        (Some("client"), Some("Client One"))
    );
    assert!(
        r.body.get("session_types").is_none(),
        "clients have no session types"
    );

    let r = reply(h::get_me(&t.app, request(Method::GET, "/api/me", None, None)).await).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    let put = |who: &'static User, body: &'static str| {
        let app = t.app.clone();
        async move {
            reply(h::update_me(&app, request(Method::PUT, "/api/me", Some(who), Some(body))).await)
                .await
        }
    };
    let r = put(&CLIENT, r#"{"phone":"0711 222 333","notify_sms":false}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["phone"].as_str(), r.body["notify_sms"].as_bool()),
        (Some("+254711222333"), Some(false))
    );
    assert_eq!(
        put(&CLIENT, r#"{"phone":"#).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        put(&CLIENT, r#"{"phone":"12345"}"#).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = put(&CLIENT, r#"{"session_types":[]}"#).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a client cannot set prices"
    );
    let r = put(&PSY, r#"{"mpesa_number":"0722000999","session_types":[{"name":"Short","duration_minutes":30,"price_kes":900}]}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["session_types"][0]["price_kes"], 900);
    assert_eq!(r.body["mpesa_number"], "+254722000999");
    let r = put(
        &PSY,
        r#"{"session_types":[{"name":"Odd","duration_minutes":50,"price_kes":900}]}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("15"));
}

#[tokio::test]
async fn directory_lists_bookable_psychologists_without_their_numbers() {
    let t = spawn_app().await;
    let r = reply(
        h::list_psychologists(
            &t.app,
            request(Method::GET, "/api/psychologists", Some(&CLIENT), None),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body["psychologists"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["session_types"][0]["price_kes"], 2000);
    assert!(
        !r.body.to_string().contains("0700000111") && !r.body.to_string().contains("+254700000111")
    );
    let r = reply(
        h::list_psychologists(
            &t.app,
            request(Method::GET, "/api/psychologists", None, None),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn booking_takes_its_price_from_the_server_and_checks_its_input() {
    let t = spawn_app().await;
    let book = |who: &'static User, body: String, key: Option<&'static str>| {
        let app = t.app.clone();
        async move {
            let mut req = request(Method::POST, "/api/sessions", Some(who), Some(&body));
            if let Some(k) = key {
                req.headers_mut()
                    .insert("idempotency-key", k.parse().unwrap());
            }
            reply(h::book_session(&app, req).await).await
        }
    };
    let start = t.start_in(2);
    let r = book(&CLIENT, t.booking_body(start), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "pending_approval");
    assert_eq!(r.body["price_kes"], 2000);
    assert_eq!(r.body["actions"], json!(["cancel"]));
    assert_eq!(r.body["next_status"], json!({"cancel": "cancelled"}));
    assert_eq!(
        r.headers["location"],
        format!("/api/sessions/{}", r.body["id"].as_str().unwrap())
    );

    // a price in the request is not a field of the API at all
    let mut priced: serde_json::Value =
        serde_json::from_str(&t.booking_body(t.start_in(3))).unwrap();
    priced["price_kes"] = json!(1);
    assert_eq!(
        book(&CLIENT, priced.to_string(), None).await.status,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        book(&PSY, t.booking_body(t.start_in(3)), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        book(&CLIENT, "not json".into(), None).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        book(&CLIENT, "".into(), None).await.status,
        StatusCode::BAD_REQUEST
    );
    let invalid = [
        t.booking_body(start + Duration::minutes(10)),           // off the grid
        json!({"psychologist_id": PSY.id, "session_type_id": "nope", "starts_at": start.to_rfc3339()}).to_string(),
        json!({"psychologist_id": "ghost", "session_type_id": t.type_id, "starts_at": start.to_rfc3339()}).to_string(),
        json!({"psychologist_id": PSY.id, "session_type_id": t.type_id, "starts_at": "2030-01-09T10:00:00"}).to_string(),
        json!({"psychologist_id": PSY.id, "session_type_id": t.type_id, "starts_at": start.to_rfc3339(), "note": "x".repeat(1001)}).to_string(),
    ];
    for body in invalid {
        let r = book(&CLIENT, body.clone(), None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}"
        );
    }

    // Idempotency-Key: the same request twice is one booking; the key with another body is refused
    let body = t.booking_body(t.start_in(4));
    let first = book(&CLIENT, body.clone(), Some("k-1")).await;
    let again = book(&CLIENT, body, Some("k-1")).await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = book(&CLIENT, t.booking_body(t.start_in(5)), Some("k-1")).await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    let list = reply(
        h::list_sessions(
            &t.app,
            request(Method::GET, "/api/sessions", Some(&CLIENT), None),
        )
        .await,
    )
    .await;
    assert_eq!(list.body["sessions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn booking_a_held_time_is_slot_taken() {
    let t = spawn_app().await;
    let id = t.book().await;
    t.put(&id, "approve", &PSY, None).await;
    let r = reply(
        h::book_session(
            &t.app,
            request(
                Method::POST,
                "/api/sessions",
                Some(&CLIENT2),
                Some(&t.booking_body(t.start_in(2) + Duration::minutes(30))),
            ),
        )
        .await,
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "slot_taken"));
}

#[tokio::test]
async fn list_counts_paginates_and_answers_304_when_unchanged() {
    let t = spawn_app().await;
    for d in 2..5 {
        t.book_at(&CLIENT, t.start_in(d)).await;
    }
    let list = |path: &'static str, who: &'static User, etag: Option<String>| {
        let app = t.app.clone();
        async move {
            let mut req = request(Method::GET, path, Some(who), None);
            if let Some(e) = etag {
                req.headers_mut()
                    .insert("if-none-match", e.parse().unwrap());
            }
            reply(h::list_sessions(&app, req).await).await
        }
    };
    let r = list("/api/sessions", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["counts"]["pending_approval"], 3);
    assert_eq!(r.body["counts"]["confirmed"], 0);
    assert_eq!(r.body["action_required"], 3);
    let etag = r.headers["etag"].to_str().unwrap().to_owned();

    let unchanged = list("/api/sessions", &PSY, Some(etag.clone())).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.body, serde_json::Value::Null);

    let page1 = list("/api/sessions?limit=2", &PSY, None).await;
    assert_eq!(page1.body["sessions"].as_array().unwrap().len(), 2);
    let cursor = page1.body["next_cursor"].as_str().unwrap().to_owned();
    let path: &'static str =
        Box::leak(format!("/api/sessions?limit=2&cursor={cursor}").into_boxed_str());
    let page2 = list(path, &PSY, None).await;
    assert_eq!(page2.body["sessions"].as_array().unwrap().len(), 1);
    assert!(page2.body["next_cursor"].is_null());

    assert_eq!(
        list("/api/sessions?cursor=garbage", &PSY, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        list("/api/sessions?limit=0", &PSY, None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        list("/api/sessions?status=bogus", &PSY, None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // a refused request changes nothing, so the tag holds; a booking with this psychologist
    // changes it
    let other = reply(h::book_session(&t.app, request(Method::POST, "/api/sessions", Some(&CLIENT2), Some(&serde_json::json!({"psychologist_id": PSY2.id, "session_type_id": "x", "starts_at": t.start_in(2).to_rfc3339()}).to_string()))).await).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        list("/api/sessions", &PSY, Some(etag.clone())).await.status,
        StatusCode::NOT_MODIFIED
    );
    t.book_at(&CLIENT2, t.start_in(6)).await;
    let changed = list("/api/sessions", &PSY, Some(etag.clone())).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);

    // the client sees only their own three
    let mine = list("/api/sessions", &CLIENT, None).await;
    assert_eq!(mine.body["sessions"].as_array().unwrap().len(), 3);
    let r = list("/api/sessions", &PSY2, None).await;
    assert!(r.body["sessions"].as_array().unwrap().is_empty());
}

/// `GET path` as `who`, with `If-None-Match: etag` when given.
async fn list_as(t: &TestApp, path: &str, who: &User, etag: Option<&str>) -> Reply {
    let mut req = request(Method::GET, path, Some(who), None);
    if let Some(e) = etag {
        req.headers_mut()
            .insert("if-none-match", e.parse().unwrap());
    }
    reply(h::list_sessions(&t.app, req).await).await
}

fn ids_of(r: &Reply) -> Vec<String> {
    r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn views_come_in_their_order_and_a_poll_brings_only_what_changed() {
    let t = spawn_app().await;
    // booked in an order unlike their starts
    let mut made = Vec::new();
    for d in [4, 2, 5, 3] {
        made.push((d, t.book_at(&CLIENT, t.start_in(d)).await));
        t.clock.advance(Duration::seconds(10));
    }
    made.sort();
    let by_start: Vec<String> = made.iter().map(|(_, id)| id.clone()).collect();

    let r = list_as(&t, "/api/sessions?view=action&limit=3", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids_of(&r), by_start[..3]);
    assert!(r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["view"] == "action"));
    let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r2 = list_as(
        &t,
        &format!("/api/sessions?view=action&limit=3&cursor={cursor}"),
        &PSY,
        None,
    )
    .await;
    assert_eq!(ids_of(&r2), by_start[3..]);
    assert!(r2.body["next_cursor"].is_null());
    let theirs = list_as(&t, "/api/sessions?view=waiting", &CLIENT, None).await;
    assert_eq!(ids_of(&theirs), by_start);
    assert_eq!(theirs.body["sessions"][0]["view"], "waiting");

    // a cursor is the caller's and the view's: anyone else's, or another view's, is 400
    for (path, who) in [
        (format!("/api/sessions?view=past&cursor={cursor}"), &PSY),
        (format!("/api/sessions?view=action&cursor={cursor}"), &PSY2),
        (
            format!("/api/sessions?view=waiting&cursor={cursor}"),
            &CLIENT,
        ),
        (
            "/api/sessions?view=action&cursor=bm90LWEtY3Vyc29y".to_owned(),
            &PSY,
        ),
    ] {
        let r = list_as(&t, &path, who, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert_eq!(r.code(), "malformed_request", "{}", r.body);
    }
    // wrong or clashing parameters are 422 with a sentence
    for path in [
        "/api/sessions?view=everything",
        "/api/sessions?view=action&status=approved",
        "/api/sessions?since=yesterday",
        "/api/sessions?since=2030-01-07T06:00:00Z&view=action",
    ] {
        let r = list_as(&t, path, &PSY, None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.ends_with('.') || message.ends_with(':'),
            "{message}"
        );
    }

    // the page's next poll: nothing changed is a bodiless 304 ...
    let since = r.body["next_since"].as_str().unwrap().to_owned();
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let poll = format!("/api/sessions?since={since}");
    t.clock.advance(Duration::seconds(10));
    let unchanged = list_as(&t, &poll, &PSY, Some(&etag)).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    // ... and one change brings that booking alone, in the view it is in now
    let first = &by_start[0];
    assert_eq!(
        t.put(first, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    // (further on than the few seconds a catch-up reaches back, so the next one is empty)
    t.clock.advance(Duration::seconds(10));
    let delta = list_as(&t, &poll, &PSY, Some(&etag)).await;
    assert_eq!(delta.status, StatusCode::OK);
    assert_eq!(ids_of(&delta), std::slice::from_ref(first));
    assert_eq!(delta.body["sessions"][0]["view"], "waiting");
    assert_eq!(delta.body["complete"], true);
    assert_eq!(delta.body["action_required"], 3);
    let client_delta = list_as(&t, &poll, &CLIENT, None).await;
    assert_eq!(ids_of(&client_delta), std::slice::from_ref(first));
    assert_eq!(client_delta.body["sessions"][0]["view"], "action");
    // the next poll from where that one left off has nothing new
    let next = delta.body["next_since"].as_str().unwrap();
    t.clock.advance(Duration::seconds(10));
    let after = list_as(&t, &format!("/api/sessions?since={next}"), &PSY, None).await;
    assert_eq!(ids_of(&after), Vec::<String>::new());
    assert_eq!(after.body["complete"], true);
    // once the clock alone may have changed what can be done, the page reads its views again
    t.clock.advance(Duration::minutes(5));
    let later = list_as(&t, &format!("/api/sessions?since={next}"), &PSY, None).await;
    assert_eq!(later.body["complete"], false);
}

async fn changes_of(t: &TestApp, who: &User) -> Vec<(String, String, String)> {
    let r = reply(
        h::list_changes(
            &t.app,
            request(Method::GET, "/api/me/changes", Some(who), None),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["by"].as_str().unwrap().to_owned(),
                c["session_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_bell_lists_the_latest_changes_to_ones_own_bookings() {
    let t = spawn_app().await;
    let first = t.book_at(&CLIENT, t.start_in(5)).await;
    t.clock.advance(Duration::minutes(1));
    let second = t.confirmed("QK71BEL001").await;
    t.clock.advance(Duration::minutes(1));
    assert_eq!(
        t.put(&first, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let got = changes_of(&t, &CLIENT).await;
    let step = |a: &str, by: &str, id: &str| (a.to_owned(), by.to_owned(), id.to_owned());
    assert_eq!(
        got,
        [
            step("approve", "psychologist", &first),
            step("verify_payment", "psychologist", &second),
            step("submit_payment", "client", &second),
            step("approve", "psychologist", &second),
            step("book", "client", &second),
            step("book", "client", &first),
        ]
    );
    // the psychologist's bell holds the same changes; nobody else's holds any
    assert_eq!(changes_of(&t, &PSY).await, got);
    assert!(changes_of(&t, &CLIENT2).await.is_empty());
    assert!(changes_of(&t, &PSY2).await.is_empty());
    // at most 20, the newest
    for d in 0..8 {
        let id = t.book_at(&CLIENT2, t.start_in(10 + d)).await;
        t.clock.advance(Duration::minutes(1));
        assert_eq!(
            t.put(&id, "approve", &PSY, None).await.status,
            StatusCode::OK
        );
        t.clock.advance(Duration::minutes(1));
        let body = r#"{"reason": "Fully booked that week."}"#;
        assert_eq!(
            t.cancel(&id, &CLIENT2, Some(body)).await.status,
            StatusCode::OK
        );
    }
    let bell = changes_of(&t, &PSY).await;
    assert_eq!(bell.len(), 20);
    assert_eq!(bell[0].0, "cancel");
    assert!(
        !bell.iter().any(|c| c.2 == first),
        "older than the latest twenty"
    );
}

#[tokio::test]
async fn pending_approval_is_for_psychologists() {
    let t = spawn_app().await;
    let a = t.book().await;
    t.book_at(&CLIENT, t.start_in(3)).await;
    t.put(&a, "approve", &PSY, None).await;
    let r = reply(
        h::list_pending_approval(
            &t.app,
            request(
                Method::GET,
                "/api/sessions/pending-approval",
                Some(&PSY),
                None,
            ),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let items = r.body["sessions"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items.iter().all(|s| s["status"] == "pending_approval"));
    let r = reply(
        h::list_pending_approval(
            &t.app,
            request(
                Method::GET,
                "/api/sessions/pending-approval",
                Some(&CLIENT),
                None,
            ),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_session_is_visible_to_its_parties_only() {
    let t = spawn_app().await;
    let id = t.book().await;
    let r = t.get(&id, &CLIENT).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["history"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["history"][0]["action"], "book");
    assert_eq!(t.get(&id, &PSY).await.status, StatusCode::OK);
    for who in [&CLIENT2, &PSY2] {
        let r = t.get(&id, who).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
        assert!(!r.body.to_string().contains(CLIENT.name));
    }
    assert_eq!(
        t.get("not-a-uuid", &CLIENT).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&kikao_core::domain::SessionId::new().to_string(), &CLIENT)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn approve() {
    let t = spawn_app().await;
    let id = t.book().await;
    assert_eq!(
        t.put(&id, "approve", &CLIENT, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.put(&id, "approve", &PSY2, None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t.put(&id, "approve", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "approved");
    assert!(
        r.body["payment_instructions"].is_null(),
        "instructions are for the client"
    );
    let c = t.get(&id, &CLIENT).await;
    assert_eq!(
        c.body["payment_instructions"]["mpesa_number"],
        "+254700000111"
    );
    assert_eq!(c.body["payment_instructions"]["amount_kes"], 2000);
    assert_eq!(c.body["payment_instructions"]["reference"], "Client One");
    assert_eq!(
        c.body["payment_deadline"],
        (support::t0() + Duration::hours(24)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    let again = t.put(&id, "approve", &PSY, None).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
}

#[tokio::test]
async fn approving_needs_an_mpesa_number() {
    let t = spawn_app().await;
    let body = serde_json::json!({"psychologist_id": PSY2.id, "session_type_id": t.type_id, "starts_at": t.start_in(2).to_rfc3339()});
    // PSY2's type id differs; look it up from the directory
    let dir = reply(
        h::list_psychologists(
            &t.app,
            request(Method::GET, "/api/psychologists", Some(&CLIENT), None),
        )
        .await,
    )
    .await;
    let psy2 = dir.body["psychologists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == PSY2.id)
        .unwrap()
        .clone();
    let mut body = body;
    body["session_type_id"] = psy2["session_types"][0]["id"].clone();
    let r = reply(
        h::book_session(
            &t.app,
            request(
                Method::POST,
                "/api/sessions",
                Some(&CLIENT),
                Some(&body.to_string()),
            ),
        )
        .await,
    )
    .await;
    let id = r.body["id"].as_str().unwrap();
    let r = t.put(id, "approve", &PSY2, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("M-Pesa"));
}

#[tokio::test]
async fn overlapping_approvals_are_slot_taken() {
    let t = spawn_app().await;
    let a = t.book_at(&CLIENT, t.start_in(2)).await;
    let b = t
        .book_at(&CLIENT2, t.start_in(2) + Duration::minutes(30))
        .await;
    assert_eq!(
        t.put(&a, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    // the psychologist is warned before trying
    assert_eq!(t.get(&b, &PSY).await.body["overlaps_held_session"], true);
    assert!(
        t.get(&b, &CLIENT2)
            .await
            .body
            .get("overlaps_held_session")
            .is_none(),
        "a psychologist's concern only"
    );
    let r = t.put(&b, "approve", &PSY, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "slot_taken"));
    assert_eq!(
        t.get(&b, &PSY).await.body["status"],
        "pending_approval",
        "nothing changed"
    );
    // the psychologist cancelling the first frees the time
    assert_eq!(
        t.cancel(&a, &PSY, Some(r#"{"reason":"clash"}"#))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.put(&b, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn decline() {
    let t = spawn_app().await;
    let id = t.book().await;
    // what the dashboards ask for comes from the rules: each party's reasons, and payment
    let mine = t.get(&id, &PSY).await.body;
    assert_eq!(
        mine["reasons"],
        json!({"decline": "required", "cancel": "required"})
    );
    assert_eq!(
        (mine["paid"].clone(), mine["refund_if_cancelled"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        t.get(&id, &CLIENT).await.body["reasons"],
        json!({"cancel": "optional"})
    );
    assert_eq!(
        t.put(&id, "decline", &PSY, Some("{}")).await.body["error"]["message"],
        "A reason is required; the other party will see it."
    );
    assert_eq!(
        t.put(&id, "decline", &PSY, Some("{")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.put(&id, "decline", &PSY, None).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = t
        .put(&id, "decline", &PSY, Some(r#"{"reason":"   "}"#))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long = json!({"reason": "x".repeat(501)}).to_string();
    assert_eq!(
        t.put(&id, "decline", &PSY, Some(&long)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.put(&id, "decline", &CLIENT, Some(r#"{"reason":"x"}"#))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.put(&id, "decline", &PSY2, Some(r#"{"reason":"x"}"#))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .put(
            &id,
            "decline",
            &PSY,
            Some(r#"{"reason":"Fully booked on this date"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let c = t.get(&id, &CLIENT).await;
    assert_eq!(
        (c.body["status"].as_str(), c.body["decline_reason"].as_str()),
        (Some("declined"), Some("Fully booked on this date"))
    );
    assert_eq!(
        t.put(&id, "decline", &PSY, Some(r#"{"reason":"x"}"#))
            .await
            .status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn proof_upload_url_is_for_images_of_an_approved_booking() {
    let t = spawn_app().await;
    let id = t.book().await;
    let ask = |who: &'static User, body: &'static str| {
        let (app, path) = (t.app.clone(), format!("/api/sessions/{id}/payment-proof"));
        async move {
            reply(
                h::request_proof_upload(&app, request(Method::POST, &path, Some(who), Some(body)))
                    .await,
            )
            .await
        }
    };
    let ok = r#"{"content_type":"image/png","size_bytes":1000}"#;
    assert_eq!(
        ask(&CLIENT, ok).await.status,
        StatusCode::CONFLICT,
        "not approved yet"
    );
    t.put(&id, "approve", &PSY, None).await;
    let r = ask(&CLIENT, ok).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["key"]
        .as_str()
        .unwrap()
        .starts_with(&format!("proofs/{id}/")));
    assert!(r.body["upload_url"]
        .as_str()
        .unwrap()
        .starts_with("/dev/uploads?"));
    assert_eq!(ask(&PSY, ok).await.status, StatusCode::FORBIDDEN);
    assert_eq!(ask(&CLIENT2, ok).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ask(
            &CLIENT,
            r#"{"content_type":"application/pdf","size_bytes":1000}"#
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        ask(
            &CLIENT,
            r#"{"content_type":"image/png","size_bytes":6000000}"#
        )
        .await
        .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        ask(&CLIENT, r#"{"content_type":"image/png"}"#).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn submit_payment_with_code_or_sms_and_a_screenshot() {
    let t = spawn_app().await;
    let id = t.book().await;
    assert_eq!(
        t.pay(&id, &CLIENT, r#"{"transaction_code":"QK71ABC123"}"#)
            .await
            .status,
        StatusCode::CONFLICT
    );
    t.put(&id, "approve", &PSY, None).await;
    assert_eq!(
        t.pay(&id, &PSY, r#"{"transaction_code":"QK71ABC123"}"#)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.pay(&id, &CLIENT2, r#"{"transaction_code":"QK71ABC123"}"#)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.pay(&id, &CLIENT, "{").await.status,
        StatusCode::BAD_REQUEST
    );
    for bad in [
        r#"{}"#,
        r#"{"transaction_code":"QK71"}"#,
        r#"{"mpesa_message":"hello there"}"#,
        r#"{"transaction_code":"QK71ABC999","mpesa_message":"QK71ABC123 Confirmed. Ksh2,000.00 sent to X on 7/1/30 at 10:00 AM"}"#,
        r#"{"transaction_code":"QK71ABC123","proof_key":"proofs/other/x.png"}"#,
    ] {
        assert_eq!(
            t.pay(&id, &CLIENT, bad).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    // a valid confirmation buried in 2,000 characters of something else is not one message
    let padded = format!(
        "QK71ABC123 Confirmed. Ksh2,000.00 sent to X on 7/1/30 at 10:00 AM {}",
        "x".repeat(2000)
    );
    let long = t
        .pay(
            &id,
            &CLIENT,
            &json!({ "mpesa_message": padded }).to_string(),
        )
        .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        long.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The pasted M-Pesa message is longer than one M-Pesa message"),
        "{}",
        long.body
    );
    // a screenshot named but never uploaded
    let missing =
        json!({"transaction_code": "QK71ABC123", "proof_key": format!("proofs/{id}/nothing.png")})
            .to_string();
    assert_eq!(
        t.pay(&id, &CLIENT, &missing).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // upload through the signed URL, then submit the pasted SMS with it
    let up = reply(
        h::request_proof_upload(
            &t.app,
            request(
                Method::POST,
                &format!("/api/sessions/{id}/payment-proof"),
                Some(&CLIENT),
                Some(r#"{"content_type":"image/png","size_bytes":4}"#),
            ),
        )
        .await,
    )
    .await;
    let url = up.body["upload_url"].as_str().unwrap();
    let q: kikao_embedded::disk_proofs::SignedQuery = signed_query(url);
    t.proofs
        .as_ref()
        .unwrap()
        .accept_upload(&q, "image/png", b"\x89PNG", chrono::Utc::now())
        .unwrap();
    let body = json!({"mpesa_message": SMS, "proof_key": up.body["key"]}).to_string();
    let r = t.pay(&id, &CLIENT, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "payment_submitted");
    assert_eq!(r.body["payment"]["transaction_code"], "QK71ABC123");
    assert_eq!(r.body["payment"]["amount_kes_claimed"], 2000);
    assert_eq!(r.body["payment"]["has_proof"], true);

    // the upload URL still works for a while, but what was submitted is pinned: a second upload
    // under the same key changes nothing the psychologist sees
    t.proofs
        .as_ref()
        .unwrap()
        .accept_upload(&q, "image/png", b"GIF8", chrono::Utc::now())
        .unwrap();
    let link = t.proof_link(&id, &PSY).await;
    let seen: kikao_embedded::disk_proofs::SignedQuery =
        signed_query(link.body["url"].as_str().unwrap());
    let (_, bytes) = t
        .proofs
        .as_ref()
        .unwrap()
        .read_download(&seen, chrono::Utc::now())
        .unwrap();
    assert_eq!(bytes, b"\x89PNG");

    // both parties get a short-lived link to the screenshot; nobody else does
    for who in [&CLIENT, &PSY] {
        let r = t.proof_link(&id, who).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body["url"].as_str().unwrap().starts_with("/dev/proofs?"));
    }
    let r = t.proof_link(&id, &PSY2).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // the same code on another booking is refused
    let other = t.book_at(&CLIENT2, t.start_in(3)).await;
    t.put(&other, "approve", &PSY, None).await;
    let r = t
        .pay(&other, &CLIENT2, r#"{"transaction_code":"qk71abc123"}"#)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "duplicate_transaction_code")
    );
    assert_eq!(
        t.get(&other, &CLIENT2).await.body["status"],
        "approved",
        "nothing changed"
    );
}

#[tokio::test]
async fn no_screenshot_means_404_for_the_proof_link() {
    let t = spawn_app().await;
    let id = t.confirmed("QK71ABC124").await;
    let r = t.proof_link(&id, &PSY).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn verify_issues_a_link_for_the_parties_only() {
    let t = spawn_app().await;
    let id = t.book().await;
    t.put(&id, "approve", &PSY, None).await;
    assert_eq!(
        t.put(&id, "verify-payment", &PSY, None).await.status,
        StatusCode::CONFLICT,
        "nothing to verify yet"
    );
    t.pay(&id, &CLIENT, r#"{"transaction_code":"QK71ABC125"}"#)
        .await;
    assert!(t.get(&id, &CLIENT).await.body["meeting_link"].is_null());
    assert_eq!(
        t.put(&id, "verify-payment", &CLIENT, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.put(&id, "verify-payment", &PSY2, None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t.put(&id, "verify-payment", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let link = r.body["meeting_link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("https://meet.jit.si/kikao-") && link.len() > 50);
    assert_eq!(
        t.get(&id, &CLIENT).await.body["meeting_link"],
        link.as_str()
    );
    assert_eq!(
        t.put(&id, "verify-payment", &PSY, None).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn reject_payment_returns_to_approved_with_the_reason() {
    let t = spawn_app().await;
    let id = t.book().await;
    t.put(&id, "approve", &PSY, None).await;
    t.pay(&id, &CLIENT, r#"{"transaction_code":"QK71ABC126"}"#)
        .await;
    assert_eq!(
        t.put(&id, "reject-payment", &PSY, Some("{}")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.put(&id, "reject-payment", &PSY, Some("[")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.put(&id, "reject-payment", &CLIENT, Some(r#"{"reason":"x"}"#))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = t
        .put(
            &id,
            "reject-payment",
            &PSY,
            Some(r#"{"reason":"No payment with this code reached me"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let c = t.get(&id, &CLIENT).await;
    assert_eq!(c.body["status"], "approved");
    assert_eq!(
        c.body["payment"]["rejection_reason"],
        "No payment with this code reached me"
    );
    assert!(c.body["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("submit_payment")));
    assert_eq!(
        t.put(&id, "reject-payment", &PSY, Some(r#"{"reason":"x"}"#))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // paying again with a new code works
    assert_eq!(
        t.pay(&id, &CLIENT, r#"{"transaction_code":"QK71ABC127"}"#)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn reschedule_proposed_accepted_and_declined() {
    let t = spawn_app().await;
    let id = t.confirmed("QK71ABC128").await;
    let new_start = t.start_in(4);
    let body = json!({"starts_at": new_start.to_rfc3339()}).to_string();
    assert_eq!(
        t.put(&id, "reschedule", &CLIENT2, Some(&body)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.put(&id, "reschedule", &CLIENT, Some("{}")).await.status,
        StatusCode::BAD_REQUEST
    );
    let off = json!({"starts_at": (new_start + Duration::minutes(7)).to_rfc3339()}).to_string();
    assert_eq!(
        t.put(&id, "reschedule", &CLIENT, Some(&off)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.put(&id, "reschedule/accept", &PSY, None).await.status,
        StatusCode::CONFLICT,
        "nothing proposed"
    );

    let r = t.put(&id, "reschedule", &CLIENT, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["reschedule"]["proposed_by"], "client");
    assert_eq!(
        t.put(&id, "reschedule/accept", &CLIENT, None).await.status,
        StatusCode::CONFLICT,
        "not one's own"
    );
    let p = t.get(&id, &PSY).await;
    assert!(p.body["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("accept_reschedule")));
    assert_eq!(p.body["action_required"], true);
    let r = t.put(&id, "reschedule/accept", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["starts_at"],
        new_start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert!(r.body["reschedule"].is_null());

    // the old time is free again, the new one is held
    let old = t.book_at(&CLIENT2, t.start_in(2)).await;
    assert_eq!(
        t.put(&old, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let r = reply(
        h::book_session(
            &t.app,
            request(
                Method::POST,
                "/api/sessions",
                Some(&CLIENT2),
                Some(&t.booking_body(new_start)),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(r.code(), "slot_taken");

    // the psychologist proposes, the client declines: the time stays
    let later = json!({"starts_at": t.start_in(6).to_rfc3339()}).to_string();
    assert_eq!(
        t.put(&id, "reschedule", &PSY, Some(&later)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        t.put(&id, "reschedule/decline", &PSY, None).await.status,
        StatusCode::CONFLICT
    );
    let r = t.put(&id, "reschedule/decline", &CLIENT, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["starts_at"],
        new_start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );

    // proposing a time another held session occupies is slot_taken
    let taken = json!({"starts_at": t.start_in(2).to_rfc3339()}).to_string();
    let r = t.put(&id, "reschedule", &CLIENT, Some(&taken)).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "slot_taken"));
}

#[tokio::test]
async fn start_opens_fifteen_minutes_before_and_complete_follows() {
    let t = spawn_app().await;
    let id = t.confirmed("QK71ABC129").await;
    let r = t.put(&id, "start", &PSY, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    assert_eq!(
        t.put(&id, "complete", &PSY, None).await.status,
        StatusCode::CONFLICT
    );
    t.clock.set(t.start_in(2) - Duration::minutes(15));
    assert_eq!(
        t.put(&id, "start", &CLIENT, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.put(&id, "start", &PSY2, None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t.put(&id, "start", &PSY, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("in_progress"))
    );
    assert!(t.get(&id, &CLIENT).await.body["meeting_link"].is_string());
    assert_eq!(
        t.put(&id, "complete", &CLIENT, None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = t.put(&id, "complete", &PSY, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("completed"))
    );
    assert!(t.get(&id, &CLIENT).await.body["meeting_link"].is_null());
    let history = t.get(&id, &PSY).await.body["history"]
        .as_array()
        .unwrap()
        .clone();
    let trail: Vec<&str> = history.iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(
        trail,
        [
            "pending_approval",
            "approved",
            "payment_submitted",
            "confirmed",
            "in_progress",
            "completed"
        ]
    );
}

#[tokio::test]
async fn cancel_at_each_cancellable_state() {
    let t = spawn_app().await;
    // pending, by the client without a reason
    let a = t.book_at(&CLIENT, t.start_in(2)).await;
    assert_eq!(
        t.cancel(&a, &CLIENT2, None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t.cancel(&a, &CLIENT, None).await;
    assert_eq!(
        (
            r.status,
            r.body["cancelled_by"].as_str(),
            r.body["refund_due"].as_bool()
        ),
        (StatusCode::OK, Some("client"), Some(false))
    );
    assert_eq!(
        t.cancel(&a, &CLIENT, None).await.status,
        StatusCode::CONFLICT
    );
    // approved, by the psychologist: a reason is required
    let b = t.book_at(&CLIENT, t.start_in(3)).await;
    t.put(&b, "approve", &PSY, None).await;
    assert_eq!(
        t.cancel(&b, &PSY, None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.cancel(&b, &PSY, Some("{{")).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = t.cancel(&b, &PSY, Some(r#"{"reason":"Unwell"}"#)).await;
    assert_eq!(
        (r.status, r.body["cancel_reason"].as_str()),
        (StatusCode::OK, Some("Unwell"))
    );
    // payment submitted and confirmed: a refund is due
    let c = t.book_at(&CLIENT, t.start_in(4)).await;
    t.put(&c, "approve", &PSY, None).await;
    t.pay(&c, &CLIENT, r#"{"transaction_code":"QK71ABC130"}"#)
        .await;
    assert_eq!(
        t.cancel(&c, &CLIENT, Some(r#"{"reason":"Changed plans"}"#))
            .await
            .body["refund_due"],
        true
    );
    let d = t.confirmed("QK71ABC131").await;
    let r = t.cancel(&d, &PSY, Some(r#"{"reason":"Emergency"}"#)).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["refund_due"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    assert!(r.body["meeting_link"].is_null());
    // an in-progress session cannot be cancelled
    let e = t.confirmed("QK71ABC132").await;
    t.clock.set(t.start_in(2));
    t.put(&e, "start", &PSY, None).await;
    assert_eq!(
        t.cancel(&e, &CLIENT, None).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn bodies_over_64_kb_are_413() {
    let t = spawn_app().await;
    let id = t.book().await;
    let huge = json!({"reason": "x".repeat(70_000)}).to_string();
    let r = t.put(&id, "decline", &PSY, Some(&huge)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

/// A valid body for each route that takes one, so the checks below reach authorization.
fn valid_body(function: &str, t: &TestApp) -> Option<String> {
    Some(match function {
        "update-me" => r#"{"name":"X"}"#.to_owned(),
        "book-session" => t.booking_body(t.start_in(3)),
        "decline-session" | "reject-payment" | "cancel-session" => r#"{"reason":"r"}"#.to_owned(),
        "request-proof-upload" => r#"{"content_type":"image/png","size_bytes":10}"#.to_owned(),
        "submit-payment" => r#"{"transaction_code":"QK71ABC140"}"#.to_owned(),
        "propose-reschedule" => json!({"starts_at": t.start_in(5).to_rfc3339()}).to_string(),
        "attach-payment" => {
            json!({"session_id": kikao_core::domain::SessionId::new().to_string()}).to_string()
        }
        _ => return None,
    })
}

#[tokio::test]
async fn every_route_is_401_without_claims() {
    let t = spawn_app().await;
    let id = t.confirmed("QK71ABC141").await;
    for route in kikao_http::routes::ROUTES {
        if route.public() {
            // M-Pesa's callbacks take no token: a path without the secret is a page that is
            // not there
            let path = route
                .path
                .replace("{token}", "600000-0123456789abcdef0123456789abcdef");
            let req = request(route.method.parse().unwrap(), &path, None, Some("{}"));
            let r = reply((route.handler)(&t.app, req).await).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", route.path);
            continue;
        }
        let path = route.path.replace("{id}", &id);
        let body = valid_body(route.function, &t);
        let req = request(route.method.parse().unwrap(), &path, None, body.as_deref());
        let r = reply((route.handler)(&t.app, req).await).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{} {}",
            route.method,
            route.path
        );
    }
}

#[tokio::test]
async fn every_session_route_is_404_for_a_stranger_and_leaks_nothing() {
    let t = spawn_app().await;
    let id = t.confirmed("QK71ABC142").await;
    for route in kikao_http::routes::ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/api/sessions/{id}"))
    {
        let path = route.path.replace("{id}", &id);
        // strangers of each role; a role the route refuses outright gets 403 instead
        for who in [&CLIENT2, &PSY2] {
            let body = valid_body(route.function, &t);
            let req = request(
                route.method.parse().unwrap(),
                &path,
                Some(who),
                body.as_deref(),
            );
            let r = reply((route.handler)(&t.app, req).await).await;
            assert!(
                r.status == StatusCode::NOT_FOUND || r.status == StatusCode::FORBIDDEN,
                "{} {} as {}: {} {}",
                route.method,
                route.path,
                who.id,
                r.status,
                r.body
            );
            let text = r.body.to_string();
            assert!(
                !text.contains(CLIENT.name)
                    && !text.contains("QK71ABC142")
                    && !text.contains("meet.jit.si")
            );
        }
    }
    // and nothing changed
    let r = t.get(&id, &CLIENT).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["version"].as_u64()),
        (Some("confirmed"), Some(4))
    );
}

#[tokio::test]
async fn if_match_acts_only_on_the_version_the_caller_saw() {
    let t = spawn_app().await;
    let id = t.book().await;
    let with = |version: &'static str| {
        let mut req = request(
            Method::PUT,
            &format!("/api/sessions/{id}/approve"),
            Some(&PSY),
            None,
        );
        req.headers_mut()
            .insert("if-match", version.parse().unwrap());
        req
    };
    let r = reply(h::approve_session(&t.app, with("\"7\"")).await).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "version_conflict")
    );
    let r = reply(h::approve_session(&t.app, with("seven")).await).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.get(&id, &PSY).await.body["status"],
        "pending_approval",
        "nothing changed"
    );
    let r = reply(h::approve_session(&t.app, with("\"1\"")).await).await;
    assert_eq!(
        (r.status, r.body["version"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    // a cancel based on version 1 is refused although cancelling an approved booking is allowed
    let mut cancel = request(
        Method::DELETE,
        &format!("/api/sessions/{id}"),
        Some(&CLIENT),
        None,
    );
    cancel
        .headers_mut()
        .insert("if-match", "\"1\"".parse().unwrap());
    let r = reply(h::cancel_session(&t.app, cancel).await).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "version_conflict")
    );
}

#[tokio::test]
async fn too_many_booking_requests_are_429_with_retry_after() {
    let t = spawn_app().await;
    let limit = t.app.config.policy.booking_limit as i64;
    for day in 0..limit {
        t.book_at(&CLIENT, t.start_in(2 + day)).await;
    }
    t.clock.advance(Duration::minutes(20));
    let req = request(
        Method::POST,
        "/api/sessions",
        Some(&CLIENT),
        Some(&t.booking_body(t.start_in(60))),
    );
    let r = reply(h::book_session(&t.app, req).await).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.code(), "rate_limited");
    // t0 is on the hour and the window is an hour: 40 minutes are left
    assert_eq!(r.headers["retry-after"], "2400");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("40 minutes"));
    // someone else may still book, and the client may again in the next window
    t.book_at(&CLIENT2, t.start_in(61)).await;
    t.clock.advance(Duration::minutes(40));
    t.book_at(&CLIENT, t.start_in(62)).await;
}

/// Someone the identity provider vouches for but who is in neither group (a client whose first
/// token predates the sign-up trigger's group, or a psychologist not yet added): a 403 whose
/// code the page can act on, and a sentence that says what to do.
#[tokio::test]
async fn a_signed_in_person_without_a_role_is_told_what_to_do() {
    let t = spawn_app().await;
    let nobody = User {
        id: "new-1",
        name: "New Person",
        group: "visitors",
        mfa: false,
    };
    let r =
        reply(h::get_me(&t.app, request(Method::GET, "/api/me", Some(&nobody), None)).await).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "no_role"));
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sign in again"));
}

/// Each party's view says whether the booking waits on them (`action_required`) or on the other
/// party (`awaiting_other_party`, which makes the page poll faster for a while).
#[tokio::test]
async fn a_view_says_who_the_booking_waits_on() {
    let t = spawn_app().await;
    let id = t.book_at(&CLIENT, t.start_in(2)).await;
    let view = |who: &'static User| {
        let app = t.app.clone();
        let path = format!("/api/sessions/{id}");
        async move {
            let r = reply(h::get_session(&app, request(Method::GET, &path, Some(who), None)).await)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            (
                r.body["action_required"].as_bool().unwrap(),
                r.body["awaiting_other_party"].as_bool().unwrap(),
            )
        }
    };
    assert_eq!(
        view(&CLIENT).await,
        (false, true),
        "the client waits on the psychologist"
    );
    assert_eq!(view(&PSY).await, (true, false));
    let path = format!("/api/sessions/{id}/approve");
    let r = reply(h::approve_session(&t.app, request(Method::PUT, &path, Some(&PSY), None)).await)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["awaiting_other_party"], true,
        "now the client must pay"
    );
    assert_eq!(view(&CLIENT).await, (true, false));
}
