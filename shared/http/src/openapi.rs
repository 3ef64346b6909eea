//! The OpenAPI 3.1 document of the API, generated from the handlers' `#[utoipa::path]`
//! annotations and the types they read and send, so it describes the API that runs. The dev
//! server serves it at `/api/openapi.json`; `infra/openapi.json` is the checked-in copy (a test
//! fails when they differ), and schemathesis fuzzes the dev server against it.
//!
//! What operations share is added here once: bearer-token security; 401, 403 and 500 on every
//! operation; 400, 413 and 422 where there is a body; 404 on a booking's path; 400 and 409
//! where `If-Match` is taken; and the links that let a client (or a fuzzer) follow a booking
//! from one call to the next. An annotation lists only what is particular to its endpoint.

use super::handlers;
use super::views;
use serde::{Deserialize, Serialize};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// Every error: a stable `code` for programs and a `message` a person can act on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `malformed_request`, `unauthorized`, `forbidden`, `not_found`, `validation_failed`,
    /// `payload_too_large`, `invalid_transition`, `version_conflict`, `slot_taken`,
    /// `duplicate_transaction_code`, `idempotency_conflict`, `idempotency_key_reused`,
    /// `outside_availability`, `not_a_payment`, `unreadable`, `no_role`, `mfa_required`,
    /// `recent_sign_in_required`, `account_deactivated`, `account_erased`, `consent_required`, `notice_changed`, `account_exists`, `rate_limited`, `accounts_unavailable` or `internal`.
    #[schema(example = "invalid_transition")]
    pub code: String,
    #[schema(example = "This booking was already approved.")]
    pub message: String,
    /// With `validation_failed`: the input at fault, as the request names it (the message names
    /// it in words).
    #[schema(example = "phone")]
    pub field: Option<String>,
}

/// The booking named in the path. Any id that is not one of the caller's bookings, malformed
/// or not, is a 404.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// The booking's id.
    #[allow(dead_code)]
    #[param(format = Uuid)]
    pub id: String,
}

/// Optional optimistic concurrency for every status change.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// The booking's `version` in quotes, such as `"3"`: act only if nobody changed it since
    /// (otherwise 409 `version_conflict`).
    #[allow(dead_code)]
    #[serde(rename = "If-Match")]
    pub if_match: Option<String>,
}

/// The list endpoints' conditional GET.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatch {
    /// The `ETag` of the last list seen: 304 with no body if nothing changed.
    #[allow(dead_code)]
    #[serde(rename = "If-None-Match")]
    pub if_none_match: Option<String>,
}

/// Safe retries of a booking request.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// The same key with the same body answers with the first booking instead of making a
    /// second one (1 to 255 visible ASCII characters).
    #[allow(dead_code)]
    #[serde(rename = "Idempotency-Key")]
    #[param(min_length = 1, max_length = 255, pattern = "^[!-~]+$")]
    pub idempotency_key: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kikao API",
        description = "Booking for therapy practices in Kenya: a client requests a session, the psychologist approves, the client pays by M-Pesa and submits proof, the psychologist verifies it, and the session is confirmed with a meeting link. The statuses and transitions are Kikao's product contract (SPEC.md).",
        version = "1.0.0",
    ),
    paths(
        handlers::me::get_me,
        handlers::me::update_me,
        handlers::privacy::get_privacy_notice,
        handlers::privacy::record_consent,
        handlers::privacy::export_me,
        handlers::privacy::erase_me,
        handlers::me::list_psychologists,
        handlers::me::psychologist_availability,
        handlers::sessions::book_session,
        handlers::sessions::list_sessions,
        handlers::sessions::list_pending_approval,
        handlers::sessions::get_session,
        handlers::sessions::list_changes,
        handlers::transitions::approve_session,
        handlers::transitions::decline_session,
        handlers::payments::request_proof_upload,
        handlers::payments::parse_mpesa,
        handlers::statements::check_statement,
        handlers::mpesa::list_unmatched_payments,
        handlers::mpesa::attach_payment,
        handlers::mpesa::mpesa_c2b_confirmation,
        handlers::mpesa::mpesa_c2b_validation,
        handlers::stk::pay_by_mpesa,
        handlers::stk::get_checkout,
        handlers::stk::mpesa_stk_callback,
        handlers::payments::submit_payment,
        handlers::payments::get_payment_proof,
        handlers::transitions::verify_payment,
        handlers::transitions::reject_payment,
        handlers::transitions::propose_reschedule,
        handlers::transitions::accept_reschedule,
        handlers::transitions::decline_reschedule,
        handlers::transitions::start_session,
        handlers::transitions::complete_session,
        handlers::transitions::cancel_session,
        handlers::admin::list_practitioners,
        handlers::admin::invite_psychologist,
        handlers::admin::deactivate_psychologist,
    ),
    components(schemas(ErrorBody, views::SessionView)),
    modifiers(&Shared),
    tags(
        (name = "profile", description = "The caller's profile and the psychologist directory."),
        (name = "sessions", description = "Booking, listing and reading sessions."),
        (name = "transitions", description = "Status changes; each one is allowed only to one party in given statuses (SPEC.md)."),
        (name = "payments", description = "M-Pesa proof of payment."),
        (name = "mpesa", description = "Safaricom's Daraja callbacks: public, each authenticated by the secret in its path."),
        (name = "privacy", description = "The privacy notice, the person's consent to it, the export of their data and the erasure of a client's account (Kenya's Data Protection Act 2019)."),
        (name = "admin", description = "The practice administrator's: inviting and deactivating psychologists."),
    )
)]
struct ApiDoc;

/// The document, as the dev server serves it.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as checked in: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut s = document()
        .to_pretty_json()
        .expect("the document serializes");
    s.push('\n');
    s
}

struct Shared;

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
        .into()
}

fn operations(doc: &mut Document) -> impl Iterator<Item = (&String, &mut Operation)> {
    doc.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        .map(move |op| (path, op))
    })
}

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An ID token from the practice's Cognito user pool (in AWS, API Gateway's JWT authorizer checks it) or from the dev server's /dev/login. The `cognito:groups` claim gives the role: `clients`, `psychologists` or `practice_admins`; psychologists and administrators need the `kikao_mfa` claim (two-step sign-in) for any change.",
                    ))
                    .build(),
            ),
        );
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);

        // ids of the operations that act on one booking, for the links below
        let on_booking: Vec<String> = operations(doc)
            .filter(|(path, _)| path.starts_with("/api/sessions/{id}"))
            .filter_map(|(_, op)| op.operation_id.clone())
            .collect();
        for (path, op) in operations(doc) {
            if path.starts_with(crate::routes::PUBLIC_PREFIX) {
                // no token: `{}` is the requirement of no authentication at all
                op.security = Some(vec![
                    utoipa::openapi::security::SecurityRequirement::default(),
                ]);
                continue;
            }
            let responses = &mut op.responses.responses;
            responses
                .entry("401".into())
                .or_insert_with(|| error_response("No valid token: sign in."));
            responses.entry("403".into()).or_insert_with(|| {
                error_response("The token carries no Kikao role, this role may not do this, or (`mfa_required`) a psychologist or administrator has not set up two-step sign-in.")
            });
            let takes_if_match = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.name == "If-Match"));
            let has_body = op.request_body.is_some();
            let responses = &mut op.responses.responses;
            if has_body {
                responses
                    .entry("400".into())
                    .or_insert_with(|| error_response("The body is not JSON of this shape."));
                responses
                    .entry("413".into())
                    .or_insert_with(|| error_response("The body is over 64 KB."));
                responses.entry("422".into()).or_insert_with(|| {
                    error_response("A field is wrong; the message names it. Nothing was changed.")
                });
            }
            if takes_if_match {
                responses.entry("400".into()).or_insert_with(|| {
                    error_response("If-Match is not a version in quotes, such as \"3\".")
                });
                responses.entry("409".into()).or_insert_with(|| {
                    error_response("`invalid_transition`: not allowed in the booking's status or at this time (the message says why); `version_conflict`: it changed since the If-Match version.")
                });
            }
            if path.starts_with("/api/sessions/{id}") {
                responses.entry("404".into()).or_insert_with(|| {
                    error_response("Not one of the caller's bookings (or no such booking).")
                });
            }
            responses.entry("500".into()).or_insert_with(|| {
                error_response("A storage failure; nothing was changed, and trying again is safe.")
            });
            // a booking's id, where a response carries one, leads to every call on a booking
            let id_at = match (path.as_str(), op.operation_id.as_deref()) {
                ("/api/sessions", Some("book_session")) => Some(("201", "$response.body#/id")),
                ("/api/sessions", _) | ("/api/sessions/pending-approval", _) => {
                    Some(("200", "$response.body#/sessions/0/id"))
                }
                _ => None,
            };
            if let Some((status, pointer)) = id_at {
                if let Some(RefOr::T(res)) = responses.get_mut(status) {
                    for target in &on_booking {
                        res.links.insert(
                            target.clone(),
                            LinkBuilder::new()
                                .operation_id(target.clone())
                                .parameter("id", pointer)
                                .build()
                                .into(),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ROUTES;

    #[test]
    fn the_document_describes_each_route_once_and_nothing_else() {
        let doc = document();
        let mut described = 0;
        for route in ROUTES {
            let item = doc
                .paths
                .paths
                .get(route.path)
                .unwrap_or_else(|| panic!("{} is not in the document", route.path));
            let op = match route.method {
                "GET" => &item.get,
                "PUT" => &item.put,
                "POST" => &item.post,
                "DELETE" => &item.delete,
                m => panic!("{m}"),
            };
            let op = op
                .as_ref()
                .unwrap_or_else(|| panic!("{} {} is not described", route.method, route.path));
            assert_eq!(op.operation_id.as_deref(), Some(route.handler_name));
            described += 1;
        }
        let total: usize = doc
            .paths
            .paths
            .values()
            .map(|i| {
                [&i.get, &i.put, &i.post, &i.delete, &i.patch, &i.head]
                    .iter()
                    .filter(|o| o.is_some())
                    .count()
            })
            .sum();
        assert_eq!(
            described, total,
            "the document describes a route that does not exist"
        );
    }

    #[test]
    fn it_is_openapi_3_1_and_every_operation_but_the_public_ones_answers_401() {
        let json: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let mut public = 0;
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if path.starts_with(crate::routes::PUBLIC_PREFIX) {
                    public += 1;
                    assert_eq!(op["security"], serde_json::json!([{}]), "{method} {path}");
                    assert!(op["responses"]["401"].is_null(), "{method} {path}");
                } else {
                    assert!(
                        op["responses"]["401"].is_object(),
                        "{method} {path} does not say 401"
                    );
                }
            }
        }
        assert_eq!(public, 3, "the three M-Pesa callbacks");
    }
}
