//! The M-Pesa callback key in Secrets Manager. The stack generates the secret; only the two
//! callback functions may read it (the template grants `GetSecretValue` on its ARN alone), and
//! each reads it once per container, so a burst of confirmations costs one call.

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
