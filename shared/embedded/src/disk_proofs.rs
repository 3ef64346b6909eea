//! Payment screenshots on the local disk, with URLs signed like S3's presigned URLs: the
//! browser PUTs the image straight to the dev server's `/dev/uploads`, which accepts it only
//! with a valid, unexpired signature over the key, content type and size, just as S3 would.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use kikao_core::ports::{Presigned, ProofError, ProofStore, StoredObject};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::{Path, PathBuf};

pub struct DiskProofStore {
    dir: PathBuf,
    base_url: String,
    secret: Vec<u8>,
}

/// The query string of a signed URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedQuery {
    pub key: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub size: u64,
    pub expires: i64,
    pub sig: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedUrlError {
    #[error("This link is not valid.")]
    BadSignature,
    #[error("This link has expired; ask for a new one.")]
    Expired,
    #[error("The upload must be sent with the content type it was requested for ({0}).")]
    WrongContentType(String),
    #[error("The upload must be exactly the size it was requested for ({0} bytes).")]
    WrongSize(u64),
    #[error("Nothing is stored under this link.")]
    NotFound,
    #[error("storage failed: {0}")]
    Io(String),
}

#[derive(Serialize, Deserialize)]
struct Meta {
    content_type: String,
    size_bytes: u64,
}

impl DiskProofStore {
    /// `base_url` prefixes the signed URLs (empty for same-origin relative URLs).
    pub fn new(dir: &Path, base_url: &str, secret: &[u8]) -> Self {
        Self {
            dir: dir.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret: secret.to_vec(),
        }
    }

    fn sign(&self, method: &str, key: &str, content_type: &str, size: u64, expires: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(format!("{method}\n{key}\n{content_type}\n{size}\n{expires}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn verify(
        &self,
        method: &str,
        q: &SignedQuery,
        now: DateTime<Utc>,
    ) -> Result<(), SignedUrlError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(
            format!(
                "{method}\n{}\n{}\n{}\n{}",
                q.key, q.content_type, q.size, q.expires
            )
            .as_bytes(),
        );
        let sig = URL_SAFE_NO_PAD
            .decode(&q.sig)
            .map_err(|_| SignedUrlError::BadSignature)?;
        mac.verify_slice(&sig)
            .map_err(|_| SignedUrlError::BadSignature)?;
        if now.timestamp() > q.expires {
            return Err(SignedUrlError::Expired);
        }
        Ok(())
    }

    fn url(&self, route: &str, q: &SignedQuery) -> String {
        let query = serde_urlencoded_pairs(q);
        format!("{}{route}?{query}", self.base_url)
    }

    /// Keys are ours (`proofs/<session>/<name>`), but a path from a URL is checked anyway.
    fn path_of(&self, key: &str) -> Option<PathBuf> {
        let safe = !key.is_empty()
            && key
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != "..")
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
        safe.then(|| self.dir.join(key))
    }

    /// Stores the body of a signed PUT.
    pub fn accept_upload(
        &self,
        q: &SignedQuery,
        content_type: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignedUrlError> {
        self.verify("PUT", q, now)?;
        if content_type != q.content_type {
            return Err(SignedUrlError::WrongContentType(q.content_type.clone()));
        }
        if body.len() as u64 != q.size {
            return Err(SignedUrlError::WrongSize(q.size));
        }
        let path = self.path_of(&q.key).ok_or(SignedUrlError::BadSignature)?;
        let io = |e: std::io::Error| SignedUrlError::Io(e.to_string());
        std::fs::create_dir_all(path.parent().expect("keys have a folder")).map_err(io)?;
        std::fs::write(&path, body).map_err(io)?;
        let meta = Meta {
            content_type: content_type.to_owned(),
            size_bytes: body.len() as u64,
        };
        std::fs::write(
            meta_path(&path),
            serde_json::to_vec(&meta).expect("plain struct"),
        )
        .map_err(io)
    }

    /// The content type and bytes behind a signed GET.
    pub fn read_download(
        &self,
        q: &SignedQuery,
        now: DateTime<Utc>,
    ) -> Result<(String, Vec<u8>), SignedUrlError> {
        self.verify("GET", q, now)?;
        let path = self.path_of(&q.key).ok_or(SignedUrlError::NotFound)?;
        let meta: Meta = std::fs::read(meta_path(&path))
            .ok()
            .and_then(|m| serde_json::from_slice(&m).ok())
            .ok_or(SignedUrlError::NotFound)?;
        let bytes = std::fs::read(&path).map_err(|_| SignedUrlError::NotFound)?;
        Ok((meta.content_type, bytes))
    }
}

fn meta_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".meta.json");
    PathBuf::from(p)
}

fn serde_urlencoded_pairs(q: &SignedQuery) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    format!(
        "key={}&content_type={}&size={}&expires={}&sig={}",
        enc(&q.key),
        enc(&q.content_type),
        q.size,
        q.expires,
        enc(&q.sig)
    )
}

#[async_trait]
impl ProofStore for DiskProofStore {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size_bytes: u64,
        ttl: Duration,
    ) -> Result<Presigned, ProofError> {
        let expires_at = Utc::now() + ttl;
        let expires = expires_at.timestamp();
        let sig = self.sign("PUT", key, content_type, size_bytes, expires);
        let q = SignedQuery {
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            size: size_bytes,
            expires,
            sig,
        };
        Ok(Presigned {
            url: self.url("/dev/uploads", &q),
            expires_at,
        })
    }

    async fn head(&self, key: &str) -> Result<Option<StoredObject>, ProofError> {
        let Some(path) = self.path_of(key) else {
            return Ok(None);
        };
        match std::fs::read(meta_path(&path)) {
            Ok(m) => {
                let meta: Meta =
                    serde_json::from_slice(&m).map_err(|e| ProofError(e.to_string()))?;
                Ok(Some(StoredObject {
                    content_type: meta.content_type,
                    size_bytes: meta.size_bytes,
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProofError(e.to_string())),
        }
    }

    async fn presign_download(&self, key: &str, ttl: Duration) -> Result<Presigned, ProofError> {
        let expires_at = Utc::now() + ttl;
        let expires = expires_at.timestamp();
        let sig = self.sign("GET", key, "", 0, expires);
        let q = SignedQuery {
            key: key.to_owned(),
            content_type: String::new(),
            size: 0,
            expires,
            sig,
        };
        Ok(Presigned {
            url: self.url("/dev/proofs", &q),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_of(url: &str) -> SignedQuery {
        let q = url.split_once('?').unwrap().1;
        let mut m = std::collections::HashMap::new();
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            let v = v.replace("%2F", "/");
            m.insert(k.to_owned(), v);
        }
        SignedQuery {
            key: m["key"].clone(),
            content_type: m["content_type"].clone(),
            size: m["size"].parse().unwrap(),
            expires: m["expires"].parse().unwrap(),
            sig: m["sig"].clone(),
        }
    }

    #[tokio::test]
    async fn signed_upload_then_download() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskProofStore::new(dir.path(), "http://127.0.0.1:1", b"secret");
        let up = store
            .presign_upload("proofs/s1/a.png", "image/png", 4, Duration::minutes(5))
            .await
            .unwrap();
        assert!(up.url.starts_with("http://127.0.0.1:1/dev/uploads?"));
        let q = query_of(&up.url);
        let now = Utc::now();
        assert_eq!(
            store.accept_upload(&q, "image/jpeg", b"abcd", now),
            Err(SignedUrlError::WrongContentType("image/png".into()))
        );
        assert_eq!(
            store.accept_upload(&q, "image/png", b"abcde", now),
            Err(SignedUrlError::WrongSize(4))
        );
        let mut forged = q.clone();
        forged.key = "proofs/s2/a.png".into();
        assert_eq!(
            store.accept_upload(&forged, "image/png", b"abcd", now),
            Err(SignedUrlError::BadSignature)
        );
        assert_eq!(
            store.accept_upload(&q, "image/png", b"abcd", now + Duration::minutes(6)),
            Err(SignedUrlError::Expired)
        );
        store.accept_upload(&q, "image/png", b"abcd", now).unwrap();
        let head = store.head("proofs/s1/a.png").await.unwrap().unwrap();
        assert_eq!(
            (head.content_type.as_str(), head.size_bytes),
            ("image/png", 4)
        );
        let down = store
            .presign_download("proofs/s1/a.png", Duration::minutes(5))
            .await
            .unwrap();
        let (ct, bytes) = store.read_download(&query_of(&down.url), now).unwrap();
        assert_eq!(
            (ct.as_str(), bytes.as_slice()),
            ("image/png", b"abcd".as_slice())
        );
        // an upload signature does not open a download
        assert_eq!(
            store.read_download(&q, now).unwrap_err(),
            SignedUrlError::BadSignature
        );
        assert_eq!(store.head("proofs/../../etc/passwd").await.unwrap(), None);
    }
}
