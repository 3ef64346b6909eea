//! The booking domain: plain data and pure functions, no I/O. Everything a reader needs to
//! check Kikao against SPEC.md (outside this repository: `../shared/SPEC.md`) is in `lifecycle` (statuses, who may do what, deadlines) and
//! the newtypes that parse input at the boundary.

mod alert;
mod audit;
mod availability;
mod change;
mod erasure;
mod ids;
mod lifecycle;
mod money;
mod mpesa;
mod payment_checks;
mod phone;
mod privacy;
mod profile;
mod schedule;
mod session;
mod text;
mod views;

pub use alert::{AccountAlert, AlertKind};
pub use audit::{AuditAction, AuditEntry};
pub use availability::{
    Availability, AvailabilityDraft, Held, TimeOff, TimeOffDraft, Unavailable, WeeklyHours,
    WeeklyHoursDraft, DEFAULT_HORIZON_DAYS, DEFAULT_NOTICE_MINUTES, MAX_BUFFER_MINUTES,
    MAX_HORIZON_DAYS, MAX_NOTICE_MINUTES,
};
pub use change::{BookingQuota, Change, SlotCell, Tally, UserSummary};
pub use erasure::{ERASED_NAME, ERASURE_CONFIRMATION, ERASURE_REASON};
pub use ids::{SessionId, UserId};
pub use lifecycle::{
    available_actions, available_transitions, awaits, book, decide, expires_at, holds_slot,
    payment_verified, permitted, reason_need, refund_due_on_cancel, role_may, Action,
    BookingRequest, Command, PaymentClaim, Policy, ReasonNeed, Refusal, Who,
};
pub use money::{Kes, MAX_KES};
pub use mpesa::{
    daraja_time, reconcile, refused_url_word, stk_failure, stk_password, stk_timestamp,
    BookingReference, BusinessAccount, BusinessKind, CallbackToken, Checkout, CheckoutState,
    Completeness, MpesaAmount, MpesaMessageError, MpesaReceipt, OtherKind, Payer, PaymentKind,
    ReceivedPayment, Reconciled, ShortCode, Statement, StatementError, StatementRow,
    StkQueryResult, StkRequest, TransactionCode, Verdict, STK_QUERY_AFTER, STK_QUERY_EVERY,
};
pub use payment_checks::{Check, Claimed, Outcome, PaymentChecks};
pub use phone::PhoneNumber;
pub use privacy::{Consent, NoticeSection, PrivacyNotice, PRIVACY_NOTICE};
pub use profile::{
    NotificationChoices, Profile, ProfileError, ProfileUpdate, PsychologistDetails, SessionType,
    SessionTypeDraft, SessionTypeId, DEFAULT_TIME_ZONE,
};
pub use schedule::{cells, check_grid, parse_instant, ScheduleError, SLOT_MINUTES};
pub use session::{
    ActorRef, Event, EventFacts, Party, Payment, ProofFile, RejectedPayment, RescheduleProposal,
    Role, Session, SessionTypeRef, Status,
};
pub use text::{Note, Reason, TextError};
pub use views::{view_of, View};
