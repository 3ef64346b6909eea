//! A psychologist's M-Pesa statement against their bookings whose payment waits to be verified:
//! which the statement proves, which it does not and why. Nothing is written here; the
//! psychologist verifies the matching payments through `act`, like any verification, so the
//! rules, the versions and the history stay the ones every payment goes through.

use super::{BookingError, Bookings, Caller};
use crate::domain::{
    reconcile, role_may, Action, Completeness, Reconciled, Session, Statement, StatementError,
    Status,
};
use chrono::{DateTime, Utc};

/// Bookings read, at most, in one check: more than a practice has waiting at once.
const MAX_AWAITING: usize = 1_000;
const PAGE: usize = 100;

/// What a statement says about each payment waiting to be verified.
#[derive(Debug, Clone)]
pub struct StatementCheck {
    /// Transactions read from the statement, and lines that looked like one but could not be.
    pub rows: usize,
    pub unreadable_rows: usize,
    /// The first and last transaction the statement holds.
    pub span: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Whether the rows read add up to the statement's own totals.
    pub completeness: Completeness,
    /// Each booking with its verdict, soonest session first.
    pub results: Vec<(Session, Reconciled)>,
}

impl Bookings {
    /// Checks `statement` against the caller's bookings waiting for payment verification. A
    /// statement that prints its number must be for the number in the caller's profile, or one
    /// a waiting booking was approved with.
    pub async fn check_statement(
        &self,
        caller: &Caller,
        statement: &Statement,
    ) -> Result<StatementCheck, BookingError> {
        role_may(Action::VerifyPayment, Some(caller.role))?;
        let mut awaiting = self.awaiting_verification(caller).await?;
        // a statement of a number that neither the profile nor any waiting booking pays to is
        // the wrong file; one of an older number still checks the bookings approved with it
        if let Some(on_statement) = &statement.mobile_number {
            let in_profile = self
                .profiles
                .get_profile(&caller.id)
                .await?
                .and_then(|p| p.psychologist)
                .and_then(|d| d.mpesa_number);
            let paid_to_it = awaiting
                .iter()
                .any(|s| s.mpesa_number.as_ref() == Some(on_statement));
            if let Some(in_profile) = in_profile.filter(|n| n != on_statement && !paid_to_it) {
                return Err(StatementError::OtherNumber {
                    statement: on_statement.local_display(),
                    profile: in_profile.local_display(),
                }
                .into());
            }
        }
        // a submitted payment always has its code; `reconcile` answers for each such booking,
        // in order
        awaiting.retain(|s| s.payment.is_some());
        awaiting.sort_by_key(|s| s.starts_at);
        let reconciled = reconcile(statement, &awaiting);
        let results = awaiting.into_iter().zip(reconciled).collect();
        Ok(StatementCheck {
            rows: statement.rows.len(),
            unreadable_rows: statement.unreadable_rows,
            span: statement.span(),
            completeness: statement.completeness(),
            results,
        })
    }

    async fn awaiting_verification(&self, caller: &Caller) -> Result<Vec<Session>, BookingError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .sessions
                .list(
                    &caller.id,
                    caller.role,
                    Some(Status::PaymentSubmitted),
                    PAGE,
                    cursor.as_deref(),
                )
                .await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) if all.len() < MAX_AWAITING => cursor = Some(c),
                _ => return Ok(all),
            }
        }
    }
}
