//! What the adapter tests share: AWS clients for the moto server `tests/run` starts, and names
//! no other test uses.

/// AWS clients for the moto server `tests/run` starts. Refuses to run against anything but a
/// local endpoint, so a developer's real credentials are never used by a test.
pub async fn moto() -> kikao_aws::clients::AwsClients {
    let url = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("these tests run against moto: use tests/run, which starts it, or set AWS_ENDPOINT_URL to a moto server on 127.0.0.1")
    });
    assert!(
        url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL must point at a local moto server, not {url}"
    );
    kikao_aws::clients::AwsClients::from_env().await
}

/// A name no other test uses, so each test has its own small table, bucket or topic.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}
