//! The outbound AWS adapters behind Kikao's ports: DynamoDB for sessions and profiles (one
//! table, one `TransactWriteItems` per change), S3 for payment screenshots, SNS for SMS and SES
//! for email, Cognito for accounts (and its post-confirmation event), Secrets Manager for the
//! M-Pesa callback key, and the DynamoDB stream's
//! records read back as events for the notifier. Each sits
//! beside an embedded adapter in `kikao-embedded` that passes the same conformance suite.

pub mod clients;
pub mod cognito;
pub mod dynamodb;
pub mod notifier;
pub mod s3_proofs;
pub mod secrets;
pub mod stream;
