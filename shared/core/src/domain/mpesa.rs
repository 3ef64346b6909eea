//! M-Pesa payment evidence. Clients prove payment with the transaction code from their
//! confirmation SMS; many find it easier to paste the whole SMS, so we also read the code,
//! amount, recipient and time out of it. Nobody else checks these codes, so the parsing is
//! strict about shape and honest about what it could not find.

use super::{Kes, PhoneNumber};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Africa::Nairobi;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Ten uppercase letters and digits, e.g. `QK71ABC123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionCode(String);

impl TransactionCode {
    /// Lower-case input is accepted and upper-cased: people retype codes from their phones.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let ok = s.len() == 10 && s.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| Self(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `QK7*****23`, for logs.
    pub fn masked(&self) -> String {
        format!("{}*****{}", &self.0[..3], &self.0[8..])
    }
}

impl fmt::Display for TransactionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a pasted M-Pesa confirmation SMS says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpesaReceipt {
    pub code: TransactionCode,
    pub amount: Kes,
    pub recipient: Option<String>,
    pub recipient_phone: Option<PhoneNumber>,
    /// M-Pesa writes local (Nairobi) time; `None` when the message carries none we can read.
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpesaMessageError {
    #[error("That does not look like an M-Pesa confirmation: it should start with the 10-character transaction code followed by \"Confirmed\".")]
    NotAConfirmation,
    #[error("The M-Pesa message has no amount we can read (expected something like \"Ksh2,000.00 sent to\").")]
    NoAmount,
    #[error("The amount in the M-Pesa message is not a whole number of shillings between 1 and 1,000,000.")]
    BadAmount,
}

impl MpesaReceipt {
    pub fn parse(message: &str) -> Result<Self, MpesaMessageError> {
        let text = message.trim();
        let (first, rest) = text
            .split_once(char::is_whitespace)
            .ok_or(MpesaMessageError::NotAConfirmation)?;
        let code = TransactionCode::parse(first).ok_or(MpesaMessageError::NotAConfirmation)?;
        let rest = rest.trim_start();
        if !starts_with_ci(rest, "confirmed") {
            return Err(MpesaMessageError::NotAConfirmation);
        }
        let rest = &rest["confirmed".len()..];

        let ksh = find_ci(rest, "ksh").ok_or(MpesaMessageError::NoAmount)?;
        let after = &rest[ksh + 3..];
        let amount_text: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .collect();
        if amount_text.is_empty() {
            return Err(MpesaMessageError::NoAmount);
        }
        let amount =
            Kes::parse(amount_text.trim_end_matches('.')).ok_or(MpesaMessageError::BadAmount)?;

        let after_amount = &after[after.find(&amount_text).unwrap_or(0) + amount_text.len()..];
        let (recipient, recipient_phone) = recipient_of(after_amount);
        let sent_at = sent_at_of(after_amount);
        Ok(Self {
            code,
            amount,
            recipient,
            recipient_phone,
            sent_at,
        })
    }
}

/// `sent to JANE WANJIKU 0712345678 on …`, `sent to KCB for account 1234 on …`,
/// `paid to SHOP NAME. on …`.
fn recipient_of(s: &str) -> (Option<String>, Option<PhoneNumber>) {
    let Some(to) = find_ci(s, " to ") else {
        return (None, None);
    };
    let tail = &s[to + 4..];
    let end = find_ci(tail, " on ").unwrap_or(tail.len());
    let mut name = tail[..end].trim().trim_end_matches('.').trim().to_owned();
    if let Some(acc) = find_ci(&name, " for account ") {
        name.truncate(acc);
    }
    let mut phone = None;
    if let Some((head, last)) = name.rsplit_once(' ') {
        if let Some(p) = PhoneNumber::parse(last) {
            phone = Some(p);
            name = head.trim().to_owned();
        }
    }
    ((!name.is_empty()).then_some(name), phone)
}

/// `on 25/10/24 at 10:00 AM`, Nairobi time.
fn sent_at_of(s: &str) -> Option<DateTime<Utc>> {
    let on = find_ci(s, " on ")?;
    let mut words = s[on + 4..].split_whitespace();
    let date = words.next()?;
    if !words.next()?.eq_ignore_ascii_case("at") {
        return None;
    }
    let time = words.next()?;
    let meridiem: String = words.next()?.chars().take(2).collect();

    let mut dmy = date.split('/').map(|p| p.parse::<u32>().ok());
    let (d, m, y) = (dmy.next()??, dmy.next()??, dmy.next()??);
    let year = if y < 100 { 2000 + y as i32 } else { y as i32 };
    let (h, min) = time.split_once(':')?;
    let (mut h, min): (u32, u32) = (h.parse().ok()?, min.parse().ok()?);
    match meridiem.to_ascii_uppercase().as_str() {
        "AM" if (1..=12).contains(&h) => h %= 12,
        "PM" if (1..=12).contains(&h) => h = h % 12 + 12,
        _ => return None,
    }
    let local = NaiveDate::from_ymd_opt(year, m, d)?.and_time(NaiveTime::from_hms_opt(h, min, 0)?);
    Nairobi
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEND_MONEY: &str = "QK71ABC123 Confirmed. Ksh2,000.00 sent to JANE WANJIKU 0712345678 on 25/10/24 at 10:00 AM New M-PESA balance is Ksh106.00. Transaction cost, Ksh0.00.";

    #[test]
    fn transaction_codes() {
        assert_eq!(
            TransactionCode::parse("QK71ABC123").unwrap().as_str(),
            "QK71ABC123"
        );
        assert_eq!(
            TransactionCode::parse(" qk71abc123 ").unwrap().as_str(),
            "QK71ABC123"
        );
        for bad in [
            "",
            "QK71ABC12",
            "QK71ABC1234",
            "QK71-BC123",
            "QK71ABC12Ä",
            "QK71 ABC12",
        ] {
            assert_eq!(TransactionCode::parse(bad), None, "{bad}");
        }
        assert_eq!(
            TransactionCode::parse("QK71ABC123").unwrap().masked(),
            "QK7*****23"
        );
    }

    #[test]
    fn reads_a_send_money_confirmation() {
        let r = MpesaReceipt::parse(SEND_MONEY).unwrap();
        assert_eq!(r.code.as_str(), "QK71ABC123");
        assert_eq!(r.amount, Kes::new(2000).unwrap());
        assert_eq!(r.recipient.as_deref(), Some("JANE WANJIKU"));
        assert_eq!(r.recipient_phone.unwrap().e164(), "+254712345678");
        // 10:00 in Nairobi is 07:00 UTC
        assert_eq!(r.sent_at.unwrap().to_rfc3339(), "2024-10-25T07:00:00+00:00");
    }

    #[test]
    fn reads_paybill_and_till_confirmations() {
        let paybill = "RB12XY34ZQ Confirmed. Ksh3,500.00 sent to KCB for account 55501 on 1/2/25 at 1:05 PM New M-PESA balance is Ksh10.00.";
        let r = MpesaReceipt::parse(paybill).unwrap();
        assert_eq!(r.amount, Kes::new(3500).unwrap());
        assert_eq!(r.recipient.as_deref(), Some("KCB"));
        assert_eq!(r.sent_at.unwrap().to_rfc3339(), "2025-02-01T10:05:00+00:00");

        let till = "SAB1CD2EF3 Confirmed. Ksh1,500.00 paid to AMANI WELLNESS. on 3/3/25 at 12:30 AM.New M-PESA balance is Ksh0.00.";
        let r = MpesaReceipt::parse(till).unwrap();
        assert_eq!(r.recipient.as_deref(), Some("AMANI WELLNESS"));
        assert_eq!(r.recipient_phone, None);
        assert_eq!(r.sent_at.unwrap().to_rfc3339(), "2025-03-02T21:30:00+00:00");
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(
            MpesaReceipt::parse("hello"),
            Err(MpesaMessageError::NotAConfirmation)
        );
        assert_eq!(
            MpesaReceipt::parse("QK71ABC123 Failed. Ksh2,000.00"),
            Err(MpesaMessageError::NotAConfirmation)
        );
        assert_eq!(
            MpesaReceipt::parse("QK71ABC123 Confirmed. sent"),
            Err(MpesaMessageError::NoAmount)
        );
        assert_eq!(
            MpesaReceipt::parse("QK71ABC123 Confirmed. Ksh2,000.50 sent to X on 1/1/25 at 9:00 AM"),
            Err(MpesaMessageError::BadAmount)
        );
    }

    #[test]
    fn a_missing_or_odd_date_is_none_not_an_error() {
        let r = MpesaReceipt::parse(
            "QK71ABC123 Confirmed. Ksh2,000.00 sent to JANE on 32/13/24 at 25:00 PM",
        )
        .unwrap();
        assert_eq!(r.sent_at, None);
        let r = MpesaReceipt::parse("QK71ABC123 Confirmed. Ksh2,000.00 sent to JANE").unwrap();
        assert_eq!(r.sent_at, None);
        assert_eq!(r.recipient.as_deref(), Some("JANE"));
    }

    proptest! {
        #[test]
        fn a_code_parses_exactly_when_it_is_ten_letters_and_digits(s in "\\PC{0,14}") {
            let t = s.trim();
            let shaped = t.len() == 10 && t.bytes().all(|b| b.is_ascii_alphanumeric());
            match TransactionCode::parse(&s) {
                Some(c) => {
                    prop_assert!(shaped);
                    prop_assert_eq!(c.as_str(), t.to_ascii_uppercase());
                    // what we store parses back to itself, and the mask hides the middle
                    prop_assert_eq!(TransactionCode::parse(c.as_str()), Some(c.clone()));
                    prop_assert!(!c.masked().contains(&c.as_str()[3..8]));
                }
                None => prop_assert!(!shaped),
            }
        }

        #[test]
        fn codes_are_case_and_space_insensitive(code in "[A-Za-z0-9]{10}", pad in " {0,3}") {
            let a = TransactionCode::parse(&format!("{pad}{code}{pad}")).unwrap();
            prop_assert_eq!(Some(a), TransactionCode::parse(&code.to_ascii_uppercase()));
        }

        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = MpesaReceipt::parse(&s);
        }

        #[test]
        fn never_panics_near_the_real_shape(
            code in "[A-Z0-9]{10}", amount in "[0-9,.]{0,12}", tail in "[ a-zA-Z0-9/:.]{0,60}"
        ) {
            let _ = MpesaReceipt::parse(&format!("{code} Confirmed. Ksh{amount} sent to{tail}"));
        }

        #[test]
        fn generated_confirmations_round_trip(
            code in "[A-Z0-9]{10}", amount in 1u32..=1_000_000, d in 1u32..=28, m in 1u32..=12,
            h in 1u32..=12, min in 0u32..60, pm in any::<bool>(),
        ) {
            let k = Kes::new(amount).unwrap();
            let shown = k.to_string().replace("KSh ", "");
            let msg = format!(
                "{code} Confirmed. Ksh{shown}.00 sent to JOHN DOE 0722000111 on {d}/{m}/25 at {h}:{min:02} {} New M-PESA balance is Ksh1.00.",
                if pm { "PM" } else { "AM" }
            );
            let r = MpesaReceipt::parse(&msg).unwrap();
            prop_assert_eq!(r.code.as_str(), code.as_str());
            prop_assert_eq!(r.amount, k);
            prop_assert!(r.sent_at.is_some());
        }
    }
}
