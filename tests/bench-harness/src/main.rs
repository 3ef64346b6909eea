//! kikao-bench: the measurements behind README's "Performance" section, side by side in one
//! run. `tests/bench` prepares what it needs (moto, wrk, release builds) and runs this; it is a
//! command to rerun, not a timed test. Prints one table and writes it as JSON.
//!
//! 1. poll cost: an unchanged poll vs a full list for a user with 20 sessions, on DynamoDB
//!    (moto): calls, bytes read from DynamoDB, read capacity, response bytes; and the seed's
//!    naive design (a full list every poll) as the baseline.
//! 2. handler latency in process (embedded store), p50/p99 per handler.
//! 3. end-to-end GET /api/sessions on the dev server under wrk (127.0.0.1, bounded).
//! 4. Lambda init: process start of a release bootstrap to its first request for work, against
//!    a local Runtime API stub, with all clients built.
//! 5. artifact size: each function's arm64 bootstrap, zipped, from `sam build`.
//! 6. scale: the first page for a psychologist with 10, 100 and 1,000 sessions.
//! 7. free slots: `GET /api/psychologists/{id}/availability` for 31 days of a busy week, in
//!    process on SQLite, and what it reads from DynamoDB (moto).
//! 8. delta: a page's catch-up poll (`?since=`) after one of 20 or 2,000 bookings changed, on
//!    DynamoDB (moto): read capacity, calls and response bytes; and the unchanged poll's one call.

mod dynamo_meter;
mod lambda_init;
mod report;

use chrono::{DateTime, Duration, Utc};
use kikao_aws::dynamodb::DynamoStore;
use kikao_core::bookings::{BookInput, Bookings, Caller, Config, Intent};
use kikao_core::clock::SystemClock;
use kikao_core::domain::*;
use kikao_core::ports::{NoAccounts, ProfileStore, ProofStore, SessionStore, SessionWriter};
use kikao_embedded::disk_proofs::DiskProofStore;
use kikao_embedded::sqlite::SqliteStore;
use kikao_http::auth::api_gateway_context;
use kikao_http::handlers;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt};
use report::{Report, Row};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

const PSY: &str = "bench-psy";
const CLIENT: &str = "bench-client";

fn claims(id: &str, group: &str) -> HashMap<String, String> {
    HashMap::from([
        ("sub".into(), id.into()),
        ("name".into(), format!("Bench {id}")),
        ("phone_number".into(), "+254700000999".into()),
        ("cognito:groups".into(), format!("[{group}]")),
    ])
}

fn request(
    method: Method,
    path: &str,
    who: (&str, &str),
    body: Option<String>,
    headers: &[(&str, &str)],
) -> Request {
    let mut r = Request::new(body.map_or(Body::Empty, Body::Text));
    *r.method_mut() = method.clone();
    *r.uri_mut() = path.parse().unwrap();
    for (k, v) in headers {
        let name = lambda_http::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        r.headers_mut().insert(name, v.parse().unwrap());
    }
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let mut params = HashMap::new();
    let seg: Vec<&str> = path_only.split('/').collect();
    if seg.len() > 3 && seg[3] != "pending-approval" {
        params.insert("id".to_owned(), seg[3].to_owned());
    }
    let mut q: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        q.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    r.with_path_parameters(params)
        .with_query_string_parameters(q)
        .with_request_context(api_gateway_context(
            &claims(who.0, who.1),
            method.as_str(),
            path_only,
            "bench",
            "bench",
        ))
}

/// Bytes on the wire of a response as API Gateway would send it: status line, headers, body.
fn wire_bytes(res: &lambda_http::Response<Body>) -> usize {
    let body = match res.body() {
        Body::Text(t) => t.len(),
        Body::Binary(b) => b.len(),
        _ => 0,
    };
    let headers: usize = res
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    "HTTP/1.1 200 OK\r\n\r\n".len() + headers + body + format!("content-length: {body}\r\n").len()
}

const EVERY_DAY: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The bench psychologist: one 60-minute type, and (so the latency bench books any hour it
/// likes) available every day from 00:00 to 23:45 with no notice.
async fn psychologist(profiles: &dyn ProfileStore) -> String {
    let now = Utc::now();
    let p = Profile::from_claims(
        UserId::parse(PSY).unwrap(),
        Role::Psychologist,
        "Dr. Bench",
        None,
        None,
        now,
    );
    let p = p
        .apply(
            ProfileUpdate {
                mpesa_number: Some("0700000111".into()),
                session_types: Some(vec![SessionTypeDraft {
                    id: None,
                    name: "Individual Therapy".into(),
                    duration_minutes: 60,
                    price_kes: 2000,
                }]),
                availability: Some(AvailabilityDraft::week(
                    &[(EVERY_DAY, "00:00", "23:45")],
                    0,
                    0,
                    365,
                )),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    profiles.put_profile(&p).await.unwrap();
    p.psychologist.unwrap().session_types[0]
        .id
        .as_str()
        .to_owned()
}

/// The `i`-th bench booking of `client`: an hour apart from three days ahead, with a note of
/// typical length.
fn booking(
    client: &str,
    i: usize,
    now: DateTime<Utc>,
    booked_at: DateTime<Utc>,
    type_id: &str,
) -> (Session, Event) {
    let starts_at = DateTime::from_timestamp(
        (now + Duration::days(3)).timestamp() / 900 * 900 + i as i64 * 3600,
        0,
    )
    .unwrap();
    book(
        BookingRequest {
            client: Party { id: UserId::parse(client).unwrap(), name: format!("Client {client}") },
            psychologist: Party { id: UserId::parse(PSY).unwrap(), name: "Dr. Bench".into() },
            session_type: SessionType {
                id: SessionTypeId::parse(type_id).unwrap(),
                name: "Individual Therapy".into(),
                duration_minutes: 60,
                price_kes: Kes::new(2000).unwrap(),
            },
            starts_at,
            note: Some(Note::parse("A note of typical length from the client about what they would like to talk about.").unwrap()),
        },
        booked_at,
    )
}

/// `n` bookings by `client` with the bench psychologist, half of them approved.
async fn seed(store: &dyn SessionStore, client: &str, n: usize, type_id: &str) -> Vec<SessionId> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (s, e) = booking(client, i, now, now, type_id);
        store
            .write(&Change::new(None, s.clone(), e), None)
            .await
            .unwrap();
        if i % 2 == 0 {
            let psy = UserId::parse(PSY).unwrap();
            let (next, ev) = decide(
                &s,
                Some((&psy, Role::Psychologist)),
                Command::Approve {
                    mpesa_number: PhoneNumber::parse("0700000111"),
                    business: None,
                },
                now,
                &Policy::default(),
            )
            .unwrap();
            store
                .write(&Change::new(Some(&s), next, ev), None)
                .await
                .unwrap();
        }
        ids.push(s.id);
    }
    ids
}

fn app<S>(store: Arc<S>, proofs: Arc<dyn ProofStore>) -> Bookings
where
    S: SessionStore
        + ProfileStore
        + kikao_core::ports::AuditLog
        + kikao_core::ports::SentMessages
        + kikao_core::ports::PaymentLedger
        + kikao_core::ports::CheckoutStore
        + 'static,
{
    Bookings {
        sessions: store.clone(),
        profiles: store.clone(),
        proofs,
        accounts: Arc::new(NoAccounts),
        outbox: Arc::new(kikao_core::ports::NoOutbox),
        audit: store.clone(),
        sent: store.clone(),
        ledger: store.clone(),
        checkouts: store,
        daraja: Arc::new(kikao_core::ports::NoDaraja),
        callback_key: Arc::new(kikao_core::ports::NoCallbackKey),
        clock: Arc::new(SystemClock),
        config: Config::default(),
    }
}

async fn poll_cost(report: &mut Report) {
    let meter = dynamo_meter::Meter::default();
    let client = dynamo_meter::client(&meter).await;
    let table = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store = Arc::new(DynamoStore::new(client, &table));
    store.ensure_table().await.unwrap();
    let type_id = psychologist(store.as_ref()).await;
    seed(store.as_ref(), CLIENT, 20, &type_id).await;
    let tmp = tempfile::tempdir().unwrap();
    let app = app(
        store.clone(),
        Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
    );
    let who = (PSY, "psychologists");

    meter.reset();
    let full =
        handlers::list_sessions(&app, request(Method::GET, "/api/sessions", who, None, &[])).await;
    assert_eq!(full.status(), StatusCode::OK);
    let full_use = meter.take();
    let full_bytes = wire_bytes(&full);
    let tag = full.headers()["etag"].to_str().unwrap().to_owned();

    meter.reset();
    let unchanged = handlers::list_sessions(
        &app,
        request(
            Method::GET,
            "/api/sessions",
            who,
            None,
            &[("if-none-match", &tag)],
        ),
    )
    .await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    let poll_use = meter.take();
    let poll_bytes = wire_bytes(&unchanged);

    let g = "1 poll cost (20 sessions, DynamoDB on moto)";
    report.push(
        Row::new(
            g,
            "unchanged poll: DynamoDB calls",
            poll_use.calls as f64,
            "calls",
        )
        .goal("= 1", poll_use.calls == 1),
    );
    report.push(Row::new(
        g,
        "unchanged poll: bytes read from DynamoDB",
        poll_use.bytes as f64,
        "B",
    ));
    report.push(Row::new(
        g,
        "unchanged poll: read capacity (4 KB rule, strongly consistent)",
        poll_use.rcu,
        "RCU",
    ));
    report.push(Row::new(
        g,
        "unchanged poll: read capacity moto reports",
        poll_use.moto_rcu,
        "RCU",
    ));
    report.push(
        Row::new(
            g,
            "unchanged poll: response (status line, headers, body)",
            poll_bytes as f64,
            "B",
        )
        .goal("<= 300", poll_bytes <= 300),
    );
    report.push(Row::new(
        g,
        "full list: DynamoDB calls",
        full_use.calls as f64,
        "calls",
    ));
    report.push(Row::new(
        g,
        "full list: bytes read from DynamoDB",
        full_use.bytes as f64,
        "B",
    ));
    report.push(Row::new(
        g,
        "full list: read capacity (4 KB rule)",
        full_use.rcu,
        "RCU",
    ));
    report.push(Row::new(g, "full list: response", full_bytes as f64, "B"));
    let byte_ratio = full_bytes as f64 / poll_bytes as f64;
    let rcu_ratio = full_use.rcu / poll_use.rcu.max(f64::MIN_POSITIVE);
    report.push(
        Row::new(
            g,
            "seed's design (full list every poll) / ours: response bytes",
            byte_ratio,
            "x",
        )
        .goal(">= 20", byte_ratio >= 20.0),
    );
    report.push(
        Row::new(g, "seed's design / ours: read capacity", rcu_ratio, "x")
            .goal(">= 20", rcu_ratio >= 20.0),
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn latency_row(report: &mut Report, group: &str, name: &str, mut micros: Vec<f64>) {
    micros.sort_by(|a, b| a.partial_cmp(b).unwrap());
    report.push(Row::new(
        group,
        &format!("{name} p50"),
        percentile(&micros, 0.5),
        "µs",
    ));
    report.push(Row::new(
        group,
        &format!("{name} p99"),
        percentile(&micros, 0.99),
        "µs",
    ));
}

async fn handler_latency(report: &mut Report) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&tmp.path().join("k.sqlite3")).unwrap());
    let app = app(
        store.clone(),
        Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
    );
    let type_id = psychologist(store.as_ref()).await;
    seed(store.as_ref(), CLIENT, 20, &type_id).await;
    let (psy, client) = ((PSY, "psychologists"), (CLIENT, "clients"));
    let g = "2 handler latency in process (SQLite, 200 runs each)";
    const N: usize = 200;
    async fn time<F: std::future::Future<Output = lambda_http::Response<Body>>>(
        f: F,
        expect: StatusCode,
    ) -> f64 {
        let t = Instant::now();
        let r = f.await;
        let us = t.elapsed().as_secs_f64() * 1e6;
        assert_eq!(r.status(), expect);
        us
    }
    let tag = handlers::list_sessions(&app, request(Method::GET, "/api/sessions", psy, None, &[]))
        .await
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut samples: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut v = Vec::new();
    for _ in 0..N {
        v.push(
            time(
                handlers::list_sessions(
                    &app,
                    request(
                        Method::GET,
                        "/api/sessions",
                        psy,
                        None,
                        &[("if-none-match", &tag)],
                    ),
                ),
                StatusCode::NOT_MODIFIED,
            )
            .await,
        );
    }
    samples.push(("GET /api/sessions, unchanged (304)", v));
    let mut v = Vec::new();
    for _ in 0..N {
        v.push(
            time(
                handlers::list_sessions(
                    &app,
                    request(Method::GET, "/api/sessions", psy, None, &[]),
                ),
                StatusCode::OK,
            )
            .await,
        );
    }
    samples.push(("GET /api/sessions, 20 sessions", v));
    let mut v = Vec::new();
    for _ in 0..N {
        v.push(
            time(
                handlers::get_me(&app, request(Method::GET, "/api/me", client, None, &[])),
                StatusCode::OK,
            )
            .await,
        );
    }
    samples.push(("GET /api/me", v));
    let mut booked = Vec::new();
    let mut v = Vec::new();
    // midnight in Nairobi (UTC+3 all year), 40 days ahead
    let base =
        ((Utc::now() + Duration::days(40)).timestamp() + 3 * 3600) / 86400 * 86400 - 3 * 3600;
    // one client per booking: a client may send only 10 booking requests an hour
    let bookers: Vec<String> = (0..N).map(|i| format!("bench-client-{i:03}")).collect();
    for (i, booker) in bookers.iter().enumerate() {
        // twenty a day, 01:00 to 20:00: each inside a day of the psychologist's hours
        let (day, hour) = (i as i64 / 20, i as i64 % 20 + 1);
        let start = DateTime::from_timestamp(base + day * 86400 + hour * 3600, 0).unwrap();
        let body = serde_json::json!({"psychologist_id": PSY, "session_type_id": type_id, "starts_at": start.to_rfc3339()}).to_string();
        let t = Instant::now();
        let r = handlers::book_session(
            &app,
            request(
                Method::POST,
                "/api/sessions",
                (booker, "clients"),
                Some(body),
                &[],
            ),
        )
        .await;
        v.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(r.status(), StatusCode::CREATED);
        let Body::Text(text) = r.body() else { panic!() };
        booked.push(
            serde_json::from_str::<serde_json::Value>(text).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    samples.push(("POST /api/sessions (book)", v));
    let mut v = Vec::new();
    for id in &booked {
        v.push(
            time(
                handlers::approve_session(
                    &app,
                    request(
                        Method::PUT,
                        &format!("/api/sessions/{id}/approve"),
                        psy,
                        None,
                        &[],
                    ),
                ),
                StatusCode::OK,
            )
            .await,
        );
    }
    samples.push(("PUT …/approve", v));
    let mut v = Vec::new();
    for (i, id) in booked.iter().enumerate() {
        let body = format!(r#"{{"transaction_code":"BN{i:08}"}}"#);
        v.push(
            time(
                handlers::submit_payment(
                    &app,
                    request(
                        Method::POST,
                        &format!("/api/sessions/{id}/submit-payment"),
                        (&bookers[i], "clients"),
                        Some(body),
                        &[],
                    ),
                ),
                StatusCode::OK,
            )
            .await,
        );
    }
    samples.push(("POST …/submit-payment", v));
    let mut v = Vec::new();
    for (id, booker) in booked.iter().zip(&bookers) {
        v.push(
            time(
                handlers::get_session(
                    &app,
                    request(
                        Method::GET,
                        &format!("/api/sessions/{id}"),
                        (booker, "clients"),
                        None,
                        &[],
                    ),
                ),
                StatusCode::OK,
            )
            .await,
        );
    }
    samples.push(("GET /api/sessions/{id} (with history)", v));
    for (name, v) in samples {
        latency_row(report, g, name, v);
    }
}

/// `n` bookings written straight as session items with BatchWriteItem: moto slows down with
/// every transaction as a table grows (not a DynamoDB property), and a page query reads only
/// the session items.
async fn bulk_load(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    n: usize,
    type_id: &str,
    first_booked: DateTime<Utc>,
) -> Vec<Session> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let now = Utc::now();
    let mut requests = Vec::new();
    let mut made = Vec::with_capacity(n);
    for i in 0..n {
        let (s, _) = booking(
            CLIENT,
            i,
            now,
            first_booked + Duration::seconds(i as i64),
            type_id,
        );
        let item = kikao_aws::dynamodb::session_item(&s).unwrap();
        made.push(s);
        requests.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
    }
    for chunk in requests.chunks(25) {
        client
            .batch_write_item()
            .request_items(table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    made
}

/// A page catching up (`GET /api/sessions?since=`) after one of its user's bookings changed,
/// for a psychologist with few bookings and with many: what it reads and what it carries.
async fn delta_cost(report: &mut Report) {
    let g = "8 catch-up poll after one change (DynamoDB on moto)";
    for n in [20usize, 2000] {
        // the psychologist approving a request, and a client asking for a new one (whose
        // overlap with held time the list also checks)
        for new_request in [false, true] {
            let meter = dynamo_meter::Meter::default();
            let client = dynamo_meter::client(&meter).await;
            let table = format!("delta-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let store = Arc::new(DynamoStore::new(client.clone(), &table));
            store.ensure_table().await.unwrap();
            let type_id = psychologist(store.as_ref()).await;
            // booked over the last hours, so only the change below is recent
            let made = bulk_load(
                &client,
                &table,
                n,
                &type_id,
                Utc::now() - Duration::hours(6),
            )
            .await;
            let tmp = tempfile::tempdir().unwrap();
            let app = app(
                store.clone(),
                Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
            );
            let who = (PSY, "psychologists");
            let first = handlers::list_sessions(
                &app,
                request(Method::GET, "/api/sessions?view=action", who, None, &[]),
            )
            .await;
            assert_eq!(first.status(), StatusCode::OK);
            let tag = first.headers()["etag"].to_str().unwrap().to_owned();
            let body: serde_json::Value = match first.body() {
                Body::Text(t) => serde_json::from_str(t).unwrap(),
                _ => panic!("a JSON body"),
            };
            let since = body["next_since"].as_str().unwrap().to_owned();
            let poll = format!("/api/sessions?since={since}");

            meter.reset();
            let unchanged = handlers::list_sessions(
                &app,
                request(Method::GET, &poll, who, None, &[("if-none-match", &tag)]),
            )
            .await;
            assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
            let still = meter.take();

            let what = if new_request {
                // a new request, as the booking handler writes it
                let (s, e) = booking(CLIENT, n + 1, Utc::now(), Utc::now(), &type_id);
                store.write(&Change::new(None, s, e), None).await.unwrap();
                "a new request"
            } else {
                // one booking approved, as the approve handler writes it
                let s = made[n / 2].clone();
                let psy = UserId::parse(PSY).unwrap();
                let (next, ev) = decide(
                    &s,
                    Some((&psy, Role::Psychologist)),
                    Command::Approve {
                        mpesa_number: PhoneNumber::parse("0700000111"),
                        business: None,
                    },
                    Utc::now(),
                    &Policy::default(),
                )
                .unwrap();
                store
                    .write(&Change::new(Some(&s), next, ev), None)
                    .await
                    .unwrap();
                "one approved"
            };

            meter.reset();
            let delta = handlers::list_sessions(
                &app,
                request(Method::GET, &poll, who, None, &[("if-none-match", &tag)]),
            )
            .await;
            assert_eq!(delta.status(), StatusCode::OK);
            let used = meter.take();
            let bytes = wire_bytes(&delta);
            let got: serde_json::Value = match delta.body() {
                Body::Text(t) => serde_json::from_str(t).unwrap(),
                _ => panic!("a JSON body"),
            };
            assert_eq!(got["sessions"].as_array().unwrap().len(), 1);
            if !new_request {
                report.push(
                    Row::new(
                        g,
                        &format!("{n} sessions, unchanged: DynamoDB calls"),
                        still.calls as f64,
                        "calls",
                    )
                    .goal("= 1", still.calls == 1),
                );
            }
            report.push(
                Row::new(
                    g,
                    &format!("{n} sessions, {what}: response (status line, headers, body)"),
                    bytes as f64,
                    "B",
                )
                .goal("<= 3072", bytes <= 3072),
            );
            report.push(Row::new(
                g,
                &format!("{n} sessions, {what}: read capacity (4 KB rule, every read strongly consistent)"),
                used.rcu,
                "RCU",
            ));
            report.push(
                Row::new(
                    g,
                    &format!("{n} sessions, {what}: read capacity as DynamoDB prices it"),
                    used.rcu_priced,
                    "RCU",
                )
                .goal("<= 2", used.rcu_priced <= 2.0),
            );
            report.push(Row::new(
                g,
                &format!("{n} sessions, {what}: DynamoDB calls"),
                used.calls as f64,
                "calls",
            ));
            report.push(Row::new(
                g,
                &format!("{n} sessions, {what}: bytes read from DynamoDB"),
                used.bytes as f64,
                "B",
            ));
        }
    }
}

async fn scale(report: &mut Report) {
    let g = "6 scale: first page (50) of a psychologist's list";
    for n in [10usize, 100, 1000] {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&tmp.path().join("k.sqlite3")).unwrap());
        let app = app(
            store.clone(),
            Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
        );
        let type_id = psychologist(store.as_ref()).await;
        seed(store.as_ref(), CLIENT, n, &type_id).await;
        eprintln!("  SQLite seeded with {n}");
        let mut v = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            let r = handlers::list_sessions(
                &app,
                request(
                    Method::GET,
                    "/api/sessions?limit=50",
                    (PSY, "psychologists"),
                    None,
                    &[],
                ),
            )
            .await;
            v.push(t.elapsed().as_secs_f64() * 1e6);
            assert_eq!(r.status(), StatusCode::OK);
        }
        latency_row(report, g, &format!("SQLite, {n} sessions"), v);
    }
    for n in [10usize, 100, 1000] {
        let meter = dynamo_meter::Meter::default();
        let client = dynamo_meter::client(&meter).await;
        let table = format!("scale-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let store = Arc::new(DynamoStore::new(client.clone(), &table));
        store.ensure_table().await.unwrap();
        let type_id = psychologist(store.as_ref()).await;
        let t = Instant::now();
        bulk_load(&client, &table, n, &type_id, Utc::now()).await;
        eprintln!(
            "  DynamoDB (moto) loaded with {n} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let tmp = tempfile::tempdir().unwrap();
        let app = app(
            store.clone(),
            Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
        );
        meter.reset();
        let r = handlers::list_sessions(
            &app,
            request(
                Method::GET,
                "/api/sessions?limit=50",
                (PSY, "psychologists"),
                None,
                &[],
            ),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let used = meter.take();
        report.push(Row::new(
            g,
            &format!("DynamoDB, {n} sessions: calls"),
            used.calls as f64,
            "calls",
        ));
        report.push(Row::new(
            g,
            &format!("DynamoDB, {n} sessions: bytes read"),
            used.bytes as f64,
            "B",
        ));
        report.push(Row::new(
            g,
            &format!("DynamoDB, {n} sessions: read capacity (4 KB rule)"),
            used.rcu,
            "RCU",
        ));
    }
}

/// A client, as the identity provider vouches for them.
fn client_caller(i: usize) -> Caller {
    Caller {
        id: UserId::parse(&format!("slots-client-{i:03}")).unwrap(),
        role: Role::Client,
        name: format!("Client {i}"),
        email: None,
        phone: None,
        phone_verified: false,
        admin: false,
        mfa: false,
        auth_time: None,
    }
}

/// Gives the bench psychologist Dr. Amani's demo week (Monday to Friday 08:00–17:00, Saturday
/// 09:00–13:00, 15 minutes between sessions) and a busy month: every third free start of the
/// next 31 days booked and approved through the use cases, until `n` sessions are held.
/// Returns the query string of the measured request.
async fn busy_month(app: &Bookings, type_id: &str, n: usize) -> String {
    let psy = UserId::parse(PSY).unwrap();
    let p = app.profiles.get_profile(&psy).await.unwrap().unwrap();
    let week = AvailabilityDraft::week(
        &[
            (&["mon", "tue", "wed", "thu", "fri"], "08:00", "17:00"),
            (&["sat"], "09:00", "13:00"),
        ],
        15,
        120,
        180,
    );
    let update = ProfileUpdate {
        availability: Some(week),
        ..Default::default()
    };
    app.profiles
        .put_profile(&p.apply(update, Utc::now()).unwrap())
        .await
        .unwrap();
    let from = Utc::now();
    let to = from + Duration::days(31);
    let caller = Caller {
        id: psy.clone(),
        role: Role::Psychologist,
        name: "Dr. Bench".into(),
        email: None,
        phone: None,
        phone_verified: false,
        admin: false,
        mfa: false,
        auth_time: None,
    };
    let mut held = 0;
    while held < n {
        // a client books only under the privacy notice in force
        app.record_consent(&client_caller(held), PRIVACY_NOTICE.version)
            .await
            .unwrap();
        let free = app.free_slots(PSY, type_id, from, to).await.unwrap();
        let Some(&(start, _)) = free.slots.get(free.slots.len() / 3) else {
            break;
        };
        let booked = app
            .book(
                &client_caller(held),
                BookInput {
                    psychologist_id: PSY.into(),
                    session_type_id: type_id.into(),
                    starts_at: start,
                    note: None,
                    idempotency: None,
                },
            )
            .await
            .unwrap();
        app.act(&caller, booked.session.id, None, Intent::Approve)
            .await
            .unwrap();
        held += 1;
    }
    let t = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!("session_type_id={type_id}&from={}&to={}", t(from), t(to))
}

async fn free_slots(report: &mut Report) {
    const HELD: usize = 60;
    let g = "7 free slots: 31 days, a Mon–Sat week with 60 sessions held";
    let path = format!("/api/psychologists/{PSY}/availability");
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&tmp.path().join("k.sqlite3")).unwrap());
    let sqlite = app(
        store.clone(),
        Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
    );
    let type_id = psychologist(store.as_ref()).await;
    let query = busy_month(&sqlite, &type_id, HELD).await;
    let mut v = Vec::new();
    let mut offered = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let r = handlers::psychologist_availability(
            &sqlite,
            request(
                Method::GET,
                &format!("{path}?{query}"),
                (CLIENT, "clients"),
                None,
                &[],
            ),
        )
        .await;
        v.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(r.status(), StatusCode::OK);
        let Body::Text(text) = r.body() else { panic!() };
        offered = serde_json::from_str::<serde_json::Value>(text).unwrap()["slots"]
            .as_array()
            .unwrap()
            .len();
    }
    report.push(Row::new(g, "slots offered", offered as f64, "slots"));
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
    report.push(Row::new(g, "SQLite in process p50", p50, "µs").goal("<= 5000", p50 <= 5000.0));
    report.push(Row::new(g, "SQLite in process p99", p99, "µs"));

    let meter = dynamo_meter::Meter::default();
    let client = dynamo_meter::client(&meter).await;
    let table = format!("slots-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store = Arc::new(DynamoStore::new(client, &table));
    store.ensure_table().await.unwrap();
    let dynamo = app(
        store.clone(),
        Arc::new(DiskProofStore::new(tmp.path(), "", b"x")),
    );
    let type_id = psychologist(store.as_ref()).await;
    let query = busy_month(&dynamo, &type_id, HELD).await;
    meter.reset();
    let r = handlers::psychologist_availability(
        &dynamo,
        request(
            Method::GET,
            &format!("{path}?{query}"),
            (CLIENT, "clients"),
            None,
            &[],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let used = meter.take();
    report.push(
        Row::new(
            g,
            "DynamoDB: reads (one GetItem, one Query)",
            used.calls as f64,
            "calls",
        )
        .goal("= 2", used.calls == 2),
    );
    report.push(Row::new(g, "DynamoDB: bytes read", used.bytes as f64, "B"));
    report.push(Row::new(
        g,
        "DynamoDB: read capacity (4 KB rule)",
        used.rcu,
        "RCU",
    ));
}

/// Reading M-Pesa statements as `POST /api/payments/statement` does, in process: the PDF
/// fixtures (drawn in Safaricom's two layouts), one locked with AES-256, and a CSV of six busy
/// months. Sizes a statement by time per page: the function has 29 s and 1,024 MB in AWS.
fn statement_reading(report: &mut Report) {
    use kikao_http::statement_file::read_statement;
    let g = "9 M-Pesa statement reading (in process, 30 runs each)";
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/statements/");
    let csv = {
        let mut rows = String::from(
            "Receipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\n",
        );
        for i in 0..3000 {
            rows.push_str(&format!(
                "TI{:08},2025-{:02}-{:02} 10:{:02}:00,Funds received from - 07******{:03} CLIENT NUMBER {i},Completed,2000,,{}\n",
                i,
                1 + i % 6,
                1 + i % 28,
                i % 60,
                i % 1000,
                10_000 + i
            ));
        }
        rows.into_bytes()
    };
    let cases: [(&str, Vec<u8>, Option<&str>, usize); 4] = [
        (
            "3-page PDF, newer layout (22 rows)",
            std::fs::read(format!("{dir}mpesa_full_statement.pdf")).unwrap(),
            None,
            22,
        ),
        (
            "2-page PDF, older layout (18 rows)",
            std::fs::read(format!("{dir}mpesa_full_statement_2023.pdf")).unwrap(),
            None,
            18,
        ),
        (
            "3-page PDF locked with AES-256 (22 rows)",
            std::fs::read(format!("{dir}mpesa_full_statement_locked_aes256.pdf")).unwrap(),
            Some("31415926"),
            22,
        ),
        ("CSV of 3,000 rows", csv, None, 3000),
    ];
    for (name, bytes, password, rows) in cases {
        let mut micros = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let s = read_statement(&bytes, password).unwrap();
            micros.push(t.elapsed().as_secs_f64() * 1e6);
            assert_eq!(s.rows.len(), rows, "{name}");
        }
        latency_row(report, g, name, micros);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let out = arg("--out").unwrap_or_else(|| "bench-results.json".into());
    let mut report = Report::default();
    report.machine = report::machine();

    let only = arg("--only");
    let wanted = |section: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|s| s == section))
    };
    let started = Instant::now();
    let progress = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
    if wanted("poll") {
        progress("poll cost (DynamoDB on moto)");
        poll_cost(&mut report).await;
    }
    if wanted("latency") {
        progress("handler latency (SQLite)");
        handler_latency(&mut report).await;
    }
    if let Some(path) = arg("--wrk-results") {
        report::wrk_rows(&mut report, &path);
    }
    if let Some(bootstrap) = arg("--bootstrap") {
        progress("Lambda init");
        lambda_init::measure(&mut report, &bootstrap).await;
    }
    if let Some(path) = arg("--build-results") {
        report::build_rows(&mut report, &path);
    }
    if let Some(dir) = arg("--artifacts") {
        report::artifact_rows(&mut report, &dir);
    }
    if wanted("scale") {
        progress("scale");
        scale(&mut report).await;
    }
    if wanted("slots") {
        progress("free slots (SQLite, then DynamoDB on moto)");
        free_slots(&mut report).await;
    }
    if wanted("delta") {
        progress("catch-up poll after one change (DynamoDB on moto)");
        delta_cost(&mut report).await;
    }
    if wanted("statement") {
        progress("M-Pesa statement reading");
        statement_reading(&mut report);
    }
    progress("done");
    report.print();
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("\nwritten to {out}");
}
