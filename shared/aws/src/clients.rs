//! AWS clients from the standard environment (region, credentials, `AWS_ENDPOINT_URL`). A
//! function builds only the clients its adapters use, once per container: the code of a client
//! nobody builds is not linked, so only `notify` and `remind` carry SNS and SES. No function carries the S3 client:
//! the proof store signs its own three calls (`s3_proofs`); the dev server and the tests use the
//! client only to create the bucket, with path-style URLs against an endpoint override (moto).
//!
//! The HTTPS client is chosen here rather than by the SDK's `default-https-client` feature: the
//! same hyper and rustls client, with ring as rustls' crypto instead of aws-lc. Each function is
//! then smaller and a cross-compiled build has no aws-lc C library to build (README, Deploying).

use aws_config::SdkConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The shared SDK configuration from the standard environment, over rustls with ring.
pub async fn sdk_config() -> SdkConfig {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::from_env().http_client(https).load().await
}

pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

#[cfg(feature = "dev")]
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build(),
    )
}

pub fn sns(config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(config)
}

pub fn ses(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(config)
}

pub fn secrets(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

pub fn cognito(config: &SdkConfig) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(config)
}

/// All the clients at once, for the dev server, the tests and the benchmarks, which use them
/// all; a Lambda builds only its own.
#[cfg(feature = "dev")]
pub struct AwsClients {
    pub config: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
}

#[cfg(feature = "dev")]
impl AwsClients {
    pub async fn from_env() -> Self {
        let config = sdk_config().await;
        Self {
            dynamodb: dynamodb(&config),
            s3: s3(&config),
            sns: sns(&config),
            ses: ses(&config),
            cognito: cognito(&config),
            config,
        }
    }
}
