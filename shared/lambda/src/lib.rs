//! What every Lambda entrypoint shares: JSON logs, the AWS clients and adapters built once per
//! container, and the one handler or job the function runs. Each `functions/<name>/src/main.rs`
//! is a single call into here naming its handler (`tests/template_agrees.rs` checks it is its
//! own route's), so a function links and serves only that.
//!
//! This is where the Lambda side picks its adapters: DynamoDB for sessions and profiles, S3 for
//! screenshots (only the three functions that touch them: `http_function!(name, proofs)`), SNS
//! for notifications (only `notify`). A function builds no client it does not use, so it links
//! none of that client's code and reads none of its configuration. Configuration comes from the
//! environment the SAM template sets (names in `env`).

use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use kikao_aws::clients;
use kikao_aws::cognito::CognitoAccounts;
use kikao_aws::dynamodb::DynamoStore;
use kikao_aws::notifier::AwsNotifier;
use kikao_aws::s3_proofs::S3ProofStore;
use kikao_aws::secrets::{SecretsManagerDaraja, SecretsManagerKey};
pub use kikao_core::bookings::Bookings;
use kikao_core::bookings::Config;
use kikao_core::clock::SystemClock;
use kikao_core::ports::{
    Accounts, CallbackKey, Daraja, NoAccounts, NoCallbackKey, NoDaraja, NoOutbox, NoProofStore,
    ProofStore,
};
pub use kikao_http::handlers;
use kikao_http::routes::Handler;
pub use kikao_http::routes::HandlerFuture;
use lambda_http::service_fn;
pub use lambda_http::{Error, Request};
use lambda_runtime::LambdaEvent;
use std::sync::Arc;

/// The environment variables the functions read; the SAM template sets exactly these, which
/// `tests/template_agrees.rs` checks.
pub mod env {
    pub const TABLE: &str = "KIKAO_TABLE";
    pub const PROOF_BUCKET: &str = "KIKAO_PROOF_BUCKET";
    /// The From of every email: an address at the domain SES verified.
    pub const EMAIL_FROM: &str = "KIKAO_EMAIL_FROM";
    pub const SMS_SENDER_ID: &str = "KIKAO_SMS_SENDER_ID";
    pub const MEETING_LINK_BASE: &str = "KIKAO_MEETING_LINK_BASE";
    /// The dashboard's address, which every SMS and email carries.
    pub const APP_URL: &str = "KIKAO_APP_URL";
    /// The Cognito user pool the admin functions invite into and deactivate in.
    pub const USER_POOL: &str = "KIKAO_USER_POOL_ID";
    /// Where people write about their data, which the privacy notice names.
    pub const PRIVACY_CONTACT: &str = "KIKAO_PRIVACY_CONTACT";
    /// Days a payment screenshot is kept (the bucket's lifecycle rule), which the notice says.
    pub const PROOF_RETENTION_DAYS: &str = "KIKAO_PROOF_RETENTION_DAYS";
    /// The Secrets Manager secret the M-Pesa callback paths are made with.
    pub const MPESA_CALLBACK_KEY_SECRET: &str = "KIKAO_MPESA_CALLBACK_KEY_SECRET";
    /// The addresses M-Pesa's callbacks may come from, comma-separated; empty: any.
    pub const MPESA_SOURCE_IPS: &str = "KIKAO_MPESA_SOURCE_IPS";
    /// Daraja's address (production unless the stack says the sandbox).
    pub const DARAJA_URL: &str = "KIKAO_DARAJA_URL";
    /// Where each Till's or Paybill's Daraja app is kept: `<prefix><shortcode>`.
    pub const DARAJA_SECRET_PREFIX: &str = "KIKAO_DARAJA_SECRET_PREFIX";
    /// The API's own address, which payment requests name for their outcome.
    pub const API_URL: &str = "KIKAO_API_URL";

    /// What `serve` reads, for an HTTP function that does not touch screenshots.
    pub const HTTP: &[&str] = &[TABLE, MEETING_LINK_BASE];
    /// What `serve_with_proofs` reads, for the three that do.
    pub const HTTP_WITH_PROOFS: &[&str] = &[TABLE, MEETING_LINK_BASE, PROOF_BUCKET];
    /// What `serve_with_accounts` reads, for the admin functions that call Cognito.
    pub const HTTP_WITH_ACCOUNTS: &[&str] = &[TABLE, MEETING_LINK_BASE, USER_POOL];
    /// What `serve_with_proofs_and_accounts` reads, for the erasure.
    pub const HTTP_WITH_PROOFS_AND_ACCOUNTS: &[&str] =
        &[TABLE, MEETING_LINK_BASE, PROOF_BUCKET, USER_POOL];
    /// What `serve_with_callback_key` reads, for M-Pesa's callbacks.
    pub const HTTP_WITH_CALLBACK_KEY: &[&str] = &[
        TABLE,
        MEETING_LINK_BASE,
        MPESA_CALLBACK_KEY_SECRET,
        MPESA_SOURCE_IPS,
    ];
    /// What `serve_with_daraja` reads, for the payment request and its callback.
    pub const HTTP_WITH_DARAJA: &[&str] = &[
        TABLE,
        MEETING_LINK_BASE,
        MPESA_CALLBACK_KEY_SECRET,
        MPESA_SOURCE_IPS,
        DARAJA_URL,
        DARAJA_SECRET_PREFIX,
        API_URL,
    ];
    /// What `serve_with_daraja_query` reads, to ask Daraja about a late payment request.
    pub const HTTP_WITH_DARAJA_QUERY: &[&str] =
        &[TABLE, MEETING_LINK_BASE, DARAJA_URL, DARAJA_SECRET_PREFIX];
    /// What the privacy notice's function reads.
    pub const NOTICE: &[&str] = &[
        TABLE,
        MEETING_LINK_BASE,
        PRIVACY_CONTACT,
        PROOF_RETENTION_DAYS,
    ];
    /// What `serve_notifier` and `serve_reminders` read.
    pub const NOTIFY: &[&str] = &[TABLE, EMAIL_FROM, SMS_SENDER_ID, APP_URL];
    /// What `serve_expiry` reads.
    pub const EXPIRE: &[&str] = &[TABLE];
    /// What `serve_sign_up` reads (the user pool comes with each event).
    pub const SIGN_UP: &[&str] = &[TABLE];
    /// What `serve_token_claims` reads: nothing (the pool and user come with each event).
    pub const TOKEN_CLAIMS: &[&str] = &[];

    /// The variables the function crate `name` reads, given what its `main` says it builds
    /// (`proofs`, `accounts`, `proofs_and_accounts`, or none of them).
    pub fn read_by(name: &str, main_says: Option<&str>) -> &'static [&'static str] {
        match (name, main_says) {
            ("notify" | "remind", _) => NOTIFY,
            ("confirm-sign-up", _) => SIGN_UP,
            ("add-token-claims", _) => TOKEN_CLAIMS,
            ("expire", _) => EXPIRE,
            ("get-privacy-notice", _) => NOTICE,
            (_, Some("proofs")) => HTTP_WITH_PROOFS,
            (_, Some("accounts")) => HTTP_WITH_ACCOUNTS,
            (_, Some("proofs_and_accounts")) => HTTP_WITH_PROOFS_AND_ACCOUNTS,
            (_, Some("callback_key")) => HTTP_WITH_CALLBACK_KEY,
            (_, Some("daraja")) => HTTP_WITH_DARAJA,
            (_, Some("daraja_query")) => HTTP_WITH_DARAJA_QUERY,
            _ => HTTP,
        }
    }
}

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} must be set").into())
}

fn init_logging() {
    kikao_telemetry::init();
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The use cases over DynamoDB (the table from `KIKAO_TABLE`), with `proofs` for the
/// screenshots or `NoProofStore` where the function never touches one, and `accounts` for the
/// user pool or `NoAccounts`.
fn bookings(aws: &SdkConfig, adapters: Adapters) -> Result<Bookings, Error> {
    let Adapters {
        proofs,
        accounts,
        callback_key,
        daraja,
    } = adapters;
    let store = Arc::new(DynamoStore::new(
        clients::dynamodb(aws),
        &required(env::TABLE)?,
    ));
    let mut config = Config::default();
    if let Ok(base) = std::env::var(env::MEETING_LINK_BASE) {
        config.meeting_link_base = base;
    }
    if let Ok(url) = std::env::var(env::APP_URL) {
        config.app_url = url;
    }
    if let Ok(contact) = std::env::var(env::PRIVACY_CONTACT) {
        config.privacy_contact = contact;
    }
    if let Ok(days) = std::env::var(env::PROOF_RETENTION_DAYS) {
        config.proof_retention_days = days
            .parse()
            .map_err(|_| format!("{} must be a number of days", env::PROOF_RETENTION_DAYS))?;
    }
    if let Ok(url) = std::env::var(env::API_URL) {
        config.api_url = url;
    }
    if let Ok(list) = std::env::var(env::MPESA_SOURCE_IPS) {
        config.mpesa_sources = list
            .split(',')
            .map(str::trim)
            .filter(|ip| !ip.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Ok(Bookings {
        sessions: store.clone(),
        profiles: store.clone(),
        audit: store.clone(),
        sent: store.clone(),
        ledger: store.clone(),
        checkouts: store,
        proofs,
        accounts,
        callback_key,
        daraja,
        // SNS and SES keep no copy in Kikao's stores
        outbox: Arc::new(NoOutbox),
        clock: Arc::new(SystemClock),
        config,
    })
}

/// Runs one HTTP handler until the runtime stops. Each function names its own handler (see
/// `http_function!`), so the linker keeps that handler and drops the other nineteen.
pub fn serve(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |_| Ok(Adapters::none()))
}

/// `serve` for a handler that reads or writes screenshots: with S3 and `KIKAO_PROOF_BUCKET`.
pub fn serve_with_proofs(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |aws| {
        let bucket = required(env::PROOF_BUCKET)?;
        Ok(Adapters {
            proofs: Arc::new(S3ProofStore::new(aws, &bucket)?),
            ..Adapters::none()
        })
    })
}

/// `serve` for a handler that changes accounts: with Cognito and `KIKAO_USER_POOL_ID`.
pub fn serve_with_accounts(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |aws| {
        let pool = required(env::USER_POOL)?;
        Ok(Adapters {
            accounts: Arc::new(CognitoAccounts::new(clients::cognito(aws), &pool)),
            ..Adapters::none()
        })
    })
}

/// `serve` for the erasure, which deletes screenshots and the user: with both.
pub fn serve_with_proofs_and_accounts(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |aws| {
        let bucket = required(env::PROOF_BUCKET)?;
        let pool = required(env::USER_POOL)?;
        Ok(Adapters {
            proofs: Arc::new(S3ProofStore::new(aws, &bucket)?),
            accounts: Arc::new(CognitoAccounts::new(clients::cognito(aws), &pool)),
            ..Adapters::none()
        })
    })
}

/// `serve` for M-Pesa's callbacks: with the callback key from Secrets Manager
/// (`KIKAO_MPESA_CALLBACK_KEY_SECRET`), and the allow list of addresses if the stack sets one.
pub fn serve_with_callback_key(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |aws| {
        let secret = required(env::MPESA_CALLBACK_KEY_SECRET)?;
        Ok(Adapters {
            callback_key: Arc::new(SecretsManagerKey::new(clients::secrets(aws), &secret)),
            ..Adapters::none()
        })
    })
}

/// `serve` for the payment request on a client's phone and its callback: the callback key, and
/// Daraja (`KIKAO_DARAJA_URL`) over each shortcode's credentials in Secrets Manager
/// (`KIKAO_DARAJA_SECRET_PREFIX`).
pub fn serve_with_daraja(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |aws| {
        let secret = required(env::MPESA_CALLBACK_KEY_SECRET)?;
        Ok(Adapters {
            callback_key: Arc::new(SecretsManagerKey::new(clients::secrets(aws), &secret)),
            daraja: daraja(aws)?,
            ..Adapters::none()
        })
    })
}

/// Daraja (`KIKAO_DARAJA_URL`, production if unset) over each shortcode's credentials in
/// Secrets Manager (`KIKAO_DARAJA_SECRET_PREFIX`).
fn daraja(aws: &SdkConfig) -> Result<Arc<dyn Daraja>, Error> {
    let prefix = required(env::DARAJA_SECRET_PREFIX)?;
    let base =
        std::env::var(env::DARAJA_URL).unwrap_or_else(|_| kikao_daraja::PRODUCTION.to_owned());
    let credentials = Arc::new(SecretsManagerDaraja::new(clients::secrets(aws), &prefix));
    Ok(Arc::new(kikao_daraja::DarajaHttp::new(&base, credentials)))
}

/// `serve` for reading a payment request, which asks Daraja about one whose callback is late:
/// Daraja over each shortcode's credentials, and no callback key (it makes no callback path).
pub fn serve_with_daraja_query(handler: Handler) -> Result<(), Error> {
    serve_http(handler, |aws| {
        Ok(Adapters {
            daraja: daraja(aws)?,
            ..Adapters::none()
        })
    })
}

/// The adapters that differ between functions; the table is everyone's.
struct Adapters {
    proofs: Arc<dyn ProofStore>,
    accounts: Arc<dyn Accounts>,
    callback_key: Arc<dyn CallbackKey>,
    daraja: Arc<dyn Daraja>,
}

impl Adapters {
    fn none() -> Self {
        Self {
            proofs: Arc::new(NoProofStore),
            accounts: Arc::new(NoAccounts),
            callback_key: Arc::new(NoCallbackKey),
            daraja: Arc::new(NoDaraja),
        }
    }
}

fn serve_http(
    handler: Handler,
    adapters: impl FnOnce(&SdkConfig) -> Result<Adapters, Error>,
) -> Result<(), Error> {
    init_logging();
    runtime()?.block_on(async {
        let aws = clients::sdk_config().await;
        let app: &'static Bookings = Box::leak(Box::new(bookings(&aws, adapters(&aws)?)?));
        lambda_http::run(service_fn(move |req: Request| async move {
            Ok::<_, std::convert::Infallible>(kikao_http::handle(app, handler, req).await)
        }))
        .await
    })
}

/// The whole `main` of an HTTP function: `kikao_lambda::http_function!(approve_session);`,
/// `kikao_lambda::http_function!(submit_payment, proofs);` for one that touches screenshots, or
/// `kikao_lambda::http_function!(invite_psychologist, accounts);` for one that changes accounts.
#[macro_export]
macro_rules! http_function {
    ($handler:ident) => {
        $crate::http_function!(@main $handler, serve);
    };
    ($handler:ident, proofs) => {
        $crate::http_function!(@main $handler, serve_with_proofs);
    };
    ($handler:ident, accounts) => {
        $crate::http_function!(@main $handler, serve_with_accounts);
    };
    ($handler:ident, proofs_and_accounts) => {
        $crate::http_function!(@main $handler, serve_with_proofs_and_accounts);
    };
    ($handler:ident, callback_key) => {
        $crate::http_function!(@main $handler, serve_with_callback_key);
    };
    ($handler:ident, daraja) => {
        $crate::http_function!(@main $handler, serve_with_daraja);
    };
    ($handler:ident, daraja_query) => {
        $crate::http_function!(@main $handler, serve_with_daraja_query);
    };
    (@main $handler:ident, $serve:ident) => {
        fn handler(app: &$crate::Bookings, req: $crate::Request) -> $crate::HandlerFuture<'_> {
            Box::pin($crate::handlers::$handler(app, req))
        }

        fn main() -> Result<(), $crate::Error> {
            $crate::$serve(handler)
        }
    };
}

/// The stream notifier: each batch of table changes becomes SMS and email for the other party,
/// with a partial batch response naming the records that failed.
pub fn serve_notifier() -> Result<(), Error> {
    init_logging();
    runtime()?.block_on(async {
        let (app, notifier, log) = outbox().await?;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |ev: LambdaEvent<StreamEvent>| async move {
                let failed =
                    kikao_aws::stream::notify_batch(&ev.payload.records, app, notifier, log).await;
                let mut response = DynamoDbEventResponse::default();
                for id in failed {
                    let mut f = DynamoDbBatchItemFailure::default();
                    f.item_identifier = Some(id);
                    response.batch_item_failures.push(f);
                }
                Ok::<_, Error>(response)
            },
        ))
        .await
    })
}

/// What the notifier and the reminder job send with: the use cases, SNS and SES, and the sent
/// markers in the table; made once and kept for the life of the process.
async fn outbox() -> Result<
    (
        &'static Bookings,
        &'static AwsNotifier,
        &'static DynamoStore,
    ),
    Error,
> {
    let aws = clients::sdk_config().await;
    let app: &'static Bookings = Box::leak(Box::new(bookings(&aws, Adapters::none())?));
    let notifier: &'static AwsNotifier = Box::leak(Box::new(AwsNotifier::new(
        clients::sns(&aws),
        clients::ses(&aws),
        &required(env::EMAIL_FROM)?,
        std::env::var(env::SMS_SENDER_ID)
            .ok()
            .filter(|s| !s.is_empty()),
    )));
    let log: &'static DynamoStore = Box::leak(Box::new(DynamoStore::new(
        clients::dynamodb(&aws),
        &required(env::TABLE)?,
    )));
    Ok((app, notifier, log))
}

/// The scheduled reminder job: 24 h and 1 h before each confirmed session, and 3 h before an
/// unpaid booking's payment deadline, each sent once.
pub fn serve_reminders() -> Result<(), Error> {
    init_logging();
    runtime()?.block_on(async {
        let (app, notifier, log) = outbox().await?;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |_: LambdaEvent<serde_json::Value>| async move {
                let sent = app.remind_due(notifier, log).await?;
                tracing::info!(sent, "reminder pass");
                Ok::<_, Error>(serde_json::json!({ "sent": sent }))
            },
        ))
        .await
    })
}

/// Cognito's post-confirmation trigger: a person who signed up by themselves becomes a client
/// (the group, then the profile). The event goes back to Cognito unchanged.
pub fn serve_sign_up() -> Result<(), Error> {
    init_logging();
    runtime()?.block_on(async {
        let aws = clients::sdk_config().await;
        let app: &'static Bookings = Box::leak(Box::new(bookings(&aws, Adapters::none())?));
        let cognito: &'static aws_sdk_cognitoidentityprovider::Client =
            Box::leak(Box::new(clients::cognito(&aws)));
        lambda_runtime::run(lambda_runtime::service_fn(
            move |ev: LambdaEvent<serde_json::Value>| async move {
                if let Some((pool, who)) = kikao_aws::cognito::sign_up(&ev.payload)? {
                    let accounts = CognitoAccounts::new(cognito.clone(), &pool);
                    app.welcome_client(&who, &accounts).await?;
                }
                Ok::<_, Error>(ev.payload)
            },
        ))
        .await
    })
}

/// Cognito's pre-token-generation trigger: every ID token it issues (sign-in and each hourly
/// refresh) says whether the person has an authenticator app set up, read from their MFA
/// settings, so the API's write gate needs no call of its own. The event goes back with the
/// claim added.
pub fn serve_token_claims() -> Result<(), Error> {
    init_logging();
    runtime()?.block_on(async {
        let aws = clients::sdk_config().await;
        let cognito: &'static aws_sdk_cognitoidentityprovider::Client =
            Box::leak(Box::new(clients::cognito(&aws)));
        lambda_runtime::run(lambda_runtime::service_fn(
            move |mut ev: LambdaEvent<serde_json::Value>| async move {
                let asked = match kikao_aws::cognito::token_request(&ev.payload) {
                    Ok(asked) => asked,
                    // an event this code cannot read goes back as it came: never a failed sign-in
                    Err(e) => {
                        tracing::warn!(error = %e, "pre-token event not understood");
                        return Ok::<_, Error>(ev.payload);
                    }
                };
                let mfa = match asked {
                    Some((pool, username)) => {
                        let accounts = CognitoAccounts::new(cognito.clone(), &pool);
                        // if Cognito does not answer, the person signs in read-only (the claim
                        // suppressed) rather than not at all
                        accounts.has_totp(&username).await.unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "MFA settings unread; token issued without the claim");
                            false
                        })
                    }
                    None => false,
                };
                kikao_aws::cognito::add_token_claims(&mut ev.payload, mfa);
                Ok(ev.payload)
            },
        ))
        .await
    })
}

/// The scheduled expiry job: cancels bookings nobody answered or paid in time.
pub fn serve_expiry() -> Result<(), Error> {
    init_logging();
    runtime()?.block_on(async {
        let aws = clients::sdk_config().await;
        let app: &'static Bookings = Box::leak(Box::new(bookings(&aws, Adapters::none())?));
        lambda_runtime::run(lambda_runtime::service_fn(
            move |_: LambdaEvent<serde_json::Value>| async move {
                let report = app.expire_due(25).await?;
                tracing::info!(
                    expired = report.expired,
                    skipped = report.skipped,
                    "expiry pass"
                );
                Ok::<_, Error>(
                    serde_json::json!({"expired": report.expired, "skipped": report.skipped}),
                )
            },
        ))
        .await
    })
}
