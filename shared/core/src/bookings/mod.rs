//! The application layer: one service, `Bookings`, owns every use case — booking, acting on a
//! booking (any transition), the payment screenshot, profiles and the directory, reading one's
//! bookings, expiring what is due and notifying an event. HTTP handlers, the expiry and
//! notifier functions, demo seeding and the store conformance suite all call it; none of them
//! loads, decides and writes on its own.
//!
//! Every change to a booking ends in `Bookings::apply` (decide by the rules, build the `Change`,
//! write it in one store write), so a new way to change a booking — a reminder, an automatic
//! M-Pesa confirmation, an erasure — is a new method here that ends there too.

mod accounts;
mod act;
mod admin;
mod availability;
mod book;
mod erasure;
mod error;
mod jobs;
mod mpesa;
mod privacy;
mod proofs;
mod read;
mod statements;
mod stk;
pub use read::SINCE_MARGIN_SECONDS;

pub use accounts::{
    SignUp, SignUpError, CLIENTS_GROUP, MFA_CLAIM, MFA_TOTP, PRACTICE_ADMINS_GROUP,
    PSYCHOLOGISTS_GROUP,
};
pub use act::Intent;
pub use admin::{Administrator, Deactivation, Invitation};
pub use availability::{FreeSlots, MAX_SLOT_RANGE_DAYS};
pub use book::{BookInput, Booked, IdempotencyKey};
pub use erasure::Erasure;
pub use error::BookingError;
pub use jobs::{ExpiryReport, NotifyFailure};
pub use mpesa::Received;
pub use privacy::{PersonalData, ServedNotice};
pub use proofs::ProofUpload;
pub use statements::StatementCheck;
pub use stk::{CheckoutStatus, StkCallback};

use crate::domain::{decide, role_may, Action, Change, Command, Policy, Role, Session, UserId};
use crate::ports::{
    Accounts, AuditLog, CallbackKey, CheckoutStore, Clock, Daraja, Outbox, PaymentLedger,
    ProfileStore, ProofStore, SentMessages, SessionStore,
};
use std::sync::Arc;

/// Who is asking, as the identity provider vouches for them (in AWS, the token's claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: UserId,
    pub role: Role,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The identity provider has confirmed `phone` with a code sent to it (the token's
    /// `phone_number_verified`).
    pub phone_verified: bool,
    /// A practice administrator (the `practice_admins` group), whatever their party role.
    pub admin: bool,
    /// The token says the person signs in with a second factor (TOTP).
    pub mfa: bool,
    /// When the person last typed their password (the token's `auth_time`; a refreshed token
    /// keeps the original sign-in's).
    pub auth_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Caller {
    /// Whether this person's account must have a second factor before it changes anything: a
    /// psychologist's guards their clients' bookings and the number they pay to, an admin's
    /// every psychologist's access.
    pub fn needs_mfa(&self) -> bool {
        self.admin || self.role == Role::Psychologist
    }

    /// The phone the identity provider vouches is this person's, if any.
    pub fn verified_phone(&self) -> Option<crate::domain::PhoneNumber> {
        self.phone
            .as_deref()
            .filter(|_| self.phone_verified)
            .and_then(crate::domain::PhoneNumber::parse)
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Meeting links are this followed by a random token (see `Bookings::meeting_link`).
    pub meeting_link_base: String,
    /// The dashboard's address, in every SMS and email.
    pub app_url: String,
    pub policy: Policy,
    /// Where people write about their data (the practice is the data controller): the privacy
    /// notice names it.
    pub privacy_contact: String,
    /// Days a payment screenshot is kept after upload (the bucket's lifecycle rule in AWS, the
    /// dev server's hourly pass locally); the privacy notice says it.
    pub proof_retention_days: u32,
    /// The addresses M-Pesa's callbacks may come from; empty: any (the path's secret is the
    /// authentication either way).
    pub mpesa_sources: Vec<String>,
    /// The API's own address, which Safaricom posts payment requests' outcomes to.
    pub api_url: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            meeting_link_base: "https://meet.jit.si/kikao-".to_owned(),
            app_url: "http://127.0.0.1:3000/".to_owned(),
            policy: Policy::default(),
            privacy_contact: "privacy@kikao.example".to_owned(),
            proof_retention_days: crate::retention::PROOF_DAYS,
            mpesa_sources: Vec::new(),
            api_url: "http://127.0.0.1:3000".to_owned(),
        }
    }
}

/// The ports the use cases run on, built once per process by a `main`.
#[derive(Clone)]
pub struct Bookings {
    pub sessions: Arc<dyn SessionStore>,
    pub profiles: Arc<dyn ProfileStore>,
    pub proofs: Arc<dyn ProofStore>,
    /// The identity provider's directory: only the sign-up trigger and the admin functions
    /// have one (`NoAccounts` elsewhere).
    pub accounts: Arc<dyn Accounts>,
    /// Copies of messages sent, where any are kept (the dev server's log; `NoOutbox` in AWS).
    pub outbox: Arc<dyn Outbox>,
    /// Who viewed, exported, erased or changed what about whom.
    pub audit: Arc<dyn AuditLog>,
    /// Each person's record of the messages sent to them (for their export).
    pub sent: Arc<dyn SentMessages>,
    /// Payments M-Pesa reported into psychologists' Tills and Paybills.
    pub ledger: Arc<dyn PaymentLedger>,
    /// What the M-Pesa callback paths are made with: only the callback functions have one
    /// (`NoCallbackKey` elsewhere).
    pub callback_key: Arc<dyn CallbackKey>,
    /// Safaricom's API, for payment requests on the client's phone (`NoDaraja` elsewhere).
    pub daraja: Arc<dyn Daraja>,
    /// The payment requests sent.
    pub checkouts: Arc<dyn CheckoutStore>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
}

impl Bookings {
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }

    /// The one place a change to an existing booking is decided and written: the rules
    /// (`decide`) make the new session and its event, `Change` adds the slot cells, code claim
    /// and tallies, and the store writes it all at once or not at all. `actor` is `None` for
    /// the system.
    /// Appends to the audit trail, before the action it records takes effect: an action that
    /// fails after this stands in the trail as attempted, and none happens unrecorded.
    pub async fn audit(
        &self,
        action: crate::domain::AuditAction,
        actor: &UserId,
        subject: &UserId,
        session: Option<crate::domain::SessionId>,
    ) -> Result<(), BookingError> {
        let entry =
            crate::domain::AuditEntry::new(action, actor, subject, session, self.clock.now());
        self.audit.record(&entry).await?;
        Ok(())
    }

    pub async fn apply(
        &self,
        before: &Session,
        actor: Option<(&UserId, Role)>,
        cmd: Command,
    ) -> Result<Session, BookingError> {
        let (next, event) = decide(before, actor, cmd, self.clock.now(), self.policy())?;
        let change = Change::new(Some(before), next, event);
        self.sessions.write(&change, None).await?;
        tracing::info!(session = %change.session.id, action = ?change.event.action, to = change.session.status.as_str(), "session changed");
        Ok(change.session)
    }

    /// The booking if `caller` is one of its parties, in the role they call with; otherwise
    /// `NotFound`, so nobody learns whether someone else's booking exists.
    pub async fn session_for(
        &self,
        caller: &Caller,
        id: crate::domain::SessionId,
    ) -> Result<Session, BookingError> {
        match self.sessions.get(id).await? {
            Some(s) if s.party_role(&caller.id) == Some(caller.role) => Ok(s),
            _ => Err(BookingError::NotFound),
        }
    }

    /// `session_for`, checked against the version the caller saw (`expected`) and against the
    /// rules for `action` now, after the caller's role may take it at all (403 before 404).
    async fn session_for_action(
        &self,
        caller: &Caller,
        id: crate::domain::SessionId,
        expected: Option<u64>,
        action: Action,
    ) -> Result<Session, BookingError> {
        role_may(action, Some(caller.role))?;
        let s = self.session_for(caller, id).await?;
        if expected.is_some_and(|v| v != s.version) {
            return Err(BookingError::Stale);
        }
        crate::domain::permitted(
            &s,
            action,
            Some(caller.role),
            self.clock.now(),
            self.policy(),
        )?;
        Ok(s)
    }
}
