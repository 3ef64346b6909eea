//! Dev sign-in, local only: the dev server issues HS256 tokens for the demo users and checks
//! them on every API request, then hands the handlers the same claims API Gateway's JWT
//! authorizer would. The signing secret is made on first start and kept in the data folder.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const ISSUER: &str = "kikao-local";
const TOKEN_HOURS: i64 = 12;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevClaims {
    pub sub: String,
    pub name: String,
    pub email: String,
    pub phone_number: String,
    #[serde(rename = "cognito:groups")]
    pub groups: Vec<String>,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

impl DevClaims {
    /// As API Gateway passes them on: every value a string, the groups array as `[a b]`.
    pub fn to_gateway_claims(&self) -> HashMap<String, String> {
        HashMap::from([
            ("sub".to_owned(), self.sub.clone()),
            ("name".to_owned(), self.name.clone()),
            ("email".to_owned(), self.email.clone()),
            ("phone_number".to_owned(), self.phone_number.clone()),
            (
                "cognito:groups".to_owned(),
                format!("[{}]", self.groups.join(" ")),
            ),
            ("iss".to_owned(), self.iss.clone()),
            ("iat".to_owned(), self.iat.to_string()),
            ("exp".to_owned(), self.exp.to_string()),
        ])
    }
}

pub struct DevAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl DevAuth {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        sub: &str,
        name: &str,
        email: &str,
        phone: &str,
        group: &str,
        now: i64,
    ) -> String {
        let claims = DevClaims {
            sub: sub.to_owned(),
            name: name.to_owned(),
            email: email.to_owned(),
            phone_number: phone.to_owned(),
            groups: vec![group.to_owned()],
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + TOKEN_HOURS * 3600,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The claims of a valid, unexpired token this server issued.
    pub fn verify(&self, token: &str) -> Option<DevClaims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        v.leeway = 0;
        decode::<DevClaims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_checks_tokens() {
        let auth = DevAuth::new(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let t = auth.issue(
            "u1",
            "U One",
            "u1@example.test",
            "+254700000001",
            "clients",
            now,
        );
        let c = auth.verify(&t).unwrap();
        assert_eq!(c.to_gateway_claims()["cognito:groups"], "[clients]");
        // another secret, an expired token, or junk: refused
        assert!(DevAuth::new(b"another-secret-another-secret-xx")
            .verify(&t)
            .is_none());
        let old = auth.issue("u1", "U", "e", "p", "clients", now - 13 * 3600);
        assert!(auth.verify(&old).is_none());
        assert!(auth.verify("not.a.token").is_none());
    }
}
