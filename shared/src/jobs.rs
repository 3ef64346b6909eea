//! The work that happens after a change: expiring bookings nobody answered or paid, and telling
//! the other party about each event. Both the dev server's background loops and the Lambda
//! notifier and expiry functions call these, so they behave alike.

use crate::domain::{decide, Change, Command, Event, Policy};
use crate::notifications::{recipients, render};
use crate::ports::{
    EventFeed, Message, Notifier, ProfileStore, SessionReader, SessionStore, StoreError,
};
use chrono::{DateTime, Utc};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpiryReport {
    pub expired: usize,
    /// Changed by a party between the read and the write: their action stands.
    pub skipped: usize,
}

/// Cancels every session whose answer or payment deadline has passed, through the same rules
/// and store write as any other change (so slots are released and an event is recorded).
pub async fn expire_due(
    store: &dyn SessionStore,
    now: DateTime<Utc>,
    policy: &Policy,
    batch: usize,
) -> Result<ExpiryReport, StoreError> {
    let mut report = ExpiryReport::default();
    loop {
        let due = store.due_for_expiry(now, batch).await?;
        let n = due.len();
        for s in due {
            match decide(&s, None, Command::Expire, now, policy) {
                Ok((next, event)) => {
                    match store.write(&Change::new(Some(&s), next, event), None).await {
                        Ok(()) => report.expired += 1,
                        Err(StoreError::VersionConflict) => report.skipped += 1,
                        Err(e) => return Err(e),
                    }
                }
                Err(_) => report.skipped += 1,
            }
        }
        if n < batch || report.skipped >= batch {
            return Ok(report);
        }
    }
}

/// Sends what `event` means to each party who should hear of it, by the channels they chose.
/// Returns how many messages went out.
pub async fn notify_event(
    event: &Event,
    sessions: &dyn SessionReader,
    profiles: &dyn ProfileStore,
    notifier: &dyn Notifier,
) -> Result<usize, String> {
    let Some(session) = sessions
        .get(event.session_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(0);
    };
    let mut sent = 0;
    for role in recipients(event) {
        let who = &session.party(role).id;
        let Some(profile) = profiles.get_profile(who).await.map_err(|e| e.to_string())? else {
            continue;
        };
        let tz = profile
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Africa::Nairobi);
        let r = render(event, &session, role, tz);
        if let (true, Some(phone)) = (profile.notify.sms, &profile.phone) {
            notifier
                .send(
                    who,
                    &Message::Sms {
                        to: phone.e164().to_owned(),
                        body: r.sms.clone(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            sent += 1;
        }
        if let (true, Some(email)) = (profile.notify.email, &profile.email) {
            notifier
                .send(
                    who,
                    &Message::Email {
                        to: email.clone(),
                        subject: r.subject.clone(),
                        body: r.email.clone(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            sent += 1;
        }
        tracing::info!(session = %session.id, action = ?event.action, to = role.as_str(), "notified");
    }
    Ok(sent)
}

/// Delivers every event written since this reader's last position, then saves the position.
/// A failed delivery is logged and passed over: a notification never blocks the next ones.
pub async fn pump_feed<F: EventFeed + SessionReader + ProfileStore>(
    store: &F,
    notifier: &dyn Notifier,
    reader: &str,
) -> Result<usize, StoreError> {
    let from = store.load_position(reader).await?;
    let events = store.events_after(from, 100).await?;
    let Some(last) = events.last().map(|(p, _)| *p) else {
        return Ok(0);
    };
    for (_, e) in &events {
        if let Err(err) = notify_event(e, store, store, notifier).await {
            tracing::warn!(session = %e.session_id, error = %err, "notification failed");
        }
    }
    store.save_position(reader, last).await?;
    Ok(events.len())
}

/// What the notifier function does with one batch from the table's stream: every new event item
/// is rendered and sent; anything else (sessions, slots, summaries) is passed over. Returns the
/// sequence numbers of the records that failed, for the partial batch response: a poisoned or
/// undeliverable record is reported, and the others are still sent.
pub async fn notify_stream_batch(
    records: &[aws_lambda_events::event::dynamodb::EventRecord],
    sessions: &dyn SessionReader,
    profiles: &dyn ProfileStore,
    notifier: &dyn Notifier,
) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct EventItem {
        doc: Event,
    }
    let mut failed = Vec::new();
    for r in records.iter().filter(|r| r.event_name == "INSERT") {
        let image = r.change.new_image.clone();
        let kind: Option<Kind> = serde_dynamo::from_item(image.clone()).ok();
        if kind.and_then(|k| k.kind).as_deref() != Some("event") {
            continue;
        }
        let outcome = match serde_dynamo::from_item::<_, EventItem>(image) {
            Ok(item) => notify_event(&item.doc, sessions, profiles, notifier)
                .await
                .map(|_| ()),
            Err(e) => Err(format!("unreadable event item: {e}")),
        };
        if let Err(e) = outcome {
            tracing::warn!(record = %r.event_id, error = %e, "stream record failed");
            failed.push(
                r.change
                    .sequence_number
                    .clone()
                    .unwrap_or_else(|| r.event_id.clone()),
            );
        }
    }
    failed
}
