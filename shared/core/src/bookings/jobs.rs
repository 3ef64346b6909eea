//! The work that happens after a change, with no person asking: expiring bookings nobody
//! answered or paid, telling the other party about each event, and sending account alerts. The
//! dev server's background loops and the Lambda expiry and notifier functions call these same
//! use cases.

use super::{BookingError, Bookings};
use crate::domain::{AccountAlert, Command, Event, EventFacts, PhoneNumber, Profile, SessionId};
use crate::notifications::{
    due_reminder, recipients, render_alert, render_event, render_reminder, Purpose, Rendered,
};
use crate::ports::{
    Claim, DeliveryLog, Envelope, EventFeed, Message, Notifier, SentMessage, StoreError,
};

/// What one pass sent, and the first failure (the rest were still tried).
#[derive(Debug, Default)]
struct Delivered {
    sent: usize,
    failed: Option<NotifyFailure>,
}

impl std::ops::AddAssign for Delivered {
    fn add_assign(&mut self, other: Self) {
        self.sent += other.sent;
        if self.failed.is_none() {
            self.failed = other.failed;
        }
    }
}

impl Delivered {
    fn result(self) -> Result<usize, NotifyFailure> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.sent),
        }
    }
}

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
    /// chose, rendered from the event's own facts. Each message is claimed in `log` before it
    /// is sent, so a retried or re-delivered event sends only what has not gone out. Returns how
    /// many messages went out now.
    pub async fn notify(
        &self,
        event: &Event,
        notifier: &dyn Notifier,
        log: &dyn DeliveryLog,
    ) -> Result<usize, NotifyFailure> {
        let Some(facts) = &event.facts else {
            // stored before events carried their facts: rendering from the booking as it is
            // now could say something untrue, so it is passed over
            tracing::warn!(session = %event.session_id, version = event.version, "event without facts not notified");
            return Ok(0);
        };
        let purpose = Purpose::Event(event.action);
        let mut outcome = Delivered::default();
        for role in recipients(event) {
            let who = facts.party(role);
            let Some(profile) = self.profiles.get_profile(&who.id).await? else {
                continue;
            };
            let r = render_event(event, facts, role, profile.zone(), &self.config.app_url);
            let key = format!(
                "event:{}:{}:{}",
                event.session_id,
                event.version,
                role.as_str()
            );
            outcome += self
                .deliver(&key, event.session_id, purpose, &profile, &r, notifier, log)
                .await;
        }
        outcome.result()
    }

    /// Sends every reminder due now (see `notifications::due_reminder`), once each, to the
    /// parties who keep reminders on. Returns how many messages went out.
    pub async fn remind_due(
        &self,
        notifier: &dyn Notifier,
        log: &dyn DeliveryLog,
    ) -> Result<usize, NotifyFailure> {
        let now = self.clock.now();
        let mut outcome = Delivered::default();
        for candidate in self.sessions.reminder_candidates(now).await? {
            if due_reminder(&candidate, now).is_none() {
                continue;
            }
            // the candidates come from an index, which may lag a change by a moment: judge
            // and render from the booking as it is (a client who just paid is not told to pay)
            let Some(s) = self.sessions.get(candidate.id).await? else {
                continue;
            };
            let Some((purpose, roles, about)) = due_reminder(&s, now) else {
                continue;
            };
            let facts = EventFacts::of(&s);
            for role in roles {
                let Some(profile) = self.profiles.get_profile(&s.party(role).id).await? else {
                    continue;
                };
                if !profile.notify.reminders {
                    continue;
                }
                let r =
                    render_reminder(purpose, &facts, role, profile.zone(), &self.config.app_url);
                let key = format!(
                    "{}:{}:{}:{}",
                    purpose.name(),
                    s.id,
                    about.timestamp(),
                    role.as_str()
                );
                outcome += self
                    .deliver(&key, s.id, purpose, &profile, &r, notifier, log)
                    .await;
            }
        }
        outcome.result()
    }

    /// Sends an alert about someone's own account to the contacts it carries (as they were
    /// before the change), by SMS and email whatever their notification choices, each message
    /// once.
    pub async fn send_alert(
        &self,
        alert: &AccountAlert,
        notifier: &dyn Notifier,
        log: &dyn DeliveryLog,
    ) -> Result<usize, NotifyFailure> {
        let r = render_alert(alert, &self.config.app_url);
        let envelope = Envelope {
            recipient: alert.user.clone(),
            session_id: None,
            purpose: alert.what.name().to_owned(),
        };
        let key = format!("alert:{}", alert.id);
        self.send_claimed(
            &key,
            &envelope,
            messages(alert.phone.as_ref(), alert.email.as_deref(), &r),
            notifier,
            log,
        )
        .await
        .result()
    }

    /// One rendered message to one person, by each channel they chose.
    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        &self,
        key: &str,
        session_id: SessionId,
        purpose: Purpose,
        to: &Profile,
        r: &Rendered,
        notifier: &dyn Notifier,
        log: &dyn DeliveryLog,
    ) -> Delivered {
        let envelope = Envelope {
            recipient: to.user_id.clone(),
            session_id: Some(session_id),
            purpose: purpose.name(),
        };
        let phone = to.sms_phone().filter(|_| to.notify.sms);
        let email = to.email.as_deref().filter(|_| to.notify.email);
        self.send_claimed(key, &envelope, messages(phone, email, r), notifier, log)
            .await
    }

    /// Each message claimed in `log` first, then sent, then settled. A failed channel is
    /// released (the retry sends it) and the others still go.
    async fn send_claimed(
        &self,
        key: &str,
        envelope: &Envelope,
        messages: Vec<(&'static str, Message)>,
        notifier: &dyn Notifier,
        log: &dyn DeliveryLog,
    ) -> Delivered {
        let mut out = Delivered::default();
        for (channel, message) in messages {
            let key = format!("{key}:{channel}");
            match log.claim(&key, self.clock.now()).await {
                Ok(Claim::Fresh) => {}
                Ok(Claim::Sent) => continue,
                Ok(Claim::InFlight) => {
                    tracing::warn!(%key, "message claimed by an attempt that never settled; not sent again");
                    continue;
                }
                Err(e) => {
                    out.failed.get_or_insert(NotifyFailure::Store(e));
                    continue;
                }
            }
            let sent = notifier.send(envelope, &message).await;
            let record = SentMessage {
                recipient: envelope.recipient.clone(),
                session_id: envelope.session_id,
                purpose: envelope.purpose.clone(),
                channel: channel.to_owned(),
                at: self.clock.now(),
                key: key.clone(),
            };
            if let Err(e) = log.settle(&key, sent.is_ok().then_some(&record)).await {
                out.failed.get_or_insert(NotifyFailure::Store(e));
            }
            match sent {
                Ok(()) => {
                    out.sent += 1;
                    tracing::info!(session = ?envelope.session_id.map(|s| s.to_string()), purpose = %envelope.purpose, channel, "notified");
                }
                Err(e) => {
                    out.failed.get_or_insert(NotifyFailure::Send(e));
                }
            }
        }
        out
    }

    /// Sends up to 100 account alerts and delivers up to 100 events `feed` has written since
    /// `reader`'s last positions (one for each), then saves the positions (the rest wait for the
    /// next pass). Unlike the Lambda notifier, which reports a failed record for the stream to
    /// retry, a failed delivery here is logged and passed over: the dev server's outbox is a
    /// log, and one bad profile must not stop the rest.
    pub async fn pump_feed(
        &self,
        feed: &dyn EventFeed,
        notifier: &dyn Notifier,
        log: &dyn DeliveryLog,
        reader: &str,
    ) -> Result<usize, BookingError> {
        let alerts_reader = format!("{reader}:alerts");
        let from = feed.load_position(&alerts_reader).await?;
        let alerts = feed.alerts_after(from, 100).await?;
        for (_, a) in &alerts {
            if let Err(err) = self.send_alert(a, notifier, log).await {
                tracing::warn!(user = %a.user, error = %err, "alert failed");
            }
        }
        if let Some((last, _)) = alerts.last() {
            feed.save_position(&alerts_reader, *last).await?;
        }
        let from = feed.load_position(reader).await?;
        let events = feed.events_after(from, 100).await?;
        let Some(last) = events.last().map(|(p, _)| *p) else {
            return Ok(alerts.len());
        };
        for (_, e) in &events {
            if let Err(err) = self.notify(e, notifier, log).await {
                tracing::warn!(session = %e.session_id, error = %err, "notification failed");
            }
        }
        feed.save_position(reader, last).await?;
        Ok(alerts.len() + events.len())
    }
}

/// The SMS and email of `r` to whichever of `phone` and `email` there are.
fn messages(
    phone: Option<&PhoneNumber>,
    email: Option<&str>,
    r: &Rendered,
) -> Vec<(&'static str, Message)> {
    let mut out = Vec::new();
    if let Some(phone) = phone {
        out.push((
            "sms",
            Message::Sms {
                to: phone.e164().to_owned(),
                body: r.sms.clone(),
            },
        ));
    }
    if let Some(email) = email {
        out.push((
            "email",
            Message::Email {
                to: email.to_owned(),
                subject: r.subject.clone(),
                body: r.email.clone(),
            },
        ));
    }
    out
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
