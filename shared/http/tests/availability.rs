//! Availability through the handlers: a psychologist sets their week in `PUT /api/me`, clients
//! list free starts, and booking or proposing any other start is refused with the rule it
//! breaks. On a real SQLite store; the DynamoDB adapter answers the same range read in the
//! store conformance suite.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use kikao_http::handlers as h;
use lambda_http::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;

const NAIROBI: Tz = chrono_tz::Africa::Nairobi;

/// `day` January 2030 at `hour`:`minute` Nairobi (t0 is Monday the 7th, 09:00).
fn jan(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    NAIROBI
        .with_ymd_and_hms(2030, 1, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn put_me(t: &TestApp, who: &User, body: Value) -> Reply {
    let body = body.to_string();
    reply(
        h::update_me(
            &t.app,
            request(Method::PUT, "/api/me", Some(who), Some(&body)),
        )
        .await,
    )
    .await
}

async fn slots(t: &TestApp, psychologist: &str, query: &str) -> Reply {
    let path = format!("/api/psychologists/{psychologist}/availability?{query}");
    reply(
        h::psychologist_availability(&t.app, request(Method::GET, &path, Some(&CLIENT), None))
            .await,
    )
    .await
}

fn starts(r: &Reply) -> Vec<String> {
    r.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let t: DateTime<Utc> = s["starts_at"].as_str().unwrap().parse().unwrap();
            t.with_timezone(&NAIROBI).format("%a %d %H:%M").to_string()
        })
        .collect()
}

/// Dr. Amani's week from the demo, with Wednesday the 9th off.
fn amani_week() -> Value {
    json!({"availability": {
        "weekly": [
            {"weekday": "mon", "start": "08:00", "end": "17:00"},
            {"weekday": "tue", "start": "08:00", "end": "17:00"},
            {"weekday": "wed", "start": "08:00", "end": "17:00"},
            {"weekday": "thu", "start": "08:00", "end": "17:00"},
            {"weekday": "fri", "start": "08:00", "end": "17:00"},
            {"weekday": "sat", "start": "09:00", "end": "13:00"}
        ],
        "time_off": [{"from": "2030-01-09", "to": "2030-01-09"}],
        "buffer_minutes": 15,
        "notice_minutes": 120,
        "horizon_days": 180
    }})
}

#[tokio::test]
async fn clients_see_only_free_times_and_cannot_book_others() {
    let t = spawn_app().await;
    let r = put_me(&t, &PSY, amani_week()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["availability"], amani_week()["availability"]);
    let q = |from: DateTime<Utc>, to: DateTime<Utc>| {
        format!(
            "session_type_id={}&from={}&to={}",
            t.type_id,
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            to.format("%Y-%m-%dT%H:%M:%SZ")
        )
    };
    let week = q(jan(7, 0, 0), jan(14, 0, 0));

    let r = slots(&t, PSY.id, &week).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["time_zone"], "Africa/Nairobi");
    let s = starts(&r);
    // it is 09:00 on Monday: two hours' notice makes 11:00 the first start
    assert_eq!(s.first().map(String::as_str), Some("Mon 07 11:00"));
    assert!(s.contains(&"Mon 07 16:00".into()) && !s.contains(&"Mon 07 16:15".into()));
    assert!(!s.iter().any(|x| x.starts_with("Wed")), "time off");
    assert!(!s.iter().any(|x| x.starts_with("Sun")), "not a working day");
    assert_eq!(
        s.iter().filter(|x| x.starts_with("Sat")).count(),
        13,
        "09:00 to 12:00"
    );

    // a held session (approved) and its 15-minute buffer leave the picker
    let held = t.book_at(&CLIENT2, jan(8, 10, 0)).await;
    let r = t.put(&held, "approve", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = starts(&slots(&t, PSY.id, &week).await);
    for gone in [
        "Tue 08 09:00",
        "Tue 08 10:00",
        "Tue 08 10:45",
        "Tue 08 11:00",
    ] {
        assert!(!s.contains(&gone.to_owned()), "{gone}");
    }
    assert!(s.contains(&"Tue 08 08:45".into()) && s.contains(&"Tue 08 11:15".into()));
    // a pending request holds nothing yet
    t.book_at(&CLIENT2, jan(8, 14, 0)).await;
    assert!(starts(&slots(&t, PSY.id, &week).await).contains(&"Tue 08 14:00".into()));

    // every offered start can be booked; the rules each refuse with their own sentence
    let book = |starts_at: DateTime<Utc>| {
        let body = t.booking_body(starts_at);
        let app = t.app.clone();
        async move {
            reply(
                h::book_session(
                    &app,
                    request(Method::POST, "/api/sessions", Some(&CLIENT), Some(&body)),
                )
                .await,
            )
            .await
        }
    };
    let refusals = [
        (jan(13, 10, 0), "outside_availability", "working hours"), // a Sunday
        (jan(7, 17, 0), "outside_availability", "working hours"),  // would end at 18:00
        (jan(9, 10, 0), "outside_availability", "away"),
        (jan(7, 10, 0), "outside_availability", "notice"),
        (
            jan(7, 9, 0) + Duration::days(200),
            "outside_availability",
            "days ahead",
        ),
        (jan(8, 11, 0), "slot_taken", "too close"),
    ];
    for (at, code, words) in refusals {
        let r = book(at).await;
        let status = if code == "slot_taken" {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!((r.status, r.code()), (status, code), "{at}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    }
    assert_eq!(book(jan(8, 11, 15)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn proposals_follow_the_hours_and_approval_keeps_only_its_slot_check() {
    let t = spawn_app().await;
    // booked while PSY worked every day; then the hours change
    let confirmed = t.confirmed("QK71ABC142").await; // Wednesday the 9th, 10:00
    let request_first = t.book_at(&CLIENT2, jan(13, 10, 0)).await; // a Sunday
    let mut week = amani_week();
    week["availability"]["time_off"] = json!([]);
    let r = put_me(&t, &PSY, week).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let propose = |at: DateTime<Utc>| {
        let body = json!({"starts_at": at.to_rfc3339()}).to_string();
        let t = &t;
        let id = confirmed.clone();
        async move { t.put(&id, "reschedule", &CLIENT, Some(&body)).await }
    };
    let r = propose(jan(12, 14, 0)).await; // Saturday afternoon
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "outside_availability"),
        "{}",
        r.body
    );
    // thirty minutes later, overlapping only its own time: allowed
    let r = propose(jan(9, 10, 30)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // the request made before the hours changed can still be approved
    let r = t.put(&request_first, "approve", &PSY, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_psychologist_in_london_keeps_their_hours_across_the_clock_change() {
    let t = spawn_app().await;
    t.clock.set("2030-03-25T00:00:00Z".parse().unwrap());
    let r = put_me(
        &t,
        &PSY,
        json!({"time_zone": "Europe/London", "availability": {
            "weekly": [{"weekday": "mon", "start": "09:00", "end": "10:00"}],
            "time_off": [], "buffer_minutes": 0, "notice_minutes": 0, "horizon_days": 30
        }}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = slots(
        &t,
        PSY.id,
        &format!(
            "session_type_id={}&from=2030-03-25T00:00:00Z&to=2030-04-02T00:00:00Z",
            t.type_id
        ),
    )
    .await;
    assert_eq!(r.body["time_zone"], "Europe/London");
    let got: Vec<&str> = r.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    // 09:00 London is 09:00 UTC before the clocks go forward on the 31st, 08:00 UTC after
    assert_eq!(got, ["2030-03-25T09:00:00Z", "2030-04-01T08:00:00Z"]);
    // and a client anywhere books the instant: 08:00 UTC on 1 April is inside the hours
    let r = reply(
        h::book_session(
            &t.app,
            request(
                Method::POST,
                "/api/sessions",
                Some(&CLIENT),
                Some(&t.booking_body("2030-04-01T09:00:00+01:00".parse().unwrap())),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn bad_hours_and_bad_queries_are_refused_in_words() {
    let t = spawn_app().await;
    let before =
        reply(h::get_me(&t.app, request(Method::GET, "/api/me", Some(&PSY), None)).await).await;
    let hours = |weekly: Value, extra: Value| {
        let mut a = json!({"weekly": weekly, "time_off": [], "buffer_minutes": 0,
            "notice_minutes": 120, "horizon_days": 180});
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        json!({ "availability": a })
    };
    let mon = |s: &str, e: &str| json!({"weekday": "mon", "start": s, "end": e});
    let bad = [
        (
            hours(json!([mon("10:00", "09:00")]), json!({})),
            "end after",
        ),
        (
            hours(
                json!([mon("09:00", "12:00"), mon("11:00", "13:00")]),
                json!({}),
            ),
            "overlap",
        ),
        (
            hours(json!([mon("09:10", "12:00")]), json!({})),
            "quarter hour",
        ),
        (hours(json!([mon("9", "12:00")]), json!({})), "quarter hour"),
        (
            hours(
                json!([{"weekday": "someday", "start": "09:00", "end": "10:00"}]),
                json!({}),
            ),
            "day of the week",
        ),
        (hours(json!([]), json!({"buffer_minutes": 90})), "buffer"),
        (hours(json!([]), json!({"horizon_days": 400})), "horizon"),
        (hours(json!([]), json!({"horizon_days": 0})), "horizon"),
        (hours(json!([]), json!({"notice_minutes": 20000})), "notice"),
        (
            hours(
                json!([]),
                json!({"time_off": [{"from": "2030-02-02", "to": "2030-02-01"}]}),
            ),
            "on or after",
        ),
        (
            hours(
                json!([]),
                json!({"time_off": [{"from": "2/2/2030", "to": "2030-02-03"}]}),
            ),
            "date",
        ),
    ];
    for (body, words) in bad {
        let r = put_me(&t, &PSY, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{words}: {message}");
    }
    let r = put_me(&t, &CLIENT, amani_week()).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "clients have no hours"
    );
    let after =
        reply(h::get_me(&t.app, request(Method::GET, "/api/me", Some(&PSY), None)).await).await;
    assert_eq!(before.body, after.body, "nothing was changed");

    let ty = &t.type_id;
    let cases = [
        (PSY.id, String::new(), StatusCode::BAD_REQUEST),
        (
            PSY.id,
            format!("session_type_id={ty}&from=tomorrow"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            PSY.id,
            format!("session_type_id={ty}&from=2030-01-07T10:00:00"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            PSY.id,
            format!("session_type_id={ty}&from=2030-01-07T00:00:00Z&to=2030-02-08T00:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            PSY.id,
            format!("session_type_id={ty}&from=2030-01-08T00:00:00Z&to=2030-01-07T00:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            PSY.id,
            "session_type_id=nope".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "ghost",
            format!("session_type_id={ty}"),
            StatusCode::NOT_FOUND,
        ),
        (
            CLIENT.id,
            format!("session_type_id={ty}"),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (who, query, status) in cases {
        let r = slots(&t, who, &query).await;
        assert_eq!(r.status, status, "{who}?{query}: {}", r.body);
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    // no `from` or `to`: the next fourteen days
    let r = slots(&t, PSY.id, &format!("session_type_id={ty}")).await;
    let last: DateTime<Utc> = r.body["slots"].as_array().unwrap().last().unwrap()["starts_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(last < support::t0() + Duration::days(14) && last > support::t0() + Duration::days(13));
    let r = reply(
        h::psychologist_availability(
            &t.app,
            request(
                Method::GET,
                &format!(
                    "/api/psychologists/{}/availability?session_type_id={ty}",
                    PSY.id
                ),
                None,
                None,
            ),
        )
        .await,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
