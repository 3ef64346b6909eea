//! Money is whole Kenyan shillings: M-Pesa moves whole shillings and prices are set that way,
//! so a fractional amount anywhere is a mistake worth rejecting at the boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whole Kenyan shillings, 1 to 1,000,000 (above that M-Pesa's own limits apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Kes(u32);

pub const MAX_KES: u32 = 1_000_000;

impl Kes {
    pub fn new(amount: u32) -> Option<Self> {
        (1..=MAX_KES).contains(&amount).then_some(Self(amount))
    }

    /// Parses amounts as people and M-Pesa write them: `2000`, `2,000`, `2,000.00`, `Ksh2,000.00`.
    /// Cents other than zero are refused.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = strip_prefix_ci(s, "ksh")
            .or_else(|| strip_prefix_ci(s, "kes"))
            .unwrap_or(s)
            .trim_start();
        let (whole, cents) = match s.split_once('.') {
            Some((w, c)) => (w, Some(c)),
            None => (s, None),
        };
        if let Some(c) = cents {
            if c.is_empty() || c.len() > 2 || !c.bytes().all(|b| b == b'0') {
                return None;
            }
        }
        if whole.is_empty() || whole.starts_with(',') || whole.ends_with(',') {
            return None;
        }
        // thousands separators must sit every three digits
        let groups: Vec<&str> = whole.split(',').collect();
        if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
            return None;
        }
        let digits: String = groups.concat();
        if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::new(digits.parse().ok()?)
    }

    pub fn amount(self) -> u32 {
        self.0
    }
}

/// `s` without `prefix`, in any case: M-Pesa's words come upper-, lower- and mixed-case.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

impl fmt::Display for Kes {
    /// `KSh 2,000`, as the dashboards show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + 2);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        write!(f, "KSh {out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_people_write() {
        for s in [
            "2000",
            "2,000",
            "2,000.00",
            "Ksh2,000.00",
            "KES 2000",
            " 2000.0 ",
        ] {
            assert_eq!(Kes::parse(s), Kes::new(2000), "{s}");
        }
        assert_eq!(Kes::parse("1,000,000"), Kes::new(1_000_000));
    }

    #[test]
    fn refuses_what_is_not_whole_shillings() {
        for s in [
            "",
            "0",
            "-5",
            "2000.50",
            "20,00",
            ",200",
            "2000,",
            "1,000,001",
            "abc",
            "2.",
            "1e3",
            "12345678",
        ] {
            assert_eq!(Kes::parse(s), None, "{s}");
        }
    }

    #[test]
    fn displays_with_separators() {
        assert_eq!(Kes::new(2000).unwrap().to_string(), "KSh 2,000");
        assert_eq!(Kes::new(999).unwrap().to_string(), "KSh 999");
        assert_eq!(Kes::new(1_000_000).unwrap().to_string(), "KSh 1,000,000");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = Kes::parse(&s);
        }

        #[test]
        fn display_round_trips(n in 1u32..=MAX_KES) {
            let k = Kes::new(n).unwrap();
            prop_assert_eq!(Kes::parse(&k.to_string().replace("KSh ", "Ksh")), Some(k));
        }
    }
}
