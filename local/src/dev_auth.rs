//! Dev sign-in, local only: the dev server issues HS256 tokens for the people in its directory
//! (`kikao_embedded::dev_accounts`) and checks them on every API request, then hands the
//! handlers the same claims API Gateway's JWT authorizer would: the groups, `auth_time`, and the
//! MFA claim Cognito's pre-token-generation trigger adds. The signing secret is made on first
//! start and kept in the data folder.

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
    /// As Cognito's ID token has it: a JSON boolean.
    #[serde(default)]
    pub phone_number_verified: bool,
    #[serde(rename = "cognito:groups")]
    pub groups: Vec<String>,
    /// `totp` when the person signs in with an authenticator app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kikao_mfa: Option<String>,
    /// When they signed in; a refreshed token keeps it, as Cognito's do.
    pub auth_time: i64,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

impl DevClaims {
    /// As API Gateway passes them on: every value a string, the groups array as `[a b]`.
    pub fn to_gateway_claims(&self) -> HashMap<String, String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => kikao_http::auth::gateway_claims(&m),
            _ => HashMap::new(),
        }
    }
}

/// Who a token is for, as the directory knows them.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub sub: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub phone_verified: bool,
    pub groups: &'a [String],
    pub mfa: bool,
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

    /// A token for `who`, who signed in at `auth_time`, issued at `now`.
    pub fn issue(&self, who: &Identity<'_>, auth_time: i64, now: i64) -> String {
        let claims = DevClaims {
            sub: who.sub.to_owned(),
            name: who.name.to_owned(),
            email: who.email.to_owned(),
            phone_number: who.phone.to_owned(),
            phone_number_verified: who.phone_verified,
            groups: who.groups.to_vec(),
            kikao_mfa: who.mfa.then(|| kikao_http::auth::MFA_TOTP.to_owned()),
            auth_time,
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
        let clients = ["clients".to_owned()];
        let who = Identity {
            sub: "u1",
            name: "U One",
            email: "u1@example.test",
            phone: "+254700000001",
            phone_verified: false,
            groups: &clients,
            mfa: false,
        };
        let t = auth.issue(&who, now - 60, now);
        let c = auth.verify(&t).unwrap();
        let gateway = c.to_gateway_claims();
        assert_eq!(gateway["cognito:groups"], "[clients]");
        assert_eq!(gateway["auth_time"], (now - 60).to_string());
        assert!(!gateway.contains_key("kikao_mfa"));
        assert_eq!(gateway["phone_number_verified"], "false");
        let with_app = auth.issue(
            &Identity {
                mfa: true,
                phone_verified: true,
                ..who
            },
            now,
            now,
        );
        let gateway = auth.verify(&with_app).unwrap().to_gateway_claims();
        assert_eq!(
            (
                gateway["kikao_mfa"].as_str(),
                gateway["phone_number_verified"].as_str()
            ),
            ("totp", "true")
        );
        // another secret, an expired token, or junk: refused
        assert!(DevAuth::new(b"another-secret-another-secret-xx")
            .verify(&t)
            .is_none());
        let old = auth.issue(&who, now - 13 * 3600, now - 13 * 3600);
        assert!(auth.verify(&old).is_none());
        assert!(auth.verify("not.a.token").is_none());
    }
}
