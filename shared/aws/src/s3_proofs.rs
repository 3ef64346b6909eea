//! Payment screenshots in a private S3 bucket. The browser uploads with a presigned PUT whose
//! signature covers the content type and length, so S3 itself refuses anything else; reads are
//! presigned GETs for the two parties, minutes long, of the object version `submit-payment` saw
//! with its one signed HEAD (the bucket is versioned), so a later upload under the same key
//! changes nothing the psychologist sees.
//!
//! An erasure also lists a booking's versions and deletes each (`delete_prefix`).
//!
//! Those calls are signed here with `aws-sigv4` (the SDK's own signer) and sent with the
//! SDK's HTTP connector, rather than through `aws-sdk-s3`: the S3 client brings checksum
//! algorithms, express-session credentials and endpoint rules that none of these calls use,
//! and they took the three proof functions over 3 MB zipped (issue 11). The signing settings
//! are the ones the SDK uses for S3 (single percent-encoding, no path normalisation, an
//! unsigned payload when presigning), and the tests check the signatures against the worked
//! examples in the S3 API reference.

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::body::SdkBody;
use chrono::{Duration, Utc};
use kikao_core::ports::{Presigned, ProofError, ProofStore, StoredObject};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::sync::OnceLock;
use std::time::SystemTime;

pub struct S3ProofStore {
    bucket: String,
    region: String,
    /// `https://s3.<region>.amazonaws.com`-style virtual hosts in AWS; an endpoint override
    /// (moto, localstack) gets path-style URLs, as the SDK is told with `force_path_style`.
    endpoint: Option<String>,
    credentials: SharedCredentialsProvider,
    connector: Box<dyn Fn() -> SharedHttpConnector + Send + Sync>,
    http: OnceLock<SharedHttpConnector>,
}

fn err(e: impl std::fmt::Display) -> ProofError {
    ProofError(e.to_string())
}

/// The endpoint override S3 would use: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`.
fn endpoint_override() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .map(|v| v.trim_end_matches('/').to_owned())
}

/// Keys are made by the use cases (`proofs/<booking id>/<uuid>.<ext>`); anything else would need
/// escaping rules this adapter does not carry, so it is refused rather than signed wrongly.
fn check_key(key: &str) -> Result<(), ProofError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
    if key.is_empty() || key.starts_with('/') || !key.chars().all(safe) {
        return Err(ProofError(format!("unexpected object key {key:?}")));
    }
    Ok(())
}

/// What S3 wants percent-encoded in a query value: everything but the unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What a request is signed with, apart from the request itself.
struct Signer<'a> {
    identity: &'a Identity,
    region: &'a str,
    time: SystemTime,
}

impl Signer<'_> {
    /// A URL that performs `method` on `url` until `ttl` from `time`; `headers` are signed, so
    /// the caller must send exactly those.
    fn presign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        ttl: std::time::Duration,
    ) -> Result<String, ProofError> {
        let mut settings = s3_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        let req = self.sign(
            method,
            url,
            headers,
            SignableBody::UnsignedPayload,
            settings,
        )?;
        Ok(req.uri().to_string())
    }

    /// `method` on `url` with the signature in the headers (a request sent from here).
    fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<http::Request<()>, ProofError> {
        let mut settings = s3_settings();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        self.sign(method, url, headers, SignableBody::Bytes(&[]), settings)
    }

    /// The request `method url` with `headers`, signed as `settings` say.
    fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: SignableBody<'_>,
        settings: SigningSettings,
    ) -> Result<http::Request<()>, ProofError> {
        let params = v4::SigningParams::builder()
            .identity(self.identity)
            .region(self.region)
            .name("s3")
            .time(self.time)
            .settings(settings)
            .build()
            .map_err(err)?
            .into();
        let signable =
            SignableRequest::new(method, url, headers.iter().copied(), body).map_err(err)?;
        let (instructions, _) = sign(signable, &params).map_err(err)?.into_parts();
        let mut req = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(()).map_err(err)?;
        instructions.apply_to_request_http1x(&mut req);
        Ok(req)
    }
}

/// How the SDK signs S3 requests: S3 does not decode or normalise the path before checking.
fn s3_settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings
}

impl S3ProofStore {
    /// The store over `bucket`, with the region, credentials and timeouts of `config` and the
    /// endpoint override of the environment.
    pub fn new(config: &SdkConfig, bucket: &str) -> Result<Self, ProofError> {
        let region = config
            .region()
            .ok_or_else(|| err("no AWS region is configured (AWS_REGION)"))?
            .to_string();
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| err("no AWS credentials provider is configured"))?;
        // a HEAD answers in milliseconds; a stuck connection should fail the request well
        // inside the function's timeout rather than use it up
        let mut http = aws_smithy_http_client::Connector::builder().connector_settings(
            HttpConnectorSettings::builder()
                .connect_timeout(std::time::Duration::from_secs(3))
                .read_timeout(std::time::Duration::from_secs(5))
                .build(),
        );
        if let Some(sleep) = config.sleep_impl() {
            http = http.sleep_impl(sleep);
        }
        let http = http.tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        Ok(Self {
            bucket: bucket.to_owned(),
            region,
            endpoint: endpoint_override(),
            credentials,
            connector: Box::new(move || SharedHttpConnector::new(http.clone().build())),
            http: OnceLock::new(),
        })
    }

    /// The connector for the HEAD, made on first use: making it loads the system's root
    /// certificates, which the two functions that only presign never need.
    fn http(&self) -> &SharedHttpConnector {
        self.http.get_or_init(|| (self.connector)())
    }

    fn url(&self, key: &str) -> Result<String, ProofError> {
        check_key(key)?;
        Ok(match &self.endpoint {
            Some(base) => format!("{base}/{}/{key}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.bucket, self.region
            ),
        })
    }

    fn bucket_url(&self) -> String {
        match &self.endpoint {
            Some(base) => format!("{base}/{}/", self.bucket),
            None => format!("https://{}.s3.{}.amazonaws.com/", self.bucket, self.region),
        }
    }

    /// `method url`, signed in the headers, with no body, sent from here.
    async fn send(
        &self,
        method: &str,
        url: &str,
    ) -> Result<aws_smithy_runtime_api::http::Response, ProofError> {
        let identity = self.identity().await?;
        let signer = Signer {
            identity: &identity,
            region: &self.region,
            time: SystemTime::now(),
        };
        let signed = signer.headers(method, url, &[])?;
        let request =
            aws_smithy_runtime_api::http::Request::try_from(signed.map(|()| SdkBody::empty()))
                .map_err(err)?;
        self.http()
            .call(request)
            .await
            .map_err(|e| err(aws_smithy_types::error::display::DisplayErrorContext(e)))
    }

    /// `send`, then the status and the whole body of the answer.
    async fn call(&self, method: &str, url: &str) -> Result<(u16, Vec<u8>), ProofError> {
        let response = self.send(method, url).await?;
        let status = response.status().as_u16();
        let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(err)?
            .into_bytes()
            .to_vec();
        Ok((status, body))
    }

    async fn identity(&self) -> Result<Identity, ProofError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| err(aws_smithy_types::error::display::DisplayErrorContext(e)))?;
        Ok(credentials.into())
    }

    async fn presigned(
        &self,
        method: &str,
        key: &str,
        version: Option<&str>,
        headers: &[(&str, &str)],
        ttl: Duration,
    ) -> Result<Presigned, ProofError> {
        let identity = self.identity().await?;
        let now = SystemTime::now();
        let signer = Signer {
            identity: &identity,
            region: &self.region,
            time: now,
        };
        let mut url = self.url(key)?;
        if let Some(v) = version {
            url = format!("{url}?versionId={}", utf8_percent_encode(v, QUERY_VALUE));
        }
        let url = signer.presign(method, &url, headers, ttl.to_std().map_err(err)?)?;
        Ok(Presigned {
            url,
            expires_at: chrono::DateTime::<Utc>::from(now) + ttl,
        })
    }

    /// Creates the bucket if missing, versioned as the stack makes it (infra/template.yaml):
    /// for the dev server against moto and for tests.
    #[cfg(feature = "dev")]
    pub async fn ensure_bucket(&self, s3: &aws_sdk_s3::Client) -> Result<(), ProofError> {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        if s3.head_bucket().bucket(&self.bucket).send().await.is_err() {
            s3.create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map_err(|e| err(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        }
        s3.put_bucket_versioning()
            .bucket(&self.bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ProofStore for S3ProofStore {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size_bytes: u64,
        ttl: Duration,
    ) -> Result<Presigned, ProofError> {
        let size = size_bytes.to_string();
        let headers = [
            ("content-length", size.as_str()),
            ("content-type", content_type),
        ];
        self.presigned("PUT", key, None, &headers, ttl).await
    }

    async fn head(&self, key: &str) -> Result<Option<StoredObject>, ProofError> {
        let response = self.send("HEAD", &self.url(key)?).await?;
        match response.status().as_u16() {
            200 => {
                let header = |name: &str| response.headers().get(name).unwrap_or_default();
                // "null" is S3's version of an object written before versioning was enabled
                let version = Some(header("x-amz-version-id"))
                    .filter(|v| !v.is_empty() && *v != "null")
                    .map(str::to_owned);
                Ok(Some(StoredObject {
                    content_type: header("content-type").to_owned(),
                    size_bytes: header("content-length").parse().unwrap_or(0),
                    version,
                }))
            }
            // A function without s3:ListBucket (none has it: nobody lists screenshots) is told
            // 403 rather than 404 for a key that does not exist.
            404 | 403 => Ok(None),
            status => Err(ProofError(format!("S3 answered HEAD {key} with {status}"))),
        }
    }

    async fn presign_download(
        &self,
        key: &str,
        version: Option<&str>,
        ttl: Duration,
    ) -> Result<Presigned, ProofError> {
        self.presigned("GET", key, version, &[], ttl).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), ProofError> {
        check_key(prefix)?;
        // each round lists what is left (up to S3's 1,000 a page) and deletes it, version by
        // version, delete markers too, so nothing of the key is left to restore
        for _ in 0..MAX_DELETE_ROUNDS {
            let list = format!(
                "{}?prefix={}&versions=",
                self.bucket_url(),
                utf8_percent_encode(prefix, QUERY_VALUE)
            );
            let (status, body) = self.call("GET", &list).await?;
            if status != 200 {
                return Err(ProofError(format!(
                    "S3 answered the listing of {prefix} with {status}"
                )));
            }
            let versions = listed_versions(&String::from_utf8_lossy(&body));
            if versions.is_empty() {
                return Ok(());
            }
            for (key, version) in versions {
                let url = format!(
                    "{}?versionId={}",
                    self.url(&key)?,
                    utf8_percent_encode(&version, QUERY_VALUE)
                );
                let (status, _) = self.call("DELETE", &url).await?;
                if !(200..300).contains(&status) {
                    return Err(ProofError(format!(
                        "S3 answered DELETE {key} ({version}) with {status}"
                    )));
                }
            }
        }
        Err(ProofError(format!(
            "{prefix} still holds objects after {MAX_DELETE_ROUNDS} rounds of deletes"
        )))
    }
}

/// Rounds of list-and-delete before `delete_prefix` gives up: a booking has a handful of uploads.
const MAX_DELETE_ROUNDS: usize = 10;

/// The (key, version id) of each `<Version>` and `<DeleteMarker>` in a ListObjectVersions answer.
/// Keys are Kikao's own (`check_key`'s characters), so no XML escape can occur in them.
fn listed_versions(xml: &str) -> Vec<(String, String)> {
    let inner = |text: &str, tag: &str| -> Option<String> {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_owned())
    };
    let mut out = Vec::new();
    for kind in ["Version", "DeleteMarker"] {
        let (open, close) = (format!("<{kind}>"), format!("</{kind}>"));
        let mut rest = xml;
        while let Some(i) = rest.find(&open) {
            let Some(j) = rest[i..].find(&close) else {
                break;
            };
            let item = &rest[i..i + j];
            if let (Some(k), Some(v)) = (inner(item, "Key"), inner(item, "VersionId")) {
                out.push((k, v));
            }
            rest = &rest[i + j + close.len()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The worked examples of the S3 API reference ("Authenticating Requests: Using Query
    //! Parameters" and "Using the Authorization Header"), reproduced to the last hex digit.
    use super::*;
    use aws_credential_types::Credentials;

    /// The SHA-256 of an empty body, which S3 wants in `x-amz-content-sha256`.
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn example() -> Identity {
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "the S3 API reference",
        )
        .into()
    }

    fn at_2013_05_24() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_369_353_600)
    }

    #[test]
    fn a_presigned_get_is_the_documented_url() {
        let identity = example();
        let signer = Signer {
            identity: &identity,
            region: "us-east-1",
            time: at_2013_05_24(),
        };
        let url = signer
            .presign(
                "GET",
                "https://examplebucket.s3.amazonaws.com/test.txt",
                &[],
                std::time::Duration::from_secs(86400),
            )
            .unwrap();
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn a_header_signed_get_is_the_documented_request() {
        let identity = example();
        let signer = Signer {
            identity: &identity,
            region: "us-east-1",
            time: at_2013_05_24(),
        };
        let req = signer
            .headers(
                "GET",
                "https://examplebucket.s3.amazonaws.com/test.txt",
                &[("range", "bytes=0-9")],
            )
            .unwrap();
        assert_eq!(req.headers()["x-amz-content-sha256"], EMPTY_SHA256);
        assert_eq!(req.headers()["x-amz-date"], "20130524T000000Z");
        assert_eq!(
            req.headers()["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn a_presigned_put_binds_the_type_and_length_and_a_session_token() {
        let identity: Identity = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Some("a-session-token".into()),
            None,
            "test",
        )
        .into();
        let signer = Signer {
            identity: &identity,
            region: "af-south-1",
            time: at_2013_05_24(),
        };
        let url = signer
            .presign(
                "PUT",
                "https://kikao-proofs.s3.af-south-1.amazonaws.com/proofs/a/b.png",
                &[("content-length", "1234"), ("content-type", "image/png")],
                std::time::Duration::from_secs(300),
            )
            .unwrap();
        assert!(url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"));
        assert!(url.contains("X-Amz-Security-Token=a-session-token"));
        assert!(url.contains("%2Faf-south-1%2Fs3%2F"));
    }

    #[test]
    fn keys_outside_the_use_cases_shape_are_refused() {
        for key in ["", "/proofs/a", "proofs/a b", "proofs/a?x=1", "proofs/ü"] {
            assert!(check_key(key).is_err(), "{key:?}");
        }
        assert!(check_key("proofs/5a0e0c4e-0000-4000-8000-000000000001/shot.png").is_ok());
    }
}
