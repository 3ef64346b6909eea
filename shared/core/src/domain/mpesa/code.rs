//! The transaction code M-Pesa prints first in every confirmation, the key that makes a payment
//! claim unique across all bookings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Ten uppercase letters and digits, e.g. `QK71ABC123` (nine before 2015, as in old messages).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionCode(String);

impl TransactionCode {
    /// A code typed by a client: ten letters and digits. Lower-case input is accepted and
    /// upper-cased: people retype codes from their phones.
    pub fn parse(s: &str) -> Option<Self> {
        Self::shaped(s.trim(), 10..=10)
    }

    /// A code as it stands in a pasted message, where pre-2015 codes of nine also occur.
    pub(super) fn in_message(s: &str) -> Option<Self> {
        Self::shaped(s, 9..=10)
    }

    fn shaped(s: &str, lengths: std::ops::RangeInclusive<usize>) -> Option<Self> {
        let ok = lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| Self(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `QK7*****23`, for logs.
    pub fn masked(&self) -> String {
        // a stored code was checked when it was made; guard anyway, a log line must not panic
        match (
            self.0.get(..3),
            self.0.len().checked_sub(2).and_then(|n| self.0.get(n..)),
        ) {
            (Some(head), Some(tail)) if self.0.len() >= 5 => format!("{head}*****{tail}"),
            _ => "*****".to_owned(),
        }
    }
}

impl fmt::Display for TransactionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert_eq!(
            TransactionCode::in_message("DPW1C0RHM").unwrap().masked(),
            "DPW*****HM"
        );
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
    }
}
