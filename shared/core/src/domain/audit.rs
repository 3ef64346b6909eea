//! The audit trail: who looked at or changed what about whom, where the person concerned would
//! want to know (Kenya's Data Protection Act 2019): a payment screenshot viewed, a data export,
//! an erasure, a changed M-Pesa number, a psychologist invited or deactivated. Entries are only
//! ever appended, are kept `AUDIT_DAYS`, and name people by id only, so an erasure leaves them
//! standing. Each person finds the entries about them in their export.

use super::{SessionId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A party opened the payment screenshot of a booking.
    ProofViewed,
    /// The person downloaded their data.
    DataExported,
    /// The person erased their account.
    AccountErased,
    /// The M-Pesa number clients pay to changed.
    MpesaNumberChanged,
    /// The Till or Paybill clients pay to changed.
    BusinessAccountChanged,
    /// A practice administrator invited a psychologist.
    PsychologistInvited,
    /// A practice administrator ended a psychologist's access.
    PsychologistDeactivated,
}

/// One thing done, by whom, concerning whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    /// Who did it.
    pub actor: UserId,
    /// Whose data it concerns: the one whose export shows it (the actor, when it is their own).
    pub subject: UserId,
    /// The booking it concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
}

impl AuditEntry {
    pub fn new(
        action: AuditAction,
        actor: &UserId,
        subject: &UserId,
        session: Option<SessionId>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at,
            action,
            actor: actor.clone(),
            subject: subject.clone(),
            session,
        }
    }
}
