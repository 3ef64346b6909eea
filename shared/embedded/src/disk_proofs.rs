//! Payment screenshots on the local disk, with URLs signed like S3's presigned URLs: the
//! browser PUTs the image straight to the dev server's `/dev/uploads`, which accepts it only
//! with a valid, unexpired signature over the key, content type and size, just as S3 would.
//! Like the versioned bucket in AWS, every upload is kept as its own numbered version, so the
//! screenshot a payment pinned at submission is what a download of that version gives, whatever
//! is uploaded under the key later.

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
    /// A download of this version (empty: the latest).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
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
    /// 1 for the first upload under a key (0 in files written before versions were kept).
    #[serde(default)]
    version: u64,
    /// When it was uploaded, which its retention counts from (`prune`); files written before
    /// this was kept read as uploaded now.
    #[serde(default = "Utc::now")]
    uploaded_at: DateTime<Utc>,
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

    fn sign(&self, method: &str, q: &SignedQuery) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(method, q).finalize().into_bytes())
    }

    /// What a signature covers: the method and every field of the query but the signature.
    fn mac(&self, method: &str, q: &SignedQuery) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(
            format!(
                "{method}\n{}\n{}\n{}\n{}\n{}",
                q.key, q.content_type, q.size, q.expires, q.version
            )
            .as_bytes(),
        );
        mac
    }

    fn verify(
        &self,
        method: &str,
        q: &SignedQuery,
        now: DateTime<Utc>,
    ) -> Result<(), SignedUrlError> {
        let mac = self.mac(method, q);
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
        let query = serde_urlencoded::to_string(q).expect("strings and numbers");
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
        let version = read_meta(&path).map_or(1, |m| m.version + 1);
        let meta = serde_json::to_vec(&Meta {
            content_type: content_type.to_owned(),
            size_bytes: body.len() as u64,
            version,
            uploaded_at: now,
        })
        .expect("plain struct");
        // the version first, never written again; then the latest, which points at it
        let kept = versioned(&path, version);
        std::fs::write(&kept, body).map_err(io)?;
        std::fs::write(meta_path(&kept), &meta).map_err(io)?;
        std::fs::write(&path, body).map_err(io)?;
        std::fs::write(meta_path(&path), &meta).map_err(io)
    }

    /// Deletes every upload made before `before`, with its versions, as the bucket's lifecycle
    /// rule does in AWS; the dev server runs it once an hour. Returns how many files went.
    pub fn prune(&self, before: DateTime<Utc>) -> std::io::Result<usize> {
        let mut gone = 0;
        let root = self.dir.join("proofs");
        let Ok(sessions) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        for session in sessions {
            let folder = session?.path();
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                let name = path.to_string_lossy();
                if name.ends_with(".meta.json") {
                    continue;
                }
                if read_meta(&path).is_some_and(|m| m.uploaded_at < before) {
                    std::fs::remove_file(&path)?;
                    std::fs::remove_file(meta_path(&path))?;
                    gone += 1;
                }
            }
            // a booking's folder goes with its last screenshot
            if std::fs::read_dir(&folder)?.next().is_none() {
                std::fs::remove_dir(&folder)?;
            }
        }
        Ok(gone)
    }

    /// The content type and bytes behind a signed GET.
    pub fn read_download(
        &self,
        q: &SignedQuery,
        now: DateTime<Utc>,
    ) -> Result<(String, Vec<u8>), SignedUrlError> {
        self.verify("GET", q, now)?;
        let mut path = self.path_of(&q.key).ok_or(SignedUrlError::NotFound)?;
        if !q.version.is_empty() {
            let v: u64 = q.version.parse().map_err(|_| SignedUrlError::NotFound)?;
            path = versioned(&path, v);
        }
        let meta = read_meta(&path).ok_or(SignedUrlError::NotFound)?;
        let bytes = std::fs::read(&path).map_err(|_| SignedUrlError::NotFound)?;
        Ok((meta.content_type, bytes))
    }
}

fn read_meta(path: &Path) -> Option<Meta> {
    serde_json::from_slice(&std::fs::read(meta_path(path)).ok()?).ok()
}

/// `proofs/<session>/<name>@v3`: `@` never occurs in a key (`path_of` refuses it).
fn versioned(path: &Path, version: u64) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!("@v{version}"));
    PathBuf::from(p)
}

fn meta_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".meta.json");
    PathBuf::from(p)
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
        let mut q = SignedQuery {
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            size: size_bytes,
            expires: expires_at.timestamp(),
            sig: String::new(),
            version: String::new(),
        };
        q.sig = self.sign("PUT", &q);
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
                    version: (meta.version > 0).then(|| meta.version.to_string()),
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProofError(e.to_string())),
        }
    }

    async fn presign_download(
        &self,
        key: &str,
        version: Option<&str>,
        ttl: Duration,
    ) -> Result<Presigned, ProofError> {
        let expires_at = Utc::now() + ttl;
        let mut q = SignedQuery {
            key: key.to_owned(),
            content_type: String::new(),
            size: 0,
            expires: expires_at.timestamp(),
            sig: String::new(),
            version: version.unwrap_or_default().to_owned(),
        };
        q.sig = self.sign("GET", &q);
        Ok(Presigned {
            url: self.url("/dev/proofs", &q),
            expires_at,
        })
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), ProofError> {
        // keys are `proofs/<session>/<name>`: a prefix is a folder, removed with all it holds
        let Some(dir) = self.path_of(prefix.trim_end_matches('/')) else {
            return Ok(());
        };
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ProofError(e.to_string())),
        }
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
            version: m.get("version").cloned().unwrap_or_default(),
        }
    }

    /// The dev server's stand-in for the bucket's lifecycle rule: what was uploaded before the
    /// cut-off goes, every version of it; a later upload stays.
    #[tokio::test]
    async fn prune_deletes_what_was_uploaded_before_the_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskProofStore::new(dir.path(), "", b"secret");
        let now = Utc::now();
        let upload = |key: &'static str, at: DateTime<Utc>| {
            let store = &store;
            async move {
                let up = store
                    .presign_upload(key, "image/png", 4, Duration::minutes(5))
                    .await
                    .unwrap();
                store
                    .accept_upload(&query_of(&up.url), "image/png", b"abcd", at)
                    .unwrap();
            }
        };
        upload("proofs/old/a.png", now - Duration::days(200)).await;
        upload("proofs/old/a.png", now - Duration::days(190)).await;
        upload("proofs/new/b.png", now - Duration::days(10)).await;
        let cut = now - Duration::days(180);
        // the old key's latest and both its versions
        assert_eq!(store.prune(cut).unwrap(), 3);
        assert!(store.head("proofs/old/a.png").await.unwrap().is_none());
        assert!(!dir.path().join("proofs/old").exists());
        assert!(store.head("proofs/new/b.png").await.unwrap().is_some());
        assert_eq!(store.prune(cut).unwrap(), 0);
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
        assert_eq!(head.version.as_deref(), Some("1"));
        let down = store
            .presign_download("proofs/s1/a.png", None, Duration::minutes(5))
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

    #[tokio::test]
    async fn a_pinned_version_outlives_later_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskProofStore::new(dir.path(), "", b"secret");
        let now = Utc::now();
        let upload = |body: &'static [u8]| {
            let store = &store;
            async move {
                let up = store
                    .presign_upload(
                        "proofs/s1/a.png",
                        "image/png",
                        body.len() as u64,
                        Duration::minutes(5),
                    )
                    .await
                    .unwrap();
                store
                    .accept_upload(&query_of(&up.url), "image/png", body, now)
                    .unwrap();
            }
        };
        upload(b"first").await;
        let pinned = store
            .head("proofs/s1/a.png")
            .await
            .unwrap()
            .unwrap()
            .version;
        upload(b"second!").await;
        let latest = store.head("proofs/s1/a.png").await.unwrap().unwrap();
        assert_eq!(
            (latest.version.as_deref(), latest.size_bytes),
            (Some("2"), 7)
        );
        let read = |version: Option<String>| {
            let store = &store;
            async move {
                let down = store
                    .presign_download("proofs/s1/a.png", version.as_deref(), Duration::minutes(5))
                    .await
                    .unwrap();
                store.read_download(&query_of(&down.url), now).unwrap().1
            }
        };
        assert_eq!(read(pinned.clone()).await, b"first");
        assert_eq!(read(None).await, b"second!");
        // the version is signed: a link to one version does not open another
        let down = store
            .presign_download("proofs/s1/a.png", pinned.as_deref(), Duration::minutes(5))
            .await
            .unwrap();
        let mut other = query_of(&down.url);
        other.version = "2".into();
        assert_eq!(
            store.read_download(&other, now).unwrap_err(),
            SignedUrlError::BadSignature
        );
    }
}
