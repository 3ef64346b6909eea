//! What the dev server's integration tests share: a server of their own (own data folder, or
//! own table and bucket in moto) on a manual clock, and one way to send it a request.
#![allow(dead_code)]

pub mod issuer;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use kikao_core::clock::ManualClock;
use local::{router, BackendChoice, Local, Options, Seed};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// Monday 7 January 2030, 09:00 in Nairobi: where every test's clock starts.
pub fn now0() -> DateTime<Utc> {
    "2030-01-07T06:00:00Z".parse().unwrap()
}

pub struct Server {
    pub router: Router,
    pub local: Arc<Local>,
    pub clock: Arc<ManualClock>,
    /// In `--oidc-issuer` mode: the provider whose tokens the server takes.
    pub issuer: Option<Arc<issuer::Issuer>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// The demo people only; on the embedded default, or (`aws`) on DynamoDB and S3 in the
    /// moto at `AWS_ENDPOINT_URL`, which must be local.
    pub async fn spawn(aws: bool) -> Self {
        Self::spawn_with(aws, None).await
    }

    /// As `spawn`, checking tokens as API Gateway would against `issuer` (`--oidc-issuer`).
    pub async fn spawn_with(aws: bool, issuer: Option<Arc<issuer::Issuer>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(now0()));
        let mut opts = Options::new(dir.path());
        opts.clock = clock.clone();
        opts.seed = Seed::Users;
        opts.oidc = issuer
            .as_ref()
            .map(|i| (i.url.clone(), issuer::AUDIENCE.to_owned()));
        if aws {
            let url = std::env::var("AWS_ENDPOINT_URL").expect(
                "the --aws tests run against moto: use tests/run, or set AWS_ENDPOINT_URL to a moto server on 127.0.0.1",
            );
            assert!(
                url.starts_with("http://127.0.0.1"),
                "AWS_ENDPOINT_URL must be a local moto, not {url}"
            );
            let id = &uuid::Uuid::new_v4().simple().to_string()[..12];
            opts.backend = BackendChoice::Aws {
                table: format!("test-{id}"),
                bucket: format!("test-{id}"),
            };
        }
        let local = Local::open(&opts).await.unwrap();
        Server {
            router: router(local.clone(), &opts.static_dir),
            local,
            clock,
            issuer,
            _dir: dir,
        }
    }

    /// One request through the router, as a browser or curl would send it.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, bytes)
    }
}
