//! What each event tells the other party, by SMS (one 160-character GSM-7 message where
//! possible) and by email. Rendering is pure; `jobs::notify_event` decides who gets what.

use crate::domain::{Action, Event, Kes, Role, Session, Status};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub const SMS_LIMIT: usize = 160;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub sms: String,
    pub subject: String,
    pub email: String,
}

/// Who hears about an event: the other party, or both when the system acted.
pub fn recipients(event: &Event) -> Vec<Role> {
    match event.actor.role() {
        Some(Role::Client) => vec![Role::Psychologist],
        Some(Role::Psychologist) => vec![Role::Client],
        None => vec![Role::Client, Role::Psychologist],
    }
}

fn when(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!(
            "{}...",
            s.chars().take(max.saturating_sub(3)).collect::<String>()
        )
    }
}

pub fn render(event: &Event, s: &Session, to: Role, tz: Tz) -> Rendered {
    let at = when(s.starts_at, tz);
    let other = |r: Role| clip(&s.party(r).name, 30);
    let client = other(Role::Client);
    let psy = other(Role::Psychologist);
    let note = clip(event.note.as_deref().unwrap_or(""), 60);
    let kind = clip(&s.session_type.name, 30);
    let (subject, text) = match event.action {
        Action::Book => (
            "New booking request".to_owned(),
            format!("New request from {client}: {kind}, {at}. Approve or decline in Kikao."),
        ),
        Action::Approve => {
            let number = s.mpesa_number.as_ref().map(|n| n.local_display()).unwrap_or_default();
            let by = s.payment_deadline.map(|d| when(d, tz)).unwrap_or_default();
            (
                "Approved: please pay".to_owned(),
                format!("{psy} approved {at}. Send {} to M-Pesa {number} by {by}, then submit the code in Kikao.", Kes::to_string(&s.price_kes)),
            )
        }
        Action::Decline => ("Booking declined".to_owned(), format!("{psy} declined {at}. Reason: {note}")),
        Action::Cancel => {
            let by = other(if to == Role::Client { Role::Psychologist } else { Role::Client });
            let refund = if s.refund_due { " A refund is due." } else { "" };
            let why = if note.is_empty() { String::new() } else { format!(" Reason: {note}") };
            ("Session cancelled".to_owned(), format!("{by} cancelled {at}.{why}{refund}"))
        }
        Action::SubmitPayment => {
            let code = s.payment.as_ref().map(|p| p.transaction_code.to_string()).unwrap_or_default();
            ("Payment submitted".to_owned(), format!("{client} sent M-Pesa payment {code} for {at}. Verify it in Kikao."))
        }
        Action::VerifyPayment => (
            "Session confirmed".to_owned(),
            format!("Payment verified. Your session with {psy}, {at}, is confirmed. The join link is in Kikao."),
        ),
        Action::RejectPayment => (
            "Payment not verified".to_owned(),
            format!("{psy} could not verify your payment for {at}: {note}. Please pay again in Kikao."),
        ),
        Action::Reschedule => {
            let by = other(if to == Role::Client { Role::Psychologist } else { Role::Client });
            let new = s.reschedule.as_ref().map(|r| when(r.starts_at, tz)).unwrap_or_default();
            ("New time proposed".to_owned(), format!("{by} proposes moving {at} to {new}. Accept or decline in Kikao."))
        }
        Action::AcceptReschedule => ("Session moved".to_owned(), format!("Your session is moved to {at}.")),
        Action::DeclineReschedule => ("New time declined".to_owned(), format!("The new time was declined; your session stays at {at}.")),
        Action::Start => ("Session started".to_owned(), format!("{psy} has started your session. Join now from Kikao.")),
        Action::Complete => ("Session completed".to_owned(), format!("Your session with {psy} is complete. Thank you.")),
        Action::Expire => (
            "Booking expired".to_owned(),
            if event.from == Some(Status::PendingApproval) {
                format!("The request for {at} expired without an answer.")
            } else {
                format!("The booking for {at} was cancelled: payment was not received in time.")
            },
        ),
    };
    let sms = clip(&format!("Kikao: {text}"), SMS_LIMIT);
    Rendered {
        email: format!("{text}\n\nOpen Kikao to see the booking and its history."),
        subject: format!("Kikao: {subject}"),
        sms,
    }
}
