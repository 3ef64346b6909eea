//! Erasure: a client closes their account and Kikao forgets them (the right to erasure of
//! Kenya's Data Protection Act 2019). The account stops working at once; each open booking is
//! cancelled, so the psychologist is told as for any cancellation; every booking stays in the
//! psychologist's records as the practice's record of sessions and payments, but without the
//! client's name, note or words (`Session::without_client`); the payment screenshots and any
//! unsubmitted uploads are deleted with every version; the identity provider deletes the user;
//! the record of the messages sent to them goes; and the outbox, where one keeps copies of
//! messages, forgets them.
//!
//! Each step can be run again: an erasure interrupted by a failure finishes when asked again
//! (the person's token lives out its hour, and the shell profile refuses everything else).

use super::{BookingError, Bookings, Caller};
use crate::domain::{
    AuditAction, Command, Profile, Reason, Role, Session, SessionId, Status, ERASURE_CONFIRMATION,
    ERASURE_REASON,
};
use crate::ports::StoreError;

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    /// Open bookings it cancelled (the psychologist of each is told).
    pub cancelled: usize,
    /// Bookings kept for the psychologist, now without the client.
    pub kept: usize,
}

/// A client may cancel these (SPEC: pending, approved, payment submitted, confirmed).
const OPEN: [Status; 4] = [
    Status::PendingApproval,
    Status::Approved,
    Status::PaymentSubmitted,
    Status::Confirmed,
];

/// How often one booking is tried again when its other party changes it at the same moment.
const TRIES: usize = 5;

impl Bookings {
    /// Erases the caller, a client, who typed `confirm` (`ERASURE_CONFIRMATION`). A
    /// psychologist leaves through deactivation by the practice administrator instead, which
    /// keeps their clients' records whole.
    pub async fn erase(&self, caller: &Caller, confirm: &str) -> Result<Erasure, BookingError> {
        if confirm != ERASURE_CONFIRMATION {
            return Err(BookingError::invalid(
                "confirm",
                format!("type {ERASURE_CONFIRMATION} exactly, in capitals, to confirm"),
            ));
        }
        if caller.role != Role::Client {
            return Err(BookingError::Forbidden(
                "A psychologist's account is closed by the practice administrator (deactivation), which keeps their clients' records whole.",
            ));
        }
        let now = self.clock.now();
        let stored = self.profiles.get_profile(&caller.id).await?;
        // what an outbox must forget: the person as the profile and the token knew them
        let mut details: Vec<String> = [
            Some(caller.name.clone()),
            caller.email.clone(),
            caller.phone.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(p) = stored.as_ref().filter(|p| !p.is_erased()) {
            details.push(p.name.clone());
            details.extend(p.email.clone());
            details.extend(p.phone.as_ref().map(|x| x.e164().to_owned()));
        }
        details.sort();
        details.dedup();
        let username = stored
            .as_ref()
            .and_then(|p| p.account.clone())
            .unwrap_or_else(|| caller.id.to_string());

        self.audit(AuditAction::AccountErased, &caller.id, &caller.id, None)
            .await?;
        // 1. the account stops working at once
        let shell = match &stored {
            Some(p) => p.erased(now),
            None => Profile::from_claims(caller.id.clone(), Role::Client, "", None, None, now)
                .erased(now),
        };
        self.profiles.put_profile(&shell).await?;

        // 2. the bookings: open ones cancelled, all kept without the client
        // every booking, read before any changes (a cancellation moves a booking in the
        // activity order the pages follow)
        let ids: Vec<SessionId> = self
            .every_session(&caller.id, Role::Client, None)
            .await?
            .iter()
            .map(|s| s.id)
            .collect();
        let mut cancelled = 0;
        for &id in &ids {
            if self.cancel_for_erasure(caller, id).await? {
                cancelled += 1;
            }
            self.proofs
                .delete_prefix(&super::proofs::prefix(id))
                .await?;
            self.forget_client_in(id).await?;
        }

        // 3. the sign-in account, the record of messages sent to them, and any copies
        self.accounts.delete(&username).await?;
        self.sent.forget_sent_to(&caller.id).await?;
        self.outbox
            .forget(&details)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        tracing::info!(user = %caller.id, cancelled, kept = ids.len(), "account erased");
        Ok(Erasure {
            cancelled,
            kept: ids.len(),
        })
    }

    /// Cancels booking `id` as its client would, if it is open; the psychologist acting on it at
    /// the same moment wins, and it is judged again as it then stands.
    async fn cancel_for_erasure(
        &self,
        caller: &Caller,
        id: SessionId,
    ) -> Result<bool, BookingError> {
        let reason = Reason::parse(ERASURE_REASON).expect("the erasure's reason is a valid reason");
        for _ in 0..TRIES {
            let Some(s) = self.sessions.get(id).await? else {
                return Ok(false);
            };
            if !OPEN.contains(&s.status) {
                return Ok(false);
            }
            let cmd = Command::Cancel {
                reason: Some(reason.clone()),
            };
            match self.apply(&s, Some((&caller.id, Role::Client)), cmd).await {
                Ok(_) => return Ok(true),
                Err(BookingError::Store(StoreError::VersionConflict)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::VersionConflict.into())
    }

    /// The payment M-Pesa reported for booking `s` keeps its receipt and amount (the practice's
    /// record) but not the payer's name.
    async fn forget_payer_of(&self, s: &Session) -> Result<(), BookingError> {
        if let (Some(p), Some(b)) = (s.payment.as_ref().filter(|p| p.by_mpesa), &s.business) {
            self.ledger
                .forget_payer(&b.shortcode, &p.transaction_code)
                .await?;
        }
        Ok(())
    }

    /// Rewrites booking `id` and its history without the client, unless nothing there names
    /// them any more.
    async fn forget_client_in(&self, id: SessionId) -> Result<(), BookingError> {
        for _ in 0..TRIES {
            let Some(s): Option<Session> = self.sessions.get(id).await? else {
                return Ok(());
            };
            let history = self.sessions.history(id).await?;
            let changed: Vec<_> = history
                .iter()
                .map(|e| e.without_client())
                .zip(&history)
                .filter(|(after, before)| after != *before)
                .map(|(after, _)| after)
                .collect();
            if !s.names_client() && changed.is_empty() {
                // a retry after a failure between the rewrite and this
                return self.forget_payer_of(&s).await;
            }
            match self.sessions.anonymise(&s.without_client(), &changed).await {
                Ok(()) => return self.forget_payer_of(&s).await,
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }
}
