//! Who is calling. In AWS the API Gateway JWT authorizer has already checked the token and
//! passes its claims in the request context; the dev server checks its own tokens and builds the
//! same context. Handlers only read claims, and a request without them is refused (401), never
//! served anonymously.

use super::error::ApiError;
use chrono::{DateTime, Utc};
pub use kikao_core::bookings::Caller;
use kikao_core::domain::{Role, UserId};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::collections::HashMap;

use kikao_core::bookings::Administrator;
pub use kikao_core::bookings::{
    CLIENTS_GROUP, MFA_CLAIM, MFA_TOTP, PRACTICE_ADMINS_GROUP, PSYCHOLOGISTS_GROUP,
};

fn claims(req: &Request) -> Option<&HashMap<String, String>> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => Some(&ctx.authorizer.as_ref()?.jwt.as_ref()?.claims),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// API Gateway flattens the `cognito:groups` array to `[a b]`; accept that, a JSON array, or a
/// plain comma/space separated list.
pub fn parse_groups(raw: &str) -> Vec<String> {
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([' ', ','])
        .map(|g| g.trim().trim_matches('"').to_owned())
        .filter(|g| !g.is_empty())
        .collect()
}

/// The token's subject, for logs: present whenever the authorizer passed the request.
pub fn subject(req: &Request) -> Option<String> {
    claims(req)?.get("sub").cloned()
}

/// What every caller's token says, whatever they may do.
struct Token<'a> {
    claims: &'a HashMap<String, String>,
    id: UserId,
    groups: Vec<String>,
}

impl<'a> Token<'a> {
    fn read(req: &'a Request) -> Result<Self, ApiError> {
        let claims = claims(req).ok_or_else(ApiError::unauthorized)?;
        let id = claims
            .get("sub")
            .and_then(|s| UserId::parse(s))
            .ok_or_else(ApiError::unauthorized)?;
        let groups = claims
            .get("cognito:groups")
            .map(|g| parse_groups(g))
            .unwrap_or_default();
        Ok(Self { claims, id, groups })
    }
    fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
    fn mfa(&self) -> bool {
        self.claims.get(MFA_CLAIM).is_some_and(|v| v == MFA_TOTP)
    }
    fn auth_time(&self) -> Option<DateTime<Utc>> {
        let secs: i64 = self.claims.get("auth_time")?.trim().parse().ok()?;
        DateTime::from_timestamp(secs, 0)
    }
}

/// Reads are open to everyone their role allows; a change by someone whose account needs a
/// second factor waits until they have one.
fn gate_writes(req: &Request, needs_mfa: bool, mfa: bool) -> Result<(), ApiError> {
    if needs_mfa && !mfa && req.method() != Method::GET {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa_required",
            "Set up two-step sign-in before making changes: your account guards clients' bookings and the M-Pesa number they pay to. Choose \u{201c}Set up two-step sign-in\u{201d} on your dashboard; it takes a minute with an authenticator app.",
        ));
    }
    Ok(())
}

pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    let t = Token::read(req)?;
    let admin = t.in_group(PRACTICE_ADMINS_GROUP);
    // someone in both groups acts as the psychologist: that is the account with more to do
    let role = if t.in_group(PSYCHOLOGISTS_GROUP) {
        Role::Psychologist
    } else if t.in_group(CLIENTS_GROUP) {
        Role::Client
    } else if admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no_role",
            "Your account administers the practice but has no bookings of its own: use the Admin page.",
        ));
    } else {
        // a client's first token after sign-up predates the group the sign-up trigger adds:
        // the page refreshes its token once on this code
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no_role",
            "Your account has no Kikao role yet. If you have just signed up, wait a moment and sign in again; psychologists are added by the practice.",
        ));
    };
    let claims = t.claims;
    let name = claims
        .get("name")
        .filter(|n| !n.trim().is_empty())
        .or_else(|| claims.get("email"))
        .cloned()
        .unwrap_or_else(|| "Kikao user".to_owned());
    let c = Caller {
        id: t.id.clone(),
        role,
        name,
        email: claims.get("email").cloned(),
        phone: claims.get("phone_number").cloned(),
        // API Gateway passes Cognito's boolean claims on as strings
        phone_verified: claims
            .get("phone_number_verified")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        admin,
        mfa: t.mfa(),
        auth_time: t.auth_time(),
    };
    gate_writes(req, c.needs_mfa(), c.mfa)?;
    Ok(c)
}

/// A practice administrator, or 403; their changes need a second factor like a psychologist's.
pub fn administrator(req: &Request) -> Result<Administrator, ApiError> {
    let t = Token::read(req)?;
    if !t.in_group(PRACTICE_ADMINS_GROUP) {
        return Err(ApiError::forbidden(
            "Only a practice administrator can manage the practice's psychologists.",
        ));
    }
    gate_writes(req, true, t.mfa())?;
    Ok(Administrator { id: t.id })
}

/// A token's claims as API Gateway's JWT authorizer hands them to a function: every value a
/// string (numbers and booleans written out, `true`/`false`), an array as `[a b]`, an object as
/// its JSON text. `parse_groups` reads the groups back from that form.
#[cfg(feature = "dev")]
pub fn gateway_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
) -> HashMap<String, String> {
    use serde_json::Value;
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => {
                let inner: Vec<String> = items.iter().map(text).collect();
                format!("[{}]", inner.join(" "))
            }
            other => other.to_string(),
        }
    }
    claims
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

/// The request context API Gateway (HTTP API, payload 2.0) sends after its JWT authorizer has
/// accepted a token: the dev server and the tests build requests with exactly this shape.
#[cfg(feature = "dev")]
pub fn api_gateway_context(
    claims: &HashMap<String, String>,
    method: &str,
    path: &str,
    route_key: &str,
    request_id: &str,
) -> RequestContext {
    let ctx = serde_json::json!({
        "routeKey": route_key,
        "accountId": "000000000000",
        "stage": "$default",
        "requestId": request_id,
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "local",
        "time": "",
        "timeEpoch": 0,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "kikao"},
        "authorizer": {"jwt": {"claims": claims, "scopes": null}},
    });
    RequestContext::ApiGatewayV2(
        serde_json::from_value(ctx).expect("the API Gateway v2 context shape"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "dev")]
    #[test]
    fn claims_are_handed_on_as_the_authorizer_writes_them() {
        let token = serde_json::json!({
            "sub": "5f1a6c2e", "cognito:groups": ["clients", "practice_admins"],
            "phone_number_verified": true, "email_verified": false, "auth_time": 1_700_000_000,
            "address": {"locality": "Nairobi"}, "nothing": null, "kikao_mfa": "totp"
        });
        let c = gateway_claims(token.as_object().unwrap());
        assert_eq!(c["sub"], "5f1a6c2e");
        assert_eq!(c["cognito:groups"], "[clients practice_admins]");
        assert_eq!(
            parse_groups(&c["cognito:groups"]),
            ["clients", "practice_admins"]
        );
        assert_eq!(
            (
                c["phone_number_verified"].as_str(),
                c["email_verified"].as_str()
            ),
            ("true", "false")
        );
        assert_eq!(c["auth_time"], "1700000000");
        assert_eq!(c["address"], r#"{"locality":"Nairobi"}"#);
        assert_eq!(c["kikao_mfa"], "totp");
        assert!(!c.contains_key("nothing"));
    }

    #[test]
    fn groups_in_every_shape() {
        assert_eq!(parse_groups("[clients]"), vec!["clients"]);
        assert_eq!(
            parse_groups("[clients psychologists]"),
            vec!["clients", "psychologists"]
        );
        assert_eq!(
            parse_groups("[\"clients\",\"psychologists\"]"),
            vec!["clients", "psychologists"]
        );
        assert_eq!(parse_groups("psychologists"), vec!["psychologists"]);
        assert!(parse_groups("[]").is_empty());
    }
}
