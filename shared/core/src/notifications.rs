//! What each event and each reminder tells its recipient, by SMS and by email. Rendering is
//! pure and reads only the event's own facts (`EventFacts`, recorded with the change), never
//! the booking as it is when the message goes out.
//!
//! An SMS carries no text a person wrote — no names, notes or reasons, which anyone could fill
//! with a phishing line sent under Kikao's sender ID — only times, amounts, a validated M-Pesa
//! number or transaction code, and the dashboard's address. Every template fits one 160-character
//! GSM-7 message (tested at the longest values). The email says everything, reasons included.

use crate::domain::{
    AccountAlert, Action, AlertKind, BusinessKind, Event, EventFacts, Role, Session, Status,
};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

pub const SMS_LIMIT: usize = 160;
/// How long before a confirmed session the first reminder goes.
pub const SESSION_REMINDER_HOURS: i64 = 24;
/// How long before an unpaid booking's payment deadline the client is reminded.
pub const PAYMENT_REMINDER_HOURS: i64 = 3;

/// The reminder `s` is due at `now`, if any: what, for whom, and the time it is about. That
/// time is part of the reminder's identity, so a session moved after its reminder went out is
/// reminded again about its new time, and never again about the old one.
///
/// A confirmed session gets the 24-hour reminder from 24 h to 1 h before its start and the 1-hour
/// one in its last hour (a late pass sends the one that still makes sense, not both), unless it
/// was confirmed, moved or otherwise changed inside that window: its own message went out
/// minutes ago. An approved booking's client is reminded in the 3 hours before the payment
/// deadline, unless the approval itself came inside those hours (it already says "pay by").
pub fn due_reminder(
    s: &Session,
    now: DateTime<Utc>,
) -> Option<(Purpose, Vec<Role>, DateTime<Utc>)> {
    let both = || vec![Role::Client, Role::Psychologist];
    match s.status {
        Status::Confirmed if now < s.starts_at => {
            let last_hour = s.starts_at - Duration::hours(1);
            let last_day = s.starts_at - Duration::hours(SESSION_REMINDER_HOURS);
            if now >= last_hour {
                (s.updated_at < last_hour).then(|| (Purpose::Reminder1h, both(), s.starts_at))
            } else if now >= last_day {
                (s.updated_at < last_day).then(|| (Purpose::Reminder24h, both(), s.starts_at))
            } else {
                None
            }
        }
        Status::Approved => {
            let deadline = s.payment_deadline?;
            let opens = deadline - Duration::hours(PAYMENT_REMINDER_HOURS);
            let approved_before = s.approved_at.is_some_and(|a| a < opens);
            (now >= opens && now < deadline && approved_before)
                .then(|| (Purpose::PaymentReminder, vec![Role::Client], deadline))
        }
        _ => None,
    }
}

/// Why a message goes out: an event, or one of the reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Event(Action),
    /// 24 hours before a confirmed session, to both parties.
    Reminder24h,
    /// 1 hour before a confirmed session, to both parties.
    Reminder1h,
    /// 3 hours before an approved booking's payment deadline, to the client.
    PaymentReminder,
}

impl Purpose {
    /// As `/dev/notifications` and the delivery log name it: the event's action
    /// (`approve`, `cancel`, …) or `reminder_24h`, `reminder_1h`, `payment_reminder`.
    pub fn name(self) -> String {
        match self {
            Purpose::Event(a) => serde_json::to_value(a)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            Purpose::Reminder24h => "reminder_24h".into(),
            Purpose::Reminder1h => "reminder_1h".into(),
            Purpose::PaymentReminder => "payment_reminder".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub sms: String,
    pub subject: String,
    pub email: String,
}

/// Who hears about an event: the other party, or both when the system acted (except a
/// withdrawal, which the client hears of: the psychologist is the one who left).
pub fn recipients(event: &Event) -> Vec<Role> {
    if event.action == Action::Withdraw {
        return vec![Role::Client];
    }
    match event.actor.role() {
        Some(Role::Client) => vec![Role::Psychologist],
        Some(Role::Psychologist) => vec![Role::Client],
        None => vec![Role::Client, Role::Psychologist],
    }
}

fn when(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

/// What the client must pay, to whom and by when: "KSh 2,000", "M-Pesa 0712 345 678" (or
/// "Till 600000", "Paybill 600000 acc KK7Q2M3X"), a time.
fn payment_terms(f: &EventFacts, tz: Tz) -> (String, String, String) {
    let to = match (&f.business, &f.account) {
        (Some(b), Some(account)) if b.kind == BusinessKind::Paybill => {
            format!("Paybill {} acc {account}", b.shortcode)
        }
        (Some(b), _) => format!("{} {}", title_case(b.kind.as_str()), b.shortcode),
        (None, _) => format!(
            "M-Pesa {}",
            f.mpesa_number
                .as_ref()
                .map(|n| n.local_display())
                .unwrap_or_default()
        ),
    };
    let by = f.payment_deadline.map(|d| when(d, tz));
    (f.price_kes.to_string(), to, by.unwrap_or_default())
}

fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Psychologist,
        Role::Psychologist => Role::Client,
    }
}

/// The message for `to` about `event`, in `to`'s time zone; `app` is the dashboard's address.
pub fn render_event(event: &Event, f: &EventFacts, to: Role, tz: Tz, app: &str) -> Rendered {
    let at = when(f.starts_at, tz);
    let client = &f.client.name;
    let psy = &f.psychologist.name;
    let them = &f.party(other(to)).name;
    let kind = &f.session_type;
    let (price, pay_to, by) = payment_terms(f, tz);
    // through a Till or Paybill, M-Pesa tells Kikao of the payment: nothing to send back
    let then_send = if f.business.is_some() {
        ". Details:"
    } else {
        ", then send the code at"
    };
    let code = f
        .transaction_code
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let reason = event
        .note
        .as_deref()
        .map(|n| format!("\n\nReason given: \u{201c}{n}\u{201d}"))
        .unwrap_or_default();
    let refund = if f.refund_due {
        " A refund is due."
    } else {
        ""
    };
    // (subject, SMS text without the "Kikao: " prefix and the address, email text)
    let (subject, sms, email) = match event.action {
        Action::Book => (
            "New booking request".to_owned(),
            format!("New booking request for {at}. Approve or decline:"),
            format!(
                "{client} asks for {kind} on {at}.{}",
                event
                    .note
                    .as_deref()
                    .map(|n| format!("\n\nTheir note: \u{201c}{n}\u{201d}"))
                    .unwrap_or_default()
            ),
        ),
        Action::Approve => (
            "Approved: please pay".to_owned(),
            format!("{at} approved. Pay {price} to {pay_to} by {by}{then_send}"),
            format!(
                "{psy} approved your {kind} on {at}. Send {price} to {pay_to} by {by}, {}",
                if f.business.is_some() {
                    "and the booking is confirmed as soon as M-Pesa tells Kikao of the payment."
                } else {
                    "then submit the transaction code in Kikao."
                }
            ),
        ),
        Action::Decline => (
            "Booking declined".to_owned(),
            format!("Your request for {at} was declined. See why and book another time:"),
            format!("{psy} declined your request for {kind} on {at}.{reason}"),
        ),
        Action::Cancel => (
            "Session cancelled".to_owned(),
            format!("The session on {at} was cancelled.{refund} Details:"),
            format!("{them} cancelled the {kind} on {at}.{refund}{reason}"),
        ),
        Action::SubmitPayment => (
            "Payment submitted".to_owned(),
            format!("M-Pesa payment {code} was submitted for {at}. Verify it:"),
            format!("{client} submitted M-Pesa payment {code} for the {kind} on {at}. Compare it with your M-Pesa messages, then verify or reject it in Kikao."),
        ),
        Action::VerifyPayment => (
            "Session confirmed".to_owned(),
            format!("Payment verified. Your session on {at} is confirmed. Join from"),
            format!("{psy} verified your payment. Your {kind} on {at} is confirmed; the join link is in Kikao."),
        ),
        Action::PaidByMpesa if to == Role::Psychologist => (
            "Paid by M-Pesa: session confirmed".to_owned(),
            format!("M-Pesa payment {code} of {price} received; {at} is confirmed. Details:"),
            format!("M-Pesa reported {client}'s payment of {price} ({code}) into your account, so the {kind} on {at} was confirmed automatically. Nothing to verify."),
        ),
        Action::PaidByMpesa | Action::AttachPayment => (
            "Session confirmed".to_owned(),
            format!("Payment {code} received. Your session on {at} is confirmed. Join from"),
            format!("Your M-Pesa payment {code} for the {kind} with {psy} on {at} was received; the session is confirmed and the join link is in Kikao."),
        ),
        Action::RejectPayment => (
            "Payment not verified".to_owned(),
            format!("Your payment for {at} could not be verified. See why and pay again:"),
            format!("{psy} could not verify your payment {code} for the {kind} on {at}. You can pay again in Kikao.{reason}"),
        ),
        Action::Reschedule => {
            let new = f.proposed_starts_at.map(|t| when(t, tz)).unwrap_or_default();
            (
                "New time proposed".to_owned(),
                format!("A new time is proposed for your {at} session: {new}. Answer at"),
                format!("{them} proposes moving the {kind} on {at} to {new}. Accept or decline in Kikao."),
            )
        }
        Action::AcceptReschedule => (
            "Session moved".to_owned(),
            format!("The new time was accepted: your session is now {at}. Details:"),
            format!("{them} accepted the new time: your {kind} is now on {at}."),
        ),
        Action::DeclineReschedule => (
            "New time declined".to_owned(),
            format!("The new time was declined; your session stays on {at}. Details:"),
            format!("{them} declined the new time; your {kind} stays on {at}."),
        ),
        Action::Start => (
            "Session started".to_owned(),
            "Your session has started. Join now from".to_owned(),
            format!("{psy} has started your {kind}. Join now from Kikao."),
        ),
        Action::Complete => (
            "Session completed".to_owned(),
            "Your session is complete. Thank you. Book again at".to_owned(),
            format!("Your {kind} with {psy} is complete. Thank you."),
        ),
        Action::Withdraw => (
            "Session cancelled".to_owned(),
            format!("Your psychologist has left the practice; the session on {at} was cancelled.{refund} Details:"),
            format!("{psy} is no longer with the practice, so the {kind} on {at} was cancelled.{refund} Book another psychologist in Kikao."),
        ),
        Action::Expire => {
            let unanswered = event.from == Some(Status::PendingApproval);
            (
                "Booking expired".to_owned(),
                if unanswered {
                    format!("The request for {at} expired without an answer. Details:")
                } else {
                    format!("The booking for {at} was cancelled: no payment in time. Details:")
                },
                if unanswered {
                    format!("The request for {kind} on {at} expired without an answer.")
                } else {
                    format!("The {kind} on {at} was cancelled: payment was not received in time.")
                },
            )
        }
    };
    finish(&subject, &sms, &email, app)
}

/// A reminder for `to` about the booking as `f` describes it now.
pub fn render_reminder(purpose: Purpose, f: &EventFacts, to: Role, tz: Tz, app: &str) -> Rendered {
    let at = when(f.starts_at, tz);
    let them = &f.party(other(to)).name;
    let kind = &f.session_type;
    let (subject, sms, email) = match purpose {
        Purpose::Reminder24h => (
            "Your session is coming up".to_owned(),
            format!("Reminder: your session is on {at}. Details:"),
            format!("A reminder: your {kind} with {them} is on {at}."),
        ),
        Purpose::Reminder1h => (
            "Your session starts in an hour".to_owned(),
            format!("Your session starts in an hour, {at}. Join from"),
            format!("Your {kind} with {them} starts in an hour, {at}. The join link is in Kikao."),
        ),
        Purpose::PaymentReminder | Purpose::Event(_) => {
            let (price, pay_to, by) = payment_terms(f, tz);
            (
                "Payment due soon".to_owned(),
                format!("Pay {price} to {pay_to} by {by} to keep your {at} booking:"),
                format!("To keep your {kind} with {them} on {at}, send {price} to {pay_to} by {by}{}. After that the booking is cancelled.", if f.business.is_some() { "" } else { " and submit the code in Kikao" }),
            )
        }
    };
    finish(&subject, &sms, &email, app)
}

/// The message about an alert on someone's own account: what changed, when, and what to do if
/// it was not them. The SMS names only the new number's last three digits (an SMS can be read on
/// a locked screen); the email names both numbers.
pub fn render_alert(alert: &AccountAlert, app: &str) -> Rendered {
    let tz: Tz = alert
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Africa::Nairobi);
    let at = when(alert.at, tz);
    match &alert.what {
        AlertKind::MpesaNumberChanged { from, to } => {
            let shown = |n: &Option<crate::domain::PhoneNumber>| {
                n.as_ref()
                    .map(|n| n.local_display())
                    .unwrap_or_else(|| "none".to_owned())
            };
            let tail: String = to
                .as_ref()
                .map(|n| n.e164().chars().rev().take(3).collect::<Vec<_>>())
                .map(|d| d.into_iter().rev().collect())
                .unwrap_or_else(|| "---".to_owned());
            Rendered {
                sms: format!("Kikao: your M-Pesa number was changed {at} to one ending {tail}. Not you? Sign in now and change it back: {app}"),
                subject: "Kikao: your M-Pesa number was changed".to_owned(),
                email: format!(
                    "Hello {},\n\nThe M-Pesa number your clients pay to was changed on {at}, from {} to {}.\n\nIf you did this, there is nothing to do. If you did not, someone else can sign in to your account: sign in at {app}, put your number back, change your password, and tell the practice administrator. Clients whose bookings were already approved still see the number they were approved with.",
                    alert.name,
                    shown(from),
                    shown(to),
                ),
            }
        }
        AlertKind::BusinessAccountChanged { from, to } => {
            let shown = |b: &Option<crate::domain::BusinessAccount>| match b {
                Some(b) => format!("{} {}", title_case(b.kind.as_str()), b.shortcode),
                None => "your personal M-Pesa number".to_owned(),
            };
            Rendered {
                sms: format!("Kikao: where your clients pay was changed {at} to {}. Not you? Sign in now and change it back: {app}", shown(to)),
                subject: "Kikao: where your clients pay was changed".to_owned(),
                email: format!(
                    "Hello {},\n\nWhere your clients pay was changed on {at}, from {} to {}.\n\nIf you did this, there is nothing to do. If you did not, someone else can sign in to your account: sign in at {app}, put it back, change your password, and tell the practice administrator. Clients whose bookings were already approved still see where they were told to pay at approval.",
                    alert.name,
                    shown(from),
                    shown(to),
                ),
            }
        }
    }
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn finish(subject: &str, sms: &str, email: &str, app: &str) -> Rendered {
    Rendered {
        sms: format!("Kikao: {sms} {app}"),
        subject: format!("Kikao: {subject}"),
        email: format!("{email}\n\nOpen Kikao to see the booking and its history: {app}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        ActorRef, Kes, Party, PhoneNumber, SessionId, TransactionCode, UserId, MAX_KES,
    };

    #[test]
    fn an_m_pesa_number_alert_fits_one_sms_and_names_only_the_new_numbers_end() {
        let before = crate::domain::Profile::from_claims(
            UserId::parse("psy-1").unwrap(),
            Role::Psychologist,
            &"W".repeat(80),
            Some("amani@example.test"),
            Some("+254700000101"),
            "2030-01-07T06:00:00Z".parse().unwrap(),
        );
        let alert = AccountAlert::new(
            &before,
            AlertKind::MpesaNumberChanged {
                from: PhoneNumber::parse("0700000111"),
                to: PhoneNumber::parse("0711222999"),
            },
            "2030-01-07T11:05:00Z".parse().unwrap(),
        );
        let r = render_alert(&alert, APP);
        assert!(
            r.sms.chars().count() <= 160 && r.sms.chars().all(gsm7),
            "{}",
            r.sms
        );
        assert!(
            r.sms.contains("ending 999") && r.sms.contains("Mon 7 Jan 14:05"),
            "{}",
            r.sms
        );
        assert!(
            !r.sms.contains("711") && !r.sms.contains("222"),
            "{}",
            r.sms
        );
        assert!(
            r.email.contains("0700 000 111") && r.email.contains("0711 222 999"),
            "{}",
            r.email
        );
    }

    /// GSM 03.38's basic character set: what one 160-character SMS can carry.
    fn gsm7(c: char) -> bool {
        c.is_ascii_alphanumeric()
            || " \n\r@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà".contains(c)
    }

    /// The longest values each field can hold.
    fn longest() -> EventFacts {
        let name = |s: &str| Party {
            id: UserId::parse(s).unwrap(),
            name: "W".repeat(80),
        };
        let december = "2030-12-25T07:00:00Z".parse().unwrap();
        EventFacts {
            client: name("c"),
            psychologist: name("p"),
            session_type: "T".repeat(80),
            starts_at: december,
            price_kes: Kes::new(MAX_KES).unwrap(),
            payment_deadline: Some(december),
            mpesa_number: PhoneNumber::parse("0712345678"),
            business: Some(crate::domain::BusinessAccount {
                kind: BusinessKind::Paybill,
                shortcode: crate::domain::ShortCode::parse("1234567").unwrap(),
            }),
            account: crate::domain::BookingReference::typed("KK123456"),
            proposed_starts_at: Some(december),
            transaction_code: TransactionCode::parse("QK71ABC123"),
            refund_due: true,
        }
    }

    /// A CloudFront distribution's own address, as long as any custom domain is likely to be.
    const APP: &str = "https://d1a2b3c4d5e6f7.cloudfront.net/";

    fn event(action: Action, actor: Option<Role>, from: Option<Status>) -> Event {
        Event {
            session_id: SessionId::new(),
            version: 2,
            at: Utc::now(),
            actor: match actor {
                Some(r) => ActorRef::user(UserId::parse("x").unwrap(), r),
                None => ActorRef::system(),
            },
            action,
            from,
            to: Status::Cancelled,
            note: Some("Call me on 0700 000 000 at http://evil.example now".into()),
            facts: Some(longest()),
        }
    }

    fn every_message() -> Vec<(String, Rendered)> {
        let mut personal = longest();
        personal.business = None;
        personal.account = None;
        let mut out = messages_of(&longest());
        out.extend(messages_of(&personal));
        out
    }

    fn messages_of(f: &EventFacts) -> Vec<(String, Rendered)> {
        use Action::*;
        let f = f.clone();
        let mut out = Vec::new();
        for action in [
            Book,
            Approve,
            Decline,
            Cancel,
            SubmitPayment,
            VerifyPayment,
            RejectPayment,
            Reschedule,
            AcceptReschedule,
            DeclineReschedule,
            Start,
            Complete,
            Expire,
            Withdraw,
            PaidByMpesa,
            AttachPayment,
        ] {
            for from in [Some(Status::PendingApproval), Some(Status::Approved)] {
                for actor in [Some(Role::Client), Some(Role::Psychologist), None] {
                    let e = event(action, actor, from);
                    for to in recipients(&e) {
                        for tz in [chrono_tz::Africa::Nairobi, chrono_tz::Europe::London] {
                            out.push((
                                format!("{action:?} to {to:?}"),
                                render_event(&e, &f, to, tz, APP),
                            ));
                        }
                    }
                }
            }
        }
        for p in [
            Purpose::Reminder24h,
            Purpose::Reminder1h,
            Purpose::PaymentReminder,
        ] {
            for to in [Role::Client, Role::Psychologist] {
                out.push((
                    format!("{p:?}"),
                    render_reminder(p, &f, to, chrono_tz::Africa::Nairobi, APP),
                ));
            }
        }
        out
    }

    #[test]
    fn every_sms_is_one_gsm7_message_at_the_longest_values() {
        for (what, r) in every_message() {
            assert!(
                r.sms.chars().count() <= SMS_LIMIT,
                "{what}: {} characters: {}",
                r.sms.chars().count(),
                r.sms
            );
            assert!(r.sms.chars().all(gsm7), "{what}: not GSM-7: {}", r.sms);
            assert!(r.sms.ends_with(APP), "{what}: no address: {}", r.sms);
        }
    }

    #[test]
    fn no_sms_carries_text_a_person_wrote_and_every_email_names_the_people() {
        for (what, r) in every_message() {
            assert!(!r.sms.contains("WWW"), "{what}: a name in {}", r.sms);
            assert!(
                !r.sms.contains("TTT"),
                "{what}: a session type in {}",
                r.sms
            );
            assert!(
                !r.sms.contains("evil"),
                "{what}: a note or reason in {}",
                r.sms
            );
            assert!(
                r.email.contains("WWW") || what.contains("Start") || what.contains("Expire"),
                "{what}: {}",
                r.email
            );
        }
        // reasons reach the email of the actions that take one
        let e = event(Action::Decline, Some(Role::Psychologist), None);
        let r = render_event(
            &e,
            &longest(),
            Role::Client,
            chrono_tz::Africa::Nairobi,
            APP,
        );
        assert!(r.email.contains("evil.example"), "{}", r.email);
    }

    #[test]
    fn reminders_fall_due_once_per_window_and_not_right_after_a_change() {
        use crate::domain::{book, BookingRequest, SessionType, SessionTypeId};
        let t0: DateTime<Utc> = "2030-01-07T06:00:00Z".parse().unwrap();
        let start = t0 + Duration::days(3);
        let (mut s, _) = book(
            BookingRequest {
                client: longest().client,
                psychologist: longest().psychologist,
                session_type: SessionType {
                    id: SessionTypeId::parse("t").unwrap(),
                    name: "Individual".into(),
                    duration_minutes: 60,
                    price_kes: Kes::new(2000).unwrap(),
                },
                starts_at: start,
                note: None,
            },
            t0,
        );
        s.status = Status::Confirmed;
        let kind =
            |at: DateTime<Utc>, s: &Session| due_reminder(s, at).map(|(p, _, about)| (p, about));
        assert_eq!(kind(start - Duration::hours(25), &s), None);
        assert_eq!(
            kind(start - Duration::hours(23), &s),
            Some((Purpose::Reminder24h, start))
        );
        assert_eq!(
            kind(start - Duration::minutes(59), &s),
            Some((Purpose::Reminder1h, start))
        );
        assert_eq!(kind(start, &s), None, "started");
        // confirmed (or moved) 10 hours before: its own message has just gone, so no 24-hour
        // reminder; the last hour's still comes
        s.updated_at = start - Duration::hours(10);
        assert_eq!(kind(start - Duration::hours(9), &s), None);
        assert_eq!(
            kind(start - Duration::minutes(30), &s),
            Some((Purpose::Reminder1h, start))
        );
        // a cancelled or pending booking is never reminded of its session
        s.status = Status::Cancelled;
        assert_eq!(kind(start - Duration::minutes(30), &s), None);
        // an approved one's client hears 3 hours before the deadline, if approved before then
        s.status = Status::Approved;
        let deadline = start - Duration::hours(24);
        (s.payment_deadline, s.approved_at) =
            (Some(deadline), Some(deadline - Duration::hours(20)));
        assert_eq!(kind(deadline - Duration::hours(4), &s), None);
        assert_eq!(
            due_reminder(&s, deadline - Duration::hours(2)).map(|(p, who, _)| (p, who)),
            Some((Purpose::PaymentReminder, vec![Role::Client]))
        );
        s.approved_at = Some(deadline - Duration::hours(2));
        assert_eq!(
            kind(deadline - Duration::hours(1), &s),
            None,
            "approved inside the window"
        );
    }

    #[test]
    fn the_message_says_what_was_true_at_the_event() {
        let mut f = longest();
        f.price_kes = Kes::new(2000).unwrap();
        f.payment_deadline = Some("2030-01-08T09:00:00Z".parse().unwrap());
        f.starts_at = "2030-01-10T07:00:00Z".parse().unwrap();
        let e = event(Action::Approve, Some(Role::Psychologist), None);
        let r = render_event(&e, &f, Role::Client, chrono_tz::Africa::Nairobi, APP);
        assert_eq!(
            r.sms,
            format!("Kikao: Thu 10 Jan 10:00 approved. Pay KSh 2,000 to Paybill 1234567 acc KK123456 by Tue 8 Jan 12:00. Details: {APP}")
        );
        f.business = None;
        f.account = None;
        let r = render_event(&e, &f, Role::Client, chrono_tz::Africa::Nairobi, APP);
        assert_eq!(
            r.sms,
            format!("Kikao: Thu 10 Jan 10:00 approved. Pay KSh 2,000 to M-Pesa 0712 345 678 by Tue 8 Jan 12:00, then send the code at {APP}")
        );
        let london = render_event(&e, &f, Role::Client, chrono_tz::Europe::London, APP);
        assert!(london.sms.contains("Thu 10 Jan 07:00"), "{}", london.sms);
        assert_eq!(
            Purpose::Event(Action::RejectPayment).name(),
            "reject_payment"
        );
        assert_eq!(Purpose::Reminder24h.name(), "reminder_24h");
    }
}
