//! Reading a pasted M-Pesa SMS, and deciding whether it proves a payment.
//!
//! Only four kinds of message show the client paying someone: send money, pay bill, buy goods
//! (till) and Pochi la Biashara. Everything else M-Pesa sends has the same "<code> Confirmed."
//! start and a plausible amount (money received, withdrawals, deposits, airtime, reversals,
//! Fuliza, savings moves, balances), so a message is accepted only when its text has a payment's
//! shape right after "Confirmed": an amount followed by "sent to" or "paid to" (in Kiswahili
//! "imetumwa kwa", or "Umelipa … kwa"). Anything else is named, so the client can be told what
//! was pasted instead.
//!
//! People paste what their phone gives them: forwarded ("Fwd:"), from a chat export
//! ("[29/11/25, 14:25:11] Peter: "), with the SMS app's header lines, re-typed in lower case,
//! with line breaks anywhere, or several messages at once. The text is cut into messages at
//! each "<code> Confirmed"; one payment is taken, unless its own reversal is in the paste too or
//! there are two different payments (then the client is asked which).
//!
//! `tests/fixtures/mpesa/corpus.json` holds 180 real-format messages with what each should give;
//! the corpus test in this crate runs them all.

use super::code::TransactionCode;
use crate::domain::Kes;
use chrono::FixedOffset;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use std::fmt;

/// An amount as M-Pesa prints it, to the cent: payments to people are whole shillings, but a
/// pay bill (an M-PESA card purchase, say) can carry cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MpesaAmount {
    cents: u64,
}

/// Above any M-Pesa transaction limit; a longer number is a misread, not an amount.
const MAX_CENTS: u64 = 100_000_000 * 100;

impl MpesaAmount {
    /// A non-zero amount of at most M-Pesa's limit.
    pub(super) fn from_cents(cents: u64) -> Option<Self> {
        (1..=MAX_CENTS).contains(&cents).then_some(Self { cents })
    }

    pub fn cents(self) -> u64 {
        self.cents
    }

    /// The amount in whole shillings, when it is one (prices are whole shillings).
    pub fn whole_kes(self) -> Option<Kes> {
        if !self.cents.is_multiple_of(100) {
            return None;
        }
        Kes::new(u32::try_from(self.cents / 100).ok()?)
    }

    /// For JSON, where an amount is a number of shillings (`559.55`).
    pub fn kes(self) -> f64 {
        self.cents as f64 / 100.0
    }
}

impl From<Kes> for MpesaAmount {
    fn from(k: Kes) -> Self {
        Self {
            cents: u64::from(k.amount()) * 100,
        }
    }
}

impl fmt::Display for MpesaAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.cents / 100;
        let mut digits = whole.to_string();
        let mut grouped = String::new();
        while digits.len() > 3 {
            let tail = digits.split_off(digits.len() - 3);
            grouped = format!(",{tail}{grouped}");
        }
        write!(f, "KSh {digits}{grouped}")?;
        match self.cents % 100 {
            0 => Ok(()),
            c => write!(f, ".{c:02}"),
        }
    }
}

/// The messages that show the client paying someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// "sent to NAME 07… on …": to a person's M-Pesa number.
    SendMoney,
    /// "sent to BUSINESS for account … on …".
    PayBill,
    /// "paid to BUSINESS. on …": a till.
    BuyGoods,
    /// "sent to NAME on …", no number: a Pochi la Biashara (a person's business wallet).
    Pochi,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendMoney => "send_money",
            Self::PayBill => "pay_bill",
            Self::BuyGoods => "buy_goods",
            Self::Pochi => "pochi",
        }
    }
}

/// What else an M-Pesa message can be: none of these proves the client paid anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherKind {
    Received,
    Withdrawal,
    Deposit,
    Airtime,
    Reversal,
    Fuliza,
    FulizaRepayment,
    /// Between the client's own M-Pesa and M-Shwari or KCB M-PESA.
    SavingsTransfer,
    /// Between the client's own Pochi la Biashara and M-Pesa.
    BusinessTransfer,
    Balance,
    /// Failed, cancelled or refused: nothing moved.
    Failed,
}

impl OtherKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Withdrawal => "withdrawal",
            Self::Deposit => "deposit",
            Self::Airtime => "airtime",
            Self::Reversal => "reversal",
            Self::Fuliza => "fuliza",
            Self::FulizaRepayment => "fuliza_repayment",
            Self::SavingsTransfer => "savings_transfer",
            Self::BusinessTransfer => "business_transfer",
            Self::Balance => "balance",
            Self::Failed => "failed",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Received => "This is a message about money you received, not a payment you sent.",
            Self::Withdrawal => "This is a message about a cash withdrawal at an agent, not a payment you sent.",
            Self::Deposit => "This is a message about a cash deposit at an agent, not a payment you sent.",
            Self::Airtime => "This is a message about buying airtime, not a payment you sent.",
            Self::Reversal => "This is a message about a reversal, which returns money rather than paying it.",
            Self::Fuliza => "This is a Fuliza overdraft notice: it shares its code with the payment it topped up, but it does not say who was paid.",
            Self::FulizaRepayment => "This is a message about repaying Fuliza, not a payment you sent.",
            Self::SavingsTransfer => "This is a message about moving money between your M-Pesa and your savings (M-Shwari or KCB M-PESA), not a payment you sent.",
            Self::BusinessTransfer => "This is a message about moving money between your Pochi la Biashara and your M-Pesa, not a payment you sent.",
            Self::Balance => "This is a balance message, not a payment you sent.",
            Self::Failed => "This message says the transaction failed or was cancelled, so nothing was paid.",
        }
    }
}

const PASTE_THE_PAYMENT: &str =
    "Paste the confirmation M-Pesa sent when you paid: it says \"sent to\" or \"paid to\".";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpesaMessageError {
    #[error("{} {PASTE_THE_PAYMENT}", .0.what())]
    NotAPayment(OtherKind),
    #[error("This payment was reversed: the message reversing {0} is in the paste too, so the money went back. Paste the confirmation of a payment that stands.")]
    Reversed(TransactionCode),
    #[error("The paste holds {} different payments ({}); paste only the confirmation of the payment for this session.", .0.len(), codes(.0))]
    SeveralPayments(Vec<TransactionCode>),
    #[error("The M-Pesa message has no transaction code. Paste the whole SMS: it starts with the 10-character code followed by \"Confirmed\".")]
    NoCode,
    #[error("That does not look like an M-Pesa confirmation. Paste the whole SMS: it starts with the 10-character transaction code followed by \"Confirmed\".")]
    Unreadable,
}

fn codes(codes: &[TransactionCode]) -> String {
    let all: Vec<&str> = codes.iter().map(TransactionCode::as_str).collect();
    all.join(", ")
}

impl MpesaMessageError {
    /// The kind of message seen, for a refusal that names one.
    pub fn kind(&self) -> Option<&'static str> {
        match self {
            Self::NotAPayment(k) => Some(k.as_str()),
            Self::Reversed(_) => Some("reversed_payment"),
            Self::SeveralPayments(_) => Some("several_payments"),
            Self::NoCode | Self::Unreadable => None,
        }
    }
}

/// What a pasted M-Pesa payment confirmation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpesaReceipt {
    pub kind: PaymentKind,
    pub code: TransactionCode,
    pub amount: MpesaAmount,
    /// As printed (M-Pesa prints registered names in capitals, with two spaces collapsed here).
    pub recipient: Option<String>,
    /// As printed, spaces removed: `0712345678`, `254712345678`, or masked (`0712***678`,
    /// `07******78`) as Safaricom has sent them since 2026.
    pub recipient_phone: Option<String>,
    /// A pay bill's account.
    pub account: Option<String>,
    /// M-Pesa writes local (Nairobi) time; `None` when the message carries none we can read.
    pub sent_at: Option<DateTime<Utc>>,
}

/// One message's content, after its code and "Confirmed".
enum Reading {
    Payment(Paid),
    Other {
        kind: OtherKind,
        /// The code a successful reversal names.
        reverses: Option<TransactionCode>,
    },
    Unknown,
}

struct Paid {
    kind: PaymentKind,
    amount: MpesaAmount,
    recipient: Option<String>,
    recipient_phone: Option<String>,
    account: Option<String>,
    sent_at: Option<DateTime<Utc>>,
}

/// Where a message starts: its code (when there is one) and where its text after "Confirmed"
/// begins.
struct Anchor {
    code: Option<TransactionCode>,
    start: usize,
    /// Where the word "Confirmed" itself starts.
    at: usize,
    body: usize,
}

impl MpesaReceipt {
    pub fn parse(message: &str) -> Result<Self, MpesaMessageError> {
        let text = message.split_whitespace().collect::<Vec<_>>().join(" ");
        // ASCII lower-casing keeps every byte offset, so positions found in `lower` cut `text`
        let lower = text.to_ascii_lowercase();
        let anchors = anchors(&text, &lower);
        let coded: Vec<&Anchor> = anchors.iter().filter(|a| a.code.is_some()).collect();

        if coded.is_empty() {
            // no code anywhere: say what the message is, if it is anything
            let body = anchors
                .first()
                .filter(|a| a.start < 60)
                .map_or(0, |a| a.body);
            return Err(match read(&text[body..], &lower[body..]) {
                Reading::Payment(_) => MpesaMessageError::NoCode,
                Reading::Other { kind, .. } => MpesaMessageError::NotAPayment(kind),
                Reading::Unknown => MpesaMessageError::Unreadable,
            });
        }

        let mut payments: Vec<(TransactionCode, Paid)> = Vec::new();
        let mut reversed: Vec<TransactionCode> = Vec::new();
        let mut other = None;
        for (i, a) in coded.iter().enumerate() {
            let end = coded.get(i + 1).map_or(text.len(), |next| next.start);
            let (Some(code), Some(body), Some(body_lower)) = (
                a.code.clone(),
                text.get(a.body..end),
                lower.get(a.body..end),
            ) else {
                continue;
            };
            match read(body, body_lower) {
                Reading::Payment(p) => {
                    // the same message pasted twice is one payment; the same code saying
                    // something else is a second one
                    let same = |(c, q): &(TransactionCode, Paid)| {
                        *c == code
                            && q.amount == p.amount
                            && q.kind == p.kind
                            && q.recipient == p.recipient
                    };
                    if !payments.iter().any(same) {
                        payments.push((code, p));
                    }
                }
                Reading::Other { kind, reverses } => {
                    reversed.extend(reverses);
                    other.get_or_insert(kind);
                }
                Reading::Unknown => {}
            }
        }
        if payments.is_empty() {
            return Err(other.map_or(
                MpesaMessageError::Unreadable,
                MpesaMessageError::NotAPayment,
            ));
        }
        // a payment whose reversal is in the paste does not stand
        let (gone, mut standing): (Vec<_>, Vec<_>) = payments
            .into_iter()
            .partition(|(c, _)| reversed.contains(c));
        if standing.len() > 1 {
            return Err(MpesaMessageError::SeveralPayments(
                standing.into_iter().map(|(c, _)| c).collect(),
            ));
        }
        let Some((code, p)) = standing.pop() else {
            let (code, _) = gone.into_iter().next().expect("not empty");
            return Err(MpesaMessageError::Reversed(code));
        };
        Ok(Self {
            kind: p.kind,
            code,
            amount: p.amount,
            recipient: p.recipient,
            recipient_phone: p.recipient_phone,
            account: p.account,
            sent_at: p.sent_at,
        })
    }
}

/// Every "Confirmed" (or Kiswahili "Imethibitishwa"), with the code just before it when there is
/// one: nine or ten letters and digits, maybe glued on (`NC36I5RICGConfirmed.`) or after a
/// prefix that is not a letter or digit (`4821-SP0CEQK0MQ Confirmed`).
fn anchors(text: &str, lower: &str) -> Vec<Anchor> {
    let mut found = Vec::new();
    for word in ["confirmed", "imethibitishwa"] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(word).map(|i| i + from) {
            from = at + word.len();
            let bytes = text.as_bytes();
            let mut end = at;
            if end > 0 && bytes[end - 1] == b' ' {
                end -= 1;
            }
            let mut start = end;
            while start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                start -= 1;
            }
            let run = &text[start..end];
            let code = if run.bytes().any(|b| b.is_ascii_digit()) {
                TransactionCode::in_message(run)
            } else {
                None
            };
            found.push(Anchor {
                start: if code.is_some() { start } else { at },
                code,
                at,
                body: at + word.len(),
            });
        }
    }
    found.sort_by_key(|a| a.at);
    // a "code" that runs back into the previous "Confirmed" (`Confirmed1 Confirmed`) is part of
    // that word, not a code: messages never overlap
    let mut previous_body = 0;
    for a in &mut found {
        if a.start < previous_body {
            a.code = None;
            a.start = a.at;
        }
        previous_body = a.body;
    }
    found
}

/// What one message says, from its text after "Confirmed".
fn read(text: &str, lower: &str) -> Reading {
    let skip = lower
        .find(|c: char| !matches!(c, ' ' | '.' | ',' | ':' | ';' | '!'))
        .unwrap_or(lower.len());
    let (text, lower) = (&text[skip..], &lower[skip..]);
    if let Some(p) = payment(text, lower) {
        return Reading::Payment(p);
    }
    other(lower)
}

/// A payment's shape: `<amount> sent to …`, `<amount> paid to …`, `<amount> imetumwa kwa …`,
/// `Umelipa <amount> kwa …`.
fn payment(text: &str, lower: &str) -> Option<Paid> {
    let (amount, after, swahili_till) = match lower.strip_prefix("umelipa ") {
        Some(_) => {
            let (amount, used) = amount_at(&text["umelipa ".len()..])?;
            (amount, "umelipa ".len() + used, true)
        }
        None => {
            let (amount, used) = amount_at(text)?;
            (amount, used, false)
        }
    };
    let rest = lower[after..].trim_start();
    let at = lower.len() - rest.len();
    let (kind, prefix) = if swahili_till {
        (PaymentKind::BuyGoods, "kwa ")
    } else if rest.starts_with("sent to ") {
        (PaymentKind::SendMoney, "sent to ")
    } else if rest.starts_with("imetumwa kwa ") {
        (PaymentKind::SendMoney, "imetumwa kwa ")
    } else {
        (PaymentKind::BuyGoods, "paid to ")
    };
    if !rest.starts_with(prefix) {
        return None;
    }
    let tail_at = at + prefix.len();
    let tail = &text[tail_at..];
    let tail_lower = &lower[tail_at..];
    let (name_end, sent_at) = when(tail, tail_lower);
    let mut name = tail[..name_end]
        .trim()
        .trim_end_matches('.')
        .trim()
        .to_owned();

    let mut paid = Paid {
        kind,
        amount,
        recipient: None,
        recipient_phone: None,
        account: None,
        sent_at,
    };
    if kind == PaymentKind::SendMoney {
        if let Some(at) = name.to_ascii_lowercase().find(" for account") {
            let account = name[at + " for account".len()..].trim().to_owned();
            paid.account = (!account.is_empty()).then_some(account);
            name.truncate(at);
            paid.kind = PaymentKind::PayBill;
        } else {
            let (person, phone) = split_phone(&name);
            paid.kind = if phone.is_some() {
                PaymentKind::SendMoney
            } else {
                PaymentKind::Pochi
            };
            paid.recipient_phone = phone;
            name = person;
        }
    }
    let name = name.trim().to_owned();
    paid.recipient = (!name.is_empty()).then_some(name);
    Some(paid)
}

/// `Ksh2,000.00`, `KSh 4,500`, `KES 1,000.00`, `KSH.50`, `Ksh1000.00`, `Ksh559.55`, at the start
/// of `s`; with how many bytes it took.
fn amount_at(s: &str) -> Option<(MpesaAmount, usize)> {
    let lower = s.get(..3)?.to_ascii_lowercase();
    if lower != "ksh" && lower != "kes" {
        return None;
    }
    let mut i = 3;
    let b = s.as_bytes();
    if b.get(i) == Some(&b'.') {
        i += 1;
    }
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let digits_from = i;
    let mut whole: u64 = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => whole = whole.checked_mul(10)?.checked_add(u64::from(c - b'0'))?,
            b',' if i > digits_from && b.get(i + 1).is_some_and(u8::is_ascii_digit) => {}
            _ => break,
        }
        i += 1;
    }
    if i == digits_from {
        return None;
    }
    let mut cents = 0;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        let tens = u64::from(b[i + 1] - b'0');
        match b.get(i + 2) {
            Some(d) if d.is_ascii_digit() => {
                cents = tens * 10 + u64::from(d - b'0');
                i += 3;
            }
            _ => {
                cents = tens * 10;
                i += 2;
            }
        }
    }
    let total = whole.checked_mul(100)?.checked_add(cents)?;
    (total > 0 && total <= MAX_CENTS).then_some((MpesaAmount { cents: total }, i))
}

/// Where the recipient's name ends and when the payment was made: the first date after "on" or
/// "tarehe", or a date standing alone (`… kwa NAME 14/1/25 4:53 PM`).
fn when(tail: &str, lower: &str) -> (usize, Option<DateTime<Utc>>) {
    let words: Vec<(usize, &str)> = words(lower);
    for (i, &(at, w)) in words.iter().enumerate() {
        let marked = matches!(w, "on" | "tarehe");
        let date_from = if marked { i + 1 } else { i };
        if i == 0 || !starts_date(&words[date_from..]) {
            continue;
        }
        let rest: Vec<&str> = words[date_from..].iter().map(|&(_, w)| w).collect();
        let sent_at = date_time(&rest);
        // after "on" a date that cannot be read is still where the name ends; a date-like word
        // standing alone (`STALL 4 MARKET`) is part of the name unless it reads as a date
        if marked || sent_at.is_some() {
            return (at, sent_at);
        }
    }
    // no date: the name runs to the end of its sentence
    let end = tail.find(". ").unwrap_or(tail.len());
    (end, None)
}

fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    for w in s.split(' ') {
        if !w.is_empty() {
            out.push((at, w));
        }
        at += w.len() + 1;
    }
    out
}

fn starts_date(words: &[(usize, &str)]) -> bool {
    let Some(&(_, first)) = words.first() else {
        return false;
    };
    numeric_date(first).is_some()
        || (day_of_month(first).is_some() && words.get(1).is_some_and(|(_, m)| month(m).is_some()))
}

/// `25/10/24`, `25/10/2024`, `03/01/26` (trailing punctuation allowed).
fn numeric_date(w: &str) -> Option<(u32, u32, i32)> {
    let w = w.trim_end_matches(['.', ',']);
    let mut parts = w.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || d.len() > 2 || m.len() > 2 || !matches!(y.len(), 2 | 4) {
        return None;
    }
    let (d, m, y): (u32, u32, i32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    Some((d, m, if y < 100 { 2000 + y } else { y }))
}

/// `9th`, `1st`, `22nd`, `3rd`, `9`.
fn day_of_month(w: &str) -> Option<u32> {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &w[digits.len()..];
    if !matches!(suffix, "" | "st" | "nd" | "rd" | "th") || digits.is_empty() || digits.len() > 2 {
        return None;
    }
    digits.parse().ok()
}

/// `jul`, `july`, `sept` (a month's name or a shortening of it, not `market` or `junior`).
fn month(w: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = w.trim_end_matches(['.', ',']);
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(w))
        .map(|i| i as u32 + 1)
}

/// A date, an optional "at"/"saa", and a 12-hour time: `25/10/24 at 10:00 AM`,
/// `9th jul 2026 at 7:15 pm`, `4/2/20 at 12:33am`, `14/1/25 4:53 pm.baki`. Nairobi time.
fn date_time(words: &[&str]) -> Option<DateTime<Utc>> {
    let (d, m, y, mut i) = match numeric_date(words.first()?) {
        Some((d, m, y)) => (d, m, y, 1),
        None => {
            let d = day_of_month(words.first()?)?;
            let m = month(words.get(1)?)?;
            let y: i32 = words.get(2)?.trim_end_matches(['.', ',']).parse().ok()?;
            (d, m, if y < 100 { 2000 + y } else { y }, 3)
        }
    };
    if matches!(words.get(i), Some(&"at" | &"saa")) {
        i += 1;
    }
    let time = words.get(i)?;
    let clock_len = time
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(time.len());
    let (clock, glued) = time.split_at(clock_len);
    let meridiem = if glued.is_empty() {
        words.get(i + 1)?.get(..2)?
    } else {
        glued.get(..2)?
    };
    let (h, min) = clock.split_once(':')?;
    if h.is_empty() || h.len() > 2 || min.len() != 2 {
        return None;
    }
    let (mut h, min): (u32, u32) = (h.parse().ok()?, min.parse().ok()?);
    match meridiem {
        "am" if (1..=12).contains(&h) => h %= 12,
        "pm" if (1..=12).contains(&h) => h = h % 12 + 12,
        _ => return None,
    }
    let local = NaiveDate::from_ymd_opt(y, m, d)?.and_time(NaiveTime::from_hms_opt(h, min, 0)?);
    from_east_africa_time(local)
}

/// A time M-Pesa printed (an SMS, a statement: East Africa Time, no offset) as an instant;
/// `None` only at the ends of chrono's calendar.
pub(super) fn from_east_africa_time(local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    east_africa_time()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// M-Pesa's clock: Kenya has kept UTC+3 without daylight saving since 1960, so a fixed offset
/// is exact for every message, and the parser needs none of the time-zone database.
pub(super) fn east_africa_time() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("in range")
}

/// `WANJIRU KAMAU 0712 345 678` → the name and the number as printed, spaces removed. Masked
/// numbers (`0712***678`, `07******78`) count: the digits shown can still be compared.
fn split_phone(name: &str) -> (String, Option<String>) {
    let words: Vec<&str> = name.split(' ').collect();
    for n in 1..=3.min(words.len().saturating_sub(1)) {
        let number: String = words[words.len() - n..].concat();
        if phone_shaped(&number) {
            return (words[..words.len() - n].join(" "), Some(number));
        }
    }
    (name.to_owned(), None)
}

fn phone_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    let shaped = (b.len() == 10 && b[0] == b'0') || (b.len() == 12 && s.starts_with("254"));
    shaped
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'*')
        && b[..2]
            .iter()
            .chain(&b[b.len() - 2..])
            .all(u8::is_ascii_digit)
        && b.iter().filter(|c| c.is_ascii_digit()).count() >= 4
}

/// The kinds of message that are not payments, by their fixed wording.
fn other(lower: &str) -> Reading {
    let head = &lower[..floor_boundary(lower, 300)];
    let has = |p: &str| head.contains(p);
    let kind = if has("reversal of transaction") && has("successfully reversed") {
        let reverses = head
            .split("reversal of transaction ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
            .and_then(TransactionCode::in_message);
        return Reading::Other {
            kind: OtherKind::Reversal,
            reverses,
        };
    } else if has("reversal") && (has("declined") || has("reversed")) {
        OtherKind::Reversal
    } else if head.starts_with("failed")
        || [
            "transaction failed",
            "insufficient funds",
            "not have sufficient funds",
            "you have cancelled",
            "invalid input",
            "unable to process",
            "temporarily unable",
            "wrong pin",
            "hakuna pesa za kutosha",
            "umekataa kuidhinisha",
        ]
        .iter()
        .any(|p| has(p))
    {
        OtherKind::Failed
    } else if has("has been used to") && has("fuliza") {
        // before the notice: a repayment also says "Available Fuliza M-PESA limit is"
        OtherKind::FulizaRepayment
    } else if has("fuliza m-pesa amount is") || has("fuliza m-pesa limit is") {
        OtherKind::Fuliza
    } else if has("you have received") || has("received from") || has("umepokea") {
        OtherKind::Received
    } else if has("withdraw ksh") || has("withdraw kes") {
        OtherKind::Withdrawal
    } else if (has("give ksh") || has("give kes")) && has("cash to") {
        OtherKind::Deposit
    } else if has("of airtime") || has("ya mjazo") {
        OtherKind::Airtime
    } else if has("m-shwari loan") || has("m-shwari account") || has("kcb m-pesa account") {
        if has("balance was") || head.starts_with("your m-shwari deposit account balance") {
            OtherKind::Balance
        } else {
            OtherKind::SavingsTransfer
        }
    } else if has("balance was") || head.starts_with("baki yako ni") || has("account balance is") {
        OtherKind::Balance
    } else if has("moved from your") {
        OtherKind::BusinessTransfer
    } else {
        return Reading::Unknown;
    };
    Reading::Other {
        kind,
        reverses: None,
    }
}

fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Africa::Nairobi;
    use proptest::prelude::*;

    const SEND_MONEY: &str = "QK71ABC123 Confirmed. Ksh2,000.00 sent to JANE WANJIKU 0712345678 on 25/10/24 at 10:00 AM New M-PESA balance is Ksh106.00. Transaction cost, Ksh0.00.";

    fn nairobi(s: &str) -> DateTime<Utc> {
        let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Nairobi
            .from_local_datetime(&local)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn reads_a_send_money_confirmation() {
        let r = MpesaReceipt::parse(SEND_MONEY).unwrap();
        assert_eq!(r.kind, PaymentKind::SendMoney);
        assert_eq!(r.code.as_str(), "QK71ABC123");
        assert_eq!(r.amount.whole_kes(), Kes::new(2000));
        assert_eq!(r.recipient.as_deref(), Some("JANE WANJIKU"));
        assert_eq!(r.recipient_phone.as_deref(), Some("0712345678"));
        // 10:00 in Nairobi is 07:00 UTC
        assert_eq!(r.sent_at.unwrap().to_rfc3339(), "2024-10-25T07:00:00+00:00");
    }

    #[test]
    fn reads_paybill_till_and_kiswahili_confirmations() {
        let paybill = "RB12XY34ZQ Confirmed. Ksh3,500.00 sent to KCB for account 55501 on 1/2/25 at 1:05 PM New M-PESA balance is Ksh10.00.";
        let r = MpesaReceipt::parse(paybill).unwrap();
        assert_eq!(r.kind, PaymentKind::PayBill);
        assert_eq!(r.amount.whole_kes(), Kes::new(3500));
        assert_eq!(r.recipient.as_deref(), Some("KCB"));
        assert_eq!(r.account.as_deref(), Some("55501"));
        assert_eq!(r.sent_at, Some(nairobi("2025-02-01 13:05")));

        let till = "SAB1CD2EF3 Confirmed. Ksh1,500.00 paid to AMANI WELLNESS. on 3/3/25 at 12:30 AM.New M-PESA balance is Ksh0.00.";
        let r = MpesaReceipt::parse(till).unwrap();
        assert_eq!(r.kind, PaymentKind::BuyGoods);
        assert_eq!(r.recipient.as_deref(), Some("AMANI WELLNESS"));
        assert_eq!(r.recipient_phone, None);
        assert_eq!(r.sent_at, Some(nairobi("2025-03-03 00:30")));

        let sw = "TCLJ14WQ6U Imethibitishwa. Umelipa Ksh20.00 kwa MUTHONI WANGARI 14/1/25 4:53 PM.Baki yako mpya katika M-PESA ni Ksh228.60.";
        let r = MpesaReceipt::parse(sw).unwrap();
        assert_eq!(r.kind, PaymentKind::BuyGoods);
        assert_eq!(r.recipient.as_deref(), Some("MUTHONI WANGARI"));
        assert_eq!(r.sent_at, Some(nairobi("2025-01-14 16:53")));
    }

    #[test]
    fn says_what_was_pasted_instead() {
        let received = "UK5LFBI6D0 Confirmed.You have received Ksh3,000.00 from OTIENO  ODHIAMBO 0733***806 on 10/6/26 at 8:55 AM  New M-PESA balance is Ksh3,212.40.";
        let e = MpesaReceipt::parse(received).unwrap_err();
        assert_eq!(e, MpesaMessageError::NotAPayment(OtherKind::Received));
        assert!(e
            .to_string()
            .starts_with("This is a message about money you received, not a payment you sent."));
        assert_eq!(
            MpesaReceipt::parse("hello"),
            Err(MpesaMessageError::Unreadable)
        );
        assert_eq!(
            MpesaReceipt::parse("QK71ABC123 Confirmed. sent"),
            Err(MpesaMessageError::Unreadable)
        );
        assert_eq!(
            MpesaReceipt::parse("Confirmed. Ksh2,000.00 sent to JANE on 1/1/25 at 9:00 AM"),
            Err(MpesaMessageError::NoCode)
        );
    }

    #[test]
    fn a_payment_with_its_reversal_or_beside_another_payment_is_refused() {
        let reversal = "QX00REV001 confirmed. Reversal of transaction QK71ABC123 has been successfully reversed on 26/10/24 at 9:00 AM and Ksh2,000.00 is credited to your M-PESA account.";
        let both = format!("{SEND_MONEY}\n{reversal}");
        assert_eq!(
            MpesaReceipt::parse(&both).unwrap_err().kind(),
            Some("reversed_payment")
        );
        let other = SEND_MONEY.replace("QK71ABC123", "QK71ABC999");
        let e = MpesaReceipt::parse(&format!("{SEND_MONEY}\n{other}")).unwrap_err();
        assert!(e.to_string().contains("QK71ABC123, QK71ABC999"), "{e}");
        // the same message twice is one payment
        assert!(MpesaReceipt::parse(&format!("{SEND_MONEY}\n{SEND_MONEY}")).is_ok());
    }

    #[test]
    fn messages_that_run_into_each_other_do_not_break_the_reading() {
        for odd in [
            "QK71ABC123 Confirmed1 Confirmed",
            "QK71ABC123 Confirmed2Confirmed. Ksh10 sent to A",
            "QK71ABC123 confirmed9imethibitishwa",
        ] {
            let _ = MpesaReceipt::parse(odd);
        }
        let r = MpesaReceipt::parse(&format!("{SEND_MONEY} Confirmed1 Confirmed")).unwrap();
        assert_eq!(r.code.as_str(), "QK71ABC123");
    }

    #[test]
    fn words_that_look_like_dates_stay_in_the_name() {
        let r = MpesaReceipt::parse("UX4SI8ODNZ Confirmed. Ksh140.00 paid to STALL 4 MARKET. on 31/5/26 at 3:03 PM.New M-PESA balance is Ksh0.00.").unwrap();
        assert_eq!(r.recipient.as_deref(), Some("STALL 4 MARKET"));
        assert!(r.sent_at.is_some());
        let r = MpesaReceipt::parse("TB5V5LD74K Confirmed. Ksh300.00 sent to Lipa na Jamii for account RENT 1 JAN on 22/3/25 at 6:22 PM New M-PESA balance is Ksh916.80.").unwrap();
        assert_eq!(r.account.as_deref(), Some("RENT 1 JAN"));
    }

    #[test]
    fn the_same_code_saying_something_else_is_not_the_same_payment() {
        let other = SEND_MONEY.replace("Ksh2,000.00", "Ksh99,999.00");
        assert!(matches!(
            MpesaReceipt::parse(&format!("{SEND_MONEY}\n{other}")),
            Err(MpesaMessageError::SeveralPayments(_))
        ));
        // a reversed payment beside one that stands: the one that stands is the proof
        let reversal = "QX00REV001 confirmed. Reversal of transaction QK71ABC999 has been successfully reversed on 26/10/24 at 9:00 AM and Ksh2,000.00 is credited to your M-PESA account.";
        let reversed = SEND_MONEY.replace("QK71ABC123", "QK71ABC999");
        let r = MpesaReceipt::parse(&format!("{reversed}\n{reversal}\n{SEND_MONEY}")).unwrap();
        assert_eq!(r.code.as_str(), "QK71ABC123");
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

    #[test]
    fn amounts_print_as_people_read_them() {
        let a = |s: &str| amount_at(s).unwrap().0;
        assert_eq!(a("Ksh2,000.00").to_string(), "KSh 2,000");
        assert_eq!(a("KSH.50").to_string(), "KSh 50");
        assert_eq!(a("Ksh559.55").to_string(), "KSh 559.55");
        assert_eq!(a("KES 1,234,567.5").to_string(), "KSh 1,234,567.50");
        assert_eq!(a("Ksh559.55").whole_kes(), None);
        assert_eq!(amount_at("Ksh0.00"), None);
        assert_eq!(amount_at("Ksh,100"), None);
    }

    /// A name as M-Pesa prints it: words of capitals (never "ON", "FOR", "KWA": too short or
    /// excluded below), sometimes with the double space of registered names.
    fn name() -> impl Strategy<Value = String> {
        proptest::collection::vec("[A-Z]{3,9}", 1..4)
            .prop_filter("not a marker word", |w| {
                !w.iter()
                    .any(|w| matches!(w.as_str(), "FOR" | "KWA" | "SAA"))
            })
            .prop_map(|w| w.join("  "))
    }

    /// How pastes differ from the message itself: a prefix, lower case, line breaks.
    fn pasted(message: String, prefix: usize, lower: bool, breaks: bool) -> String {
        let prefix = [
            "",
            "Fwd: ",
            "[29/11/25, 14:25:11] Peter: ",
            "29/11/25, 14:25 - Peter: ",
            "M-PESA\nToday 9:47 PM\n",
        ][prefix];
        let mut m = format!("{prefix}{message}");
        if lower {
            m = m.to_lowercase();
        }
        if breaks {
            m = m.replace(". ", ".\n");
        }
        m
    }

    #[derive(Debug, Clone)]
    struct Generated {
        kind: PaymentKind,
        code: String,
        amount: u32,
        name: String,
        phone: Option<String>,
        when: (u32, u32, u32, u32, bool),
    }

    fn payment_message(g: &Generated) -> String {
        let (d, m, h, min, pm) = g.when;
        let amount = MpesaAmount {
            cents: u64::from(g.amount) * 100,
        }
        .to_string()
        .replace("KSh ", "Ksh");
        let at = format!(
            "{d}/{m}/26 at {h}:{min:02} {}",
            if pm { "PM" } else { "AM" }
        );
        let code = &g.code;
        let name = &g.name;
        match g.kind {
            PaymentKind::SendMoney => format!(
                "{code} Confirmed. {amount}.00 sent to {name} {} on {at}. New M-PESA balance is Ksh1.00. Transaction cost, Ksh0.00.",
                g.phone.as_deref().unwrap_or_default()
            ),
            PaymentKind::PayBill => format!(
                "{code} Confirmed. {amount}.00 sent to {name} for account 55501 on {at} New M-PESA balance is Ksh1.00."
            ),
            PaymentKind::BuyGoods => format!(
                "{code} Confirmed. {amount}.00 paid to {name}. on {at}.New M-PESA balance is Ksh1.00."
            ),
            PaymentKind::Pochi => format!(
                "{code} Confirmed. {amount}.00 sent to {name} on {at}. New M-PESA balance is Ksh1.00."
            ),
        }
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (
            prop_oneof![
                Just(PaymentKind::SendMoney),
                Just(PaymentKind::PayBill),
                Just(PaymentKind::BuyGoods),
                Just(PaymentKind::Pochi),
            ],
            "[A-Z][A-Z0-9]{8}[0-9]",
            1u32..=150_000,
            name(),
            prop_oneof![
                "07[0-9]{8}",
                "2547[0-9]{8}",
                "07[0-9]{2}\\*{3}[0-9]{3}",
                "07\\*{6}[0-9]{2}"
            ],
            (1u32..=28, 1u32..=12, 1u32..=12, 0u32..60, any::<bool>()),
        )
            .prop_map(|(kind, code, amount, name, phone, when)| Generated {
                phone: (kind == PaymentKind::SendMoney).then_some(phone),
                kind,
                code,
                amount,
                name,
                when,
            })
    }

    fn other_message(kind: OtherKind, code: &str, amount: &str) -> String {
        match kind {
            OtherKind::Received => format!("{code} Confirmed.You have received Ksh{amount} from WANJALA SIMIYU 0712507394 on 15/10/24 at 12:16 PM  New M-PESA balance is Ksh1,143.90."),
            OtherKind::Withdrawal => format!("{code} Confirmed.on 26/12/22 at 8:08 AMWithdraw Ksh{amount} from 5207314 - BAHATI SHOP New M-PESA balance is Ksh284.10."),
            OtherKind::Deposit => format!("{code} Confirmed. On 6/1/25 at 4:22 PM Give Ksh{amount} cash to FARAJA COMM New M-PESA balance is Ksh1,418.60."),
            OtherKind::Airtime => format!("{code} confirmed.You bought Ksh{amount} of airtime on 12/2/25 at 4:57 PM.New M-PESA balance is Ksh1,523.40."),
            OtherKind::Reversal => format!("{code} confirmed. Reversal of transaction QK71ABC123 has been successfully reversed on 7/6/26 at 5:56 PM and Ksh{amount} is credited to your M-PESA account."),
            OtherKind::Fuliza => format!("{code} Confirmed. Fuliza M-PESA amount is Ksh {amount}. Access Fee charged Ksh 1.00. Total Fuliza M-PESA outstanding amount is Ksh173.45 due on 03/01/26."),
            OtherKind::FulizaRepayment => format!("{code} Confirmed. Ksh {amount} from your M-PESA has been used to fully pay your outstanding Fuliza M-PESA. Available Fuliza M-PESA limit is Ksh 700.00."),
            OtherKind::SavingsTransfer => format!("{code} Confirmed.Ksh{amount} transferred to M-Shwari account on 27/12/22 at 6:52 PM. M-PESA balance is Ksh612.40 ."),
            OtherKind::BusinessTransfer => format!("{code} Confirmed, Ksh{amount} has been moved from your business account to your M-PESA account on 18/2/25 at 12:12 PM.."),
            OtherKind::Balance => format!("{code} Confirmed. Your account balance was: M-PESA Account : Ksh{amount} on 17/10/24 at 11:40 AM."),
            OtherKind::Failed => format!("Failed. Insufficient funds in your M-PESA account to send Ksh{amount}. Your M-PESA balance is Ksh3,870.00."),
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = MpesaReceipt::parse(&s);
        }

        #[test]
        fn never_panics_near_the_real_shape(
            code in "[A-Z0-9]{10}", amount in "[0-9,.]{0,12}", tail in "[ a-zA-Z0-9/:.*]{0,80}",
            word in prop_oneof![Just("sent to"), Just("paid to"), Just("imetumwa kwa"), Just("")],
        ) {
            let _ = MpesaReceipt::parse(&format!("{code} Confirmed. Ksh{amount} {word}{tail}"));
            let _ = MpesaReceipt::parse(&format!("{code} Imethibitishwa. Umelipa Ksh{amount} kwa{tail}"));
        }

        #[test]
        fn a_generated_payment_of_each_kind_round_trips(
            g in generated(), prefix in 0usize..5, lower in any::<bool>(), breaks in any::<bool>(),
        ) {
            let message = pasted(payment_message(&g), prefix, lower, breaks);
            let r = MpesaReceipt::parse(&message).map_err(|e| TestCaseError::fail(format!("{e}: {message}")))?;
            prop_assert_eq!(r.kind, g.kind);
            prop_assert_eq!(r.code.as_str(), g.code.as_str());
            prop_assert_eq!(r.amount.whole_kes(), Kes::new(g.amount));
            let name = g.name.split_whitespace().collect::<Vec<_>>().join(" ");
            prop_assert_eq!(r.recipient.map(|n| n.to_uppercase()), Some(name));
            prop_assert_eq!(r.recipient_phone, g.phone);
            prop_assert_eq!(r.account.is_some(), g.kind == PaymentKind::PayBill);
            let (d, m, h, min, pm) = g.when;
            let hour = h % 12 + if pm { 12 } else { 0 };
            prop_assert_eq!(r.sent_at, Some(nairobi(&format!("2026-{m:02}-{d:02} {hour:02}:{min:02}"))));
        }

        #[test]
        fn a_generated_non_payment_of_each_kind_is_refused_by_name(
            kind in prop_oneof![
                Just(OtherKind::Received), Just(OtherKind::Withdrawal), Just(OtherKind::Deposit),
                Just(OtherKind::Airtime), Just(OtherKind::Reversal), Just(OtherKind::Fuliza),
                Just(OtherKind::FulizaRepayment), Just(OtherKind::SavingsTransfer),
                Just(OtherKind::BusinessTransfer), Just(OtherKind::Balance), Just(OtherKind::Failed),
            ],
            code in "[A-Z][A-Z0-9]{8}[0-9]", amount in 1u32..=150_000, prefix in 0usize..5,
            lower in any::<bool>(), breaks in any::<bool>(),
        ) {
            let shown = MpesaAmount { cents: u64::from(amount) * 100 }.to_string().replace("KSh ", "");
            let message = pasted(other_message(kind, &code, &format!("{shown}.00")), prefix, lower, breaks);
            prop_assert_eq!(MpesaReceipt::parse(&message), Err(MpesaMessageError::NotAPayment(kind)), "{}", message);
        }
    }
}
