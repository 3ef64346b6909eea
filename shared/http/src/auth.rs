//! Who is calling. In AWS the API Gateway JWT authorizer has already checked the token and
//! passes its claims in the request context; the dev server checks its own tokens and builds the
//! same context. Handlers only read claims, and a request without them is refused (401), never
//! served anonymously.

use super::error::ApiError;
pub use kikao_core::bookings::Caller;
use kikao_core::domain::{Role, UserId};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::collections::HashMap;

pub use kikao_core::bookings::{CLIENTS_GROUP, PSYCHOLOGISTS_GROUP};

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

pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    let claims = claims(req).ok_or_else(ApiError::unauthorized)?;
    let id = claims
        .get("sub")
        .and_then(|s| UserId::parse(s))
        .ok_or_else(ApiError::unauthorized)?;
    let groups = claims
        .get("cognito:groups")
        .map(|g| parse_groups(g))
        .unwrap_or_default();
    // someone in both groups acts as the psychologist: that is the account with more to do
    let role = if groups.iter().any(|g| g == PSYCHOLOGISTS_GROUP) {
        Role::Psychologist
    } else if groups.iter().any(|g| g == CLIENTS_GROUP) {
        Role::Client
    } else {
        // a client's first token after sign-up predates the group the sign-up trigger adds:
        // the page refreshes its token once on this code
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no_role",
            "Your account has no Kikao role yet. If you have just signed up, wait a moment and sign in again; psychologists are added by the practice.",
        ));
    };
    let name = claims
        .get("name")
        .filter(|n| !n.trim().is_empty())
        .or_else(|| claims.get("email"))
        .cloned()
        .unwrap_or_else(|| "Kikao user".to_owned());
    Ok(Caller {
        id,
        role,
        name,
        email: claims.get("email").cloned(),
        phone: claims.get("phone_number").cloned(),
    })
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
