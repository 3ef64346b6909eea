//! A stand-in OpenID provider for the Rust tests of `--oidc-issuer` mode: RSA keys made per run
//! (never committed), the discovery document and key set served on 127.0.0.1 with a count of
//! key-set fetches, and ID tokens signed with the claims a Cognito pool puts in them. The
//! browser tests use a full provider (`tests/e2e/oidc.mjs`); these tests need only the keys.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The app client id the tokens are for.
pub const AUDIENCE: &str = "kikao-test-client";

pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    pub fn new(kid: &str) -> Self {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
        let der = key.to_pkcs1_der().expect("PKCS#1 DER");
        let b64 = |n: &rsa::BigUint| URL_SAFE_NO_PAD.encode(n.to_bytes_be());
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                        "n": b64(key.n()), "e": b64(key.e())}),
        }
    }
}

struct Published {
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
    issuer: String,
}

pub struct Issuer {
    pub url: String,
    published: Arc<Published>,
    pub key: SigningKey,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn discovery(State(p): State<Arc<Published>>) -> Json<Value> {
    Json(json!({
        "issuer": p.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", p.issuer),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(p): State<Arc<Published>>) -> Json<Value> {
    p.fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({"keys": *p.keys.lock().unwrap()}))
}

impl Issuer {
    /// A provider on a free port, publishing `key`.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = SigningKey::new("key-1");
        let published = Arc::new(Published {
            keys: Mutex::new(vec![key.jwk.clone()]),
            fetches: AtomicUsize::new(0),
            issuer: url.clone(),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks.json", get(jwks))
            .with_state(published.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            published,
            key,
            server,
        }
    }

    /// How many times the key set has been fetched.
    pub fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }

    /// Publishes `key` beside the others (a rotation).
    pub fn publish(&self, key: &SigningKey) {
        self.published.keys.lock().unwrap().push(key.jwk.clone());
    }

    /// `claims` signed with `key`, RS256, naming its key id.
    pub fn sign_with(&self, key: &SigningKey, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        encode(&header, claims, &key.encoding).unwrap()
    }

    /// Signed with the published key, but the header names no key id.
    pub fn sign_without_kid(&self, claims: &Value) -> String {
        encode(&Header::new(Algorithm::RS256), claims, &self.key.encoding).unwrap()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.key, claims)
    }

    /// An ID token as a Cognito pool issues it for this app client: `iat` its issue time, an
    /// hour to live.
    #[allow(clippy::too_many_arguments)]
    pub fn id_token(
        &self,
        sub: &str,
        name: &str,
        email: &str,
        phone: &str,
        phone_verified: bool,
        groups: &[String],
        mfa: bool,
        iat: i64,
    ) -> String {
        let mut c = json!({
            "sub": sub, "aud": AUDIENCE, "iss": self.url, "token_use": "id",
            "email": email, "email_verified": true, "name": name,
            "phone_number": phone, "phone_number_verified": phone_verified,
            "auth_time": iat, "iat": iat, "exp": iat + 3600,
            "cognito:username": sub,
        });
        if !groups.is_empty() {
            c["cognito:groups"] = json!(groups);
        }
        if mfa {
            c["kikao_mfa"] = json!("totp");
        }
        self.sign(&c)
    }
}
