//! Secrets Manager: the M-Pesa callback key, and each Till's or Paybill's Daraja app. The stack
//! generates the key; only the functions that make or check callback paths may read it (the
//! template grants `GetSecretValue` on its ARN alone), and each reads it once per container, so
//! a burst of confirmations costs one call.

use async_trait::async_trait;
use kikao_core::ports::{CallbackKey, SecretError};
use tokio::sync::OnceCell;

pub struct SecretsManagerKey {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    key: OnceCell<Vec<u8>>,
}

impl SecretsManagerKey {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: &str) -> Self {
        Self {
            client,
            secret_id: secret_id.to_owned(),
            key: OnceCell::new(),
        }
    }
}

#[async_trait]
impl CallbackKey for SecretsManagerKey {
    async fn callback_key(&self) -> Result<Vec<u8>, SecretError> {
        self.key
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_secret_value()
                    .secret_id(&self.secret_id)
                    .send()
                    .await
                    .map_err(|e| {
                        SecretError(
                            aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                        )
                    })?;
                match out.secret_string() {
                    // a key shorter than this would make guessing a path feasible
                    Some(k) if k.len() >= 32 => Ok(k.as_bytes().to_vec()),
                    Some(_) => Err(SecretError(
                        "the secret is shorter than 32 characters".into(),
                    )),
                    None => Err(SecretError("the secret has no string value".into())),
                }
            })
            .await
            .cloned()
    }
}

/// Each Till's or Paybill's Daraja app in Secrets Manager: the secret `<prefix><shortcode>`
/// (the stack's prefix, `KIKAO_DARAJA_SECRET_PREFIX`), a JSON object
/// `{"consumer_key", "consumer_secret", "passkey"}` the practice stores once. Read once per
/// container and shortcode; the template lets only the payment-request functions read under
/// that prefix.
pub struct SecretsManagerDaraja {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
    cache: tokio::sync::Mutex<std::collections::HashMap<String, kikao_daraja::Credentials>>,
}

impl SecretsManagerDaraja {
    pub fn new(client: aws_sdk_secretsmanager::Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            cache: Default::default(),
        }
    }
}

#[async_trait]
impl kikao_daraja::DarajaCredentials for SecretsManagerDaraja {
    async fn credentials(
        &self,
        shortcode: &kikao_core::domain::ShortCode,
    ) -> Result<kikao_daraja::Credentials, kikao_core::ports::DarajaError> {
        use kikao_core::ports::DarajaError;
        if let Some(c) = self.cache.lock().await.get(shortcode.as_str()) {
            return Ok(c.clone());
        }
        let id = format!("{}{shortcode}", self.prefix);
        let out = self
            .client
            .get_secret_value()
            .secret_id(&id)
            .send()
            .await
            .map_err(|e| {
                DarajaError::NoCredentials(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        let c: kikao_daraja::Credentials = out
            .secret_string()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| {
                DarajaError::NoCredentials(format!(
                    "{id} is not {{\"consumer_key\", \"consumer_secret\", \"passkey\"}}"
                ))
            })?;
        self.cache
            .lock()
            .await
            .insert(shortcode.as_str().to_owned(), c.clone());
        Ok(c)
    }
}
