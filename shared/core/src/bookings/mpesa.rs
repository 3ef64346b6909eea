//! Payments M-Pesa reports into a psychologist's Till or Paybill (Daraja's C2B confirmation).
//! A report that comes down the account's secret path is kept by its receipt, then matched: the
//! client's own proof of that receipt, else the booking reference typed as the Paybill account,
//! else (a Till has no account) the one waiting booking whose price and client's first name fit.
//! A match of the booking's price confirms it with the system as the actor; anything else waits
//! in the account's Unmatched list, where a psychologist of that account attaches it to a
//! booking. An amount alone never confirms anything.
//!
//! Safaricom may send a report more than once: the receipt is kept first and settled last, so
//! a retry either finds it settled and does nothing, or finishes a match an earlier attempt
//! left half-done; the `CODE#` claim of the confirmation makes the same receipt pay for one
//! booking only, whatever runs twice.

use super::{BookingError, Bookings, Caller};
use crate::domain::{
    payment_verified, BookingReference, CallbackToken, Command, ReceivedPayment, Refusal, Role,
    Session, SessionId, ShortCode, Status, TransactionCode, UserId,
};
use crate::ports::{LedgerEntry, Settlement, StoreError, Unmatched};

/// What a report of a payment led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// It confirmed this booking.
    Confirmed(SessionId),
    /// It waits in the Unmatched list.
    Unmatched(Unmatched),
    /// The same receipt was reported before and is settled: nothing changed.
    AlreadySettled,
}

/// How many times a match is tried against a booking that changed meanwhile.
const ATTEMPTS: usize = 3;

impl Bookings {
    /// The business account whose callback path `token` is; `NotFound` for a path this
    /// deployment did not make.
    pub async fn callback_account(&self, token: &str) -> Result<ShortCode, BookingError> {
        let key = self.callback_key.callback_key().await?;
        CallbackToken::verify(&key, token).ok_or(BookingError::NotFound)
    }

    /// A payment reported down the callback path `token`. `NotFound` when the path is not one
    /// this deployment made, or is another account's than the payment's (a forged report).
    pub async fn receive_mpesa_payment(
        &self,
        token: &str,
        payment: ReceivedPayment,
    ) -> Result<Received, BookingError> {
        let shortcode = self.callback_account(token).await?;
        if shortcode != payment.shortcode {
            return Err(BookingError::NotFound);
        }
        self.take_payment(payment, None).await
    }

    /// Keeps `payment` by its receipt and settles it: on booking `known` (the one a payment
    /// request was for), or on the booking it matches. The same receipt reported twice, by a
    /// payment request's callback and by the C2B confirmation that Safaricom also sends for it,
    /// settles once.
    pub(super) async fn take_payment(
        &self,
        payment: ReceivedPayment,
        known: Option<SessionId>,
    ) -> Result<Received, BookingError> {
        let entry = LedgerEntry {
            payment,
            received_at: self.clock.now(),
            settlement: Settlement::Received,
        };
        let kept = self.ledger.record(&entry).await?;
        // a retry goes on from where the first report stopped, with the payment as first
        // reported
        let payment = kept.payment;
        let candidate = match kept.settlement {
            Settlement::Received => match self.candidate(&payment, known).await? {
                Ok(s) => {
                    // the booking is written down before it is confirmed, so a retry after a
                    // crash in between finishes with this booking, not a new guess
                    let matching = Settlement::Matching { session: s.id };
                    self.ledger
                        .settle(&payment.shortcode, &payment.receipt, &matching)
                        .await?;
                    Some(s)
                }
                Err(why) => {
                    self.settle(&payment, Settlement::Unmatched(why.clone()))
                        .await?;
                    return Ok(Received::Unmatched(why));
                }
            },
            Settlement::Matching { session } => self.sessions.get(session).await?,
            Settlement::Paid { .. } | Settlement::Unmatched(_) => {
                return Ok(Received::AlreadySettled)
            }
        };
        let settlement = match candidate {
            Some(s) => self.confirm_paid(s, &payment).await?,
            None => Settlement::Unmatched(Unmatched::UnknownReference),
        };
        self.settle(&payment, settlement.clone()).await?;
        Ok(match settlement {
            Settlement::Paid { session } => Received::Confirmed(session),
            Settlement::Unmatched(why) => Received::Unmatched(why),
            Settlement::Received | Settlement::Matching { .. } => {
                unreachable!("a confirmation settles")
            }
        })
    }

    async fn settle(
        &self,
        payment: &ReceivedPayment,
        settlement: Settlement,
    ) -> Result<(), BookingError> {
        self.ledger
            .settle(&payment.shortcode, &payment.receipt, &settlement)
            .await?;
        tracing::info!(receipt = %payment.receipt.masked(), account = %payment.shortcode, settlement = ?settlement, "M-Pesa payment settled");
        Ok(())
    }

    /// The psychologists paid through `shortcode` (a practice's Paybill may be several's).
    async fn account_holders(&self, shortcode: &ShortCode) -> Result<Vec<UserId>, BookingError> {
        Ok(self
            .profiles
            .list_psychologists()
            .await?
            .into_iter()
            .filter(|p| {
                p.psychologist
                    .as_ref()
                    .and_then(|d| d.business.as_ref())
                    .is_some_and(|b| &b.shortcode == shortcode)
            })
            .map(|p| p.user_id)
            .collect())
    }

    /// The bookings of the account's psychologists that wait for payment.
    async fn payable(&self, shortcode: &ShortCode) -> Result<Vec<Session>, BookingError> {
        let mut open = Vec::new();
        for psy in self.account_holders(shortcode).await? {
            for status in [Status::Approved, Status::PaymentSubmitted] {
                open.extend(
                    self.every_session(&psy, Role::Psychologist, Some(status))
                        .await?,
                );
            }
        }
        Ok(open)
    }

    /// Why a reference names no booking waiting for payment: it may be one cancelled (or
    /// expired) lately, before or while the payment was made; the money is then the client's
    /// to get back. Only the latest changes are read: one page per psychologist.
    async fn lately_closed(
        &self,
        shortcode: &ShortCode,
        reference: &BookingReference,
    ) -> Result<Unmatched, BookingError> {
        const LATELY: usize = 50;
        for psy in self.account_holders(shortcode).await? {
            let page = self
                .sessions
                .list(
                    &psy,
                    Role::Psychologist,
                    Some(Status::Cancelled),
                    LATELY,
                    None,
                )
                .await?;
            if let Some(s) = page.items.iter().find(|s| &s.reference() == reference) {
                return Ok(Unmatched::NoLongerPayable { session: s.id });
            }
        }
        Ok(Unmatched::UnknownReference)
    }

    async fn candidate(
        &self,
        payment: &ReceivedPayment,
        known: Option<SessionId>,
    ) -> Result<Result<Session, Unmatched>, BookingError> {
        match known {
            None => self.match_payment(payment).await,
            Some(id) => Ok(self
                .sessions
                .get(id)
                .await?
                .ok_or(Unmatched::UnknownReference)),
        }
    }

    async fn match_payment(
        &self,
        p: &ReceivedPayment,
    ) -> Result<Result<Session, Unmatched>, BookingError> {
        let open = self.payable(&p.shortcode).await?;
        let priced = |s: &Session| {
            if s.price_kes == p.amount {
                Ok(s.clone())
            } else {
                Err(Unmatched::AmountDiffers { session: s.id })
            }
        };
        let own_proof = open.iter().find(|s| {
            s.payment
                .as_ref()
                .is_some_and(|pay| pay.transaction_code == p.receipt)
        });
        if let Some(s) = own_proof {
            return Ok(priced(s));
        }
        if let Some(reference) = p.account.as_deref().and_then(BookingReference::typed) {
            let named: Vec<&Session> = open.iter().filter(|s| s.reference() == reference).collect();
            return Ok(match named.as_slice() {
                [] => Err(self.lately_closed(&p.shortcode, &reference).await?),
                [s] => priced(s),
                _ => Err(Unmatched::Ambiguous),
            });
        }
        let first = |name: &str| name.split_whitespace().next().map(str::to_lowercase);
        let payer = p.payer.as_deref().and_then(first);
        let fitting: Vec<&Session> = open
            .iter()
            .filter(|s| {
                s.price_kes == p.amount && payer.is_some() && first(&s.client.name) == payer
            })
            .collect();
        Ok(match fitting.as_slice() {
            [s] => Ok((*s).clone()),
            [] => Err(Unmatched::NoReference),
            _ => Err(Unmatched::Ambiguous),
        })
    }

    /// Confirms `session` as paid by `payment`, by the system, re-reading it if it changed
    /// meanwhile: a cancel that lands first wins, and the payment then waits as the client's
    /// money to give back.
    async fn confirm_paid(
        &self,
        mut session: Session,
        payment: &ReceivedPayment,
    ) -> Result<Settlement, BookingError> {
        for _ in 0..ATTEMPTS {
            let cmd = Command::PaidByMpesa {
                payment: payment.clone(),
                meeting_link: self.meeting_link(),
            };
            match self.apply(&session, None, cmd).await {
                Ok(s) => return Ok(Settlement::Paid { session: s.id }),
                Err(BookingError::Store(StoreError::VersionConflict)) => {
                    session = self
                        .sessions
                        .get(session.id)
                        .await?
                        .ok_or(BookingError::NotFound)?;
                }
                Err(BookingError::Refused(Refusal::InvalidTransition { .. })) => {
                    // paid by this very receipt already (the same report, delivered twice at
                    // once), or moved on without it
                    let now = self.sessions.get(session.id).await?;
                    let paid_by_it = now.as_ref().is_some_and(|s| {
                        payment_verified(s.status)
                            && s.payment
                                .as_ref()
                                .is_some_and(|p| p.transaction_code == payment.receipt)
                    });
                    return Ok(if paid_by_it {
                        Settlement::Paid {
                            session: session.id,
                        }
                    } else {
                        Settlement::Unmatched(Unmatched::NoLongerPayable {
                            session: session.id,
                        })
                    });
                }
                Err(BookingError::Store(StoreError::DuplicateCode)) => {
                    return Ok(Settlement::Unmatched(Unmatched::CodeUsed))
                }
                Err(e) => return Err(e),
            }
        }
        Err(BookingError::Store(StoreError::VersionConflict))
    }

    /// The business account `caller` is paid through, if any.
    async fn own_account(&self, caller: &Caller) -> Result<ShortCode, BookingError> {
        if caller.role != Role::Psychologist {
            return Err(BookingError::Forbidden(
                "Only psychologists have M-Pesa payments to match.",
            ));
        }
        self.profiles
            .get_profile(&caller.id)
            .await?
            .and_then(|p| p.psychologist)
            .and_then(|d| d.business)
            .map(|b| b.shortcode)
            .ok_or_else(|| {
                BookingError::invalid(
                    "business_number",
                    "add your Till or Paybill to your profile first: M-Pesa reports only payments into one",
                )
            })
    }

    /// The payments into `caller`'s Till or Paybill that confirmed no booking, oldest first.
    pub async fn unmatched_payments(
        &self,
        caller: &Caller,
    ) -> Result<Vec<LedgerEntry>, BookingError> {
        let shortcode = self.own_account(caller).await?;
        Ok(self.ledger.unmatched(&shortcode).await?)
    }

    /// `caller` takes the unmatched payment `receipt` as the payment of their booking `id`
    /// (awaiting payment, of at least its price): the booking is confirmed.
    pub async fn attach_payment(
        &self,
        caller: &Caller,
        receipt: &TransactionCode,
        id: SessionId,
    ) -> Result<Session, BookingError> {
        let shortcode = self.own_account(caller).await?;
        let entry = self
            .ledger
            .payment(&shortcode, receipt)
            .await?
            .filter(|e| matches!(e.settlement, Settlement::Unmatched(_)))
            .ok_or_else(|| {
                BookingError::invalid(
                    "receipt",
                    "is not an unmatched payment into your Till or Paybill; refresh the list",
                )
            })?;
        let before = self
            .session_for_action(caller, id, None, crate::domain::Action::AttachPayment)
            .await?;
        if entry.payment.amount < before.price_kes {
            return Err(BookingError::invalid(
                "receipt",
                format!(
                    "paid {}, less than the {} this session costs; ask the client for the rest and verify it by hand",
                    entry.payment.amount, before.price_kes
                ),
            ));
        }
        let cmd = Command::AttachPayment {
            payment: entry.payment.clone(),
            meeting_link: self.meeting_link(),
        };
        let s = self
            .apply(&before, Some((&caller.id, caller.role)), cmd)
            .await?;
        self.ledger
            .settle(&shortcode, receipt, &Settlement::Paid { session: s.id })
            .await?;
        Ok(s)
    }
}
