//! Notifications for the embedded default: appended as JSON lines to a log file that the dev
//! server shows at `/dev/notifications`, so a developer sees every SMS and email Kikao would
//! have sent, with nothing configured.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kikao_core::ports::{Envelope, Message, Notifier, NotifyError, Outbox};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedNotification {
    pub at: DateTime<Utc>,
    pub recipient: String,
    /// Absent in entries logged before they were recorded.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The event's action, or `reminder_24h`, `reminder_1h`, `payment_reminder`.
    #[serde(default)]
    pub purpose: Option<String>,
    pub message: serde_json::Value,
}

pub struct LogNotifier {
    path: PathBuf,
    lock: Mutex<()>,
}

impl LogNotifier {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            lock: Mutex::new(()),
        }
    }

    /// Drops every logged message that mentions any of `details` (a person's name, email
    /// address, phone number): the dev outbox stands in for the phones and mailboxes of an
    /// erased person, and for the messages about them. Returns how many were dropped.
    pub fn forget_lines(&self, details: &[String]) -> std::io::Result<usize> {
        // a detail too short to name anyone would take unrelated lines with it
        let details: Vec<&str> = details
            .iter()
            .map(String::as_str)
            .filter(|d| d.len() >= 3)
            .collect();
        // serde_json writes text as it is (only quotes, backslashes and control characters
        // are escaped), so a name or address is found as typed
        self.keep_only(|line| !details.iter().any(|d| line.contains(d)))
    }

    /// Drops the messages logged before `before`: the log is kept as long as the sent markers
    /// (`retention::DELIVERY_DAYS`) and does not grow without end. Returns how many went.
    pub fn prune(&self, before: DateTime<Utc>) -> std::io::Result<usize> {
        self.keep_only(|line| {
            serde_json::from_str::<LoggedNotification>(line).map_or(true, |n| n.at >= before)
        })
    }

    /// Rewrites the log with only the lines `keep` accepts; returns how many it dropped.
    fn keep_only(&self, keep: impl Fn(&str) -> bool) -> std::io::Result<usize> {
        let _guard = self
            .lock
            .lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut kept = String::with_capacity(text.len());
        let mut dropped = 0;
        for line in text.lines() {
            if keep(line) {
                kept.push_str(line);
                kept.push('\n');
            } else {
                dropped += 1;
            }
        }
        if dropped == 0 {
            return Ok(0);
        }
        // written whole, then moved over the old file: never half a log
        let tmp = self.path.with_extension("log.tmp");
        std::fs::write(&tmp, kept)?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(dropped)
    }

    /// The latest `n` notifications, newest first.
    pub fn recent(&self, n: usize) -> Vec<LoggedNotification> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines()
            .rev()
            .take(n)
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[async_trait]
impl Outbox for LogNotifier {
    async fn forget(&self, details: &[String]) -> Result<(), NotifyError> {
        self.forget_lines(details)
            .map(|_| ())
            .map_err(|e| NotifyError(e.to_string()))
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, envelope: &Envelope, message: &Message) -> Result<(), NotifyError> {
        let entry = LoggedNotification {
            at: Utc::now(),
            recipient: envelope.recipient.to_string(),
            session_id: envelope.session_id.map(|s| s.to_string()),
            purpose: Some(envelope.purpose.clone()),
            message: serde_json::to_value(message).map_err(|e| NotifyError(e.to_string()))?,
        };
        let line = serde_json::to_string(&entry).map_err(|e| NotifyError(e.to_string()))?;
        let _guard = self.lock.lock().map_err(|e| NotifyError(e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| NotifyError(e.to_string()))?;
        writeln!(f, "{line}").map_err(|e| NotifyError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at: &str, to: &str) -> String {
        serde_json::to_string(&LoggedNotification {
            at: at.parse().unwrap(),
            recipient: to.into(),
            session_id: None,
            purpose: Some("approve".into()),
            message: serde_json::json!({"channel": "sms", "to": "+254700000202", "body": format!("Kikao: for {to}")}),
        })
        .unwrap()
    }

    /// The log keeps what is younger than the cut-off and what names nobody forgotten.
    #[test]
    fn prune_drops_old_lines_and_forget_drops_a_persons() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogNotifier::new(&dir.path().join("n.log"));
        let lines = [
            line("2030-01-01T00:00:00Z", "client-old"),
            line("2030-04-01T00:00:00Z", "client-kevin"),
            line("2030-04-02T00:00:00Z", "psy-amani"),
        ];
        std::fs::write(dir.path().join("n.log"), lines.join("\n") + "\n").unwrap();
        assert_eq!(
            log.prune("2030-03-01T00:00:00Z".parse().unwrap()).unwrap(),
            1
        );
        let left: Vec<String> = log.recent(10).into_iter().map(|n| n.recipient).collect();
        assert_eq!(left, ["psy-amani", "client-kevin"]);
        assert_eq!(
            log.forget_lines(&["client-kevin".into(), "ab".into()])
                .unwrap(),
            1
        );
        let left: Vec<String> = log.recent(10).into_iter().map(|n| n.recipient).collect();
        assert_eq!(left, ["psy-amani"]);
    }
}
