//! Kikao's shared crate: the booking domain (status rules in one place), the ports it needs
//! from the outside world, the adapters behind those ports, and the HTTP handlers that the
//! Lambda functions and the dev server both run.
//!
//! Dependencies point inward: `domain` knows nothing else here; `http` and `jobs` know `domain`
//! and `ports`; only `adapters` knows SQLite, the disk or a log, and only the binaries in
//! `functions/` and `local/` choose which adapters to build.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod notifications;
pub mod ports;
pub mod telemetry;
