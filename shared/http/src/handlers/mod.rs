//! One function per endpoint of SPEC.md (outside this repo: `../shared/SPEC.md`), each
//! `async fn(&Bookings, Request) -> Response<Body>`.

pub(crate) mod admin;
pub(crate) mod me;
pub(crate) mod mpesa;
pub(crate) mod payments;
pub(crate) mod privacy;
pub(crate) mod sessions;
pub(crate) mod statements;
pub(crate) mod stk;
pub(crate) mod transitions;

pub use admin::{deactivate_psychologist, invite_psychologist, list_practitioners};
pub use me::{get_me, list_psychologists, psychologist_availability, update_me};
pub use mpesa::{
    attach_payment, list_unmatched_payments, mpesa_c2b_confirmation, mpesa_c2b_validation,
};
pub use payments::{get_payment_proof, parse_mpesa, request_proof_upload, submit_payment};
pub use privacy::{erase_me, export_me, get_privacy_notice, record_consent};
pub use sessions::{book_session, get_session, list_changes, list_pending_approval, list_sessions};
pub use statements::check_statement;
pub use stk::{get_checkout, mpesa_stk_callback, pay_by_mpesa};
pub use transitions::{
    accept_reschedule, approve_session, cancel_session, complete_session, decline_reschedule,
    decline_session, propose_reschedule, reject_payment, start_session, verify_payment,
};
