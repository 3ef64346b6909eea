//! Free text a person types: reasons and notes. Bounded so a body cannot grow an item past
//! what a store or an SMS can carry, and trimmed so "   " is not a reason.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{what} is required.")]
    Empty { what: &'static str },
    #[error("{what} is too long: at most {max} characters.")]
    TooLong { what: &'static str, max: usize },
}

fn bounded(s: &str, what: &'static str, max: usize) -> Result<String, TextError> {
    let t = s.trim();
    if t.is_empty() {
        Err(TextError::Empty { what })
    } else if t.chars().count() > max {
        Err(TextError::TooLong { what, max })
    } else {
        Ok(t.to_owned())
    }
}

/// Why a booking was declined, cancelled or a payment rejected: 1 to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reason(String);

impl Reason {
    pub const MAX: usize = 500;
    pub fn parse(s: &str) -> Result<Self, TextError> {
        bounded(s, "A reason", Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client's note on a booking: 1 to 1,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub const MAX: usize = 1000;
    pub fn parse(s: &str) -> Result<Self, TextError> {
        bounded(s, "The note", Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_bounded_and_stable(s in "\\PC{0,1100}") {
            match Note::parse(&s) {
                Ok(n) => {
                    prop_assert_eq!(n.as_str(), s.trim());
                    prop_assert!(!n.as_str().is_empty() && n.as_str().chars().count() <= Note::MAX);
                    prop_assert_eq!(Note::parse(n.as_str()), Ok(n.clone()));
                }
                Err(TextError::Empty { .. }) => prop_assert!(s.trim().is_empty()),
                Err(TextError::TooLong { .. }) => prop_assert!(s.trim().chars().count() > Note::MAX),
            }
            match Reason::parse(&s) {
                Ok(r) => prop_assert!(r.as_str().chars().count() <= Reason::MAX),
                Err(_) => prop_assert!(s.trim().is_empty() || s.trim().chars().count() > Reason::MAX),
            }
        }
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(
            Reason::parse("  Fully booked  ").unwrap().as_str(),
            "Fully booked"
        );
        assert!(matches!(Reason::parse("   "), Err(TextError::Empty { .. })));
        assert!(Reason::parse(&"é".repeat(500)).is_ok());
        assert!(matches!(
            Reason::parse(&"é".repeat(501)),
            Err(TextError::TooLong { max: 500, .. })
        ));
        assert!(Note::parse(&"a".repeat(1000)).is_ok());
        assert!(Note::parse(&"a".repeat(1001)).is_err());
    }
}
