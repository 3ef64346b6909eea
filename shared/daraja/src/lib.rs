//! Safaricom's Daraja API behind Kikao's `Daraja` port: the OAuth token (cached until a minute
//! before it expires, asked again once on a 401), the STK push and the STK query, with the
//! request and response shapes of Daraja's documentation (`tests/fixtures/daraja/`). The same
//! client talks to Daraja, its sandbox, or the dev server's stand-in (`/dev/daraja`); only the
//! base address and the credentials differ. Credentials are per shortcode and come from a
//! `DarajaCredentials` source: Secrets Manager in AWS (`kikao_aws::secrets`), fixed ones on
//! the dev server. The `mpesa` crate does not fit: no STK query, unreleased work since 2023
//! (docs/research/daraja.md, section 8).

use async_trait::async_trait;
use chrono::Utc;
use kikao_core::domain::{
    stk_password, stk_timestamp, BusinessKind, ShortCode, StkQueryResult, StkRequest,
};
use kikao_core::ports::{Daraja, DarajaError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A shortcode's Daraja app: never logged, never in a response.
#[derive(Clone, Deserialize)]
pub struct Credentials {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub passkey: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(…)")
    }
}

#[async_trait]
pub trait DarajaCredentials: Send + Sync {
    async fn credentials(&self, shortcode: &ShortCode) -> Result<Credentials, DarajaError>;
}

/// The same credentials for every shortcode: the sandbox's app, or the dev stand-in's.
pub struct FixedCredentials(pub Credentials);

#[async_trait]
impl DarajaCredentials for FixedCredentials {
    async fn credentials(&self, _: &ShortCode) -> Result<Credentials, DarajaError> {
        Ok(self.0.clone())
    }
}

pub const PRODUCTION: &str = "https://api.safaricom.co.ke";
pub const SANDBOX: &str = "https://sandbox.safaricom.co.ke";

pub struct DarajaHttp {
    base: String,
    http: reqwest::Client,
    credentials: Arc<dyn DarajaCredentials>,
    /// consumer key → (token, good until)
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

fn unavailable(e: impl std::fmt::Display) -> DarajaError {
    DarajaError::Unavailable(e.to_string())
}

/// `expires_in` is a string in Daraja's answers and a number in some captures.
fn seconds(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A code that may be a number or a string ("0").
fn code(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl DarajaHttp {
    pub fn new(base: &str, credentials: Arc<dyn DarajaCredentials>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            credentials,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    async fn token(&self, c: &Credentials) -> Result<String, DarajaError> {
        if let Some((t, until)) = self.tokens.lock().await.get(&c.consumer_key) {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let res = self
            .http
            .get(format!("{}/oauth/v1/generate", self.base))
            .query(&[("grant_type", "client_credentials")])
            .basic_auth(&c.consumer_key, Some(&c.consumer_secret))
            .send()
            .await
            .map_err(unavailable)?;
        let status = res.status();
        let body: Value = res.json().await.map_err(unavailable)?;
        let (Some(token), Some(ttl)) =
            (body["access_token"].as_str(), seconds(&body["expires_in"]))
        else {
            return Err(DarajaError::Refused(format!("OAuth {status}: {body}")));
        };
        let until = Instant::now() + Duration::from_secs(ttl.saturating_sub(60));
        self.tokens
            .lock()
            .await
            .insert(c.consumer_key.clone(), (token.to_owned(), until));
        Ok(token.to_owned())
    }

    /// `body` to `path` with the shortcode's token; a 401 drops the token and asks once more.
    async fn post(&self, c: &Credentials, path: &str, body: &Value) -> Result<Value, DarajaError> {
        for attempt in 0..2 {
            let token = self.token(c).await?;
            let res = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&token)
                .json(body)
                .send()
                .await
                .map_err(unavailable)?;
            if res.status() == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.tokens.lock().await.remove(&c.consumer_key);
                continue;
            }
            let status = res.status();
            let answer: Value = res.json().await.map_err(unavailable)?;
            if status.is_server_error() && answer.get("errorCode").is_none() {
                return Err(unavailable(format!("{status}")));
            }
            return Ok(answer);
        }
        Err(DarajaError::Refused("the token was refused twice".into()))
    }
}

#[async_trait]
impl Daraja for DarajaHttp {
    async fn stk_push(&self, r: &StkRequest) -> Result<String, DarajaError> {
        let c = self.credentials.credentials(&r.shortcode).await?;
        let timestamp = stk_timestamp(Utc::now());
        let phone = r.phone.e164().trim_start_matches('+').to_owned();
        let kind = match r.kind {
            BusinessKind::Paybill => "CustomerPayBillOnline",
            BusinessKind::Till => "CustomerBuyGoodsOnline",
        };
        let body = json!({
            "BusinessShortCode": r.shortcode.as_str(),
            "Password": stk_password(&r.shortcode, &c.passkey, &timestamp),
            "Timestamp": timestamp,
            "TransactionType": kind,
            "Amount": r.amount.amount().to_string(),
            "PartyA": phone,
            "PartyB": r.shortcode.as_str(),
            "PhoneNumber": phone,
            "CallBackURL": r.callback_url,
            "AccountReference": r.reference.as_str(),
            "TransactionDesc": "Session fee",
        });
        let answer = self
            .post(&c, "/mpesa/stkpush/v1/processrequest", &body)
            .await?;
        match (
            code(&answer["ResponseCode"]),
            answer["CheckoutRequestID"].as_str(),
        ) {
            (Some(0), Some(id)) => Ok(id.to_owned()),
            _ => Err(DarajaError::Refused(
                answer["errorMessage"]
                    .as_str()
                    .or(answer["ResponseDescription"].as_str())
                    .unwrap_or("no reason given")
                    .to_owned(),
            )),
        }
    }

    async fn stk_query(
        &self,
        shortcode: &ShortCode,
        checkout_id: &str,
    ) -> Result<StkQueryResult, DarajaError> {
        let c = self.credentials.credentials(shortcode).await?;
        let timestamp = stk_timestamp(Utc::now());
        let body = json!({
            "BusinessShortCode": shortcode.as_str(),
            "Password": stk_password(shortcode, &c.passkey, &timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_id,
        });
        let answer = self.post(&c, "/mpesa/stkpushquery/v1/query", &body).await?;
        // "The transaction is being processed" comes as an error (500.001.1001)
        if answer.get("errorCode").is_some() {
            return Ok(StkQueryResult::Pending);
        }
        Ok(match code(&answer["ResultCode"]) {
            Some(0) => StkQueryResult::Paid,
            Some(4999) | None => StkQueryResult::Pending,
            Some(code) => StkQueryResult::Failed { code },
        })
    }
}
