//! Payment screenshots in a private S3 bucket. The browser uploads with a presigned PUT whose
//! signature covers the content type and length, so S3 itself refuses anything else; reads are
//! presigned GETs for the two parties, minutes long.

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;
use chrono::{Duration, Utc};
use kikao_core::ports::{Presigned, ProofError, ProofStore, StoredObject};

pub struct S3ProofStore {
    client: Client,
    bucket: String,
}

fn err(e: impl std::fmt::Display) -> ProofError {
    ProofError(e.to_string())
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, ProofError> {
    PresigningConfig::expires_in(ttl.to_std().map_err(err)?).map_err(err)
}

impl S3ProofStore {
    pub fn new(client: Client, bucket: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
        }
    }

    /// Creates the bucket if missing: for the dev server against moto and for tests.
    pub async fn ensure_bucket(&self) -> Result<(), ProofError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| err(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

#[async_trait]
impl ProofStore for S3ProofStore {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size_bytes: u64,
        ttl: Duration,
    ) -> Result<Presigned, ProofError> {
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size_bytes as i64)
            .presigned(presigning(ttl)?)
            .await
            .map_err(err)?;
        Ok(Presigned {
            url: req.uri().to_owned(),
            expires_at: Utc::now() + ttl,
        })
    }

    async fn head(&self, key: &str) -> Result<Option<StoredObject>, ProofError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(StoredObject {
                content_type: o.content_type().unwrap_or_default().to_owned(),
                size_bytes: o.content_length().unwrap_or(0).max(0) as u64,
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(err(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn presign_download(&self, key: &str, ttl: Duration) -> Result<Presigned, ProofError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(ttl)?)
            .await
            .map_err(err)?;
        Ok(Presigned {
            url: req.uri().to_owned(),
            expires_at: Utc::now() + ttl,
        })
    }
}
