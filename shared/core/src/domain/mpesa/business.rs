//! Psychologists with a Till (Buy Goods) or Paybill are paid into a business account that
//! Safaricom reports on: every payment into it reaches Kikao as a C2B confirmation. This holds
//! the account (`BusinessAccount`), the reference a client types as the Paybill account
//! (`BookingReference`), a payment as M-Pesa reported it (`ReceivedPayment`), and the secret
//! path Safaricom posts to (`CallbackToken`): Daraja signs nothing, so the unguessable path is
//! what tells a real confirmation from a forged one.

use super::TransactionCode;
use crate::domain::{Kes, SessionId};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// A Till or Paybill number: 5 to 7 digits (Daraja's own pages say 5 to 6 on one page and 5 to
/// 7 on another; 7-digit paybills are in real confirmations).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShortCode(String);

impl ShortCode {
    /// Spaces are dropped: people write `522 522`.
    pub fn parse(s: &str) -> Option<Self> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let ok = (5..=7).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then_some(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ShortCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("not a Till or Paybill number: {s:?}"))
    }
}

impl From<ShortCode> for String {
    fn from(c: ShortCode) -> String {
        c.0
    }
}

impl fmt::Display for ShortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BusinessKind {
    /// Buy Goods: the client pays the number, with no account to type.
    Till,
    /// The client types the booking reference as the account number.
    Paybill,
}

impl BusinessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BusinessKind::Till => "till",
            BusinessKind::Paybill => "paybill",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessAccount {
    pub kind: BusinessKind,
    pub shortcode: ShortCode,
}

/// What a client types as the Paybill account and what M-Pesa hands back as `BillRefNumber`:
/// `KK` and six characters of the booking's random id, in Crockford's base 32 (no I, L, O or U,
/// so nothing is misread off a screen). It names no one, as a reference the payer's SMS prints
/// should not. Two open bookings of one psychologist sharing a reference (about one in a
/// billion per pair) only means a payment matches neither and waits for the psychologist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BookingReference(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl BookingReference {
    pub fn of(id: SessionId) -> Self {
        let b = id.bytes();
        let bits = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) >> 2;
        let mut s = String::from("KK");
        for i in (0..6).rev() {
            s.push(CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char);
        }
        Self(s)
    }

    /// As a payer typed it: case, spaces, dashes and the letters Crockford reads as digits
    /// (O for 0, I and L for 1) forgiven.
    pub fn typed(s: &str) -> Option<Self> {
        let t: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = t.strip_prefix("KK")?;
        if body.len() != 6 {
            return None;
        }
        let mut out = String::from("KK");
        for c in body.chars() {
            let c = match c {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !CROCKFORD.contains(&(c as u8)) || !c.is_ascii() {
                return None;
            }
            out.push(c);
        }
        Some(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BookingReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A payment into a business account as M-Pesa reported it. Only the receipt, amount, time,
/// account typed and the payer's first name are kept: the phone number comes masked or hashed
/// and identifies no one reliably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedPayment {
    pub receipt: TransactionCode,
    pub amount: Kes,
    pub paid_at: DateTime<Utc>,
    pub shortcode: ShortCode,
    /// The Paybill account the payer typed, as typed (`None` for a Till payment).
    pub account: Option<String>,
    /// The payer's first name as M-Pesa registered it.
    pub payer: Option<String>,
}

/// The secret in the path Safaricom posts a business account's payments to:
/// `<shortcode>-<first 128 bits of HMAC-SHA256(key, "c2b:" + shortcode), hex>`. The key lives
/// in Secrets Manager; nothing about the token is stored, so a leaked table leaks no path, and
/// changing the key moves every path at once.
pub struct CallbackToken;

type HmacSha256 = Hmac<Sha256>;

impl CallbackToken {
    fn mac(key: &[u8], shortcode: &ShortCode) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(b"c2b:");
        mac.update(shortcode.as_str().as_bytes());
        mac
    }

    pub fn for_shortcode(key: &[u8], shortcode: &ShortCode) -> String {
        let tag = Self::mac(key, shortcode).finalize().into_bytes();
        let hex: String = tag[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{shortcode}-{hex}")
    }

    /// The shortcode a token was made for, if it was made with `key`; compared in constant
    /// time, so timing tells a forger nothing.
    pub fn verify(key: &[u8], token: &str) -> Option<ShortCode> {
        let (code, hex) = token.split_once('-')?;
        let shortcode = ShortCode::parse(code).filter(|c| c.as_str() == code)?;
        if hex.len() != 32 {
            return None;
        }
        let tag: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<_>>()?;
        Self::mac(key, &shortcode)
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| shortcode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_five_to_seven_digits() {
        assert_eq!(ShortCode::parse("522 522").unwrap().as_str(), "522522");
        assert!(ShortCode::parse("1234567").is_some());
        assert!(ShortCode::parse("1234").is_none());
        assert!(ShortCode::parse("12345678").is_none());
        assert!(ShortCode::parse("12a456").is_none());
    }

    #[test]
    fn a_reference_is_stable_readable_and_typed_back() {
        let id = SessionId::new();
        let r = BookingReference::of(id);
        assert_eq!(r, BookingReference::of(id));
        assert_eq!(r.as_str().len(), 8);
        assert!(r.as_str().starts_with("KK"));
        assert!(!r.as_str()[2..].contains(['I', 'L', 'O', 'U']));
        let sloppy = format!(" {}-{} ", &r.as_str()[..4], &r.as_str()[4..]).to_lowercase();
        assert_eq!(BookingReference::typed(&sloppy), Some(r.clone()));
        assert_eq!(
            BookingReference::typed("KKO1IL23"),
            BookingReference::typed("KK011123")
        );
        assert_eq!(BookingReference::typed("KK12345"), None);
        assert_eq!(BookingReference::typed("AB123456"), None);
        assert_eq!(BookingReference::typed("KK1234U6"), None);
        // different bookings, different references (the first 30 random bits)
        let many: std::collections::HashSet<_> = (0..2000)
            .map(|_| BookingReference::of(SessionId::new()))
            .collect();
        assert!(many.len() >= 1999);
    }

    #[test]
    fn a_token_opens_only_its_own_shortcode_with_its_own_key() {
        let code = ShortCode::parse("600000").unwrap();
        let token = CallbackToken::for_shortcode(b"key one", &code);
        assert!(token.starts_with("600000-"));
        assert_eq!(
            CallbackToken::verify(b"key one", &token),
            Some(code.clone())
        );
        assert_eq!(CallbackToken::verify(b"key two", &token), None);
        let other = token.replacen("600000", "600001", 1);
        assert_eq!(CallbackToken::verify(b"key one", &other), None);
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            CallbackToken::verify(b"key one", std::str::from_utf8(&flipped).unwrap()),
            None
        );
        for junk in [
            "",
            "-",
            "600000",
            "600000-",
            "60 0000-00",
            "600000-zz",
            "ä-ö",
        ] {
            assert_eq!(CallbackToken::verify(b"key one", junk), None, "{junk:?}");
        }
    }
}
