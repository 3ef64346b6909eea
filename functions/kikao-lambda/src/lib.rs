//! What every Lambda entrypoint shares: JSON logs, building the adapters once per container,
//! and running the one handler its route names. Each `functions/<name>/src/main.rs` is a call
//! to `serve` with its own crate name, so a function can only ever serve its own route.
//!
//! Adapters are chosen here, on the function side of the boundary. Until the AWS adapters land
//! (DynamoDB, S3, SNS) the functions run on the embedded ones under `KIKAO_DATA_DIR`.

pub use lambda_http::Error;
use lambda_http::{service_fn, Request};
use shared::adapters::{clock::SystemClock, disk_proofs::DiskProofStore, sqlite::SqliteStore};
use shared::http::{routes, App, Config};
use std::path::PathBuf;
use std::sync::Arc;

fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}

fn build_app() -> Result<App, Error> {
    let dir =
        PathBuf::from(std::env::var("KIKAO_DATA_DIR").unwrap_or_else(|_| "/tmp/kikao".into()));
    let secret = std::env::var("KIKAO_SIGNING_SECRET")
        .map_err(|_| "KIKAO_SIGNING_SECRET must be set to sign proof URLs")?;
    let public_url = std::env::var("KIKAO_PUBLIC_URL").unwrap_or_default();
    let store = Arc::new(SqliteStore::open(&dir.join("kikao.sqlite3"))?);
    let mut config = Config::default();
    if let Ok(base) = std::env::var("KIKAO_MEETING_LINK_BASE") {
        config.meeting_link_base = base;
    }
    Ok(App {
        sessions: store.clone(),
        profiles: store,
        proofs: Arc::new(DiskProofStore::new(
            &dir.join("proofs"),
            &public_url,
            secret.as_bytes(),
        )),
        clock: Arc::new(SystemClock),
        config,
    })
}

/// Runs the handler of the route served by `function` until the Lambda runtime stops.
pub fn serve(function: &str) -> Result<(), Error> {
    let route =
        routes::by_function(function).ok_or_else(|| format!("no route is served by {function}"))?;
    init_logging();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let app: &'static App = Box::leak(Box::new(build_app()?));
            let handler = route.handler;
            lambda_http::run(service_fn(move |req: Request| async move {
                Ok::<_, std::convert::Infallible>(handler(app, req).await)
            }))
            .await
        })
}
