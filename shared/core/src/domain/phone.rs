//! Kenyan mobile numbers. SMS goes to E.164 (`+2547XXXXXXXX` / `+2541XXXXXXXX`), but people type
//! `0712 345 678` or `254712345678`, so `parse` accepts those and stores E.164.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(s: &str) -> Option<Self> {
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let national = compact
            .strip_prefix("+254")
            .or_else(|| compact.strip_prefix("254"))
            .or_else(|| compact.strip_prefix('0'))?;
        let ok = national.len() == 9
            && matches!(national.as_bytes()[0], b'7' | b'1')
            && national.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Self(format!("+254{national}")))
    }

    pub fn e164(&self) -> &str {
        &self.0
    }

    /// `0712 345 678`, how M-Pesa numbers are read out in Kenya.
    pub fn local_display(&self) -> String {
        let n = &self.0[4..];
        format!("0{} {} {}", &n[..3], &n[3..6], &n[6..])
    }

    /// `+2547******78`, for logs.
    pub fn masked(&self) -> String {
        format!("{}******{}", &self.0[..5], &self.0[11..])
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_ways_kenyans_write_numbers() {
        for s in [
            "+254712345678",
            "254712345678",
            "0712345678",
            "0712 345 678",
            "+254-712-345-678",
        ] {
            assert_eq!(
                PhoneNumber::parse(s).unwrap().e164(),
                "+254712345678",
                "{s}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("0110123456").unwrap().e164(),
            "+254110123456"
        );
    }

    #[test]
    fn refuses_others() {
        for s in [
            "",
            "+255712345678",
            "0812345678",
            "071234567",
            "07123456789",
            "+2547123456a8",
            "712345678",
            "+1 555 0100",
        ] {
            assert_eq!(PhoneNumber::parse(s), None, "{s}");
        }
    }

    #[test]
    fn displays_and_masks() {
        let p = PhoneNumber::parse("0712345678").unwrap();
        assert_eq!(p.local_display(), "0712 345 678");
        assert_eq!(p.masked(), "+2547******78");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_is_idempotent(s in "\\PC{0,20}") {
            if let Some(p) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(p.e164()), Some(p));
            }
        }

        #[test]
        fn every_kenyan_mobile_parses(first in prop::sample::select(vec!['7', '1']), rest in "[0-9]{8}") {
            let local = format!("0{first}{rest}");
            let p = PhoneNumber::parse(&local).unwrap();
            prop_assert_eq!(PhoneNumber::parse(&p.local_display()), Some(p));
        }
    }
}
