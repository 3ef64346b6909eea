//! The work that happens after a change, with no person asking: expiring bookings nobody
//! answered or paid, and telling the other party about each event. The dev server's background
//! loops and the Lambda expiry and notifier functions call these same use cases.

use super::{BookingError, Bookings};
use crate::domain::{Command, Event};
use crate::notifications::{recipients, render};
use crate::ports::{EventFeed, Message, Notifier, StoreError};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpiryReport {
    pub expired: usize,
    /// Changed by a party between the read and the write: their action stands.
    pub skipped: usize,
}

impl Bookings {
    /// Cancels every session whose answer or payment deadline has passed, through the same
    /// rules and store write as any other change (so slots are released and an event is
    /// recorded), `batch` at a time.
    pub async fn expire_due(&self, batch: usize) -> Result<ExpiryReport, BookingError> {
        let now = self.clock.now();
        let mut report = ExpiryReport::default();
        loop {
            let due = self.sessions.due_for_expiry(now, batch).await?;
            let n = due.len();
            for s in due {
                match self.apply(&s, None, Command::Expire).await {
                    Ok(_) => report.expired += 1,
                    // a party acted between the read and the write, or the rules say it is
                    // not due after all: their action stands
                    Err(BookingError::Store(StoreError::VersionConflict))
                    | Err(BookingError::Refused(_)) => report.skipped += 1,
                    Err(e) => return Err(e),
                }
            }
            if n < batch || report.skipped >= batch {
                return Ok(report);
            }
        }
    }

    /// Sends what `event` means to each party who should hear of it, by the channels they
    /// chose. Returns how many messages went out.
    pub async fn notify(
        &self,
        event: &Event,
        notifier: &dyn Notifier,
    ) -> Result<usize, NotifyFailure> {
        let Some(session) = self.sessions.get(event.session_id).await? else {
            return Ok(0);
        };
        let mut sent = 0;
        for role in recipients(event) {
            let who = &session.party(role).id;
            let Some(profile) = self.profiles.get_profile(who).await? else {
                continue;
            };
            let tz = profile
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::Africa::Nairobi);
            let r = render(event, &session, role, tz);
            if let (true, Some(phone)) = (profile.notify.sms, &profile.phone) {
                let sms = Message::Sms {
                    to: phone.e164().to_owned(),
                    body: r.sms.clone(),
                };
                notifier.send(who, &sms).await?;
                sent += 1;
            }
            if let (true, Some(email)) = (profile.notify.email, &profile.email) {
                let mail = Message::Email {
                    to: email.clone(),
                    subject: r.subject.clone(),
                    body: r.email.clone(),
                };
                notifier.send(who, &mail).await?;
                sent += 1;
            }
            tracing::info!(session = %session.id, action = ?event.action, to = role.as_str(), "notified");
        }
        Ok(sent)
    }

    /// Delivers up to 100 events `feed` has written since `reader`'s last position, then saves
    /// the position (the rest wait for the next pass). Unlike the Lambda notifier, which reports a failed record for the stream to
    /// retry, a failed delivery here is logged and passed over: the dev server's outbox is a
    /// log, and one bad profile must not stop the rest.
    pub async fn pump_feed(
        &self,
        feed: &dyn EventFeed,
        notifier: &dyn Notifier,
        reader: &str,
    ) -> Result<usize, BookingError> {
        let from = feed.load_position(reader).await?;
        let events = feed.events_after(from, 100).await?;
        let Some(last) = events.last().map(|(p, _)| *p) else {
            return Ok(0);
        };
        for (_, e) in &events {
            if let Err(err) = self.notify(e, notifier).await {
                tracing::warn!(session = %e.session_id, error = %err, "notification failed");
            }
        }
        feed.save_position(reader, last).await?;
        Ok(events.len())
    }
}

/// Why an event's notifications did not all go out: reading the booking or a profile failed,
/// or the notifier refused a message. The stream notifier reports the record for a retry.
#[derive(Debug, thiserror::Error)]
pub enum NotifyFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Send(#[from] crate::ports::NotifyError),
}
