//! How long Kikao keeps what it keeps, in one place: both stores enforce these figures (DynamoDB
//! with each item's `ttl` attribute, S3 with the bucket's lifecycle rule, SQLite and the dev
//! server's folders with their hourly prune), and `docs/privacy/data-map.md` states them.

/// An `Idempotency-Key` answers a retry with the first booking for this long; after it, the key
/// is forgotten (a client retries within minutes, not days).
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// A sent marker (each message of an event, once per recipient and channel) and an account
/// alert waiting for the notifier are kept this long: far past any retry of the stream (its
/// records live 24 hours), and no longer, since they name who was told what.
pub const DELIVERY_DAYS: i64 = 90;

/// A booking, with its history and its M-Pesa code, is kept this long after its session (or its
/// last change, if later): it is the practice's record of a session and a payment, and Kenya's
/// Tax Procedures Act, 2015 (section 23) asks that records be kept five years from the end of
/// the reporting period they belong to, so up to six years from the session. Then it goes.
pub const BOOKING_DAYS: i64 = 6 * 365 + 2;

/// When booking `s` has outlived `BOOKING_DAYS`.
pub fn booking_expires(s: &crate::domain::Session) -> chrono::DateTime<chrono::Utc> {
    s.ends_at.max(s.updated_at) + chrono::Duration::days(BOOKING_DAYS)
}

/// A payment screenshot is kept this many days after its upload unless the deployment says
/// otherwise (`ProofRetentionDays`, `KIKAO_PROOF_RETENTION_DAYS`): long enough to settle a
/// disputed payment (a client who says they paid, a reversal asked of Safaricom, a refund), which
/// in practice surfaces within weeks, and no longer, since screenshots often show the client's
/// M-Pesa balance and other payments.
pub const PROOF_DAYS: u32 = 180;

/// An audit entry (who viewed a screenshot, exported, erased, changed an M-Pesa number,
/// invited or deactivated someone) is kept this long: more than the year the practice must be
/// able to answer for, with a month's margin for a question asked at the year's end.
pub const AUDIT_DAYS: i64 = 400;
