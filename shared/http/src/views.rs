//! What the API sends: sessions as a given party sees them (the status-specific fields, and the
//! `actions` the dashboards draw their buttons from), profiles and the directory.

use chrono::{DateTime, Utc};
use kikao_core::bookings::{
    Caller, Deactivation, Erasure, FreeSlots, ServedNotice, StatementCheck,
};
use kikao_core::domain::{
    available_transitions, awaits, payment_verified, reason_need, refund_due_on_cancel, view_of,
    Action, AuditAction, AuditEntry, Availability, BusinessKind, Claimed, Completeness, Event,
    MpesaReceipt, Outcome, PaymentChecks, Policy, Profile, ReasonNeed, Reconciled, Role, Session,
    Status, UserSummary, Verdict, View, PRIVACY_NOTICE,
};
use kikao_core::ports::{LedgerEntry, SentMessage, Settlement, Unmatched};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionTypeView {
    pub id: String,
    pub name: String,
    pub duration_minutes: u32,
}

/// Where and how the client pays, as it was at approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentInstructions {
    /// `personal` (send money to `mpesa_number`, then submit the code), `till` (Buy Goods to
    /// `business_number`) or `paybill` (to `business_number`, account `account`); through a
    /// Till or Paybill, M-Pesa tells Kikao of the payment and the booking confirms itself.
    pub method: &'static str,
    /// The psychologist's number, E.164 (`personal` only).
    pub mpesa_number: Option<String>,
    pub business_number: Option<String>,
    /// What to type as the Paybill account: the booking reference.
    pub account: Option<String>,
    pub amount_kes: u32,
    pub reference: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// M-Pesa itself reported this payment into the psychologist's Till or Paybill.
    pub by_mpesa: bool,
    /// The payer's first name as M-Pesa has it, when M-Pesa reported the payment.
    pub payer: Option<String>,
    pub transaction_code: String,
    pub submitted_at: DateTime<Utc>,
    pub amount_kes_claimed: Option<u32>,
    pub paid_at: Option<DateTime<Utc>>,
    pub recipient: Option<String>,
    pub recipient_phone: Option<String>,
    /// The claim against the booking: amount, recipient, date (as at submission).
    pub checks: ChecksView,
    pub has_proof: bool,
    /// The screenshot's type and size as stored at submission (none without one).
    pub proof_file: Option<ProofFileView>,
    pub rejection_reason: Option<String>,
    /// When this proof's code was rejected on this booking before (the client sent it again).
    pub earlier_rejection: Option<EarlierRejection>,
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProofFileView {
    pub content_type: String,
    pub size_bytes: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EarlierRejection {
    pub rejected_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// How a payment compares with its booking, each point in words; the page colours them by
/// `outcome` and shows `summary` first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecksView {
    #[schema(example = "Matches amount, recipient and date")]
    pub summary: String,
    pub all_match: bool,
    pub items: Vec<CheckView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    /// `amount`, `recipient` or `date`.
    #[schema(example = "amount")]
    pub about: &'static str,
    pub outcome: Outcome,
    #[schema(example = "KSh 2,000 = price")]
    pub text: String,
    /// For the date check: the message's own time, shown in the viewer's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl From<&PaymentChecks> for ChecksView {
    fn from(c: &PaymentChecks) -> Self {
        let items: Vec<CheckView> = c
            .all()
            .iter()
            .map(|&(about, check)| CheckView {
                about,
                outcome: check.outcome,
                text: check.text.clone(),
                at: check.at,
            })
            .collect();
        Self {
            summary: c.summary(),
            all_match: items.iter().all(|i| i.outcome == Outcome::Matches),
            items,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RescheduleView {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub proposed_by: Role,
    pub proposed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub version: u64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub action: Action,
    pub from: Option<Status>,
    pub to: Status,
    pub note: Option<String>,
}

/// One change to one of the caller's bookings, as the bell lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub session_id: String,
    pub at: DateTime<Utc>,
    /// Who made it: `client`, `psychologist` or `system`.
    pub by: String,
    pub action: Action,
    /// The status it led to.
    pub to: Status,
    /// The other party of the booking, by name.
    pub with: String,
    /// When the booking's session is (now).
    pub starts_at: DateTime<Utc>,
}

impl ChangeView {
    pub fn new(s: &Session, e: &Event, viewer: Role) -> Self {
        let other = match viewer {
            Role::Client => &s.psychologist,
            Role::Psychologist => &s.client,
        };
        Self {
            session_id: s.id.to_string(),
            at: e.at,
            by: e.actor.role.clone(),
            action: e.action,
            to: e.to,
            with: other.name.clone(),
            starts_at: s.starts_at,
        }
    }
}

/// The latest changes to the caller's bookings (`GET /api/me/changes`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeList {
    /// Newest first, at most 20.
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub status: Status,
    pub client: PartyView,
    pub psychologist: PartyView,
    pub session_type: SessionTypeView,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub price_kes: u32,
    pub note: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    pub approved_at: Option<DateTime<Utc>>,
    pub payment_deadline: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub payment_instructions: Option<PaymentInstructions>,
    pub payment: Option<PaymentView>,
    pub meeting_link: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub refund_due: bool,
    pub reschedule: Option<RescheduleView>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// What this caller may do now; the dashboards draw their buttons from this.
    pub actions: Vec<Action>,
    /// The status each of `actions` leads to.
    pub next_status: BTreeMap<Action, Status>,
    /// For each of `actions` that takes a reason, whether this caller must give one
    /// (`required`) or may (`optional`); the other party reads it.
    pub reasons: BTreeMap<Action, ReasonNeed>,
    /// Whether the psychologist has confirmed the payment.
    pub paid: bool,
    /// Whether cancelling now would record a refund as due (the client has paid).
    pub refund_if_cancelled: bool,
    /// For the psychologist's pending requests: whether its time overlaps a session they
    /// already hold (approving it would be `slot_taken`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlaps_held_session: Option<bool>,
    /// The dashboard section it belongs in for this caller (`GET /api/sessions?view=`).
    pub view: View,
    /// Whether the booking is waiting on this caller.
    pub action_required: bool,
    /// Whether it is waiting on the other party (the page then polls more often for a while).
    pub awaiting_other_party: bool,
    /// Every change, oldest first: only in `GET /api/sessions/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EventView>>,
}

impl SessionView {
    pub fn new(s: &Session, viewer: Role, now: DateTime<Utc>, policy: &Policy) -> Self {
        let payment_instructions = match (viewer, s.status, &s.business, &s.mpesa_number) {
            (Role::Client, Status::Approved, Some(b), _) => Some(PaymentInstructions {
                method: b.kind.as_str(),
                mpesa_number: None,
                business_number: Some(b.shortcode.to_string()),
                account: (b.kind == BusinessKind::Paybill).then(|| s.reference().to_string()),
                amount_kes: s.price_kes.amount(),
                reference: s.reference().to_string(),
            }),
            (Role::Client, Status::Approved, None, Some(number)) => Some(PaymentInstructions {
                method: "personal",
                mpesa_number: Some(number.e164().to_owned()),
                business_number: None,
                account: None,
                amount_kes: s.price_kes.amount(),
                reference: s.client.name.clone(),
            }),
            _ => None,
        };
        let link_visible = matches!(s.status, Status::Confirmed | Status::InProgress);
        let transitions = available_transitions(s, viewer, now, policy);
        Self {
            id: s.id.to_string(),
            status: s.status,
            client: PartyView {
                id: s.client.id.to_string(),
                name: s.client.name.clone(),
            },
            psychologist: PartyView {
                id: s.psychologist.id.to_string(),
                name: s.psychologist.name.clone(),
            },
            session_type: SessionTypeView {
                id: s.session_type.id.clone(),
                name: s.session_type.name.clone(),
                duration_minutes: s.session_type.duration_minutes,
            },
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            price_kes: s.price_kes.amount(),
            note: s.note.clone(),
            requested_at: s.requested_at,
            updated_at: s.updated_at,
            version: s.version,
            approved_at: s.approved_at,
            payment_deadline: s.payment_deadline,
            decline_reason: s.decline_reason.clone(),
            payment_instructions,
            payment: s.payment.as_ref().map(|p| PaymentView {
                transaction_code: p.transaction_code.to_string(),
                submitted_at: p.submitted_at,
                amount_kes_claimed: p.amount_kes_claimed.map(|k| k.amount()),
                paid_at: p.paid_at,
                recipient: p.recipient.clone(),
                recipient_phone: p.recipient_phone.clone(),
                checks: ChecksView::from(&PaymentChecks::new(s, &Claimed::from(p), p.submitted_at)),
                has_proof: p.proof_key.is_some(),
                proof_file: p.proof_file.as_ref().map(|f| ProofFileView {
                    content_type: f.content_type.clone(),
                    size_bytes: f.size_bytes,
                }),
                rejection_reason: p.rejection_reason.clone(),
                earlier_rejection: s
                    .rejected_payments
                    .iter()
                    .rev()
                    .find(|r| {
                        p.rejection_reason.is_none() && r.transaction_code == p.transaction_code
                    })
                    .map(|r| EarlierRejection {
                        rejected_at: r.rejected_at,
                        reason: r.reason.clone(),
                    }),
                verified_at: p.verified_at,
                by_mpesa: p.by_mpesa,
                payer: p.payer.clone(),
            }),
            meeting_link: if link_visible {
                s.meeting_link.clone()
            } else {
                None
            },
            cancel_reason: s.cancel_reason.clone(),
            cancelled_by: s.cancelled_by.clone(),
            refund_due: s.refund_due,
            reschedule: s.reschedule.as_ref().map(|r| RescheduleView {
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                proposed_by: r.proposed_by,
                proposed_at: r.proposed_at,
            }),
            started_at: s.started_at,
            completed_at: s.completed_at,
            actions: transitions.iter().map(|(a, _)| *a).collect(),
            reasons: transitions
                .iter()
                .filter_map(|(a, _)| reason_need(*a, viewer).map(|n| (*a, n)))
                .collect(),
            next_status: transitions.into_iter().collect(),
            paid: payment_verified(s.status),
            refund_if_cancelled: refund_due_on_cancel(s.status),
            overlaps_held_session: None,
            view: view_of(s, viewer),
            action_required: awaits(s, viewer),
            awaiting_other_party: awaits(
                s,
                match viewer {
                    Role::Client => Role::Psychologist,
                    Role::Psychologist => Role::Client,
                },
            ),
            history: None,
        }
    }

    pub fn with_history(mut self, events: &[Event]) -> Self {
        self.history = Some(
            events
                .iter()
                .map(|e| EventView {
                    version: e.version,
                    at: e.at,
                    by: e.actor.role.clone(),
                    action: e.action,
                    from: e.from,
                    to: e.to,
                    note: e.note.clone(),
                })
                .collect(),
        );
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// In the order asked for: by last activity (no `view`), in the view's order (`view`), or
    /// the earliest change first (`since`).
    pub sessions: Vec<SessionView>,
    /// Every status, zero included, over all of the caller's sessions (not just this page).
    pub counts: BTreeMap<Status, u64>,
    pub action_required: u64,
    /// Hand back as `cursor` for the next page (none with `since`).
    pub next_cursor: Option<String>,
    /// What to send as `since` on the next poll: when this list was read.
    pub next_since: DateTime<Utc>,
    /// With `since`: false when more changed than one answer holds, or when the time alone may
    /// have changed what can be done (the five-minute period of the `ETag` turned over since):
    /// then read the views again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
}

pub fn counts_of(summary: &UserSummary) -> BTreeMap<Status, u64> {
    Status::ALL
        .into_iter()
        .map(|s| (s, summary.counts.get(&s).copied().unwrap_or(0)))
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionTypePriced {
    pub id: String,
    pub name: String,
    pub duration_minutes: u32,
    pub price_kes: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The person has confirmed `phone` with a code sent to it. SMS go to no other number, so
    /// until then they get none (email still goes).
    pub phone_verified: bool,
    pub time_zone: String,
    pub notify_sms: bool,
    pub notify_email: bool,
    /// Reminders 24 h and 1 h before sessions (and, for clients, 3 h before a payment deadline).
    pub notify_reminders: bool,
    /// Psychologists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    /// Psychologists only: where clients pay, in E.164 form.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub mpesa_number: Option<Option<String>>,
    /// Psychologists only: `personal`, `till` or `paybill` (the same words `PUT /api/me` takes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<&'static str>,
    /// Psychologists with a Till or Paybill: its number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub business_number: Option<Option<String>>,
    /// Psychologists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_types: Option<Vec<SessionTypePriced>>,
    /// Psychologists only: when clients may book, in `time_zone`; the same shape `PUT /api/me`
    /// takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<kikao_core::domain::AvailabilityDraft>)]
    pub availability: Option<Availability>,
    /// A practice administrator: the Admin page is theirs.
    pub admin: bool,
    /// The caller's sign-in has a second factor (an authenticator app).
    pub mfa: bool,
    /// The caller's account needs a second factor before any change (psychologists and
    /// administrators): until `mfa`, every write answers 403 `mfa_required`.
    pub mfa_required: bool,
    /// The last version of the privacy notice the person accepted, and when.
    pub consent: Option<ConsentView>,
    /// The person has accepted the notice in force (`GET /api/privacy-notice`). A client cannot
    /// book until they have (403 `consent_required`); the dashboard asks.
    pub consent_current: bool,
}

/// That a person accepted a version of the privacy notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub version: String,
    pub at: DateTime<Utc>,
}

/// Everything Kikao holds about the caller (`GET /api/me/export`), in one document.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalDataView {
    /// Always `kikao-personal-data`.
    #[schema(example = "kikao-personal-data")]
    pub kind: &'static str,
    pub exported_at: DateTime<Utc>,
    pub profile: ProfileView,
    /// Every version of the privacy notice accepted, oldest first.
    pub consents: Vec<ConsentView>,
    /// Every booking, most recent activity first, as the caller sees it, with its history.
    pub bookings: Vec<SessionView>,
    /// The audit trail's entries about the caller, oldest first (this export's included): who
    /// viewed their payment screenshots, their exports and M-Pesa number changes, and (a
    /// psychologist's) their invitation and deactivation.
    pub audit: Vec<AuditEntryView>,
    /// Each SMS and email sent to the caller in the last 90 days, oldest first: when, why, about
    /// which booking and by which channel (Kikao keeps no copy of the words).
    pub messages: Vec<SentMessageView>,
    /// What Kikao holds about the person that this document does not carry, and where it is.
    pub not_included: Vec<&'static str>,
}

/// One entry of the audit trail, as its subject sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    /// The id of who did it (the caller's own, when it was them).
    pub by: String,
    /// The booking it concerned, if any.
    pub session_id: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        Self {
            at: e.at,
            action: e.action,
            by: e.actor.to_string(),
            session_id: e.session.map(|s| s.to_string()),
        }
    }
}

/// That one message went to the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentMessageView {
    pub at: DateTime<Utc>,
    /// `sms` (to the phone number on the profile then) or `email` (to the address).
    #[schema(example = "sms")]
    pub channel: String,
    /// Why: a booking's change (`approve`, `cancel`, …), a reminder (`reminder_24h`,
    /// `reminder_1h`, `payment_reminder`) or an alert about the account (`mpesa_number_changed`).
    #[schema(example = "reminder_24h")]
    pub about: String,
    /// The booking it concerned, if any.
    pub session_id: Option<String>,
}

impl From<&SentMessage> for SentMessageView {
    fn from(m: &SentMessage) -> Self {
        Self {
            at: m.at,
            channel: m.channel.clone(),
            about: m.purpose.clone(),
            session_id: m.session_id.map(|s| s.to_string()),
        }
    }
}

/// What an erasure did (`DELETE /api/me`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    /// Always true: the account is gone.
    pub erased: bool,
    /// Open bookings cancelled; each psychologist is told.
    pub cancelled_bookings: usize,
    /// Bookings kept in the psychologists' records, without the client.
    pub kept_bookings: usize,
    pub message: &'static str,
}

impl From<Erasure> for ErasureView {
    fn from(e: Erasure) -> Self {
        Self {
            erased: true,
            cancelled_bookings: e.cancelled,
            kept_bookings: e.kept,
            message: "Your account is closed and your data erased. Past bookings stay in your psychologist's records as the practice's record of payments, without your name, contact details or notes.",
        }
    }
}

/// Said in every export: the parts of a person's data that are not in the document itself.
pub const EXPORT_NOT_INCLUDED: &[&str] = &[
    "The words of the SMS and emails sent to you: Kikao keeps no copy. The messages list says when each was sent, why and by which channel, for the last 90 days.",
    "Payment screenshots: each booking's payment says whether one is stored (has_proof) and what it is (proof_file: its type and size); open the booking in Kikao to download the image.",
    "Your sign-in account (email, phone, password and two-step sign-in settings) is kept by the practice's sign-in service; system logs are kept 30 days. Write to the practice's privacy contact for either.",
];

/// The privacy notice in force, to be read before booking and accepted by its `version`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyNoticeView {
    /// Send this to `PUT /api/me/consent` to accept the notice.
    #[schema(example = "2026-11-29")]
    pub version: String,
    pub title: String,
    pub summary: String,
    pub sections: Vec<NoticeSectionView>,
    /// Where to write about one's data: the practice's address.
    pub contact: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeSectionView {
    pub heading: String,
    pub body: String,
}

impl From<&ServedNotice> for PrivacyNoticeView {
    fn from(n: &ServedNotice) -> Self {
        Self {
            version: n.version.to_owned(),
            title: n.title.to_owned(),
            summary: n.summary.to_owned(),
            sections: n
                .sections
                .iter()
                .map(|(heading, body)| NoticeSectionView {
                    heading: (*heading).to_owned(),
                    body: body.clone(),
                })
                .collect(),
            contact: n.contact.clone(),
        }
    }
}

impl ProfileView {
    /// The profile as its owner sees it, with what their token says of their sign-in.
    pub fn of(p: &Profile, c: &Caller) -> Self {
        Self {
            admin: c.admin,
            mfa: c.mfa,
            mfa_required: c.needs_mfa(),
            ..Self::from(p)
        }
    }
}

fn priced(p: &Profile) -> Vec<SessionTypePriced> {
    p.psychologist
        .iter()
        .flat_map(|d| &d.session_types)
        .map(|t| SessionTypePriced {
            id: t.id.as_str().to_owned(),
            name: t.name.clone(),
            duration_minutes: t.duration_minutes,
            price_kes: t.price_kes.amount(),
        })
        .collect()
}

impl From<&Profile> for ProfileView {
    fn from(p: &Profile) -> Self {
        let d = p.psychologist.as_ref();
        Self {
            id: p.user_id.to_string(),
            role: p.role,
            name: p.name.clone(),
            email: p.email.clone(),
            phone: p.phone.as_ref().map(|x| x.e164().to_owned()),
            phone_verified: p.phone_verified,
            time_zone: p.time_zone.clone(),
            notify_sms: p.notify.sms,
            notify_email: p.notify.email,
            notify_reminders: p.notify.reminders,
            title: d.map(|d| d.title.clone()),
            mpesa_number: d.map(|d| d.mpesa_number.as_ref().map(|m| m.e164().to_owned())),
            payment_method: d.map(|d| d.business.as_ref().map_or("personal", |b| b.kind.as_str())),
            business_number: d.map(|d| d.business.as_ref().map(|b| b.shortcode.to_string())),
            session_types: d.map(|_| priced(p)),
            availability: d.map(|d| d.availability.clone()),
            admin: false,
            mfa: false,
            mfa_required: p.role == Role::Psychologist,
            consent: p.consents.last().map(|c| ConsentView {
                version: c.version.clone(),
                at: c.at,
            }),
            consent_current: PRIVACY_NOTICE.accepted_in(&p.consents),
        }
    }
}

/// A psychologist as clients see them: no phone or M-Pesa number until a booking is approved.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryEntry {
    pub id: String,
    pub name: String,
    pub title: Option<String>,
    pub time_zone: String,
    pub session_types: Vec<SessionTypePriced>,
}

impl From<&Profile> for DirectoryEntry {
    fn from(p: &Profile) -> Self {
        Self {
            id: p.user_id.to_string(),
            name: p.name.clone(),
            title: p.psychologist.as_ref().and_then(|d| d.title.clone()),
            time_zone: p.time_zone.clone(),
            session_types: priced(p),
        }
    }
}

/// `GET /api/psychologists`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Directory {
    pub psychologists: Vec<DirectoryEntry>,
}

/// One free start.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// `GET /api/psychologists/{id}/availability`: every start a client may book in the range,
/// earliest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreeSlotsView {
    /// The psychologist's zone (their hours are wall-clock times there); show the slots in the
    /// viewer's own.
    #[schema(example = "Africa/Nairobi")]
    pub time_zone: String,
    pub slots: Vec<SlotView>,
}

impl From<&FreeSlots> for FreeSlotsView {
    fn from(f: &FreeSlots) -> Self {
        Self {
            time_zone: f.time_zone.name().to_owned(),
            slots: f
                .slots
                .iter()
                .map(|&(starts_at, ends_at)| SlotView { starts_at, ends_at })
                .collect(),
        }
    }
}

/// The header the upload must carry, as S3 signed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadHeaders {
    #[serde(rename = "content-type")]
    pub content_type: String,
}

/// `POST /api/sessions/{id}/payment-proof`: where to `PUT` the screenshot, then send `key` as
/// `proof_key` with the payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadInstructions {
    pub upload_url: String,
    /// Always `PUT`.
    pub method: String,
    pub headers: UploadHeaders,
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/payments/parse-mpesa`: what a pasted payment confirmation says.
#[derive(Debug, Serialize, ToSchema)]
pub struct MpesaReading {
    /// `send_money`, `pay_bill`, `buy_goods` (a till) or `pochi` (Pochi la Biashara).
    #[schema(example = "send_money")]
    pub kind: &'static str,
    #[schema(example = "QK71ABC123")]
    pub transaction_code: String,
    /// Shillings; cents only where M-Pesa printed them.
    #[schema(example = 2000)]
    pub amount_kes: f64,
    pub recipient_name: Option<String>,
    /// As printed, without spaces; masked numbers keep their stars (`0712***678`).
    #[schema(example = "0700000111")]
    pub recipient_phone: Option<String>,
    /// A pay bill's account number.
    pub account: Option<String>,
    /// From the message's own date and time (Nairobi); absent when it has none we can read.
    pub sent_at: Option<DateTime<Utc>>,
    /// Against the booking named in the request (`session_id`), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<ChecksView>,
}

impl From<&MpesaReceipt> for MpesaReading {
    fn from(r: &MpesaReceipt) -> Self {
        Self {
            kind: r.kind.as_str(),
            transaction_code: r.code.to_string(),
            amount_kes: r.amount.kes(),
            recipient_name: r.recipient.clone(),
            recipient_phone: r.recipient_phone.clone(),
            account: r.account.clone(),
            sent_at: r.sent_at,
            checks: None,
        }
    }
}

/// `GET /api/sessions/{id}/payment-proof`: a short-lived link to the screenshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A psychologist as the practice administrator sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerView {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// They have confirmed the number (until then they get no SMS).
    pub phone_verified: bool,
    /// Still with the practice: can sign in and be booked.
    pub active: bool,
    pub invited_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl From<&Profile> for PractitionerView {
    fn from(p: &Profile) -> Self {
        Self {
            id: p.user_id.to_string(),
            name: p.name.clone(),
            email: p.email.clone(),
            phone: p.phone.as_ref().map(|x| x.e164().to_owned()),
            phone_verified: p.phone_verified,
            active: p.active(),
            invited_at: p.created_at,
            deactivated_at: p.deactivated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Practitioners {
    /// By name, deactivated ones too.
    pub psychologists: Vec<PractitionerView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeactivationView {
    pub psychologist: PractitionerView,
    /// Open bookings this call withdrew; each client was told and a paid one marked for a
    /// refund.
    pub cancelled_bookings: usize,
}

impl From<&Deactivation> for DeactivationView {
    fn from(d: &Deactivation) -> Self {
        Self {
            psychologist: PractitionerView::from(&d.psychologist),
            cancelled_bookings: d.cancelled_bookings,
        }
    }
}

/// A payment M-Pesa reported into the psychologist's Till or Paybill that confirmed no
/// booking: what it was, and why, in words.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnmatchedPaymentView {
    pub receipt: String,
    pub amount_kes: u32,
    pub paid_at: DateTime<Utc>,
    /// The Paybill account the payer typed (none for a Till).
    pub account: Option<String>,
    /// The payer's first name as M-Pesa has it.
    pub payer: Option<String>,
    /// `no_reference`, `unknown_reference`, `amount_differs`, `ambiguous`,
    /// `no_longer_payable` or `code_used`.
    pub why: &'static str,
    pub explanation: &'static str,
    /// The booking it names, when it names one (`amount_differs`, `no_longer_payable`).
    pub session_id: Option<String>,
}

impl From<&LedgerEntry> for UnmatchedPaymentView {
    fn from(e: &LedgerEntry) -> Self {
        let (why, explanation, session) = match &e.settlement {
            Settlement::Unmatched(u) => match u {
                Unmatched::NoReference => ("no_reference", "No booking reference was typed as the account, and no one booking waiting for payment is for this amount from a client of this first name.", None),
                Unmatched::UnknownReference => ("unknown_reference", "The account typed is not the reference of any booking waiting for payment.", None),
                Unmatched::AmountDiffers { session } => ("amount_differs", "The reference is a booking's, but the amount is not its price.", Some(*session)),
                Unmatched::Ambiguous => ("ambiguous", "More than one booking waiting for payment fits this payment.", None),
                Unmatched::NoLongerPayable { session } => ("no_longer_payable", "The booking it was for had been cancelled, or paid otherwise, when the payment arrived: the money is the client's to get back.", Some(*session)),
                Unmatched::CodeUsed => ("code_used", "This M-Pesa code was already sent as proof for another booking.", None),
            },
            // only unmatched entries are listed
            _ => ("settled", "This payment is settled.", None),
        };
        Self {
            receipt: e.payment.receipt.to_string(),
            amount_kes: e.payment.amount.amount(),
            paid_at: e.payment.paid_at,
            account: e.payment.account.clone(),
            payer: e.payment.payer.clone(),
            why,
            explanation,
            session_id: session.map(|s| s.to_string()),
        }
    }
}

/// `POST /api/payments/statement`: what the psychologist's M-Pesa statement says about each
/// payment waiting to be verified. The statement itself is not kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementCheckView {
    /// Transactions read from the statement.
    #[schema(example = 42)]
    pub rows: usize,
    /// Lines that looked like a transaction but could not be read: check those payments by hand.
    pub unreadable_rows: usize,
    /// The first and last transaction in the statement.
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Whether the rows read add up to the totals in the statement's summary (`null`: it prints
    /// none, as a CSV). When false, `warning` says so: a payment may have been missed.
    pub totals_agree: Option<bool>,
    pub warning: Option<String>,
    /// Payments the statement shows received in full: verify them with `verify-payment`.
    pub matching: Vec<StatementMatchView>,
    /// Payments it does not prove, each with the reason.
    pub not_matching: Vec<StatementMatchView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementMatchView {
    pub session: SessionView,
    /// `paid`, `wrong_amount`, `before_approval`, `reversed`, `not_received`, `missing`,
    /// `mistyped` (not there, but the amount came in from someone with the client's name under a
    /// receipt no booking claims), `ends_before`, `starts_after` or `other_number` (approved
    /// with another M-Pesa number than the statement's).
    #[schema(example = "paid")]
    pub verdict: &'static str,
    /// A sentence for the psychologist.
    pub explanation: String,
    /// Who the statement says paid, and their number as it prints it (masked).
    pub payer_name: Option<String>,
    #[schema(example = "07******482")]
    pub payer_phone: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// Whether the payer's name shares a name with the client's; `null` when the statement
    /// shows no name. Often false when a relative paid.
    pub name_agrees: Option<bool>,
}

impl StatementCheckView {
    pub fn new(check: &StatementCheck, viewer: Role, now: DateTime<Utc>, policy: &Policy) -> Self {
        let view = |(s, r): &&(Session, Reconciled)| StatementMatchView {
            session: SessionView::new(s, viewer, now, policy),
            verdict: r.verdict.as_str(),
            explanation: r.verdict.explain(),
            payer_name: r.payer.as_ref().and_then(|p| p.name.clone()),
            payer_phone: r.payer.as_ref().and_then(|p| p.phone.clone()),
            received_at: r.received_at,
            name_agrees: r.name_agrees,
        };
        let (matching, not_matching): (Vec<_>, Vec<_>) = check
            .results
            .iter()
            .partition(|(_, r)| r.verdict == Verdict::Paid);
        Self {
            rows: check.rows,
            unreadable_rows: check.unreadable_rows,
            first: check.span.map(|(f, _)| f),
            last: check.span.map(|(_, l)| l),
            totals_agree: match check.completeness {
                Completeness::Unknown => None,
                Completeness::Agrees => Some(true),
                Completeness::Differs { .. } => Some(false),
            },
            warning: check.completeness.warning(),
            matching: matching.iter().map(view).collect(),
            not_matching: not_matching.iter().map(view).collect(),
        }
    }
}
