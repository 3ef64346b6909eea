//! Lambda init: from process start of a release `bootstrap` to its first
//! `GET /2018-06-01/runtime/invocation/next`, against a minimal Runtime API on 127.0.0.1. The
//! function builds all its clients (AWS config, DynamoDB, S3) before asking for work, as in
//! Lambda; the stub answers nothing, and the process is stopped once it has asked.

use crate::report::{Report, Row};
use axum::routing::get;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub async fn measure(report: &mut Report, bootstrap: &str) {
    let asked = Arc::new(Notify::new());
    let a = asked.clone();
    let app = axum::Router::new().route(
        "/2018-06-01/runtime/invocation/next",
        get(move || {
            let a = a.clone();
            async move {
                a.notify_one();
                // hold the request: a runtime waits here for work
                tokio::time::sleep(Duration::from_secs(30)).await;
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut micros = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(bootstrap)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "kikao-list-sessions")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/kikao-list-sessions",
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "af-south-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("KIKAO_TABLE", "bench")
            .env("KIKAO_PROOF_BUCKET", "bench")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the bootstrap runs");
        let waited = tokio::time::timeout(Duration::from_secs(10), asked.notified()).await;
        let us = started.elapsed().as_secs_f64() * 1e6;
        let _ = child.kill().await;
        if waited.is_ok() {
            micros.push(us);
        }
    }
    micros.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let g = "4 Lambda init (x86_64 release bootstrap of list-sessions, 30 starts)";
    if micros.is_empty() {
        report.push(Row::new(
            g,
            "bootstrap never asked for work",
            f64::NAN,
            "ms",
        ));
        return;
    }
    let p50 = micros[micros.len() / 2] / 1000.0;
    report.push(
        Row::new(g, "process start to first /invocation/next, p50", p50, "ms")
            .goal("<= 10", p50 <= 10.0),
    );
    report.push(Row::new(
        g,
        "… max",
        micros[micros.len() - 1] / 1000.0,
        "ms",
    ));
    let size = std::fs::metadata(bootstrap).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    report.push(Row::new(g, "that bootstrap's size (unzipped)", size, "MB"));
}
