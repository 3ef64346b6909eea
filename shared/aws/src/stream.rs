//! The table's DynamoDB stream, read back as events and alerts: what the notifier function does
//! with one batch. Every new event item is handed to the notify use case and every new account
//! alert to the alert use case; anything else (sessions, slots, summaries) is passed over.

use aws_lambda_events::event::dynamodb::EventRecord;
use kikao_core::bookings::Bookings;
use kikao_core::domain::{AccountAlert, Event};
use kikao_core::ports::{DeliveryLog, Notifier};

#[derive(serde::Deserialize)]
struct Kind {
    kind: Option<String>,
}

#[derive(serde::Deserialize)]
struct EventItem {
    doc: Event,
}

#[derive(serde::Deserialize)]
struct AlertItem {
    doc: AccountAlert,
}

/// Notifies every event item inserted in `records`. Returns the sequence numbers of the records
/// that failed, for the partial batch response: a poisoned or undeliverable record is reported
/// (the stream retries from it), and the others are still sent.
pub async fn notify_batch(
    records: &[EventRecord],
    bookings: &Bookings,
    notifier: &dyn Notifier,
    log: &dyn DeliveryLog,
) -> Vec<String> {
    let mut failed = Vec::new();
    for r in records.iter().filter(|r| r.event_name == "INSERT") {
        let image = r.change.new_image.clone();
        let kind: Option<Kind> = serde_dynamo::from_item(image.clone()).ok();
        let outcome = match kind.and_then(|k| k.kind).as_deref() {
            Some("event") => match serde_dynamo::from_item::<_, EventItem>(image) {
                Ok(item) => bookings
                    .notify(&item.doc, notifier, log)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("unreadable event item: {e}")),
            },
            Some("alert") => match serde_dynamo::from_item::<_, AlertItem>(image) {
                Ok(item) => bookings
                    .send_alert(&item.doc, notifier, log)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("unreadable alert item: {e}")),
            },
            _ => continue,
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
