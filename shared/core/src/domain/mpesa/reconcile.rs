//! A statement against the bookings waiting for their payment to be verified: for each, whether
//! the statement shows the client's code as money received, in full, after approval, and not
//! sent back. The statement never decides on its own: it tells the psychologist which payments
//! it proves, and they verify those in one action.
//!
//! Matching is by the code the client submitted and the amount due, never by amount alone; the
//! name on the statement is shown beside the client's, because a parent or a spouse often pays.

use super::{MpesaAmount, Payer, Statement, TransactionCode};
use crate::domain::{PhoneNumber, Session, SessionId};
use chrono::{DateTime, Duration, Utc};

/// Phones and the server disagree on the time by a few minutes at most.
const CLOCK_SKEW_MINUTES: i64 = 10;

/// What the statement says about one booking's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The code is money received, for the amount due, after the booking was approved.
    Paid,
    /// The code is money received, but not the amount due.
    WrongAmount { paid: MpesaAmount, due: MpesaAmount },
    /// The code's money came in before the booking was approved: it paid for something else.
    BeforeApproval,
    /// The money came in and was sent back.
    Reversed,
    /// The code is on the statement, but not as money received from someone.
    NotReceived,
    /// No row has the code, though the statement covers the time it was paid.
    Missing,
    /// No row has the code, but money for the amount due came in from someone with one of the
    /// client's names after approval, under a receipt no booking claims: likely a mistyped code.
    Mistyped {
        receipt: TransactionCode,
        paid: MpesaAmount,
    },
    /// No row has the code, and the statement ends before the payment was made.
    EndsBefore { paid_at: DateTime<Utc> },
    /// No row has the code, and the statement starts after the payment was made.
    StartsAfter { paid_at: DateTime<Utc> },
    /// The booking was approved with another M-Pesa number than the statement's: its payment
    /// went there, and this statement cannot show it.
    OtherNumber { paid_to: PhoneNumber },
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Paid => "paid",
            Verdict::WrongAmount { .. } => "wrong_amount",
            Verdict::BeforeApproval => "before_approval",
            Verdict::Reversed => "reversed",
            Verdict::NotReceived => "not_received",
            Verdict::Missing => "missing",
            Verdict::Mistyped { .. } => "mistyped",
            Verdict::EndsBefore { .. } => "ends_before",
            Verdict::StartsAfter { .. } => "starts_after",
            Verdict::OtherNumber { .. } => "other_number",
        }
    }

    /// For the psychologist, about a payment that did not match. Dates are Nairobi's, as the
    /// statement prints them.
    pub fn explain(&self) -> String {
        let day = |t: &DateTime<Utc>| {
            t.with_timezone(&super::message::east_africa_time())
                .format("%-d %b %Y, %H:%M")
                .to_string()
        };
        match self {
            Verdict::Paid => "The statement shows this payment received in full.".to_owned(),
            Verdict::WrongAmount { paid, due } => format!(
                "The statement shows {paid} received under this code, not the {due} due."
            ),
            Verdict::BeforeApproval => "This code's money came in before the booking was approved, so it paid for something else.".to_owned(),
            Verdict::Reversed => "This payment was reversed: the money went back to the sender.".to_owned(),
            Verdict::NotReceived => "This code is on the statement, but not as money you received.".to_owned(),
            Verdict::Missing => "This code is not on the statement, which covers the time it was paid; ask the client to check the code.".to_owned(),
            Verdict::Mistyped { receipt, paid } => format!(
                "This code is not on the statement, but {paid} came in from someone with the client's name under {}, which no booking claims: the code may have been mistyped. Ask the client to check it.",
                receipt.as_str()
            ),
            Verdict::EndsBefore { paid_at } => format!(
                "The statement ends before this payment ({}); upload one that includes it.",
                day(paid_at)
            ),
            Verdict::OtherNumber { paid_to } => format!(
                "This booking was paid to {}, not to the number of this statement; check it on that number's statement.",
                paid_to.local_display()
            ),
            Verdict::StartsAfter { paid_at } => format!(
                "The statement starts after this payment ({}); upload one that includes it.",
                day(paid_at)
            ),
        }
    }
}

/// One booking's payment, checked against the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub session: SessionId,
    pub verdict: Verdict,
    /// Who the statement says paid, where it shows the code as money received.
    pub payer: Option<Payer>,
    pub received_at: Option<DateTime<Utc>>,
    /// Whether a name on the statement is one of the client's names (`None`: it shows none).
    pub name_agrees: Option<bool>,
}

/// Each booking in `awaiting` with a submitted code, checked against `statement`: one answer per
/// such booking, in their order.
pub fn reconcile(statement: &Statement, awaiting: &[Session]) -> Vec<Reconciled> {
    let reversed = statement.reversed();
    let claimed: Vec<&TransactionCode> = awaiting
        .iter()
        .filter_map(|s| s.payment.as_ref().map(|p| &p.transaction_code))
        .collect();
    let mut results = by_code(statement, awaiting, &reversed);
    // a code not on the statement: money that may be this booking's under a mistyped code,
    // offered only where exactly one row fits and no other booking's fits it too
    let offers: Vec<Option<usize>> = results
        .iter()
        .zip(awaiting.iter().filter(|s| s.payment.is_some()))
        .map(|(r, s)| {
            if r.verdict != Verdict::Missing {
                return None;
            }
            let due = MpesaAmount::from(s.price_kes);
            let mut fits = statement.rows.iter().enumerate().filter(|(i, row)| {
                !reversed.contains(i)
                    && !claimed.contains(&&row.receipt)
                    && row.paid_in == Some(due)
                    && s.approved_at.is_none_or(|a| {
                        row.completed_at + Duration::minutes(CLOCK_SKEW_MINUTES) >= a
                    })
                    && row.received_from().is_some_and(|p| {
                        p.name
                            .as_deref()
                            .is_some_and(|n| shares_a_name(n, &s.client.name))
                    })
            });
            match (fits.next(), fits.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
        .collect();
    for (r, offer) in results.iter_mut().zip(&offers) {
        let Some(i) = *offer else { continue };
        if offers.iter().filter(|o| **o == Some(i)).count() > 1 {
            continue;
        }
        let row = &statement.rows[i];
        r.verdict = Verdict::Mistyped {
            receipt: row.receipt.clone(),
            paid: row.paid_in.expect("a row that fits has an amount"),
        };
        r.payer = row.received_from();
        r.received_at = Some(row.completed_at);
        r.name_agrees = Some(true);
    }
    results
}

/// Each booking with a submitted code, judged by the rows under that code.
fn by_code(statement: &Statement, awaiting: &[Session], reversed: &[usize]) -> Vec<Reconciled> {
    let span = statement.span();
    awaiting
        .iter()
        .filter_map(|s| {
            let payment = s.payment.as_ref()?;
            let code = &payment.transaction_code;
            let rows: Vec<(usize, &super::StatementRow)> = statement
                .rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.receipt == *code)
                .collect();
            let received = rows
                .iter()
                .find_map(|(i, r)| r.received_from().map(|p| (*i, *r, p)));
            let due = MpesaAmount::from(s.price_kes);
            let mut out = Reconciled {
                session: s.id,
                verdict: Verdict::Missing,
                payer: None,
                received_at: None,
                name_agrees: None,
            };
            let paid_to = s.mpesa_number.as_ref();
            if let (Some(paid_to), Some(statement_for)) = (paid_to, &statement.mobile_number) {
                if paid_to != statement_for {
                    out.verdict = Verdict::OtherNumber {
                        paid_to: paid_to.clone(),
                    };
                    return Some(out);
                }
            }
            match received {
                Some((i, row, payer)) => {
                    out.name_agrees = payer
                        .name
                        .as_deref()
                        .map(|n| shares_a_name(n, &s.client.name));
                    out.received_at = Some(row.completed_at);
                    out.payer = Some(payer);
                    let paid = row.paid_in.expect("money received has an amount");
                    out.verdict = if reversed.contains(&i) {
                        Verdict::Reversed
                    } else if paid != due {
                        Verdict::WrongAmount { paid, due }
                    } else if s.approved_at.is_some_and(|a| {
                        row.completed_at + Duration::minutes(CLOCK_SKEW_MINUTES) < a
                    }) {
                        Verdict::BeforeApproval
                    } else {
                        Verdict::Paid
                    };
                }
                None if !rows.is_empty() => out.verdict = Verdict::NotReceived,
                None => {
                    let paid_at = payment.paid_at.unwrap_or(payment.submitted_at);
                    let slack = Duration::minutes(CLOCK_SKEW_MINUTES);
                    out.verdict = match span {
                        Some((_, last)) if paid_at > last + slack => {
                            Verdict::EndsBefore { paid_at }
                        }
                        Some((first, _)) if paid_at + slack < first => {
                            Verdict::StartsAfter { paid_at }
                        }
                        _ => Verdict::Missing,
                    };
                }
            }
            Some(out)
        })
        .collect()
}

/// Whether two names share a word of three letters or more, in any case and order: statements
/// print two or three of a person's names, in the case they registered them.
fn shares_a_name(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect()
    };
    let b = words(b);
    words(a).iter().any(|w| b.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kes, Payment, TransactionCode};

    fn statement() -> Statement {
        let path = format!(
            "{}/../../tests/fixtures/statements/mpesa_full_statement_2023_extracted.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        Statement::from_text(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A booking whose client says they paid `price` with `code` at `paid_at`.
    fn awaiting(code: &str, price: u32, client: &str, paid_at: &str) -> Session {
        let mut s = crate::domain::lifecycle::tests::booked();
        s.price_kes = Kes::new(price).unwrap();
        s.client.name = client.to_owned();
        s.approved_at = Some(at("2023-09-01T00:00:00Z"));
        s.payment = Some(Payment {
            transaction_code: TransactionCode::parse(code).unwrap(),
            submitted_at: at(paid_at),
            amount_kes_claimed: None,
            paid_at: Some(at(paid_at)),
            recipient: None,
            recipient_phone: None,
            proof_key: None,
            proof_version: None,
            proof_file: None,
            rejection_reason: None,
            verified_at: None,
            by_mpesa: false,
            payer: None,
        });
        s
    }

    fn verdicts(sessions: &[Session]) -> Vec<(Verdict, Option<bool>)> {
        reconcile(&statement(), sessions)
            .into_iter()
            .map(|r| (r.verdict, r.name_agrees))
            .collect()
    }

    #[test]
    fn a_code_received_in_full_after_approval_is_paid() {
        let s = awaiting("RIT0VXRUG8", 2500, "Brian Odhiambo", "2023-09-29T15:01:44Z");
        let r = reconcile(&statement(), std::slice::from_ref(&s));
        assert_eq!(r[0].verdict, Verdict::Paid);
        assert_eq!(r[0].name_agrees, Some(true));
        assert_eq!(r[0].received_at, Some(at("2023-09-29T15:01:44Z")));
        assert_eq!(
            r[0].payer.as_ref().and_then(|p| p.name.as_deref()),
            Some("BRIAN OTIENO ODHIAMBO")
        );
    }

    #[test]
    fn someone_else_paying_is_a_note_not_a_refusal() {
        let s = awaiting("RIT0VXRUG8", 2500, "Wanjiru Kamau", "2023-09-29T15:01:44Z");
        assert_eq!(verdicts(&[s]), [(Verdict::Paid, Some(false))]);
    }

    #[test]
    fn what_does_not_prove_the_payment() {
        let due = MpesaAmount::from(Kes::new(3000).unwrap());
        let paid = MpesaAmount::from(Kes::new(2500).unwrap());
        let cases = [
            // 2,500 received, 3,000 due
            (
                awaiting("RIT0VXRUG8", 3000, "Brian", "2023-09-29T15:01:44Z"),
                Verdict::WrongAmount { paid, due },
            ),
            // Peter's payment went straight back
            (
                awaiting("RI60DQ3QIQ", 2500, "Peter Langat", "2023-09-06T17:15:47Z"),
                Verdict::Reversed,
            ),
            // the code of a payment the psychologist made
            (
                awaiting("RI80EQ92BN", 1500, "Amani", "2023-09-08T10:30:00Z"),
                Verdict::NotReceived,
            ),
            // a code nobody paid with, in the statement's period
            (
                awaiting("RIK0AAAAAA", 2500, "Amani", "2023-09-20T10:00:00Z"),
                Verdict::Missing,
            ),
            (
                awaiting("RJ20AAAAAA", 2500, "Amani", "2023-10-02T10:00:00Z"),
                Verdict::EndsBefore {
                    paid_at: at("2023-10-02T10:00:00Z"),
                },
            ),
            (
                awaiting("RH20AAAAAA", 2500, "Amani", "2023-08-02T10:00:00Z"),
                Verdict::StartsAfter {
                    paid_at: at("2023-08-02T10:00:00Z"),
                },
            ),
        ];
        for (s, want) in cases {
            assert_eq!(reconcile(&statement(), &[s])[0].verdict, want);
        }
    }

    #[test]
    fn an_old_code_does_not_pay_a_newer_booking() {
        let mut s = awaiting("RI15QW3P0O", 2500, "Brian", "2023-09-01T06:12:40Z");
        s.approved_at = Some(at("2023-09-20T00:00:00Z"));
        assert_eq!(verdicts(&[s]), [(Verdict::BeforeApproval, Some(true))]);
    }

    #[test]
    fn money_from_the_client_under_another_receipt_is_offered_as_a_mistyped_code() {
        // David paid 2,500 under RII5LQNAYJ; the code typed ends in K
        let david = awaiting("RII5LQNAYK", 2500, "David Mutua", "2023-09-18T16:10:02Z");
        let r = reconcile(&statement(), std::slice::from_ref(&david));
        assert_eq!(
            r[0].verdict,
            Verdict::Mistyped {
                receipt: TransactionCode::parse("RII5LQNAYJ").unwrap(),
                paid: MpesaAmount::from(Kes::new(2500).unwrap()),
            }
        );
        assert_eq!(
            r[0].payer.as_ref().and_then(|p| p.name.as_deref()),
            Some("DAVID MUTUA")
        );
        assert!(r[0].verdict.explain().contains("RII5LQNAYJ"));
        // but not money from someone else, nor of another amount
        let other = awaiting("RII5LQNAYK", 2500, "Amina Hassan", "2023-09-18T16:10:02Z");
        assert_eq!(verdicts(&[other]), [(Verdict::Missing, None)]);
        let dearer = awaiting("RII5LQNAYK", 3000, "David Mutua", "2023-09-18T16:10:02Z");
        assert_eq!(verdicts(&[dearer]), [(Verdict::Missing, None)]);
    }

    #[test]
    fn a_mistyped_code_is_offered_only_where_one_row_fits_one_booking() {
        // Brian paid 2,500 twice in the month: which one is this booking's is not ours to guess
        let brian = awaiting("RIA0AAAAAA", 2500, "Brian Odhiambo", "2023-09-10T10:00:00Z");
        assert_eq!(verdicts(&[brian]), [(Verdict::Missing, None)]);
        // two of David's bookings with mistyped codes could both be his one payment
        let one = awaiting("RII5LQNAYK", 2500, "David Mutua", "2023-09-18T16:10:02Z");
        let two = awaiting("RII5LQNAYL", 2500, "David Mutua", "2023-09-18T16:10:02Z");
        assert_eq!(
            verdicts(&[one, two]),
            [(Verdict::Missing, None), (Verdict::Missing, None)]
        );
    }

    #[test]
    fn a_booking_paid_to_another_number_is_not_judged_by_this_statement() {
        // the statement is 254700123456's; this booking was approved with 0700 000 111
        let mut s = awaiting("RIT0VXRUG8", 2500, "Brian Odhiambo", "2023-09-29T15:01:44Z");
        s.mpesa_number = PhoneNumber::parse("0700000111");
        let r = reconcile(&statement(), &[s.clone()]);
        assert_eq!(
            r[0].verdict,
            Verdict::OtherNumber {
                paid_to: PhoneNumber::parse("0700000111").unwrap()
            }
        );
        assert!(r[0].verdict.explain().contains("0700 000 111"));
        // approved with the statement's own number, it is judged as usual
        s.mpesa_number = PhoneNumber::parse("254700123456");
        assert_eq!(reconcile(&statement(), &[s])[0].verdict, Verdict::Paid);
    }

    #[test]
    fn every_verdict_explains_itself() {
        let t = at("2023-10-02T22:00:00Z");
        let due = MpesaAmount::from(Kes::new(2000).unwrap());
        let paid = MpesaAmount::from(Kes::new(1500).unwrap());
        assert!(Verdict::WrongAmount { paid, due }
            .explain()
            .contains("KSh 1,500"));
        // 22:00 UTC is already the 3rd in Nairobi
        assert!(Verdict::EndsBefore { paid_at: t }
            .explain()
            .contains("3 Oct 2023"));
        for v in [
            Verdict::Paid,
            Verdict::BeforeApproval,
            Verdict::Reversed,
            Verdict::NotReceived,
            Verdict::Missing,
            Verdict::StartsAfter { paid_at: t },
        ] {
            assert!(v.explain().ends_with('.'), "{v:?}");
        }
    }
}
