//! The route table of SPEC.md (outside this repository: `../shared/SPEC.md`): method, path (API Gateway's `{id}` syntax), the function crate
//! that serves it in AWS, and its handler. The dev server mounts exactly this table, and the
//! infra checks compare the SAM template with it.

use super::handlers;
use kikao_core::bookings::Bookings;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::pin::Pin;

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
pub type Handler = for<'a> fn(&'a Bookings, Request) -> HandlerFuture<'a>;

/// Safaricom's callbacks live under here: public (no token; API Gateway runs no authorizer on
/// them, and the dev server asks for none), each authenticated by the secret in its path.
pub const PUBLIC_PREFIX: &str = "/api/hooks/";

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// The crate under `functions/` that serves it.
    pub function: &'static str,
    /// The handler's name in `http::handlers` (each function's `main` names it).
    pub handler_name: &'static str,
    pub handler: Handler,
}

impl Route {
    pub fn public(&self) -> bool {
        self.path.starts_with(PUBLIC_PREFIX)
    }
}

macro_rules! route {
    ($method:literal, $path:literal, $handler:ident, $function:literal) => {{
        fn h(app: &Bookings, req: Request) -> HandlerFuture<'_> {
            Box::pin(handlers::$handler(app, req))
        }
        Route {
            method: $method,
            path: $path,
            function: $function,
            handler_name: stringify!($handler),
            handler: h,
        }
    }};
}

pub const ROUTES: &[Route] = &[
    route!("GET", "/api/me", get_me, "get-me"),
    route!("PUT", "/api/me", update_me, "update-me"),
    route!(
        "GET",
        "/api/privacy-notice",
        get_privacy_notice,
        "get-privacy-notice"
    ),
    route!("PUT", "/api/me/consent", record_consent, "record-consent"),
    route!("GET", "/api/me/export", export_me, "export-me"),
    route!("DELETE", "/api/me", erase_me, "erase-me"),
    route!("GET", "/api/me/changes", list_changes, "list-changes"),
    route!(
        "GET",
        "/api/psychologists",
        list_psychologists,
        "list-psychologists"
    ),
    route!(
        "GET",
        "/api/psychologists/{id}/availability",
        psychologist_availability,
        "psychologist-availability"
    ),
    route!("POST", "/api/sessions", book_session, "book-session"),
    route!("GET", "/api/sessions", list_sessions, "list-sessions"),
    route!(
        "GET",
        "/api/sessions/pending-approval",
        list_pending_approval,
        "list-pending-approval"
    ),
    route!("GET", "/api/sessions/{id}", get_session, "get-session"),
    route!(
        "PUT",
        "/api/sessions/{id}/approve",
        approve_session,
        "approve-session"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/decline",
        decline_session,
        "decline-session"
    ),
    route!(
        "POST",
        "/api/sessions/{id}/payment-proof",
        request_proof_upload,
        "request-proof-upload"
    ),
    route!(
        "POST",
        "/api/payments/parse-mpesa",
        parse_mpesa,
        "parse-mpesa"
    ),
    route!(
        "POST",
        "/api/payments/statement",
        check_statement,
        "check-statement"
    ),
    route!(
        "GET",
        "/api/payments/unmatched",
        list_unmatched_payments,
        "list-unmatched-payments"
    ),
    route!(
        "POST",
        "/api/payments/unmatched/{receipt}/attach",
        attach_payment,
        "attach-payment"
    ),
    route!(
        "POST",
        "/api/hooks/{token}/c2b/confirmation",
        mpesa_c2b_confirmation,
        "mpesa-c2b-confirmation"
    ),
    route!(
        "POST",
        "/api/hooks/{token}/c2b/validation",
        mpesa_c2b_validation,
        "mpesa-c2b-validation"
    ),
    route!(
        "POST",
        "/api/sessions/{id}/pay-by-mpesa",
        pay_by_mpesa,
        "pay-by-mpesa"
    ),
    route!(
        "GET",
        "/api/payments/checkouts/{checkout_id}",
        get_checkout,
        "get-checkout"
    ),
    route!(
        "POST",
        "/api/hooks/{token}/stk",
        mpesa_stk_callback,
        "mpesa-stk-callback"
    ),
    route!(
        "POST",
        "/api/sessions/{id}/submit-payment",
        submit_payment,
        "submit-payment"
    ),
    route!(
        "GET",
        "/api/sessions/{id}/payment-proof",
        get_payment_proof,
        "get-payment-proof"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/verify-payment",
        verify_payment,
        "verify-payment"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/reject-payment",
        reject_payment,
        "reject-payment"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/reschedule",
        propose_reschedule,
        "propose-reschedule"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/reschedule/accept",
        accept_reschedule,
        "accept-reschedule"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/reschedule/decline",
        decline_reschedule,
        "decline-reschedule"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/start",
        start_session,
        "start-session"
    ),
    route!(
        "PUT",
        "/api/sessions/{id}/complete",
        complete_session,
        "complete-session"
    ),
    route!(
        "DELETE",
        "/api/sessions/{id}",
        cancel_session,
        "cancel-session"
    ),
    route!(
        "GET",
        "/api/admin/psychologists",
        list_practitioners,
        "list-practitioners"
    ),
    route!(
        "POST",
        "/api/admin/psychologists",
        invite_psychologist,
        "invite-psychologist"
    ),
    route!(
        "POST",
        "/api/admin/psychologists/{id}/deactivate",
        deactivate_psychologist,
        "deactivate-psychologist"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_and_function_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(a.function != b.function, "{}", a.function);
                assert!(
                    (a.method, a.path) != (b.method, b.path),
                    "{} {}",
                    a.method,
                    a.path
                );
            }
        }
        assert_eq!(ROUTES.len(), 38);
    }

    /// Safaricom refuses callback URLs with its own name or `exe`, `cmd`, `sql`, `query` in them:
    /// the paths it calls have none (the host is the deployment's: README, A Till or Paybill).
    #[test]
    fn the_paths_safaricom_calls_have_no_word_it_refuses() {
        let public: Vec<_> = ROUTES.iter().filter(|r| r.public()).collect();
        assert_eq!(public.len(), 3);
        for r in public {
            assert_eq!(
                kikao_core::domain::refused_url_word(r.path),
                None,
                "{}",
                r.path
            );
        }
    }
}
