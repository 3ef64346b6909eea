//! Adapters behind the ports. The embedded default (SQLite, the disk, a log) runs anywhere
//! with nothing installed; the AWS adapters run in Lambda.

pub mod aws;
pub mod clock;
pub mod disk_proofs;
pub mod dynamodb;
pub mod log_notifier;
pub mod s3_proofs;
pub mod sns_notifier;
pub mod sqlite;
