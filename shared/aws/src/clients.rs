//! AWS clients from the standard environment (region, credentials, `AWS_ENDPOINT_URL`), built
//! once per process. Against an endpoint override (moto, localstack) S3 uses path-style URLs.

pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
}

/// The shared SDK configuration from the standard environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

impl AwsClients {
    pub async fn from_env() -> Self {
        let config = sdk_config().await;
        let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(path_style)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sns: aws_sdk_sns::Client::new(&config),
        }
    }
}
