//! How a payment claim compares with the booking it pays for. The amount is compared with the
//! price, the recipient with the M-Pesa number given at approval (or the psychologist's name
//! when the message shows no number), and the message's own time with the approval and with
//! now. The client sees this before submitting and the psychologist sees it when verifying,
//! each point in words. The checks only inform: the psychologist decides, since a till or pay
//! bill may well be their practice's.

use super::{Kes, MpesaAmount, MpesaReceipt, Payment, PhoneNumber, Session};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    Matches,
    Differs,
    /// Nothing to compare: only a code was typed, or the message lacked this detail.
    Unchecked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub outcome: Outcome,
    pub text: String,
    /// The time a date check is about (the message's own), for the page to show.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentChecks {
    pub amount: Check,
    pub recipient: Check,
    pub date: Check,
}

/// What a claim says it was: from a pasted message, or all `None` for a typed code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claimed<'a> {
    pub amount: Option<MpesaAmount>,
    pub recipient: Option<&'a str>,
    pub recipient_phone: Option<&'a str>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl<'a> From<&'a MpesaReceipt> for Claimed<'a> {
    fn from(r: &'a MpesaReceipt) -> Self {
        Self {
            amount: Some(r.amount),
            recipient: r.recipient.as_deref(),
            recipient_phone: r.recipient_phone.as_deref(),
            sent_at: r.sent_at,
        }
    }
}

/// A submitted payment as it was claimed, judged as at its submission.
impl<'a> From<&'a Payment> for Claimed<'a> {
    fn from(p: &'a Payment) -> Self {
        Self {
            amount: p.amount_kes_claimed.map(MpesaAmount::from),
            recipient: p.recipient.as_deref(),
            recipient_phone: p.recipient_phone.as_deref(),
            sent_at: p.paid_at,
        }
    }
}

/// M-Pesa prints times to the minute; an approval at 9:47:30 and a payment "at 9:47 PM" agree.
const CLOCK_SLACK: Duration = Duration::minutes(1);

/// Names on M-Pesa are registered names, without the titles people put before them.
const TITLES: [&str; 7] = ["DR", "MR", "MRS", "MS", "MISS", "PROF", "REV"];

impl PaymentChecks {
    pub fn new(session: &Session, claimed: &Claimed<'_>, now: DateTime<Utc>) -> Self {
        Self {
            amount: amount(claimed.amount, session.price_kes),
            recipient: recipient(claimed, session),
            date: date(claimed.sent_at, session.approved_at, now),
        }
    }

    pub fn all(&self) -> [(&'static str, &Check); 3] {
        [
            ("amount", &self.amount),
            ("recipient", &self.recipient),
            ("date", &self.date),
        ]
    }

    /// One line for the top of the list.
    pub fn summary(&self) -> String {
        let all = self.all();
        if all.iter().all(|(_, c)| c.outcome == Outcome::Matches) {
            return "Matches amount, recipient and date".to_owned();
        }
        if all.iter().all(|(_, c)| c.outcome == Outcome::Unchecked) {
            return "Only a transaction code was given, so nothing could be checked: compare it with your M-Pesa statement.".to_owned();
        }
        let differs: Vec<&str> = all
            .iter()
            .filter(|(_, c)| c.outcome == Outcome::Differs)
            .map(|(name, _)| *name)
            .collect();
        match differs.as_slice() {
            [] => "Nothing differs, but not everything could be checked".to_owned(),
            [one] => format!("Check the {one}: it differs from the booking"),
            [init @ .., last] => format!(
                "Check the {} and {last}: they differ from the booking",
                init.join(", ")
            ),
        }
    }
}

fn check(outcome: Outcome, text: impl Into<String>) -> Check {
    Check {
        outcome,
        text: text.into(),
        at: None,
    }
}

fn amount(claimed: Option<MpesaAmount>, price: Kes) -> Check {
    let Some(claimed) = claimed else {
        return check(
            Outcome::Unchecked,
            "No amount to compare: only a code was given",
        );
    };
    let price_text = MpesaAmount::from(price).to_string();
    if claimed.whole_kes() == Some(price) {
        check(Outcome::Matches, format!("{claimed} = price"))
    } else {
        check(Outcome::Differs, format!("{claimed} ≠ price {price_text}"))
    }
}

/// `0712***678` against `+254712345678`: every digit the message shows must agree.
fn same_number(shown: &str, number: &PhoneNumber) -> bool {
    let national = format!("0{}", &number.e164()[4..]);
    let shown = match shown.strip_prefix("254") {
        Some(rest) => format!("0{rest}"),
        None => shown.to_owned(),
    };
    shown.len() == national.len()
        && shown
            .bytes()
            .zip(national.bytes())
            .all(|(s, n)| s == b'*' || s == n)
}

fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_uppercase)
        .filter(|w| !TITLES.contains(&w.as_str()))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// "AMANI NJERI" is "Dr. Amani Njeri"; "AMANI W NJERI" is too (two names in common).
fn same_person(shown: &str, name: &str) -> bool {
    let (shown, name) = (name_words(shown), name_words(name));
    let common = shown.iter().filter(|w| name.contains(w)).count();
    !shown.is_empty() && (common == shown.len() || common >= 2)
}

fn recipient(claimed: &Claimed<'_>, session: &Session) -> Check {
    let name = claimed.recipient.unwrap_or("");
    let psychologist = &session.psychologist.name;
    match (claimed.recipient_phone, &session.mpesa_number) {
        (Some(shown), Some(number)) => {
            let to = format!("{name} {shown}").trim().to_owned();
            let visible = shown.bytes().filter(u8::is_ascii_digit).count();
            if same_number(shown, number) && visible >= 7 {
                check(
                    Outcome::Matches,
                    format!("Sent to {to}, the M-Pesa number for this booking"),
                )
            } else if same_number(shown, number) {
                // a heavily masked number (`07******78`) agrees with one number in a hundred
                check(
                    Outcome::Matches,
                    format!(
                        "Sent to {to}: the digits shown match the M-Pesa number for this booking"
                    ),
                )
            } else {
                check(
                    Outcome::Differs,
                    format!(
                        "Sent to {to}, not the M-Pesa number for this booking ({})",
                        number.local_display()
                    ),
                )
            }
        }
        _ if !name.is_empty() => {
            if same_person(name, psychologist) {
                check(Outcome::Matches, format!("Paid to {name}, {psychologist}"))
            } else {
                check(
                    Outcome::Differs,
                    format!("Paid to {name}, not {psychologist}"),
                )
            }
        }
        _ => check(
            Outcome::Unchecked,
            "No recipient to compare: only a code was given",
        ),
    }
}

/// The texts name no clock time: the page shows `at` in the viewer's own time zone, as it
/// shows every other time.
fn date(
    sent_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Check {
    let Some(sent) = sent_at else {
        return check(
            Outcome::Unchecked,
            "No date to compare: the message shows no time that could be read",
        );
    };
    let (outcome, text) = if sent > now + CLOCK_SLACK {
        (Outcome::Differs, "The message's own time is later than now")
    } else {
        match approved_at {
            None => (
                Outcome::Unchecked,
                "The booking is not approved yet, so the date cannot be compared",
            ),
            Some(approved) if sent + CLOCK_SLACK < approved => {
                (Outcome::Differs, "Sent before the booking was approved")
            }
            Some(_) => (Outcome::Matches, "Sent after approval"),
        }
    };
    Check {
        at: Some(sent),
        ..check(outcome, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Africa::Nairobi;

    fn n(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn visible_digits_are_compared() {
        assert!(same_number("0700000111", &n("0700 000 111")));
        assert!(same_number("254700000111", &n("0700 000 111")));
        assert!(same_number("0700***111", &n("0700 000 111")));
        assert!(same_number("07******11", &n("0700 000 111")));
        assert!(!same_number("0700***112", &n("0700 000 111")));
        assert!(!same_number("0711000111", &n("0700 000 111")));
    }

    #[test]
    fn names_are_compared_without_titles_or_case() {
        assert!(same_person("AMANI NJERI", "Dr. Amani Njeri"));
        assert!(same_person("AMANI  W NJERI", "Dr. Amani Njeri"));
        assert!(same_person("njeri", "Dr. Amani Njeri"));
        assert!(!same_person("AMANI AMANI WANJIKU", "Dr. Amani Njeri"));
        assert!(!same_person("JANE WANJIKU", "Dr. Amani Njeri"));
        assert!(!same_person("AMANI WELLNESS", "Dr. Amani Njeri"));
        assert!(!same_person("", "Dr. Amani Njeri"));
    }

    #[test]
    fn a_message_is_checked_point_by_point() {
        let mut s = crate::domain::lifecycle::tests::booked();
        s.psychologist.name = "Dr. Amani Njeri".into();
        s.mpesa_number = Some(n("0700000111"));
        let approved = s.requested_at + Duration::hours(2);
        s.approved_at = Some(approved);
        let now = approved + Duration::hours(1);
        let at = |t: DateTime<Utc>| {
            t.with_timezone(&Nairobi)
                .format("%-d/%-m/%y at %-I:%M %p")
                .to_string()
        };
        let price = s.price_kes.amount();
        let good = MpesaReceipt::parse(&format!(
            "QK71ABC123 Confirmed. Ksh{price}.00 sent to AMANI NJERI 0700***111 on {} New M-PESA balance is Ksh1.00.",
            at(approved + Duration::minutes(5))
        ))
        .unwrap();
        let claimed = Claimed::from;
        let c = PaymentChecks::new(&s, &claimed(&good), now);
        assert_eq!(c.summary(), "Matches amount, recipient and date");

        let bad = MpesaReceipt::parse(&format!(
            "QK71ABC123 Confirmed. Ksh{}.00 paid to JANE WANJIKU. on {} New M-PESA balance is Ksh1.00.",
            price - 1,
            at(approved - Duration::days(1))
        ))
        .unwrap();
        let c = PaymentChecks::new(&s, &claimed(&bad), now);
        assert_eq!(c.amount.outcome, Outcome::Differs);
        assert!(c.amount.text.contains("≠ price"), "{}", c.amount.text);
        assert_eq!(
            c.recipient.text,
            "Paid to JANE WANJIKU, not Dr. Amani Njeri"
        );
        assert!(c.date.text.contains("before the booking was approved"));
        assert_eq!(
            c.summary(),
            "Check the amount, recipient and date: they differ from the booking"
        );

        let typed = PaymentChecks::new(&s, &Claimed::default(), now);
        assert!(typed
            .all()
            .iter()
            .all(|(_, c)| c.outcome == Outcome::Unchecked));
        assert!(typed
            .summary()
            .starts_with("Only a transaction code was given"));
    }
}
