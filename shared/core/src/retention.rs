//! How long Kikao keeps what it keeps only for a while, in one place: both stores enforce these
//! figures (DynamoDB with each item's `ttl` attribute, SQLite with `SqliteStore::prune`), and
//! `docs/privacy/data-map.md` states them.

/// An `Idempotency-Key` answers a retry with the first booking for this long; after it, the key
/// is forgotten (a client retries within minutes, not days).
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// A sent marker (each message of an event, once per recipient and channel) and an account
/// alert waiting for the notifier are kept this long: far past any retry of the stream (its
/// records live 24 hours), and no longer, since they name who was told what.
pub const DELIVERY_DAYS: i64 = 90;

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
