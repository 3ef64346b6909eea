//! The person's side of data protection (Kenya's Data Protection Act 2019): the privacy notice
//! as this practice serves it, their consent to it (health data is kept on informed consent, so
//! booking requires it), and the export of what Kikao holds about them (the right of access).

use super::{BookingError, Bookings, Caller};
use crate::domain::{
    AuditAction, AuditEntry, Consent, Event, PrivacyNotice, Profile, Session, PRIVACY_NOTICE,
};
use crate::ports::SentMessage;
use chrono::{DateTime, Utc};

/// The notice in force as this deployment serves it: its retention figures filled in, and the
/// practice's contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedNotice {
    pub version: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    /// Heading and text.
    pub sections: Vec<(&'static str, String)>,
    pub contact: String,
}

impl Bookings {
    pub fn privacy_notice(&self) -> ServedNotice {
        let days = self.config.proof_retention_days;
        let fill = |text: &str| {
            text.replace("{proof_days_max}", &(2 * days).to_string())
                .replace("{proof_days}", &days.to_string())
        };
        let n: PrivacyNotice = PRIVACY_NOTICE;
        ServedNotice {
            version: n.version,
            title: n.title,
            summary: n.summary,
            sections: n
                .sections
                .iter()
                .map(|s| (s.heading, fill(s.body)))
                .collect(),
            contact: self.config.privacy_contact.clone(),
        }
    }

    /// Records that the caller accepted `version`, which must be the notice in force (a page
    /// opened before a new version asks again). Accepting the same version twice keeps the
    /// first time.
    pub async fn record_consent(
        &self,
        caller: &Caller,
        version: &str,
    ) -> Result<Profile, BookingError> {
        if version != PRIVACY_NOTICE.version {
            return Err(BookingError::StaleNotice);
        }
        let mut profile = self.ensure_profile(caller).await?;
        if PRIVACY_NOTICE.accepted_in(&profile.consents) {
            return Ok(profile);
        }
        let now = self.clock.now();
        profile.consents.push(Consent {
            version: version.to_owned(),
            at: now,
        });
        profile.updated_at = now;
        self.profiles.put_profile(&profile).await?;
        tracing::info!(user = %caller.id, version, "privacy notice accepted");
        Ok(profile)
    }
}

/// Everything Kikao holds about a person, as `Bookings::export` gathers it: their profile (with
/// every consent), each of their bookings with its history, as they already see them, the audit
/// entries about them and the record of the messages sent to them.
#[derive(Debug, Clone)]
pub struct PersonalData {
    pub profile: Profile,
    /// Most recent activity first, each with its events oldest first.
    pub bookings: Vec<(Session, Vec<Event>)>,
    /// The audit trail's entries about them, this export's included.
    pub audit: Vec<AuditEntry>,
    /// The messages sent to them still on record (`retention::DELIVERY_DAYS`), oldest first.
    pub messages: Vec<SentMessage>,
    pub exported_at: DateTime<Utc>,
}

impl Bookings {
    /// The caller's data, for them to take away (the Act's right of access). Only their own
    /// profile and their own bookings are read, so nothing about anyone else appears beyond what
    /// those bookings already show them.
    pub async fn export(&self, caller: &Caller) -> Result<PersonalData, BookingError> {
        let profile = self.ensure_profile(caller).await?;
        self.audit(AuditAction::DataExported, &caller.id, &caller.id, None)
            .await?;
        let mut bookings = Vec::new();
        for s in self.every_session(&caller.id, caller.role, None).await? {
            let history = self.sessions.history(s.id).await?;
            bookings.push((s, history));
        }
        tracing::info!(user = %caller.id, bookings = bookings.len(), "personal data exported");
        Ok(PersonalData {
            profile,
            bookings,
            audit: self.audit.about(&caller.id).await?,
            messages: self.sent.sent_to(&caller.id).await?,
            exported_at: self.clock.now(),
        })
    }
}
