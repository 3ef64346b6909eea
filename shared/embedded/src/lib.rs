//! The outbound embedded adapters behind Kikao's ports, so that `cargo run -p local` works with
//! nothing installed: SQLite for sessions and profiles (with an event feed standing in for the
//! DynamoDB stream), payment screenshots on disk behind signed URLs, notifications to a log, and
//! the dev sign-in's user directory, and the M-Pesa callback key in a file.

pub mod callback_key;
pub mod dev_accounts;
pub mod disk_proofs;
pub mod log_notifier;
pub mod sqlite;
