//! What a person reads and keeps about themselves: their profile (made from the identity
//! provider's claims on first sight), the psychologist directory, their bookings page by page
//! or one dashboard view at a time, what changed since a page last looked, the one small read
//! an unchanged poll needs, one booking with its history, and how a
//! pasted payment would compare with one of their bookings.

use super::{BookingError, Bookings, Caller};
use crate::domain::{
    AccountAlert, AlertKind, Claimed, Event, MpesaReceipt, PaymentChecks, Profile, ProfileUpdate,
    Role, Session, SessionId, Status, UserId, UserSummary, View,
};
use crate::ports::Page;
use chrono::{DateTime, Utc};

/// How far before the `since` it is given a catch-up read reaches: two writers' clocks may differ
/// by a moment, and a change written a moment late must not be missed (a page merges by id, so
/// a repeat is harmless).
pub const SINCE_MARGIN_SECONDS: i64 = 5;

/// How long after typing their password a psychologist may change their M-Pesa number.
pub const RECENT_SIGN_IN: chrono::Duration = chrono::Duration::minutes(5);

impl Bookings {
    /// The caller's stored profile, created from their claims on first sight. The role always
    /// follows the identity provider: a person moved between groups gets the other role's
    /// profile fields. A phone the identity provider has since verified (they entered the code
    /// it sent) is marked so, and SMS start going to it.
    pub async fn ensure_profile(&self, c: &Caller) -> Result<Profile, BookingError> {
        let now = self.clock.now();
        let vouched = c.verified_phone();
        let mut fresh = Profile::from_claims(
            c.id.clone(),
            c.role,
            &c.name,
            c.email.as_deref(),
            c.phone.as_deref(),
            now,
        );
        fresh.vouch_phone(vouched.as_ref());
        let mut stored = match self.profiles.get_profile(&c.id).await? {
            Some(p) => p,
            None => self.profiles.create_profile_if_absent(&fresh).await?,
        };
        // their last token outlives the deactivation by up to its hour: the profile, and so the
        // dashboard, is closed to them at once
        if stored.is_erased() {
            return Err(BookingError::Erased);
        }
        if !stored.active() {
            return Err(BookingError::Deactivated);
        }
        let verified = stored.vouch_phone(vouched.as_ref());
        if stored.role == c.role && !verified {
            return Ok(stored);
        }
        let moved = Profile {
            role: c.role,
            psychologist: (c.role == Role::Psychologist)
                .then(|| stored.psychologist.clone().unwrap_or_default()),
            updated_at: now,
            ..stored
        };
        self.profiles.put_profile(&moved).await?;
        Ok(moved)
    }

    pub async fn update_profile(
        &self,
        c: &Caller,
        update: ProfileUpdate,
    ) -> Result<Profile, BookingError> {
        let p = self.ensure_profile(c).await?;
        let now = self.clock.now();
        let mut updated = p.apply(update, now)?;
        // the number their token vouches for is verified as soon as they choose it
        updated.vouch_phone(c.verified_phone().as_ref());
        // the number clients pay to is what a stolen session would change first: it takes a
        // password typed in the last few minutes, not just a live token
        let number = |p: &Profile| p.psychologist.as_ref().and_then(|d| d.mpesa_number.clone());
        let business = |p: &Profile| p.psychologist.as_ref().and_then(|d| d.business.clone());
        let (what, action) = match (
            number(&updated) != number(&p),
            business(&updated) != business(&p),
        ) {
            (false, false) => {
                self.profiles.put_profile(&updated).await?;
                return Ok(updated);
            }
            (true, true) => {
                return Err(BookingError::invalid(
                    "business_number",
                    "change your M-Pesa number and your Till or Paybill one at a time, so each change is confirmed to you on its own",
                ))
            }
            (true, false) => (
                AlertKind::MpesaNumberChanged {
                    from: number(&p),
                    to: number(&updated),
                },
                crate::domain::AuditAction::MpesaNumberChanged,
            ),
            (false, true) => (
                AlertKind::BusinessAccountChanged {
                    from: business(&p),
                    to: business(&updated),
                },
                crate::domain::AuditAction::BusinessAccountChanged,
            ),
        };
        if c.auth_time.is_none_or(|at| now - at > RECENT_SIGN_IN) {
            return Err(BookingError::RecentSignInRequired);
        }
        // told to the contacts as they were, by SMS and email, whatever the person's choices
        let alert = AccountAlert::new(&p, what, now);
        let audit = crate::domain::AuditEntry::new(action, &c.id, &c.id, None, now);
        self.profiles
            .put_profile_with_alert(&updated, &alert, &audit)
            .await?;
        tracing::info!(user = %c.id, alert = alert.what.name(), "payment details changed; alert queued");
        Ok(updated)
    }

    /// Psychologists a client can book: those still with the practice who offer at least one
    /// session type.
    pub async fn directory(&self) -> Result<Vec<Profile>, BookingError> {
        let all = self.profiles.list_psychologists().await?;
        Ok(all
            .into_iter()
            .filter(|p| {
                p.active()
                    && p.psychologist
                        .as_ref()
                        .is_some_and(|d| !d.session_types.is_empty())
            })
            .collect())
    }

    /// The change counter and tallies: all an unchanged poll reads.
    pub async fn summary(&self, c: &Caller) -> Result<UserSummary, BookingError> {
        Ok(self.sessions.summary(&c.id).await?)
    }

    /// A page of the caller's bookings, most recent activity first.
    pub async fn page(
        &self,
        c: &Caller,
        status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, BookingError> {
        Ok(self
            .sessions
            .list(&c.id, c.role, status, limit, cursor)
            .await?)
    }

    /// A page of one of the caller's dashboard views, in its order (`SessionReader::list_view`).
    pub async fn view_page(
        &self,
        c: &Caller,
        view: View,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, BookingError> {
        Ok(self
            .sessions
            .list_view(&c.id, c.role, view, limit, cursor)
            .await?)
    }

    /// The caller's bookings changed since `since` (and up to `SINCE_MARGIN_SECONDS` before
    /// it), the earliest change first, and whether that is all of them (at most `limit`).
    pub async fn changes_since(
        &self,
        c: &Caller,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<(Vec<Session>, bool), BookingError> {
        let from = since - chrono::Duration::seconds(SINCE_MARGIN_SECONDS);
        let mut changed = self
            .sessions
            .changed_since(&c.id, c.role, from, limit + 1)
            .await?;
        let complete = changed.len() <= limit;
        changed.truncate(limit);
        Ok((changed, complete))
    }

    /// Every booking of `user` in `role` (in `status`, if given), read page by page, most recent
    /// activity first: for the use cases that go through all of them (export, erasure,
    /// deactivation, the bookings an M-Pesa payment may be for). Pages follow the last activity,
    /// which moves: a booking changed while later pages are read jumps to the front, past the
    /// reader, and the page boundary shifts so another is read twice. So each booking is kept
    /// once, and a read of more than one page is read again until a pass finds nothing new
    /// (one page is one query, which skips nothing).
    pub(super) async fn every_session(
        &self,
        user: &UserId,
        role: Role,
        status: Option<Status>,
    ) -> Result<Vec<Session>, BookingError> {
        const PASSES: usize = 3;
        let mut out: Vec<Session> = Vec::new();
        let mut at: std::collections::HashMap<SessionId, usize> = Default::default();
        for _ in 0..PASSES {
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            let mut found_new = false;
            loop {
                let page = self
                    .sessions
                    .list(user, role, status, 100, cursor.as_deref())
                    .await?;
                pages += 1;
                for s in page.items {
                    match at.get(&s.id) {
                        // the later read of it is the later state
                        Some(&i) if s.version > out[i].version => out[i] = s,
                        Some(_) => {}
                        None => {
                            found_new = true;
                            at.insert(s.id, out.len());
                            out.push(s);
                        }
                    }
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            if pages == 1 || !found_new {
                break;
            }
        }
        Ok(out)
    }

    /// The queue of requests to answer is the psychologist's; a client finds their own pending
    /// requests in their main list.
    pub fn may_answer_requests(&self, c: &Caller) -> Result<(), BookingError> {
        if c.role == Role::Psychologist {
            Ok(())
        } else {
            Err(BookingError::Forbidden(
                "Only psychologists have requests to approve.",
            ))
        }
    }

    /// One of the caller's bookings with every change to it, oldest first.
    pub async fn with_history(
        &self,
        c: &Caller,
        id: SessionId,
    ) -> Result<(Session, Vec<Event>), BookingError> {
        let s = self.session_for(c, id).await?;
        let history = self.sessions.history(id).await?;
        Ok((s, history))
    }

    /// The latest `n` changes to the caller's bookings, newest first, each with its booking as
    /// it is now: the bell's list. Read from the `n` bookings changed last (no change can be
    /// newer than its booking's last), each booking's history one read.
    pub async fn recent_changes(
        &self,
        c: &Caller,
        n: usize,
    ) -> Result<Vec<(Session, Event)>, BookingError> {
        let page = self.sessions.list(&c.id, c.role, None, n, None).await?;
        let mut out = Vec::new();
        for s in page.items {
            for e in self.sessions.history(s.id).await? {
                out.push((s.clone(), e));
            }
        }
        out.sort_by_key(|(_, e)| std::cmp::Reverse((e.at, e.version)));
        out.truncate(n);
        Ok(out)
    }

    /// Which of a psychologist's pending requests among `sessions` overlap time they already
    /// hold (approving one would be `slot_taken`): on DynamoDB one range Query for the whole
    /// page.
    pub async fn clashing_requests(
        &self,
        c: &Caller,
        sessions: &[Session],
    ) -> Result<Vec<SessionId>, BookingError> {
        if c.role != Role::Psychologist {
            return Ok(Vec::new());
        }
        let pending: Vec<_> = sessions
            .iter()
            .filter(|s| s.status == Status::PendingApproval)
            .map(|s| (s.id, s.starts_at, s.ends_at))
            .collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.sessions.overlapping_holds(&c.id, &pending).await?)
    }

    /// How `receipt` compares with booking `id` (amount, recipient, date), for a client checking
    /// a message before submitting it; nothing is stored. `NotFound` unless the caller is a
    /// party to the booking.
    pub async fn payment_checks(
        &self,
        caller: &Caller,
        id: SessionId,
        receipt: &MpesaReceipt,
    ) -> Result<PaymentChecks, BookingError> {
        let s = self.session_for(caller, id).await?;
        Ok(PaymentChecks::new(
            &s,
            &Claimed::from(receipt),
            self.clock.now(),
        ))
    }
}
