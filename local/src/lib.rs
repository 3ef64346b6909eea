//! The dev server: every handler of the route table on one port, called with the request shape
//! API Gateway sends (path parameters, JWT claims in the request context), plus the dev
//! sign-in (with its user directory, refresh, authenticator setup and phone codes), the signed upload/download URLs of the disk proof store, the notification log, M-Pesa's side
//! of a Till or Paybill payment (`daraja_stub`), the
//! dashboards from `static-site/`, and background loops standing in for the DynamoDB stream
//! notifier and the scheduled expiry job. With `--aws` the same server runs on DynamoDB and S3.

mod daraja_stub;
pub mod demo;
pub mod dev_auth;
pub mod oidc;
pub mod practice;

use axum::body::{to_bytes, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, on, post, put, MethodFilter, MethodRouter};
use axum::{Json, Router};
use dev_auth::{DevAuth, DevClaims, Identity};
use kikao_aws::clients::AwsClients;
use kikao_aws::dynamodb::DynamoStore;
use kikao_aws::notifier::AwsNotifier;
use kikao_aws::s3_proofs::S3ProofStore;
use kikao_core::bookings::{Bookings, Config};
use kikao_core::clock::{MovableClock, OffsetClock};
use kikao_core::domain::{PhoneNumber, UserId};
use kikao_core::ports::{Envelope, Message, Notifier};
use kikao_embedded::callback_key::FileCallbackKey;
use kikao_embedded::dev_accounts::{DevAccount, DevAccounts, Mfa, PhoneCheck};
use kikao_embedded::disk_proofs::{DiskProofStore, SignedQuery, SignedUrlError};
use kikao_embedded::log_notifier::LogNotifier;
use kikao_embedded::sqlite::SqliteStore;
use kikao_http::auth::api_gateway_context;
use kikao_http::routes::{Route, ROUTES};
use lambda_http::RequestExt;
use oidc::OidcCheck;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::services::ServeDir;

/// What a dev server starts with.
pub struct Options {
    pub data_dir: PathBuf,
    pub static_dir: PathBuf,
    /// Prefix of the signed upload/download URLs, e.g. `http://127.0.0.1:3000` (empty:
    /// same-origin relative URLs).
    pub public_url: String,
    /// The server's clock: the system's, moved on by `POST /dev/clock`; tests set theirs.
    pub clock: Arc<dyn MovableClock>,
    pub seed: Seed,
    pub backend: BackendChoice,
    /// Check tokens against this OpenID provider (issuer, audience) as API Gateway's JWT
    /// authorizer does, instead of the dev sign-in's own; the page signs in there too.
    pub oidc: Option<(String, String)>,
    /// Daraja's address and one app's credentials (the sandbox, say); `None`: the dev server's
    /// own stand-in at `<public_url>/dev/daraja`.
    pub daraja: Option<(String, kikao_daraja::Credentials)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// Demo people only.
    Users,
    /// Demo people and a booking in every status, on the first start only.
    UsersAndBookings,
    /// `--demo practice`: three psychologists, forty clients and about 600 bookings (and the
    /// small demo's), on the first start only.
    Practice,
}

/// Which adapters the server runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// SQLite, screenshots on disk, notifications to a log, all under the data folder.
    Embedded,
    /// DynamoDB and S3 from the standard AWS environment; with `AWS_ENDPOINT_URL` set (moto),
    /// the table, bucket and email topic are created if missing.
    Aws { table: String, bucket: String },
}

impl Options {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            static_dir: default_static_dir(),
            public_url: String::new(),
            clock: Arc::new(OffsetClock::default()),
            seed: Seed::UsersAndBookings,
            backend: BackendChoice::Embedded,
            oidc: None,
            daraja: None,
        }
    }
}

pub fn default_static_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../static-site")
}

pub struct Local {
    pub app: Bookings,
    pub backend: Backend,
    pub auth: DevAuth,
    /// Who may sign in, their groups and second factor: the dev server's user pool, on either
    /// backend (the dev sign-in stands in for Cognito's hosted UI on both).
    pub accounts: Arc<DevAccounts>,
    /// The notification log `/dev/notifications` shows: every SMS and email on the embedded
    /// backend, and on either backend the codes that confirm a phone (Cognito's own SMS in AWS).
    pub notifier: Arc<LogNotifier>,
    pub clock: Arc<dyn MovableClock>,
    /// Set with `--oidc-issuer`: API tokens are checked against that provider instead.
    pub oidc: Option<OidcCheck>,
    /// Where the page is served from (the sign-in's redirect address in OIDC mode).
    pub public_url: String,
    /// When the embedded store last dropped what has outlived its retention (hourly).
    pruned_at: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// The stand-in for Daraja's side of payment requests (`daraja_stub`).
    pub daraja: daraja_stub::Stub,
}

pub enum Backend {
    Embedded {
        store: Arc<SqliteStore>,
        proofs: Arc<DiskProofStore>,
    },
    /// Notifications are the stream notifier's job in AWS; nothing consumes the stream locally.
    Aws { store: Arc<DynamoStore> },
}

/// The signing secret: made on first start, kept (owner-only) in the data folder, never in code.
fn secret(dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = dir.join("dev-secret");
    if let Ok(s) = std::fs::read(&path) {
        if s.len() >= 32 {
            return Ok(s);
        }
    }
    let s: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
    let hex: String = s.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &hex)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(hex.into_bytes())
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Local {
    pub async fn open(opts: &Options) -> Result<Arc<Self>, BoxError> {
        std::fs::create_dir_all(&opts.data_dir)?;
        let secret = secret(&opts.data_dir)?;
        let now = opts.clock.now();
        let accounts = Arc::new(DevAccounts::open(&opts.data_dir.join("accounts.sqlite3"))?);
        let notifier = Arc::new(LogNotifier::new(&opts.data_dir.join("notifications.log")));
        let practice = opts.seed == Seed::Practice;
        // as Secrets Manager's in AWS: the callback paths stay the same from one start to the next
        let callback_key = Arc::new(FileCallbackKey::open(
            &opts.data_dir.join("mpesa-callback.key"),
        )?);
        // the dev stand-in for Daraja at this server's own address, unless told otherwise
        let daraja: Arc<dyn kikao_core::ports::Daraja> = match &opts.daraja {
            Some((base, creds)) => Arc::new(kikao_daraja::DarajaHttp::new(
                base,
                Arc::new(kikao_daraja::FixedCredentials(creds.clone())),
            )),
            None => Arc::new(kikao_daraja::DarajaHttp::new(
                &format!("{}/dev/daraja", opts.public_url.trim_end_matches('/')),
                Arc::new(kikao_daraja::FixedCredentials(daraja_stub::credentials())),
            )),
        };
        for a in demo::directory(now, practice) {
            accounts.ensure(&a)?;
        }
        let (app, backend, fresh) = match &opts.backend {
            BackendChoice::Embedded => {
                let db = opts.data_dir.join("kikao.sqlite3");
                let fresh = !db.exists();
                let store = Arc::new(SqliteStore::open(&db)?);
                let proofs = Arc::new(DiskProofStore::new(
                    &opts.data_dir.join("proofs"),
                    &opts.public_url,
                    &secret,
                ));
                let app = Bookings {
                    sessions: store.clone(),
                    profiles: store.clone(),
                    audit: store.clone(),
                    sent: store.clone(),
                    ledger: store.clone(),
                    checkouts: store.clone(),
                    daraja: daraja.clone(),
                    callback_key: callback_key.clone(),
                    proofs: proofs.clone(),
                    accounts: accounts.clone(),
                    outbox: notifier.clone(),
                    clock: opts.clock.clone(),
                    config: Config {
                        api_url: opts.public_url.clone(),
                        ..Config::default()
                    },
                };
                (app, Backend::Embedded { store, proofs }, fresh)
            }
            BackendChoice::Aws { table, bucket } => {
                let aws = AwsClients::from_env().await;
                let store = Arc::new(DynamoStore::new(aws.dynamodb.clone(), table));
                let proofs = Arc::new(S3ProofStore::new(&aws.config, bucket)?);
                let mut fresh = false;
                if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
                    fresh = store.ensure_table().await?;
                    proofs.ensure_bucket(&aws.s3).await?;
                    // the sending domain the notify function's email comes from, for a complete
                    // stack
                    AwsNotifier::ensure_identity(&aws.ses, "kikao.example").await?;
                }
                let app = Bookings {
                    sessions: store.clone(),
                    profiles: store.clone(),
                    audit: store.clone(),
                    sent: store.clone(),
                    ledger: store.clone(),
                    checkouts: store.clone(),
                    daraja: daraja.clone(),
                    callback_key: callback_key.clone(),
                    proofs,
                    accounts: accounts.clone(),
                    outbox: notifier.clone(),
                    clock: opts.clock.clone(),
                    config: Config {
                        api_url: opts.public_url.clone(),
                        ..Config::default()
                    },
                };
                (app, Backend::Aws { store }, fresh)
            }
        };
        let oidc = match &opts.oidc {
            Some((issuer, audience)) => Some(OidcCheck::discover(issuer, audience).await?),
            None => None,
        };
        let profiles = demo::seed_users(app.profiles.as_ref(), now, practice).await?;
        if fresh && opts.seed != Seed::Users {
            demo::seed_bookings(&app, &profiles, now).await?;
        }
        if fresh && practice {
            let made = practice::seed_practice(&app, &profiles, now).await?;
            tracing::info!(bookings = made, "seeded the demo practice");
            // its months of history were never news to anyone: no messages for them
            if let Backend::Embedded { store, .. } = &backend {
                use kikao_core::ports::EventFeed;
                let mut last = 0;
                while let Some((p, _)) = store.events_after(last, 1000).await?.last() {
                    last = *p;
                }
                store.save_position("notifier", last).await?;
            }
        }
        Ok(Arc::new(Self {
            app,
            backend,
            auth: DevAuth::new(&secret),
            accounts,
            notifier,
            clock: opts.clock.clone(),
            oidc,
            public_url: opts.public_url.clone(),
            pruned_at: std::sync::Mutex::new(None),
            daraja: Default::default(),
        }))
    }

    /// Delivers notifications for new events and the reminders that are due (embedded only:
    /// in AWS the stream notifier and the reminder job do) and expires overdue bookings, as the
    /// scheduled job does in AWS. One pass; `spawn_background` repeats it, and `POST /dev/clock`
    /// runs one at once.
    pub async fn background_pass(&self) {
        // expiry first, so the messages of what it cancels go out in this same pass
        match self.app.expire_due(50).await {
            Ok(r) if r.expired > 0 => {
                tracing::info!(expired = r.expired, "expired overdue bookings")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiry pass failed"),
        }
        if let Backend::Embedded { store, proofs } = &self.backend {
            let notifier = &self.notifier;
            let feed = store.as_ref();
            if let Err(e) = self
                .app
                .pump_feed(feed, notifier.as_ref(), store.as_ref(), "notifier")
                .await
            {
                tracing::warn!(error = %e, "notification pass failed");
            }
            if let Err(e) = self.app.remind_due(notifier.as_ref(), store.as_ref()).await {
                tracing::warn!(error = %e, "reminder pass failed");
            }
            self.prune_hourly(store, proofs).await;
        }
    }

    /// DynamoDB drops expired idempotency records, sent markers, alerts and audit entries by
    /// TTL, and S3 old screenshots by its lifecycle rule; the embedded store, the screenshot
    /// folder and the notification log are pruned here, once an hour on the server's clock.
    async fn prune_hourly(&self, store: &SqliteStore, proofs: &DiskProofStore) {
        let now = self.clock.now();
        {
            let Ok(mut last) = self.pruned_at.lock() else {
                return;
            };
            if last.is_some_and(|at| now - at < chrono::Duration::hours(1)) {
                return;
            }
            *last = Some(now);
        }
        match store.prune(now).await {
            Ok(p) if p != Default::default() => {
                tracing::info!(?p, "dropped what outlived its retention")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention pass failed"),
        }
        // the bucket's lifecycle rule, and the notification log as long as the sent markers; both
        // files are stamped by the wall clock (as signed URLs must be), so are judged by it
        let wall = chrono::Utc::now();
        let days = |d: i64| wall - chrono::Duration::days(d);
        let screenshots = proofs.prune(days(self.app.config.proof_retention_days.into()));
        let messages = self
            .notifier
            .prune(days(kikao_core::retention::DELIVERY_DAYS));
        match (screenshots, messages) {
            (Ok(0), Ok(0)) => {}
            (Ok(screenshots), Ok(messages)) => {
                tracing::info!(
                    screenshots,
                    messages,
                    "dropped files that outlived their retention"
                )
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "retention pass failed"),
        }
    }

    pub fn spawn_background(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                me.background_pass().await;
            }
        })
    }
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// `{name}` segments of `pattern` matched against `path`.
fn path_params(pattern: &str, path: &str) -> HashMap<String, String> {
    pattern
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(p, v)| {
            let name = p.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), v.to_owned()))
        })
        .collect()
}

/// The largest body the API accepts before a handler sees it (Lambda's request limit);
/// handlers enforce their own, smaller limit with a clear 413.
const API_BODY_LIMIT: usize = 6 * 1024 * 1024;

async fn call_route(
    local: Arc<Local>,
    route: &'static Route,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let claims = match (token, &local.oidc) {
        (None, _) => None,
        (Some(t), None) => local.auth.verify(t).map(|c| c.to_gateway_claims()),
        (Some(t), Some(check)) => match check.verify(t).await {
            Ok(c) => Some(kikao_http::auth::gateway_claims(&c)),
            Err(e) => {
                tracing::info!(reason = %e, "token refused");
                None
            }
        },
    };
    // Safaricom's callbacks carry no token: their path's secret is checked by the handler
    let claims = match claims {
        None if route.public() => Some(HashMap::new()),
        c => c,
    };
    let Some(claims) = claims else {
        // API Gateway's authorizer refuses these before any function runs; say so here too
        tracing::info!(route = %format!("{} {}", route.method, route.path), status = 401, "refused: no valid token");
        return json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sign in to continue.",
        );
    };
    let Ok(bytes) = to_bytes(body, API_BODY_LIMIT).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large.",
        );
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut query_map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in query {
        query_map.entry(k).or_default().push(v);
    }
    let path = parts.uri.path().to_owned();
    let body = if bytes.is_empty() {
        lambda_http::Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(s) => lambda_http::Body::Text(s),
            Err(e) => lambda_http::Body::Binary(e.into_bytes()),
        }
    };
    let mut lreq = lambda_http::http::Request::new(body);
    *lreq.method_mut() = parts.method.clone();
    *lreq.uri_mut() = parts.uri.clone();
    *lreq.headers_mut() = parts.headers.clone();
    let request_id = uuid::Uuid::new_v4().to_string();
    let lreq = lreq
        .with_path_parameters(path_params(route.path, &path))
        .with_query_string_parameters(query_map)
        .with_request_context(api_gateway_context(
            &claims,
            route.method,
            &path,
            &format!("{} {}", route.method, route.path),
            &request_id,
        ));
    let res = kikao_http::handle(&local.app, route.handler, lreq).await;
    let (parts, body) = res.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(s) => Bytes::from(s),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn method_filter(m: &str) -> MethodFilter {
    match m {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        other => panic!("the route table uses no {other}"),
    }
}

/// The API's OpenAPI document, the same bytes as `infra/openapi.json`.
async fn openapi_document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        kikao_http::openapi::document_json(),
    )
        .into_response()
}

/// The role the dev sign-in page shows, and which page it opens: a party role, or the
/// administrator's page for someone who only administers.
fn dev_role(a: &DevAccount) -> &'static str {
    let has = |g: &str| a.groups.iter().any(|x| x == g);
    if has(kikao_http::auth::PSYCHOLOGISTS_GROUP) {
        "psychologist"
    } else if has(kikao_http::auth::CLIENTS_GROUP) {
        "client"
    } else {
        "practice_admin"
    }
}

fn dev_user_json(a: &DevAccount) -> serde_json::Value {
    serde_json::json!({"id": a.user_id.as_str(), "name": a.name, "role": dev_role(a)})
}

/// A token for `a`, who signed in at `auth_time`, with what the directory says now.
fn dev_token(local: &Local, a: &DevAccount, auth_time: i64) -> Response {
    let who = Identity {
        sub: a.user_id.as_str(),
        name: &a.name,
        email: &a.email,
        phone: &a.phone,
        phone_verified: a.phone_verified,
        groups: &a.groups,
        mfa: a.mfa.on(),
    };
    let token = local
        .auth
        .issue(&who, auth_time, chrono::Utc::now().timestamp());
    Json(serde_json::json!({"token": token, "user": dev_user_json(a)})).into_response()
}

fn directory_failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dev directory failed");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "The dev user directory failed; see the server log.",
    )
}

async fn dev_users(State(local): State<Arc<Local>>) -> Response {
    match local.accounts.enabled() {
        Ok(all) => Json(serde_json::Value::Array(
            all.iter().map(dev_user_json).collect(),
        ))
        .into_response(),
        Err(e) => directory_failed(e),
    }
}

/// `POST /dev/users {"name", "role"}`: a new person in the directory, as someone who just signed
/// up (a client) or was just invited (a psychologist, an administrator) would be: no profile
/// yet, no second factor, an unconfirmed made-up phone; so the first-run screens can be tried.
/// 201 with the entry `GET /dev/users` lists.
async fn dev_new_user(State(local): State<Arc<Local>>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewUser {
        name: String,
        role: String,
    }
    let Ok(n) = serde_json::from_slice::<NewUser>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Send {\"name\": \"Akinyi Odhiambo\", \"role\": \"client\"} (role: client, psychologist or practice_admin).",
        );
    };
    let name = n.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            "Give a name of 1 to 80 characters.",
        );
    }
    let group = match n.role.as_str() {
        "client" => kikao_http::auth::CLIENTS_GROUP,
        "psychologist" => kikao_http::auth::PSYCHOLOGISTS_GROUP,
        "practice_admin" => kikao_http::auth::PRACTICE_ADMINS_GROUP,
        _ => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_role",
                "The role must be client, psychologist or practice_admin.",
            )
        }
    };
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    let id = format!("dev-{slug}-{tag}");
    let Some(user_id) = UserId::parse(&id) else {
        return directory_failed("a made-up id was refused");
    };
    let a = DevAccount {
        username: id.clone(),
        user_id,
        name: name.to_owned(),
        email: format!("{id}@example.test"),
        // the demo's made-up 0700 000 xxx range
        phone: format!("+254700000{:03}", rand::random::<u16>() % 1000),
        groups: vec![group.to_owned()],
        enabled: true,
        mfa: Mfa::None,
        phone_verified: false,
        created_at: chrono::Utc::now(),
    };
    match local.accounts.ensure(&a) {
        Ok(()) => (StatusCode::CREATED, Json(dev_user_json(&a))).into_response(),
        Err(e) => directory_failed(e),
    }
}

/// `POST /dev/login {"user_id", "code"?}`: as the hosted sign-in page would, refuses a disabled
/// account and asks someone with an authenticator app for its current code.
async fn dev_login(State(local): State<Arc<Local>>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Login {
        user_id: String,
        code: Option<String>,
    }
    let Ok(login) = serde_json::from_slice::<Login>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Send {\"user_id\": \"...\"} with one of the ids from GET /dev/users.",
        );
    };
    let a = match local.accounts.get(&login.user_id) {
        Ok(Some(a)) => a,
        Ok(None) => {
            return json_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "There is no dev user with that id; see GET /dev/users.",
            )
        }
        Err(e) => return directory_failed(e),
    };
    if !a.enabled {
        return json_error(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "This account has been deactivated by the practice; ask the practice administrator.",
        );
    }
    if a.mfa == Mfa::Totp {
        let Some(code) = login.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "mfa_code_required",
                "Enter the 6-digit code your authenticator app shows for Kikao.",
            );
        };
        match local
            .accounts
            .accept_code(a.user_id.as_str(), code, chrono::Utc::now())
        {
            Ok(true) => {}
            Ok(false) => {
                return json_error(
                    StatusCode::UNAUTHORIZED,
                    "mfa_code_wrong",
                    "That code is not the one your authenticator app shows now; check the app's time and try the new code.",
                )
            }
            Err(e) => return directory_failed(e),
        }
    }
    if let Err(e) = local.accounts.signed_in(a.user_id.as_str()) {
        return directory_failed(e);
    }
    // on the server's clock, which `POST /dev/clock` moves, as the API judges it
    dev_token(&local, &a, local.clock.now().timestamp())
}

/// The signed-in person's directory entry, from the bearer token: what the refresh and MFA
/// setup calls act on (Cognito's take the access token the same way).
fn bearer_account(
    local: &Local,
    headers: &HeaderMap,
) -> Result<(DevClaims, DevAccount), Box<Response>> {
    let claims = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| local.auth.verify(t.trim()))
        .ok_or_else(|| {
            Box::new(json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in to continue.",
            ))
        })?;
    match local.accounts.get(&claims.sub) {
        Ok(Some(a)) if a.enabled => Ok((claims, a)),
        Ok(_) => Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "This account is no longer active; sign in again.",
        ))),
        Err(e) => Err(Box::new(directory_failed(e))),
    }
}

/// `POST /dev/refresh`: a new token with the directory's groups and second factor as they are
/// now, keeping the sign-in time, as Cognito's refresh-token grant does.
async fn dev_refresh(State(local): State<Arc<Local>>, headers: HeaderMap) -> Response {
    match bearer_account(&local, &headers) {
        Ok((claims, a)) => dev_token(&local, &a, claims.auth_time),
        Err(r) => *r,
    }
}

/// `POST /dev/mfa/associate`: a new authenticator secret, as Cognito's AssociateSoftwareToken.
async fn dev_mfa_associate(State(local): State<Arc<Local>>, headers: HeaderMap) -> Response {
    let (_, a) = match bearer_account(&local, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match local.accounts.begin_totp(a.user_id.as_str()) {
        Ok(Some(secret)) => Json(serde_json::json!({"secret_code": secret})).into_response(),
        Ok(None) => json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "This account is no longer active; sign in again.",
        ),
        Err(e) => directory_failed(e),
    }
}

/// The signed-in person and the `{"code"}` they sent, for the calls that confirm something
/// with a code; `from` says where the code comes from, for the 400.
fn bearer_and_code(
    local: &Local,
    headers: &HeaderMap,
    body: &[u8],
    from: &str,
) -> Result<(DevClaims, DevAccount, String), Box<Response>> {
    #[derive(serde::Deserialize)]
    struct WithCode {
        code: String,
    }
    let (claims, a) = bearer_account(local, headers)?;
    let v = serde_json::from_slice::<WithCode>(body).map_err(|_| {
        Box::new(json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            &format!("Send {{\"code\": \"123456\"}} with the code {from}."),
        ))
    })?;
    Ok((claims, a, v.code))
}

/// A token for `user` as the directory has them after a change, keeping the sign-in time.
fn token_after_change(local: &Local, user: &UserId, auth_time: i64) -> Response {
    match local.accounts.get(user.as_str()) {
        Ok(Some(now)) => dev_token(local, &now, auth_time),
        Ok(None) => directory_failed("the account vanished"),
        Err(e) => directory_failed(e),
    }
}

/// `POST /dev/mfa/verify {"code"}`: confirms the secret with its first code (Cognito's
/// VerifySoftwareToken and SetUserMFAPreference) and hands back a token that says so.
async fn dev_mfa_verify(
    State(local): State<Arc<Local>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (claims, a, code) =
        match bearer_and_code(&local, &headers, &body, "your authenticator app shows") {
            Ok(x) => x,
            Err(r) => return *r,
        };
    match local
        .accounts
        .confirm_totp(a.user_id.as_str(), &code, chrono::Utc::now())
    {
        Ok(true) => token_after_change(&local, &a.user_id, claims.auth_time),
        Ok(false) => json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "code_mismatch",
            "That code does not match; type the 6-digit code the app shows now (it changes every 30 seconds).",
        ),
        Err(e) => directory_failed(e),
    }
}

/// `POST /dev/phone/code {"phone"}`: a code that confirms `phone` as the signed-in person's,
/// sent by SMS to the notification log, as Cognito's UpdateUserAttributes (a new number) or
/// GetUserAttributeVerificationCode (the same one) sends it; the number the account holds
/// stays until the code is entered.
async fn dev_phone_code(
    State(local): State<Arc<Local>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Ask {
        phone: String,
    }
    let (_, a) = match bearer_account(&local, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Ok(ask) = serde_json::from_slice::<Ask>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Send {\"phone\": \"0712 345 678\"} with the number to confirm.",
        );
    };
    let Some(phone) = PhoneNumber::parse(&ask.phone) else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
            "Type a Kenyan mobile number such as 0712 345 678 or +254712345678.",
        );
    };
    let code = match local
        .accounts
        .begin_phone(a.user_id.as_str(), phone.e164(), local.clock.now())
    {
        Ok(Some(code)) => code,
        Ok(None) => {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "This account is no longer active; sign in again.",
            )
        }
        Err(e) => return directory_failed(e),
    };
    let envelope = Envelope {
        recipient: a.user_id.clone(),
        session_id: None,
        purpose: "phone_verification".to_owned(),
    };
    let sms = Message::Sms {
        to: phone.e164().to_owned(),
        body: format!("Your Kikao code is {code}. It confirms this phone for Kikao's SMS."),
    };
    if let Err(e) = local.notifier.send(&envelope, &sms).await {
        tracing::error!(error = %e, "dev phone code not logged");
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The code could not be sent; see the server log.",
        );
    }
    Json(serde_json::json!({"destination": phone.e164(), "delivery_medium": "SMS"})).into_response()
}

/// `POST /dev/phone/verify {"code"}`: the code `/dev/phone/code` sent makes its number the
/// account's, verified (Cognito's VerifyUserAttribute), and hands back a token that says so.
async fn dev_phone_verify(
    State(local): State<Arc<Local>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (claims, a, code) = match bearer_and_code(&local, &headers, &body, "the SMS gave") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let said =
        |code: &str, message: &str| json_error(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    match local
        .accounts
        .confirm_phone(a.user_id.as_str(), &code, local.clock.now())
    {
        Ok(PhoneCheck::Confirmed) => token_after_change(&local, &a.user_id, claims.auth_time),
        Ok(PhoneCheck::Wrong) => said(
            "code_mismatch",
            "That is not the code we sent; check the latest SMS from Kikao and type its 6 digits.",
        ),
        Ok(PhoneCheck::Expired) => said(
            "code_expired",
            "That code can no longer be used; ask for a new one.",
        ),
        Ok(PhoneCheck::NoCode) => said(
            "no_code",
            "No code has been sent for this account; ask for one first.",
        ),
        Err(e) => directory_failed(e),
    }
}

/// A made-up M-Pesa statement (CSV, as the mpesa2csv converter writes one) in which every
/// payment waiting for the signed-in psychologist's check was received in full a minute after it
/// was made: what the statement panel needs to be tried on the dev server, where nobody has a
/// real statement of the demo's made-up payments.
async fn dev_statement(State(local): State<Arc<Local>>, headers: HeaderMap) -> Response {
    let (_, a) = match bearer_account(&local, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let waiting = local
        .app
        .sessions
        .list(
            &a.user_id,
            kikao_core::domain::Role::Psychologist,
            Some(kikao_core::domain::Status::PaymentSubmitted),
            100,
            None,
        )
        .await;
    let Ok(waiting) = waiting else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "The bookings could not be read; try again.",
        );
    };
    let nairobi = chrono::FixedOffset::east_opt(3 * 3600).expect("UTC+3");
    let mut csv = String::from(
        "Receipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\r\n",
    );
    let mut balance = 10_000;
    for (i, s) in waiting.items.iter().enumerate() {
        let Some(p) = &s.payment else { continue };
        let at = (p.paid_at.unwrap_or(p.submitted_at) + chrono::Duration::minutes(1))
            .with_timezone(&nairobi)
            .format("%Y-%m-%d %H:%M:%S");
        balance += s.price_kes.amount();
        csv.push_str(&format!(
            "{},{at},Funds received from - 07******{:03} {},Completed,{},,{balance}\r\n",
            p.transaction_code.as_str(),
            100 + i,
            s.client.name.to_uppercase(),
            s.price_kes.amount(),
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sample-mpesa-statement.csv\"",
            ),
        ],
        csv,
    )
        .into_response()
}

async fn dev_notifications(State(local): State<Arc<Local>>) -> Json<serde_json::Value> {
    let notifications = local.notifier.recent(200);
    match &local.backend {
        Backend::Embedded { .. } => Json(serde_json::json!({"notifications": notifications})),
        Backend::Aws { .. } => Json(serde_json::json!({
            "notifications": notifications,
            "note": "On the AWS adapters, the notify function sends notifications from the table's stream; only phone codes show here."
        })),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    advance_minutes: i64,
}

/// The longest move one request makes: a year is past every deadline and reminder there is.
const MAX_CLOCK_MOVE_MINUTES: i64 = 366 * 24 * 60;

/// `POST /dev/clock {"advance_minutes": N}`: moves the server's clock forward, then runs the
/// due work (expiry, reminders, notifications) at once rather than at the next tick.
async fn dev_clock(State(local): State<Arc<Local>>, body: Bytes) -> Response {
    let Ok(m) = serde_json::from_slice::<ClockMove>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Send {\"advance_minutes\": N} with a whole number of minutes.",
        );
    };
    if !(1..=MAX_CLOCK_MOVE_MINUTES).contains(&m.advance_minutes) {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The clock only moves forward, by 1 minute to a year (527,040 minutes).",
        );
    }
    local
        .clock
        .advance(chrono::Duration::minutes(m.advance_minutes));
    local.background_pass().await;
    Json(serde_json::json!({"now": local.clock.now()})).into_response()
}

fn signed_error(e: SignedUrlError) -> Response {
    let status = match e {
        SignedUrlError::BadSignature | SignedUrlError::Expired => StatusCode::FORBIDDEN,
        SignedUrlError::NotFound => StatusCode::NOT_FOUND,
        SignedUrlError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    json_error(status, "signed_url", &e.to_string())
}

/// The disk proof store, which only the embedded backend has (on AWS, S3 serves the URLs).
fn disk_proofs(local: &Local) -> Option<&DiskProofStore> {
    match &local.backend {
        Backend::Embedded { proofs, .. } => Some(proofs),
        Backend::Aws { .. } => None,
    }
}

fn no_disk_proofs() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "Screenshots are in S3 on the AWS adapters.",
    )
}

async fn dev_upload(
    State(local): State<Arc<Local>>,
    Query(q): Query<SignedQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let result = disk_proofs(&local).map(|p| p.accept_upload(&q, ct, &body, chrono::Utc::now()));
    match result {
        Some(Ok(())) => StatusCode::OK.into_response(),
        Some(Err(e)) => signed_error(e),
        None => no_disk_proofs(),
    }
}

async fn dev_proof(State(local): State<Arc<Local>>, Query(q): Query<SignedQuery>) -> Response {
    let result = disk_proofs(&local).map(|p| p.read_download(&q, chrono::Utc::now()));
    match result {
        Some(Ok((ct, bytes))) => {
            let mut res = bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&ct) {
                res.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            let private = HeaderValue::from_static("private, no-store");
            res.headers_mut().insert(header::CACHE_CONTROL, private);
            res
        }
        Some(Err(e)) => signed_error(e),
        None => no_disk_proofs(),
    }
}

/// One log line per request outside the API (path only: query strings carry signatures; the
/// API's own line comes from `kikao_http::handle`), and the security headers the CloudFront
/// distribution sets in AWS.
/// The page's Content-Security-Policy: its own origin only, and in OIDC mode the provider's,
/// whose token endpoint the page calls.
fn content_security_policy(local: &Local) -> HeaderValue {
    let connect = local
        .oidc
        .as_ref()
        .map(|c| format!(" connect-src 'self' {};", c.issuer()))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "default-src 'self';{connect} img-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// `GET /config.json` in OIDC mode: the page signs in with the provider the API trusts, in the
/// shape `infra/publish-site` writes for Cognito.
async fn oidc_config(State(local): State<Arc<Local>>) -> Response {
    let Some(check) = &local.oidc else {
        return json_error(StatusCode::NOT_FOUND, "not_found", "No such file.");
    };
    Json(serde_json::json!({
        "api_base": "",
        "auth": "cognito",
        "poll_ms": 30000,
        "cognito": {
            "domain": check.issuer(),
            "client_id": check.audience(),
            "redirect_uri": format!("{}/", local.public_url),
            "scope": "openid email phone profile aws.cognito.signin.user.admin",
        },
    }))
    .into_response()
}

async fn log_and_secure(
    csp: HeaderValue,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    let mut res = next.run(req).await;
    if !path.starts_with("/api/") {
        tracing::info!(%method, %path, status = res.status().as_u16(), ms = started.elapsed().as_secs_f64() * 1e3, "request");
    }
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// The whole dev server as one router.
pub fn router(local: Arc<Local>, static_dir: &Path) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<Arc<Local>>)> = Vec::new();
    for route in ROUTES {
        let l = local.clone();
        let handler = move |req: axum::extract::Request| call_route(l, route, req);
        match by_path.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, mr)) => *mr = std::mem::take(mr).on(method_filter(route.method), handler),
            None => by_path.push((route.path, on(method_filter(route.method), handler))),
        }
    }
    let csp = content_security_policy(&local);
    let mut app = Router::new();
    if local.oidc.is_some() {
        app = app.route("/config.json", get(oidc_config));
    }
    for (path, mr) in by_path {
        app = app.route(
            path,
            mr.fallback(|| async {
                json_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "This path does not take that method.",
                )
            }),
        );
    }
    app.route(
        "/api/{*rest}",
        any(|| async {
            json_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "There is no such API endpoint.",
            )
        }),
    )
    .route("/api/openapi.json", get(openapi_document))
    .route("/dev/users", get(dev_users).post(dev_new_user))
    .route("/dev/login", post(dev_login))
    .route("/dev/refresh", post(dev_refresh))
    .route("/dev/mfa/associate", post(dev_mfa_associate))
    .route("/dev/mfa/verify", post(dev_mfa_verify))
    .route("/dev/phone/code", post(dev_phone_code))
    .route("/dev/phone/verify", post(dev_phone_verify))
    .route("/dev/notifications", get(dev_notifications))
    .route("/dev/statement", get(dev_statement))
    .route("/dev/mpesa/pay", post(daraja_stub::pay))
    .route("/dev/mpesa/stk/{checkout_id}", post(daraja_stub::phone))
    .route("/dev/daraja/oauth/v1/generate", get(daraja_stub::oauth))
    .route(
        "/dev/daraja/mpesa/stkpush/v1/processrequest",
        post(daraja_stub::stk_push),
    )
    .route(
        "/dev/daraja/mpesa/stkpushquery/v1/query",
        post(daraja_stub::stk_query),
    )
    .route("/dev/mpesa/callback-urls", get(daraja_stub::callback_urls))
    .route("/dev/clock", post(dev_clock))
    .route(
        "/dev/uploads",
        put(dev_upload).layer(DefaultBodyLimit::max(6 * 1024 * 1024)),
    )
    .route("/dev/proofs", get(dev_proof))
    .fallback_service(ServeDir::new(static_dir).append_index_html_on_directories(true))
    .layer(axum::middleware::from_fn(move |req, next| {
        log_and_secure(csp.clone(), req, next)
    }))
    .with_state(local)
}
