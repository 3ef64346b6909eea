//! Lipa na M-Pesa Online ("STK push"): Kikao asks Safaricom to put a payment request on the
//! client's phone, the client enters their PIN, and Safaricom calls back with the outcome. What
//! is asked (`StkRequest`), the password Daraja derives from the shortcode's passkey, a checkout
//! as Kikao keeps it (`Checkout`), and what each of Daraja's result codes means to the client.

use super::{BookingReference, BusinessKind, ShortCode, TransactionCode};
use crate::domain::{Kes, PhoneNumber, SessionId};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A payment request for the client's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StkRequest {
    pub shortcode: ShortCode,
    pub kind: BusinessKind,
    pub amount: Kes,
    pub phone: PhoneNumber,
    /// What the client's phone and SMS show as the account: the booking reference.
    pub reference: BookingReference,
    /// Where Safaricom posts the outcome (the account's secret path).
    pub callback_url: String,
}

/// Daraja's `Password`: base64 of shortcode, passkey and timestamp, run together.
pub fn stk_password(shortcode: &ShortCode, passkey: &str, timestamp: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{shortcode}{passkey}{timestamp}"))
}

/// Daraja's `Timestamp`: `YYYYMMDDHHmmss`, Nairobi time.
pub fn stk_timestamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Africa::Nairobi)
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// A time as Daraja writes one (`TransTime`, `TransactionDate`): `YYYYMMDDHHmmss`, Nairobi's.
pub fn daraja_time(text: &str) -> Option<DateTime<Utc>> {
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y%m%d%H%M%S").ok()?;
    local
        .and_local_timezone(chrono_tz::Africa::Nairobi)
        .single()
        .map(|t| t.to_utc())
}

/// What became of a payment request, as Safaricom reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CheckoutState {
    /// Waiting for the client's PIN (or for Safaricom's answer).
    Pending,
    /// Paid, with this receipt.
    Paid { receipt: TransactionCode },
    /// Not paid: Daraja's result code.
    Failed { code: i64 },
}

/// What Safaricom answers when asked about a payment request (it names no receipt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StkQueryResult {
    Paid,
    Failed {
        code: i64,
    },
    /// Still waiting for the PIN, or being processed.
    Pending,
}

/// A payment request Kikao sent, kept by Safaricom's `CheckoutRequestID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    pub id: String,
    pub session: SessionId,
    pub shortcode: ShortCode,
    pub amount: Kes,
    pub started_at: DateTime<Utc>,
    pub state: CheckoutState,
    /// When Kikao last asked Safaricom about it, its callback being late: asked at most every
    /// `STK_QUERY_EVERY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queried_at: Option<DateTime<Utc>>,
    /// Safaricom, asked, said it was paid; its receipt (which only the callback names) has not
    /// come.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub said_paid: bool,
}

/// The first word Safaricom refuses in a callback URL that `url` contains, in any case: Daraja's
/// C2B Register URL documentation lists them, and its STK push answers "Invalid CallBackURL"
/// (docs/research/daraja.md, "URL content"). API Gateway's own address has one: `execute-api`.
pub fn refused_url_word(url: &str) -> Option<&'static str> {
    const WORDS: [&str; 8] = [
        "m-pesa",
        "mpesa",
        "safaricom",
        "exec",
        "exe",
        "cmd",
        "sql",
        "query",
    ];
    let url = url.to_ascii_lowercase();
    WORDS.into_iter().find(|w| url.contains(w))
}

/// How long after a payment request Kikao asks Safaricom about it itself, its callback not having
/// come (callbacks get lost; the client is told how it went all the same), and how often after.
pub const STK_QUERY_AFTER: chrono::Duration = chrono::Duration::seconds(30);
pub const STK_QUERY_EVERY: chrono::Duration = chrono::Duration::seconds(15);

/// What a result code means to the client, in a sentence that says what to do. The codes are
/// those Safaricom documents and integrations meet (tests/fixtures/daraja/, research in
/// docs/research/daraja.md); any other is said plainly as a failure.
pub fn stk_failure(code: i64) -> &'static str {
    match code {
        1032 | 1031 => "You cancelled the payment request on your phone. Nothing was paid; try again when you are ready.",
        1037 | 1036 | 1019 => "The payment request timed out before the PIN was entered. Nothing was paid; make sure your phone is on and unlocked, and try again.",
        2001 => "The M-Pesa PIN entered was wrong. Nothing was paid; try again.",
        1 => "Your M-Pesa balance was not enough for this payment. Nothing was paid; top up or pay from another number.",
        1001 => "Your phone is busy with another M-Pesa request. Wait a minute and try again.",
        17 => "M-Pesa asks you to wait two minutes before paying the same amount again.",
        _ => "M-Pesa could not complete the payment. Nothing was paid; try again, or pay by hand and send the code.",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn safaricom_refuses_its_own_name_and_api_gateways_address_in_a_callback_url() {
        assert_eq!(
            refused_url_word(
                "https://abc123.execute-api.af-south-1.amazonaws.com/api/hooks/600000-ab/stk"
            ),
            Some("exec")
        );
        assert_eq!(
            refused_url_word("https://x.example/api/M-PESA/c2b"),
            Some("m-pesa")
        );
        assert_eq!(
            refused_url_word("https://x.example/api/MPesa/c2b"),
            Some("mpesa")
        );
        assert_eq!(
            refused_url_word("https://x.example/?Query=1"),
            Some("query")
        );
        assert_eq!(
            refused_url_word("https://api.kikao.example/api/hooks/600000-0a1b/c2b/confirmation"),
            None
        );
    }

    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/../../tests/fixtures/daraja/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_password_is_darajas_own_worked_example() {
        let f = fixture("stkpush_password_derivation.json");
        let code = ShortCode::parse(f["BusinessShortCode"].as_str().unwrap()).unwrap();
        assert_eq!(
            stk_password(
                &code,
                f["Passkey"].as_str().unwrap(),
                f["Timestamp"].as_str().unwrap()
            ),
            f["Password"].as_str().unwrap()
        );
        // 06:30:15 UTC is 09:30:15 in Nairobi, both ways
        let at: DateTime<Utc> = "2025-03-14T06:30:15Z".parse().unwrap();
        assert_eq!(stk_timestamp(at), "20250314093015");
        assert_eq!(daraja_time("20250314093015"), Some(at));
        assert_eq!(daraja_time("2025-03-14"), None);
    }

    #[test]
    fn every_failure_code_reads_as_a_sentence() {
        for code in [
            1032, 1031, 1037, 1036, 1019, 2001, 1, 1001, 17, 26, 9999, 8006, 2028,
        ] {
            let s = stk_failure(code);
            assert!(s.ends_with('.') && s.len() > 30, "{code}: {s}");
        }
        assert!(stk_failure(1032).contains("cancelled"));
        assert!(stk_failure(2001).contains("PIN"));
        assert!(stk_failure(1).contains("balance"));
        assert!(stk_failure(1037).contains("timed out"));
    }
}
