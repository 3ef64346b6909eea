//! Identifiers. A `SessionId` is parsed once at the boundary so that a malformed path segment
//! is a 404 before any store is touched; a `UserId` is whatever the identity provider says.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(Uuid);

impl SessionId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// The id's 16 bytes (random in a v4 UUID): what a booking reference is made from.
    pub fn bytes(&self) -> [u8; 16] {
        *self.0.as_bytes()
    }

    /// Accepts the hyphenated UUID form only, the form we hand out.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 36 {
            return None;
        }
        Uuid::try_parse(s).ok().map(Self)
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The `sub` claim of the caller's token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// A subject is 1 to 128 visible ASCII characters (Cognito uses UUIDs).
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ids_parse_only_what_they_print(s in "\\PC{0,40}", bits in any::<u128>()) {
            if let Some(id) = SessionId::parse(&s) {
                prop_assert_eq!(SessionId::parse(&id.to_string()), Some(id));
            }
            let id = SessionId(Uuid::from_u128(bits));
            prop_assert_eq!(SessionId::parse(&id.to_string()), Some(id));
            if let Some(u) = UserId::parse(&s) {
                prop_assert_eq!(u.as_str(), s.as_str());
                prop_assert!(u.as_str().len() <= 128 && !u.as_str().contains(' '));
            }
        }
    }

    #[test]
    fn session_id_round_trips_and_rejects_junk() {
        let id = SessionId::new();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        assert_eq!(SessionId::parse("not-a-uuid"), None);
        assert_eq!(SessionId::parse(""), None);
        // the simple (unhyphenated) form is not what we hand out
        assert_eq!(SessionId::parse(&id.0.simple().to_string()), None);
    }

    #[test]
    fn user_id_bounds() {
        assert!(UserId::parse("u-1").is_some());
        assert!(UserId::parse("").is_none());
        assert!(UserId::parse("has space").is_none());
        assert!(UserId::parse(&"x".repeat(129)).is_none());
    }
}
