//! `spawn_app` for handler tests: each test gets its own SQLite file, proof folder and clock,
//! and builds requests exactly as API Gateway delivers them (claims in the request context).
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use kikao_core::bookings::{Bookings, Config};
use kikao_core::clock::ManualClock;
use kikao_core::domain::{
    AvailabilityDraft, Profile, ProfileUpdate, Role, SessionTypeDraft, UserId,
};
use kikao_core::ports::{AuditLog, ProfileStore, ProofStore, SentMessages, SessionStore};
use kikao_embedded::dev_accounts::DevAccounts;
use kikao_embedded::disk_proofs::DiskProofStore;
use kikao_embedded::sqlite::SqliteStore;
use kikao_http::auth::api_gateway_context;
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Monday 7 January 2030, 09:00 in Nairobi.
pub fn t0() -> DateTime<Utc> {
    "2030-01-07T06:00:00Z".parse().unwrap()
}

#[derive(Clone)]
pub struct User {
    pub id: &'static str,
    pub name: &'static str,
    /// Space-separated, as many as the person is in.
    pub group: &'static str,
    /// The token says they sign in with an authenticator app.
    pub mfa: bool,
}

pub const PSY: User = User {
    id: "psy-1",
    name: "Dr. Test One",
    group: "psychologists",
    mfa: true,
};
pub const PSY2: User = User {
    id: "psy-2",
    name: "Dr. Test Two",
    group: "psychologists",
    mfa: true,
};
pub const CLIENT: User = User {
    id: "client-1",
    name: "Client One",
    group: "clients",
    mfa: false,
};
pub const CLIENT2: User = User {
    id: "client-2",
    name: "Client Two",
    group: "clients",
    mfa: false,
};
/// The practice administrator, who books nothing.
pub const ADMIN: User = User {
    id: "admin-1",
    name: "Admin One",
    group: "practice_admins",
    mfa: true,
};

impl User {
    /// The same person before they set up an authenticator app.
    pub const fn without_mfa(&self) -> User {
        User {
            id: self.id,
            name: self.name,
            group: self.group,
            mfa: false,
        }
    }
}

pub struct TestApp {
    pub app: Bookings,
    /// The user directory the admin use cases call (the dev server's, in memory).
    pub accounts: Arc<DevAccounts>,
    pub clock: Arc<ManualClock>,
    pub store: Option<Arc<SqliteStore>>,
    pub proofs: Option<Arc<DiskProofStore>>,
    /// The SQLite file, for tests that read every table.
    pub db_path: Option<std::path::PathBuf>,
    pub type_id: String,
    _dir: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The key the test apps make M-Pesa callback paths with.
pub const CALLBACK_KEY: &str = "a test key of at least thirty-two characters";

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("kikao.sqlite3")).unwrap());
    let proofs = Arc::new(DiskProofStore::new(
        &dir.path().join("proofs"),
        "",
        b"test-secret",
    ));
    let mut t = TestApp::with_stores(
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        proofs.clone(),
        store.clone(),
        store.clone(),
    )
    .await;
    t.store = Some(store);
    t.proofs = Some(proofs);
    t.db_path = Some(dir.path().join("kikao.sqlite3"));
    t._dir = Some(dir);
    t
}

impl TestApp {
    /// A test app on the given stores, with PSY and PSY2 set up: PSY offers a 60-minute type
    /// and has an M-Pesa number; PSY2 has a type but no number yet. Both work every day from
    /// 08:00 to 20:00 Nairobi time (`every_day`), so a test about something else can book any
    /// day; the availability tests set their own hours.
    pub async fn with_stores(
        sessions: Arc<dyn SessionStore>,
        profiles: Arc<dyn ProfileStore>,
        audit: Arc<dyn AuditLog>,
        sent: Arc<dyn SentMessages>,
        proofs: Arc<dyn ProofStore>,
        ledger: Arc<dyn kikao_core::ports::PaymentLedger>,
        ledger_checkouts: Arc<dyn kikao_core::ports::CheckoutStore>,
    ) -> TestApp {
        let clock = Arc::new(ManualClock::new(t0()));
        let accounts = Arc::new(DevAccounts::open(std::path::Path::new(":memory:")).unwrap());
        let app = Bookings {
            sessions,
            profiles,
            proofs,
            accounts: accounts.clone(),
            outbox: Arc::new(kikao_core::ports::NoOutbox),
            audit,
            sent,
            checkouts: ledger_checkouts.clone(),
            daraja: Arc::new(kikao_core::ports::NoDaraja),
            ledger,
            callback_key: Arc::new(kikao_embedded::callback_key::FileCallbackKey::fixed(
                CALLBACK_KEY,
            )),
            clock: clock.clone(),
            config: Config::default(),
        };
        let mut type_id = String::new();
        for (u, mpesa) in [(&PSY, Some("0700000111")), (&PSY2, None)] {
            let id = UserId::parse(u.id).unwrap();
            let p = Profile::from_claims(
                id,
                Role::Psychologist,
                u.name,
                None,
                Some("+254700000101"),
                t0(),
            );
            let types = vec![SessionTypeDraft {
                id: None,
                name: "Individual Therapy".into(),
                duration_minutes: 60,
                price_kes: 2000,
            }];
            let update = ProfileUpdate {
                mpesa_number: mpesa.map(str::to_owned),
                session_types: Some(types),
                availability: Some(every_day("08:00", "20:00")),
                ..Default::default()
            };
            let mut p = p.apply(update, t0()).unwrap();
            p.phone_verified = true;
            if u.id == PSY.id {
                type_id = p.psychologist.as_ref().unwrap().session_types[0]
                    .id
                    .as_str()
                    .to_owned();
            }
            app.profiles.put_profile(&p).await.unwrap();
        }
        let t = TestApp {
            app,
            accounts,
            clock,
            store: None,
            proofs: None,
            db_path: None,
            type_id,
            _dir: None,
        };
        // both clients have read the privacy notice, as anyone who has booked before has; the
        // consent tests use a client who has not
        for c in [&CLIENT, &CLIENT2] {
            assert_eq!(t.consent(c).await.status, StatusCode::OK);
        }
        t
    }

    /// `PUT /api/me/consent` to the notice in force, as `who`.
    pub async fn consent(&self, who: &User) -> Reply {
        let body = serde_json::json!({ "version": kikao_core::domain::PRIVACY_NOTICE.version });
        let req = request(
            Method::PUT,
            "/api/me/consent",
            Some(who),
            Some(&body.to_string()),
        );
        reply(kikao_http::handlers::record_consent(&self.app, req).await).await
    }
}

/// Every day of the week from `start` to `end`, no buffer, default notice and horizon.
pub fn every_day(start: &str, end: &str) -> AvailabilityDraft {
    const ALL: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    AvailabilityDraft::week(
        &[(ALL, start, end)],
        0,
        kikao_core::domain::DEFAULT_NOTICE_MINUTES,
        kikao_core::domain::DEFAULT_HORIZON_DAYS,
    )
}

pub fn claims(u: &User) -> HashMap<String, String> {
    let mut c = HashMap::from([
        ("sub".into(), u.id.into()),
        ("name".into(), u.name.into()),
        ("email".into(), format!("{}@example.test", u.id)),
        ("phone_number".into(), "+254700000201".into()),
        ("phone_number_verified".into(), "true".into()),
        ("cognito:groups".into(), format!("[{}]", u.group)),
        ("auth_time".into(), t0().timestamp().to_string()),
    ]);
    if u.mfa {
        c.insert("kikao_mfa".into(), "totp".into());
    }
    c
}

/// A request as API Gateway would hand it over. `who: None` carries no authorizer claims.
pub fn request(method: Method, path: &str, who: Option<&User>, body: Option<&str>) -> Request {
    let mut r = Request::new(body.map_or(Body::Empty, |b| Body::Text(b.to_owned())));
    *r.method_mut() = method.clone();
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    *r.uri_mut() = path.parse().unwrap();
    let mut params = HashMap::new();
    let segments: Vec<&str> = path_only.split('/').collect();
    let named = match segments.get(2) {
        Some(&"sessions") => segments.get(3).filter(|s| **s != "pending-approval"),
        Some(&"psychologists") => segments.get(3),
        Some(&"admin") => segments.get(4),
        _ => None,
    };
    if let Some(id) = named {
        params.insert("id".to_owned(), (*id).to_owned());
    }
    match (segments.get(2), segments.get(3), segments.get(4)) {
        (Some(&"hooks"), Some(token), _) => {
            params.insert("token".to_owned(), (*token).to_owned());
        }
        (Some(&"payments"), Some(&"unmatched"), Some(receipt)) => {
            params.insert("receipt".to_owned(), (*receipt).to_owned());
        }
        _ => {}
    }
    let mut q: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        q.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    let r = r
        .with_path_parameters(params)
        .with_query_string_parameters(q);
    match who {
        Some(u) => r.with_request_context(api_gateway_context(
            &claims(u),
            method.as_str(),
            path_only,
            "test",
            "req-1",
        )),
        None => r,
    }
}

pub async fn reply(res: Response<Body>) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let body = match res.body() {
        Body::Empty => Value::Null,
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    };
    if status.is_server_error() {
        panic!("server error: {status} {body}");
    }
    Reply {
        status,
        body,
        headers,
    }
}

impl TestApp {
    pub fn start_in(&self, days: i64) -> DateTime<Utc> {
        t0() + Duration::days(days) + Duration::hours(1)
    }

    pub fn booking_body(&self, starts_at: DateTime<Utc>) -> String {
        serde_json::json!({
            "psychologist_id": PSY.id,
            "session_type_id": self.type_id,
            "starts_at": starts_at.to_rfc3339(),
        })
        .to_string()
    }

    /// Books as `who` at `starts_at`, asserting success; returns the id.
    pub async fn book_at(&self, who: &User, starts_at: DateTime<Utc>) -> String {
        self.book_with(who, &self.booking_body(starts_at)).await
    }

    /// `POST /api/sessions` with `body` as `who`, asserting success; returns the id.
    async fn book_with(&self, who: &User, body: &str) -> String {
        let r = reply(
            kikao_http::handlers::book_session(
                &self.app,
                request(Method::POST, "/api/sessions", Some(who), Some(body)),
            )
            .await,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn book(&self) -> String {
        self.book_at(&CLIENT, self.start_in(2)).await
    }

    pub async fn put(&self, id: &str, action: &str, who: &User, body: Option<&str>) -> Reply {
        use kikao_http::handlers as h;
        let path = format!("/api/sessions/{id}/{action}");
        let req = request(Method::PUT, &path, Some(who), body);
        reply(match action {
            "approve" => h::approve_session(&self.app, req).await,
            "decline" => h::decline_session(&self.app, req).await,
            "verify-payment" => h::verify_payment(&self.app, req).await,
            "reject-payment" => h::reject_payment(&self.app, req).await,
            "reschedule" => h::propose_reschedule(&self.app, req).await,
            "reschedule/accept" => h::accept_reschedule(&self.app, req).await,
            "reschedule/decline" => h::decline_reschedule(&self.app, req).await,
            "start" => h::start_session(&self.app, req).await,
            "complete" => h::complete_session(&self.app, req).await,
            other => panic!("no PUT action {other}"),
        })
        .await
    }

    pub async fn pay(&self, id: &str, who: &User, body: &str) -> Reply {
        let req = request(
            Method::POST,
            &format!("/api/sessions/{id}/submit-payment"),
            Some(who),
            Some(body),
        );
        reply(kikao_http::handlers::submit_payment(&self.app, req).await).await
    }

    pub async fn cancel(&self, id: &str, who: &User, body: Option<&str>) -> Reply {
        let req = request(
            Method::DELETE,
            &format!("/api/sessions/{id}"),
            Some(who),
            body,
        );
        reply(kikao_http::handlers::cancel_session(&self.app, req).await).await
    }

    /// `GET /api/sessions/{id}/payment-proof`: the link to the screenshot.
    pub async fn proof_link(&self, id: &str, who: &User) -> Reply {
        let req = request(
            Method::GET,
            &format!("/api/sessions/{id}/payment-proof"),
            Some(who),
            None,
        );
        reply(kikao_http::handlers::get_payment_proof(&self.app, req).await).await
    }

    pub async fn get(&self, id: &str, who: &User) -> Reply {
        let req = request(Method::GET, &format!("/api/sessions/{id}"), Some(who), None);
        reply(kikao_http::handlers::get_session(&self.app, req).await).await
    }

    /// Books and takes the session to `confirmed`.
    pub async fn confirmed(&self, code: &str) -> String {
        let id = self.book().await;
        assert_eq!(
            self.put(&id, "approve", &PSY, None).await.status,
            StatusCode::OK
        );
        let r = self
            .pay(&id, &CLIENT, &format!(r#"{{"transaction_code":"{code}"}}"#))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            self.put(&id, "verify-payment", &PSY, None).await.status,
            StatusCode::OK
        );
        id
    }
}

/// A phone and a mailbox that take every message.
struct Accepting;

#[async_trait::async_trait]
impl kikao_core::ports::Notifier for Accepting {
    async fn send(
        &self,
        _: &kikao_core::ports::Envelope,
        _: &kikao_core::ports::Message,
    ) -> Result<(), kikao_core::ports::NotifyError> {
        Ok(())
    }
}

impl TestApp {
    /// Sends every message the events so far call for, as the dev server's notifier loop
    /// does; returns how many went out.
    pub async fn deliver(&self) -> usize {
        let store = self.store.clone().expect("a SQLite test app");
        self.app
            .pump_feed(store.as_ref(), &Accepting, store.as_ref(), "tests")
            .await
            .unwrap()
    }
}

/// A client who will erase their account, with details no other test user has.
pub const ERASABLE: User = User {
    id: "client-erase",
    name: "Achieng Erasable",
    group: "clients",
    mfa: false,
};
/// What their token says (`claims`) and what they put in their profile.
pub const ERASABLE_EMAIL: &str = "client-erase@example.test";
pub const ERASABLE_PHONE: &str = "+254700000987";
pub const ERASABLE_NOTE: &str = "erasable-note-5c2e: anxious since March";
pub const ERASABLE_REASON: &str = "erasable-reason-8d1a: my family found out";
/// Their words on a booking of CLIENT2's psychologist that must survive them.
pub const OTHER_NOTE: &str = "other-note-71b0: work stress";

/// The bookings of `TestApp::erasable_client`.
pub struct Erasable {
    /// Paid with a screenshot, verified.
    pub confirmed: String,
    /// Requested with a note, unanswered.
    pub pending: String,
    /// Cancelled by the client with their own reason.
    pub cancelled: String,
    /// The screenshot's key.
    pub proof_key: String,
    /// CLIENT2's booking with the same psychologist, with a screenshot too.
    pub others: String,
    pub others_proof_key: String,
}

impl TestApp {
    /// Books as `who`, `days` ahead, with `note`, asserting success; returns the id.
    pub async fn book_noted(&self, who: &User, days: i64, note: &str) -> String {
        let mut body: Value =
            serde_json::from_str(&self.booking_body(self.start_in(days))).unwrap();
        body["note"] = Value::from(note);
        self.book_with(who, &body.to_string()).await
    }

    /// Books, approves, uploads a screenshot (with `upload(url, bytes)`, as the browser would)
    /// and pays with it; verified if `verify`. Returns the id and the screenshot's key.
    pub async fn paid_with_proof<F, Fut>(
        &self,
        who: &User,
        days: i64,
        note: &str,
        code: &str,
        upload: &F,
    ) -> (String, String)
    where
        F: Fn(String, Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let id = self.book_noted(who, days, note).await;
        assert_eq!(
            self.put(&id, "approve", &PSY, None).await.status,
            StatusCode::OK
        );
        let up = reply(
            kikao_http::handlers::request_proof_upload(
                &self.app,
                request(
                    Method::POST,
                    &format!("/api/sessions/{id}/payment-proof"),
                    Some(who),
                    Some(r#"{"content_type":"image/png","size_bytes":8}"#),
                ),
            )
            .await,
        )
        .await;
        assert_eq!(up.status, StatusCode::OK, "{}", up.body);
        let key = up.body["key"].as_str().unwrap().to_owned();
        upload(
            up.body["upload_url"].as_str().unwrap().to_owned(),
            b"\x89PNG\r\n\x1a\n".to_vec(),
        )
        .await;
        let body = serde_json::json!({"transaction_code": code, "proof_key": key}).to_string();
        let r = self.pay(&id, who, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        (id, key)
    }

    /// ERASABLE, with their phone in the profile, a confirmed booking paid with a screenshot, a
    /// pending one with a note and one they cancelled in their own words; and CLIENT2 with a
    /// booking of the same psychologist, paid with a screenshot.
    pub async fn erasable_client<F, Fut>(&self, upload: F) -> Erasable
    where
        F: Fn(String, Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        self.erasable_client_as(&ERASABLE, upload).await
    }

    /// `erasable_client` for a client with ERASABLE's details under another id (the user pool's
    /// name for them).
    pub async fn erasable_client_as<F, Fut>(&self, who: &User, upload: F) -> Erasable
    where
        F: Fn(String, Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let who = who.clone();
        assert_eq!(self.consent(&who).await.status, StatusCode::OK);
        let r = reply(
            kikao_http::handlers::update_me(
                &self.app,
                request(
                    Method::PUT,
                    "/api/me",
                    Some(&who),
                    Some(r#"{"phone": "0700 000 987"}"#),
                ),
            )
            .await,
        )
        .await;
        assert_eq!(r.body["phone"], Value::from(ERASABLE_PHONE), "{}", r.body);
        let (confirmed, proof_key) = self
            .paid_with_proof(&who, 2, ERASABLE_NOTE, "QK71ERS001", &upload)
            .await;
        assert_eq!(
            self.put(&confirmed, "verify-payment", &PSY, None)
                .await
                .status,
            StatusCode::OK
        );
        let pending = self.book_noted(&who, 3, ERASABLE_NOTE).await;
        let cancelled = self.book_noted(&who, 4, ERASABLE_NOTE).await;
        let body = serde_json::json!({ "reason": ERASABLE_REASON }).to_string();
        assert_eq!(
            self.cancel(&cancelled, &who, Some(&body)).await.status,
            StatusCode::OK
        );
        let (others, others_proof_key) = self
            .paid_with_proof(&CLIENT2, 5, OTHER_NOTE, "QK71ERS002", &upload)
            .await;
        Erasable {
            confirmed,
            pending,
            cancelled,
            proof_key,
            others,
            others_proof_key,
        }
    }

    /// `DELETE /api/me` as `who`, confirming with `confirm`.
    pub async fn erase(&self, who: &User, confirm: &str) -> Reply {
        let body = serde_json::json!({ "confirm": confirm }).to_string();
        let req = request(Method::DELETE, "/api/me", Some(who), Some(&body));
        reply(kikao_http::handlers::erase_me(&self.app, req).await).await
    }
}

/// The query of a dev server's signed upload URL, as `/dev/uploads` reads it.
pub fn signed_query(url: &str) -> kikao_embedded::disk_proofs::SignedQuery {
    let q = url.split_once('?').unwrap().1;
    let mut m = std::collections::HashMap::new();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        m.insert(k, v.replace("%2F", "/"));
    }
    kikao_embedded::disk_proofs::SignedQuery {
        key: m["key"].clone(),
        content_type: m["content_type"].replace("%2F", "/"),
        size: m["size"].parse().unwrap(),
        expires: m["expires"].parse().unwrap(),
        sig: m["sig"].clone(),
        version: m.get("version").cloned().unwrap_or_default(),
    }
}

/// Uploads as the browser would, through the dev server's signed URL (for `erasable_client`).
pub fn upload_to_disk(
    proofs: Arc<DiskProofStore>,
) -> impl Fn(String, Vec<u8>) -> std::future::Ready<()> {
    move |url, bytes| {
        proofs
            .accept_upload(&signed_query(&url), "image/png", &bytes, chrono::Utc::now())
            .unwrap();
        std::future::ready(())
    }
}
