//! The ports: what the use cases need from the outside world, and nothing more. Reads and
//! writes are separate traits so that what a use case calls is plain, and each Lambda's IAM
//! role grants only what its use case calls (read-only endpoints are granted reads only).
//! The adapters live in `kikao-aws` and `kikao-embedded`.

use crate::domain::{
    AccountAlert, AuditEntry, Change, Checkout, Event, Profile, ReceivedPayment, Role, Session,
    SessionId, ShortCode, Status, StkQueryResult, StkRequest, TransactionCode, UserId, UserSummary,
    View,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("This booking was changed by someone else at the same time; refresh and try again.")]
    VersionConflict,
    #[error("That time overlaps another session the psychologist is holding.")]
    SlotTaken,
    #[error("That M-Pesa transaction code has already been used for a booking.")]
    DuplicateCode,
    #[error("That Idempotency-Key has already been used.")]
    DuplicateIdempotencyKey,
    #[error("The page cursor is not one this server handed out.")]
    BadCursor,
    /// A profile write that would bring a deactivated account back (it read the profile before
    /// the deactivation was written); nothing was written.
    #[error("This account has been deactivated by the practice; ask the practice administrator if that is a mistake.")]
    Deactivated,
    /// The booking quota's window is full until `retry_at`.
    #[error("Too many booking requests; try again later.")]
    RateLimited { retry_at: DateTime<Utc> },
    /// Details go to the log, never to the caller.
    #[error("storage failed: {0}")]
    Backend(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; hand back to get the next page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `limit` from a read of up to one more: the extra item only says there is a
    /// next page, whose cursor `cursor_after` makes from the last item kept.
    pub fn from_one_more(
        mut items: Vec<T>,
        limit: usize,
        cursor_after: impl FnOnce(&T) -> String,
    ) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(cursor_after)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// Where a page of a dashboard view ended: the last session's start and id, which change only
/// when that session is moved, so a page never skips or repeats a session while others change.
/// Handed out opaque, and bound to the user and the view it was read for: one brought to another
/// view or by another user, or made up, is `BadCursor` on every store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewCursor {
    pub starts_at: DateTime<Utc>,
    pub id: SessionId,
}

impl ViewCursor {
    pub fn after(s: &Session) -> Self {
        Self {
            starts_at: s.starts_at,
            id: s.id,
        }
    }

    pub fn encode(&self, user: &UserId, view: View) -> String {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        // the user last: an id may hold any visible character, `|` included
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}|{}|{}",
            view.as_str(),
            self.starts_at.timestamp_micros(),
            self.id,
            user
        ))
    }

    pub fn decode(cursor: &str, user: &UserId, view: View) -> Result<Self, StoreError> {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let raw = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| StoreError::BadCursor)?;
        let text = String::from_utf8(raw).map_err(|_| StoreError::BadCursor)?;
        let mut parts = text.splitn(4, '|');
        let (Some(v), Some(at), Some(id), Some(u)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StoreError::BadCursor);
        };
        if v != view.as_str() || u != user.as_str() {
            return Err(StoreError::BadCursor);
        }
        let starts_at = at
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or(StoreError::BadCursor)?;
        let id = SessionId::parse(id).ok_or(StoreError::BadCursor)?;
        Ok(Self { starts_at, id })
    }
}

/// What an `Idempotency-Key` on a booking request is remembered as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub user: UserId,
    pub key: String,
    /// A digest of the request body: the same key with another body is a client bug.
    pub fingerprint: String,
    pub session_id: SessionId,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait SessionReader: Send + Sync {
    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Oldest first.
    async fn history(&self, id: SessionId) -> Result<Vec<Event>, StoreError>;
    /// A user's sessions, most recent activity first; `status` narrows to one status.
    async fn list(
        &self,
        user: &UserId,
        role: Role,
        status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError>;
    /// A user's sessions in one dashboard view (`view_of` as `role`), in the view's order: by
    /// start, the soonest first (`View::newest_first`: the latest first), then by id. The
    /// cursor is a `ViewCursor` this store handed out for this user and view.
    async fn list_view(
        &self,
        user: &UserId,
        role: Role,
        view: View,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError>;
    /// A user's sessions changed at or after `since` (their `updated_at`), the earliest change
    /// first, at most `limit`: what a page that last saw the list at `since` needs to catch up.
    async fn changed_since(
        &self,
        user: &UserId,
        role: Role,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError>;
    /// One small read: the change counter and tallies. An unchanged poll needs nothing else.
    async fn summary(&self, user: &UserId) -> Result<UserSummary, StoreError>;
    /// Who holds each cell of `psychologist` from `first` to `last` (cell starts, inclusive),
    /// earliest first: one range read (in DynamoDB one Query, paying only for held cells).
    async fn holds(
        &self,
        psychologist: &UserId,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, SessionId)>, StoreError>;
    /// A session of this psychologist, other than `except`, holding time in [start, end).
    async fn held_overlap(
        &self,
        psychologist: &UserId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        except: Option<SessionId>,
    ) -> Result<Option<SessionId>, StoreError> {
        let cells = crate::domain::cells(start, end);
        let (Some(first), Some(last)) = (cells.first(), cells.last()) else {
            return Ok(None);
        };
        let holds = self.holds(psychologist, *first, *last).await?;
        Ok(holds
            .into_iter()
            .map(|(_, owner)| owner)
            .find(|owner| Some(*owner) != except))
    }
    /// Which of `spans` (session, start, end) of this psychologist overlap time another session
    /// holds: one range read over the page's whole time span.
    async fn overlapping_holds(
        &self,
        psychologist: &UserId,
        spans: &[(SessionId, DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<SessionId>, StoreError> {
        let cells: Vec<(SessionId, Vec<DateTime<Utc>>)> = spans
            .iter()
            .map(|(id, s, e)| (*id, crate::domain::cells(*s, *e)))
            .collect();
        let all = cells.iter().flat_map(|(_, c)| c.iter().copied());
        let (Some(first), Some(last)) = (all.clone().min(), all.max()) else {
            return Ok(Vec::new());
        };
        let owners: std::collections::HashMap<_, _> = self
            .holds(psychologist, first, last)
            .await?
            .into_iter()
            .collect();
        Ok(cells
            .iter()
            .filter(|(id, cs)| cs.iter().any(|c| owners.get(c).is_some_and(|o| o != id)))
            .map(|(id, _)| *id)
            .collect())
    }
    async fn idempotent_booking(
        &self,
        user: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Sessions waiting on someone whose deadline is at or before `now`, soonest first.
    async fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError>;
    /// What may need a reminder at `now`: every confirmed session starting in (now, now + 24 h]
    /// and every approved one whose payment deadline is in (now, now + 3 h], soonest first. Two
    /// range reads of sparse indexes (all their pages), never a scan.
    async fn reminder_candidates(&self, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError>;
}

#[async_trait]
pub trait SessionWriter: Send + Sync {
    /// Writes everything in `change` at once, or nothing: the session (a new one, or the one
    /// at `change.expected_version()`), its event, slot holds and releases, the transaction
    /// code claim, both parties' tallies, and for a new booking its idempotency record.
    async fn write(
        &self,
        change: &Change,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError>;
    /// Overwrites `session` in place while it is still at its `version` (otherwise
    /// `VersionConflict`, nothing written), and these of its events, all at once: no new
    /// version, no new event, no tallies, nothing for the notifier. Only an erasure does this,
    /// to take a person out of the records that stay (`Session::without_client`).
    async fn anonymise(&self, session: &Session, events: &[Event]) -> Result<(), StoreError>;
}

pub trait SessionStore: SessionReader + SessionWriter {}
impl<T: SessionReader + SessionWriter> SessionStore for T {}

#[async_trait]
pub trait ProfileStore: Send + Sync {
    async fn get_profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError>;
    /// Stores `profile`, but never over a deactivated one unless it is deactivated too: a
    /// profile edit read before a deactivation would otherwise undo it
    /// (`StoreError::Deactivated`, nothing written). The same holds for
    /// `put_profile_with_alert`.
    async fn put_profile(&self, profile: &Profile) -> Result<(), StoreError>;
    /// Stores `profile` unless one exists; returns whichever is stored.
    async fn create_profile_if_absent(&self, profile: &Profile) -> Result<Profile, StoreError>;
    async fn list_psychologists(&self) -> Result<Vec<Profile>, StoreError>;
    /// Stores `profile`, queues `alert` for the notifier and appends `audit` to the audit trail
    /// in one write: all or none.
    async fn put_profile_with_alert(
        &self,
        profile: &Profile,
        alert: &AccountAlert,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presigned {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub content_type: String,
    pub size_bytes: u64,
    /// This upload as it is now: a later upload under the same key is another version, and
    /// a download of this one still gives these bytes. `None` where the store keeps no
    /// versions.
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("proof storage failed: {0}")]
pub struct ProofError(pub String);

/// Payment screenshots: uploaded straight from the browser with a presigned URL, so no image
/// passes through a handler.
#[async_trait]
pub trait ProofStore: Send + Sync {
    /// A URL that accepts PUTs of exactly this content type and size, until `ttl` from now.
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size_bytes: u64,
        ttl: Duration,
    ) -> Result<Presigned, ProofError>;
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, ProofError>;
    /// A URL that GETs `key` (the version `head` saw, when given) until `ttl` from now.
    async fn presign_download(
        &self,
        key: &str,
        version: Option<&str>,
        ttl: Duration,
    ) -> Result<Presigned, ProofError>;
    /// Deletes every object under `prefix` (such as `proofs/<session id>/`) with every version
    /// of each, for good; nothing there is fine.
    async fn delete_prefix(&self, prefix: &str) -> Result<(), ProofError>;
}

/// For the functions whose use cases never touch a screenshot (the notifier and the expiry job):
/// they are given no bucket and no S3 permission, and a call here fails loudly rather than
/// reaching a bucket by accident.
pub struct NoProofStore;

#[async_trait]
impl ProofStore for NoProofStore {
    async fn presign_upload(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: Duration,
    ) -> Result<Presigned, ProofError> {
        Err(ProofError("this function has no proof store".into()))
    }
    async fn head(&self, _: &str) -> Result<Option<StoredObject>, ProofError> {
        Err(ProofError("this function has no proof store".into()))
    }
    async fn presign_download(
        &self,
        _: &str,
        _: Option<&str>,
        _: Duration,
    ) -> Result<Presigned, ProofError> {
        Err(ProofError("this function has no proof store".into()))
    }
    async fn delete_prefix(&self, _: &str) -> Result<(), ProofError> {
        Err(ProofError("this function has no proof store".into()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Message {
    Sms {
        to: String,
        body: String,
    },
    Email {
        to: String,
        subject: String,
        body: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notification failed: {0}")]
pub struct NotifyError(pub String);

/// What a message is about: who it is for (email subscriptions filter on the user id), which
/// booking (none for an alert about the account itself), and why (an event's action, a
/// reminder, or an alert: `Purpose::name`, `AlertKind::name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    pub recipient: UserId,
    pub session_id: Option<SessionId>,
    pub purpose: String,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, envelope: &Envelope, message: &Message) -> Result<(), NotifyError>;
}

/// Where one message stands in the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had claimed it: send it now.
    Fresh,
    /// It went out.
    Sent,
    /// Another attempt claimed it and has not settled: it is sending now, or died between
    /// sending and settling. Either way it is not sent again (never twice beats never skipped
    /// when the two cannot both be had).
    InFlight,
}

/// The sent markers that make every message go out once per event (or reminder), recipient and
/// channel, whatever retries and re-deliveries happen: a message is claimed with a condition
/// before it is sent and settled after.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    async fn claim(&self, key: &str, at: DateTime<Utc>) -> Result<Claim, StoreError>;
    /// `Some`: it went out, done for good, and `sent` is added to the recipient's record in the
    /// same write. `None`: the claim is released, so the next attempt sends it.
    async fn settle(&self, key: &str, sent: Option<&SentMessage>) -> Result<(), StoreError>;
}

/// That one message went to a person: when, why, about which booking, and by which channel —
/// not its words, nor the number or address it went to. Kept per person as long as the sent
/// markers (`retention::DELIVERY_DAYS`), so their export can list what Kikao told them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    pub recipient: UserId,
    pub session_id: Option<SessionId>,
    /// `Envelope::purpose`: an event's action, a reminder or an account alert.
    pub purpose: String,
    /// `sms` or `email`.
    pub channel: String,
    pub at: DateTime<Utc>,
    /// The sent marker's key: one record per message, whatever retries happen.
    pub key: String,
}

/// Each person's record of the messages sent to them (`DeliveryLog::settle` writes it).
#[async_trait]
pub trait SentMessages: Send + Sync {
    /// Every message sent to `person` still on record, oldest first.
    async fn sent_to(&self, person: &UserId) -> Result<Vec<SentMessage>, StoreError>;
    /// Forgets the record of every message sent to `person` (an erasure).
    async fn forget_sent_to(&self, person: &UserId) -> Result<(), StoreError>;
}

/// Events in the order they were written, for stores that have no stream of their own: the
/// dev server tails this where the notifier function consumes the DynamoDB stream (see
/// `Bookings::pump_feed` for how the two differ on failure).
#[async_trait]
pub trait EventFeed: Send + Sync {
    async fn events_after(
        &self,
        position: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Event)>, StoreError>;
    /// Account alerts in the order they were written (`put_profile_with_alert`).
    async fn alerts_after(
        &self,
        position: i64,
        limit: usize,
    ) -> Result<Vec<(i64, AccountAlert)>, StoreError>;
    async fn load_position(&self, reader: &str) -> Result<i64, StoreError>;
    async fn save_position(&self, reader: &str, position: i64) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountsError {
    /// Someone already signs in with that address.
    #[error("an account with that email address already exists")]
    Exists,
    /// The identity provider refused a value (an address or number it will not take).
    #[error("the identity provider refused the details: {0}")]
    Refused(String),
    /// Details go to the log, never to the caller.
    #[error("the identity provider failed: {0}")]
    Backend(String),
}

/// Someone a practice administrator invites: who they are and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub name: String,
    pub email: String,
    /// E.164.
    pub phone: String,
}

/// The account an invitation made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitedAccount {
    /// The token's `sub`: Kikao's user id.
    pub user_id: UserId,
    /// The identity provider's own name for the user, which its admin calls take.
    pub username: String,
}

/// The identity provider's user directory (Cognito in AWS), for the use cases that give someone
/// their role, invite them or end their access. Group membership is what the tokens'
/// `cognito:groups` claim, and so the role, comes from.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Puts the user `username` in `group`; one who is a member already stays one.
    async fn add_to_group(&self, username: &str, group: &str) -> Result<(), AccountsError>;
    /// Makes an account in `group` and sends the invitation (a temporary password) by email.
    /// Someone invited who has not signed in yet is invited again (a new temporary password,
    /// the group made sure of); anyone else with that address is `Exists`.
    async fn invite(&self, who: &Invitee, group: &str) -> Result<InvitedAccount, AccountsError>;
    /// Stops the user signing in and ends every session they have (their refresh tokens stop
    /// working; a token already issued lives out its hour). Repeating it changes nothing.
    async fn disable(&self, username: &str) -> Result<(), AccountsError>;
    /// Deletes the user for good: they can no longer sign in, and the directory forgets their
    /// name, email and phone. A user who is gone already is fine.
    async fn delete(&self, username: &str) -> Result<(), AccountsError>;
}

/// For the functions whose use cases never touch the user directory: they get no pool and no
/// IAM permission on it, and a call here fails loudly.
pub struct NoAccounts;

#[async_trait]
impl Accounts for NoAccounts {
    async fn add_to_group(&self, _: &str, _: &str) -> Result<(), AccountsError> {
        Err(AccountsError::Backend(
            "this function has no user directory".into(),
        ))
    }
    async fn invite(&self, _: &Invitee, _: &str) -> Result<InvitedAccount, AccountsError> {
        Err(AccountsError::Backend(
            "this function has no user directory".into(),
        ))
    }
    async fn disable(&self, _: &str) -> Result<(), AccountsError> {
        Err(AccountsError::Backend(
            "this function has no user directory".into(),
        ))
    }
    async fn delete(&self, _: &str) -> Result<(), AccountsError> {
        Err(AccountsError::Backend(
            "this function has no user directory".into(),
        ))
    }
}

/// The audit trail (`AuditEntry`): append-only, each entry kept `retention::AUDIT_DAYS`.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `entry`; nothing ever changes it.
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Every entry about `subject`, oldest first.
    async fn about(&self, subject: &UserId) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Where copies of sent messages are kept, if anywhere. In AWS nowhere: SNS and SES keep none
/// in Kikao's stores (`NoOutbox`). The dev server's notification log keeps every one, standing
/// in for people's phones and mailboxes. An erasure asks it to forget the person.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Forgets every kept message that mentions any of `details` (a name, an email address, a
    /// phone number).
    async fn forget(&self, details: &[String]) -> Result<(), NotifyError>;
}

/// Keeps no copy of any message, so has nothing to forget.
pub struct NoOutbox;

#[async_trait]
impl Outbox for NoOutbox {
    async fn forget(&self, _: &[String]) -> Result<(), NotifyError> {
        Ok(())
    }
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Why a payment M-Pesa reported into a Till or Paybill confirmed no booking by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Unmatched {
    /// A Paybill payment whose account is not a booking reference, or a Till payment (which
    /// has no account) that no single booking's price and client's name fit.
    NoReference,
    /// The account is a booking reference, but of no booking waiting for payment.
    UnknownReference,
    /// The reference is this booking's, but the amount is not its price.
    AmountDiffers { session: SessionId },
    /// More than one booking fits.
    Ambiguous,
    /// The booking it names was cancelled (or otherwise moved on) before the payment arrived:
    /// the money is the client's to get back.
    NoLongerPayable { session: SessionId },
    /// The client had already sent this code as proof for another booking.
    CodeUsed,
}

/// What became of a payment M-Pesa reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Settlement {
    /// Recorded, not yet matched: a retried report finishes the match.
    Received,
    /// Matched to this booking, which is being confirmed: a retry finishes with it.
    Matching { session: SessionId },
    /// It paid for this booking, confirmed automatically or attached by the psychologist.
    Paid { session: SessionId },
    /// In the Unmatched list of the account's psychologists.
    Unmatched(Unmatched),
}

/// A payment M-Pesa reported into a Till or Paybill, kept by its receipt: the receipt makes a
/// retried report a no-op, and the entry is what the Unmatched list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub payment: ReceivedPayment,
    pub received_at: DateTime<Utc>,
    pub settlement: Settlement,
}

/// Payments M-Pesa reported, per business account.
#[async_trait]
pub trait PaymentLedger: Send + Sync {
    /// Keeps `entry` unless its receipt is already kept; returns what is kept (the earlier entry
    /// for a retried report).
    async fn record(&self, entry: &LedgerEntry) -> Result<LedgerEntry, StoreError>;
    /// What became of a kept payment.
    async fn settle(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
        settlement: &Settlement,
    ) -> Result<(), StoreError>;
    async fn payment(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
    ) -> Result<Option<LedgerEntry>, StoreError>;
    /// The account's unmatched payments, oldest first.
    async fn unmatched(&self, shortcode: &ShortCode) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Drops the payer's name from a kept payment (an erasure: it may be the client's).
    async fn forget_payer(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
    ) -> Result<(), StoreError>;
}

/// The key the callback paths are made with (`CallbackToken`); kept in Secrets Manager in AWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the M-Pesa callback key could not be read: {0}")]
pub struct SecretError(pub String);

#[async_trait]
pub trait CallbackKey: Send + Sync {
    async fn callback_key(&self) -> Result<Vec<u8>, SecretError>;
}

/// Safaricom's Daraja API, for Lipa na M-Pesa Online: the HTTP client over the shortcode's own
/// credentials in AWS and on the dev server (against Daraja, its sandbox or the dev server's
/// stand-in); `NoDaraja` in functions that never call it.
#[async_trait]
pub trait Daraja: Send + Sync {
    /// Puts the payment request on the client's phone; Safaricom's `CheckoutRequestID`.
    async fn stk_push(&self, request: &StkRequest) -> Result<String, DarajaError>;
    /// What Safaricom says of a request now: its own word, over TLS, which a forged callback
    /// cannot change.
    async fn stk_query(
        &self,
        shortcode: &ShortCode,
        checkout_id: &str,
    ) -> Result<StkQueryResult, DarajaError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DarajaError {
    /// Daraja refused the request; its message is for the log.
    #[error("M-Pesa refused the request: {0}")]
    Refused(String),
    /// The shortcode has no Daraja credentials with the practice.
    #[error("no Daraja credentials for this Till or Paybill: {0}")]
    NoCredentials(String),
    #[error("M-Pesa did not answer: {0}")]
    Unavailable(String),
}

pub struct NoDaraja;

#[async_trait]
impl Daraja for NoDaraja {
    async fn stk_push(&self, _: &StkRequest) -> Result<String, DarajaError> {
        Err(DarajaError::Unavailable(
            "this function does not call Daraja".into(),
        ))
    }
    async fn stk_query(&self, _: &ShortCode, _: &str) -> Result<StkQueryResult, DarajaError> {
        Err(DarajaError::Unavailable(
            "this function does not call Daraja".into(),
        ))
    }
}

/// The payment requests Kikao sent, by Safaricom's `CheckoutRequestID`.
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Keeps `checkout` as it is now (a new one, or its new state).
    async fn put_checkout(&self, checkout: &Checkout) -> Result<(), StoreError>;
    /// Writes `checkout` over the kept one only if that one is still pending: what Kikao learnt by
    /// asking never overwrites what Safaricom's callback settled meanwhile. `false`: not written.
    async fn update_pending_checkout(&self, checkout: &Checkout) -> Result<bool, StoreError>;
    async fn checkout(&self, id: &str) -> Result<Option<Checkout>, StoreError>;
}

/// For every function but the callbacks: no key, so no path verifies.
pub struct NoCallbackKey;

#[async_trait]
impl CallbackKey for NoCallbackKey {
    async fn callback_key(&self) -> Result<Vec<u8>, SecretError> {
        Err(SecretError(
            "this function has no M-Pesa callback key".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_cursor_is_its_users_and_its_views_only() {
        let at: DateTime<Utc> = "2030-01-07T06:00:00.123456Z".parse().unwrap();
        let id = SessionId::parse("7ceeafdc-4c03-438b-900c-4ad4b65202bf").unwrap();
        let c = ViewCursor { starts_at: at, id };
        // any visible character may be in a user id, the separator included
        for who in ["psy-1", "odd|user|id", "a"] {
            let user = UserId::parse(who).unwrap();
            let text = c.encode(&user, View::Past);
            assert_eq!(ViewCursor::decode(&text, &user, View::Past), Ok(c));
            assert_eq!(
                ViewCursor::decode(&text, &user, View::Action),
                Err(StoreError::BadCursor)
            );
            let other = UserId::parse("odd|user").unwrap();
            assert_eq!(
                ViewCursor::decode(&text, &other, View::Past),
                Err(StoreError::BadCursor)
            );
        }
    }
}
