//! Token checks as API Gateway's JWT authorizer makes them, for a dev server started with
//! `--oidc-issuer URL --oidc-audience ID`: the tests' OpenID provider, or a real Cognito pool.
//! The issuer's discovery document names its key set; a token passes when it is RS256, signed
//! by a key in that set, issued by the issuer, meant for the audience (its `aud`, or the
//! `client_id` of an access token, as the authorizer accepts either), and neither expired nor
//! early. The key set is cached and fetched again when a token names a key id it does not hold
//! (the provider rotated its keys), at most `REFETCHES_PER_MINUTE` times a minute, so forged key
//! ids cannot make the server hammer the provider. What passes reaches the handlers as the
//! authorizer hands claims on (`kikao_http::auth::gateway_claims`).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How often a minute an unknown key id may fetch the key set again.
pub const REFETCHES_PER_MINUTE: usize = 5;
const MINUTE: Duration = Duration::from_secs(60);

/// Why the provider could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("could not reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} did not answer with {what}")]
    Unreadable { url: String, what: &'static str },
}

/// Why a token was refused (logged; the caller only hears 401).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("not a JWT")]
    Malformed(#[source] jsonwebtoken::errors::Error),
    #[error("signed with {0:?}, not RS256")]
    Algorithm(Algorithm),
    #[error("no key id")]
    NoKeyId,
    #[error("no published key has id {0}")]
    UnknownKey(String),
    #[error("the key set could not be fetched")]
    KeySet(#[source] ProviderError),
    #[error("signature or claims refused")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    #[error("meant for another audience")]
    Audience,
}

struct KeySet {
    keys: HashMap<String, DecodingKey>,
    /// When unknown key ids fetched the set again, within the last minute.
    refetched: Vec<Instant>,
}

pub struct OidcCheck {
    issuer: String,
    audience: String,
    jwks_uri: String,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
}

impl OidcCheck {
    /// Reads the issuer's discovery document and its key set once, so a wrong issuer stops the
    /// server at start rather than refusing every request.
    pub async fn discover(issuer: &str, audience: &str) -> Result<Self, ProviderError> {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| ProviderError::Unreachable {
                url: issuer.clone(),
                source,
            })?;
        let url = format!("{issuer}/.well-known/openid-configuration");
        let doc = fetch_json(&http, &url).await?;
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(ProviderError::Unreadable {
                url,
                what: "a discovery document naming jwks_uri",
            })?
            .to_owned();
        let check = Self {
            issuer,
            audience: audience.to_owned(),
            jwks_uri,
            http,
            keys: RwLock::new(KeySet {
                keys: HashMap::new(),
                refetched: Vec::new(),
            }),
        };
        let keys = check.fetch_keys().await?;
        check.keys.write().await.keys = keys;
        Ok(check)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, DecodingKey>, ProviderError> {
        let set: JwkSet = serde_json::from_value(fetch_json(&self.http, &self.jwks_uri).await?)
            .map_err(|_| ProviderError::Unreadable {
                url: self.jwks_uri.clone(),
                what: "a JSON Web Key Set",
            })?;
        Ok(set
            .keys
            .iter()
            .filter_map(|k| Some((k.common.key_id.clone()?, DecodingKey::from_jwk(k).ok()?)))
            .collect())
    }

    /// The key with `kid`, fetching the set again if it is not held and the minute's refetches
    /// are not spent. One refetch at a time: others wait for it rather than fetch too.
    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        if let Some(k) = self.keys.read().await.keys.get(kid) {
            return Ok(k.clone());
        }
        let mut held = self.keys.write().await;
        if let Some(k) = held.keys.get(kid) {
            return Ok(k.clone());
        }
        held.refetched.retain(|at| at.elapsed() < MINUTE);
        if held.refetched.len() >= REFETCHES_PER_MINUTE {
            return Err(Refused::UnknownKey(kid.to_owned()));
        }
        held.refetched.push(Instant::now());
        held.keys = self.fetch_keys().await.map_err(Refused::KeySet)?;
        held.keys
            .get(kid)
            .cloned()
            .ok_or_else(|| Refused::UnknownKey(kid.to_owned()))
    }

    /// The claims of a token the authorizer would let through.
    pub async fn verify(&self, token: &str) -> Result<Map<String, Value>, Refused> {
        let header = decode_header(token).map_err(Refused::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(Refused::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(Refused::NoKeyId)?;
        let key = self.key(&kid).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "iss"]);
        v.leeway = 0;
        v.validate_nbf = true;
        // an ID token names the client in `aud`, an access token in `client_id`: checked below
        v.validate_aud = false;
        let claims = decode::<Map<String, Value>>(token, &key, &v)
            .map_err(Refused::Invalid)?
            .claims;
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => claims.get("client_id").and_then(Value::as_str) == Some(&self.audience),
        };
        if !aud_ok {
            return Err(Refused::Audience);
        }
        Ok(claims)
    }
}

async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<Value, ProviderError> {
    let unreachable = |source| ProviderError::Unreachable {
        url: url.to_owned(),
        source,
    };
    let res = http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(unreachable)?;
    let bytes = res.bytes().await.map_err(unreachable)?;
    serde_json::from_slice(&bytes).map_err(|_| ProviderError::Unreadable {
        url: url.to_owned(),
        what: "JSON",
    })
}
