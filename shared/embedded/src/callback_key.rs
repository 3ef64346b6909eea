//! The M-Pesa callback key of the dev server: random, made on first start and kept in the data
//! directory beside the database, so the callback paths the server prints stay the same from
//! one start to the next (as the secret in Secrets Manager does in AWS).

use async_trait::async_trait;
use kikao_core::ports::{CallbackKey, SecretError};
use std::path::Path;

pub struct FileCallbackKey(Vec<u8>);

impl FileCallbackKey {
    /// The key in `path`, made there first if missing.
    pub fn open(path: &Path) -> Result<Self, SecretError> {
        let err = |e: std::io::Error| SecretError(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(k) if k.trim().len() >= 32 => Ok(Self(k.trim().as_bytes().to_vec())),
            Ok(_) | Err(_) => {
                let k = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                std::fs::write(path, &k).map_err(err)?;
                Ok(Self(k.into_bytes()))
            }
        }
    }

    /// A key given outright (tests).
    pub fn fixed(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[async_trait]
impl CallbackKey for FileCallbackKey {
    async fn callback_key(&self) -> Result<Vec<u8>, SecretError> {
        Ok(self.0.clone())
    }
}
