//! A booking as stored and the event recorded with every change to it.

use super::{
    BookingReference, BusinessAccount, BusinessKind, Kes, PhoneNumber, SessionId, TransactionCode,
    UserId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The eight statuses of SPEC.md, with their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PendingApproval,
    Approved,
    PaymentSubmitted,
    Confirmed,
    InProgress,
    Completed,
    Declined,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::PendingApproval,
        Status::Approved,
        Status::PaymentSubmitted,
        Status::Confirmed,
        Status::InProgress,
        Status::Completed,
        Status::Declined,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingApproval => "pending_approval",
            Status::Approved => "approved",
            Status::PaymentSubmitted => "payment_submitted",
            Status::Confirmed => "confirmed",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Declined => "declined",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Psychologist,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Psychologist => "psychologist",
        }
    }
}

/// Who made a change: a party, or the system (expiry). `role` is `client`, `psychologist`
/// or `system` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<UserId>,
}

impl ActorRef {
    pub fn user(id: UserId, role: Role) -> Self {
        Self {
            role: role.as_str().to_owned(),
            id: Some(id),
        }
    }
    pub fn system() -> Self {
        Self {
            role: "system".to_owned(),
            id: None,
        }
    }
    pub fn role(&self) -> Option<Role> {
        match self.role.as_str() {
            "client" => Some(Role::Client),
            "psychologist" => Some(Role::Psychologist),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: UserId,
    pub name: String,
}

/// The session type as it was when booked: later price changes do not touch a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTypeRef {
    pub id: String,
    pub name: String,
    pub duration_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub transaction_code: TransactionCode,
    pub submitted_at: DateTime<Utc>,
    /// What the pasted SMS said was sent; `None` when only a code was given.
    pub amount_kes_claimed: Option<Kes>,
    pub paid_at: Option<DateTime<Utc>>,
    pub recipient: Option<String>,
    /// Absent in payments stored before it was read from messages.
    #[serde(default)]
    pub recipient_phone: Option<String>,
    pub proof_key: Option<String>,
    /// The version of the screenshot at submission: what the psychologist sees is exactly what
    /// was submitted, whatever is uploaded under the key later.
    #[serde(default)]
    pub proof_version: Option<String>,
    /// What the screenshot was at submission, as the store reported it (its type and size):
    /// the person's export says what was kept without handing over the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_file: Option<ProofFile>,
    pub rejection_reason: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    /// M-Pesa itself reported this payment into the psychologist's Till or Paybill (not a code
    /// the client typed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_mpesa: bool,
    /// The payer's first name as M-Pesa has it, when M-Pesa reported the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
}

/// A stored screenshot's type and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofFile {
    pub content_type: String,
    pub size_bytes: u64,
}

/// A payment proof the psychologist rejected. Its code stays claimed by this booking (no other
/// booking may use it), and it may come back here with a clearer screenshot; the psychologist
/// is then shown this beside it, not a proof that looks fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedPayment {
    pub transaction_code: TransactionCode,
    pub rejected_at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescheduleProposal {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub proposed_by: Role,
    pub proposed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub status: Status,
    pub client: Party,
    pub psychologist: Party,
    pub session_type: SessionTypeRef,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub price_kes: Kes,
    pub note: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    pub approved_at: Option<DateTime<Utc>>,
    pub payment_deadline: Option<DateTime<Utc>>,
    /// The psychologist's M-Pesa number as it was at approval: the instructions the client
    /// follows must not change under them.
    pub mpesa_number: Option<PhoneNumber>,
    /// The Till or Paybill as it was at approval, if the psychologist was paid through one then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessAccount>,
    pub decline_reason: Option<String>,
    pub payment: Option<Payment>,
    /// Every rejected proof, oldest first (absent in sessions stored before it was kept).
    #[serde(default)]
    pub rejected_payments: Vec<RejectedPayment>,
    pub meeting_link: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub refund_due: bool,
    pub reschedule: Option<RescheduleProposal>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn party_role(&self, user: &UserId) -> Option<Role> {
        if &self.client.id == user {
            Some(Role::Client)
        } else if &self.psychologist.id == user {
            Some(Role::Psychologist)
        } else {
            None
        }
    }

    pub fn party(&self, role: Role) -> &Party {
        match role {
            Role::Client => &self.client,
            Role::Psychologist => &self.psychologist,
        }
    }

    /// What the client types as the Paybill account for this booking.
    pub fn reference(&self) -> BookingReference {
        BookingReference::of(self.id)
    }
}

/// One change to a session, written in the same store operation as the change itself.
/// `version` is the session's version after the change, so (session, version) is unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub session_id: SessionId,
    pub version: u64,
    pub at: DateTime<Utc>,
    pub actor: ActorRef,
    pub action: super::Action,
    pub from: Option<Status>,
    pub to: Status,
    pub note: Option<String>,
    /// The booking as it was right after this change; absent in events stored before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<EventFacts>,
}

/// What an event's messages say, as it was at the event. The notifier renders from this and
/// never from the booking as it is when the notifier runs: an "approved, pay by …" sent after
/// the client already paid would otherwise have no deadline, and a proposal answered meanwhile
/// no new time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFacts {
    pub client: Party,
    pub psychologist: Party,
    pub session_type: String,
    pub starts_at: DateTime<Utc>,
    pub price_kes: Kes,
    pub payment_deadline: Option<DateTime<Utc>>,
    pub mpesa_number: Option<PhoneNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessAccount>,
    /// The Paybill account to type (the booking reference), with a Paybill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<BookingReference>,
    pub proposed_starts_at: Option<DateTime<Utc>>,
    pub transaction_code: Option<TransactionCode>,
    pub refund_due: bool,
}

impl EventFacts {
    pub fn of(s: &Session) -> Self {
        Self {
            client: s.client.clone(),
            psychologist: s.psychologist.clone(),
            session_type: s.session_type.name.clone(),
            starts_at: s.starts_at,
            price_kes: s.price_kes,
            payment_deadline: s.payment_deadline,
            mpesa_number: s.mpesa_number.clone(),
            business: s.business.clone(),
            account: s
                .business
                .as_ref()
                .filter(|b| b.kind == BusinessKind::Paybill)
                .map(|_| s.reference()),
            proposed_starts_at: s.reschedule.as_ref().map(|r| r.starts_at),
            transaction_code: s.payment.as_ref().map(|p| p.transaction_code.clone()),
            refund_due: s.refund_due,
        }
    }

    pub fn party(&self, role: Role) -> &Party {
        match role {
            Role::Client => &self.client,
            Role::Psychologist => &self.psychologist,
        }
    }
}
