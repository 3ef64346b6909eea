//! Lipa na M-Pesa Online: on an approved booking of a psychologist paid through a Till or
//! Paybill, the client asks for the payment request on their phone ("Pay KSh 2,000 now"),
//! enters their PIN there, and Safaricom calls back down the account's secret path. A callback
//! that says paid is only a hint: Safaricom's own answer to a query decides, and then the
//! payment is taken as any payment M-Pesa reports (`Bookings::take_payment`), confirming the
//! booking with the system as the actor. A failure changes nothing but the request's state,
//! which the client reads as a sentence; paying by hand stays open.

use super::mpesa::Received;
use super::{BookingError, Bookings, Caller};
use crate::domain::{
    refused_url_word, stk_failure, Action, BookingReference, CallbackToken, Checkout,
    CheckoutState, Kes, PhoneNumber, ReceivedPayment, SessionId, StkQueryResult, StkRequest,
    TransactionCode, STK_QUERY_AFTER, STK_QUERY_EVERY,
};
use chrono::{DateTime, Utc};

/// What Safaricom's callback says, read by the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StkCallback {
    pub checkout_id: String,
    pub result_code: i64,
    /// With result code 0: the receipt, amount and time Safaricom reports.
    pub receipt: Option<TransactionCode>,
    pub amount: Option<Kes>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// What a client whose payment Safaricom confirms, but whose receipt has not reached Kikao, is
/// told: the receipt is in M-Pesa's SMS on their phone.
const PAID_WITHOUT_RECEIPT: &str = "M-Pesa says this was paid, but its receipt has not reached Kikao yet. Your booking is confirmed as soon as it does; if it is not within a few minutes, submit the code from M-Pesa's SMS as your payment proof.";

/// A payment request as its client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutStatus {
    pub checkout: Checkout,
    /// For a failed one: what happened, and what to do; for a pending one Safaricom says is
    /// paid, that its receipt has not come.
    pub message: Option<&'static str>,
}

impl Bookings {
    /// Puts the payment request for booking `id` on `caller`'s phone: their confirmed phone, or
    /// `phone` if they give another (someone else may pay for them).
    pub async fn pay_by_mpesa(
        &self,
        caller: &Caller,
        id: SessionId,
        phone: Option<PhoneNumber>,
    ) -> Result<Checkout, BookingError> {
        let s = self
            .session_for_action(caller, id, None, Action::SubmitPayment)
            .await?;
        let business = s.business.clone().ok_or_else(|| {
            BookingError::invalid(
                "session_id",
                "this booking is paid to the psychologist's own number: send the money, then submit the code",
            )
        })?;
        let profile_phone = self
            .profiles
            .get_profile(&caller.id)
            .await?
            .and_then(|p| p.phone);
        let phone = phone
            .or_else(|| caller.verified_phone())
            .or(profile_phone)
            .ok_or_else(|| {
                BookingError::invalid(
                    "phone",
                    "is needed: the M-Pesa number the payment request should go to",
                )
            })?;
        let key = self.callback_key.callback_key().await?;
        let token = CallbackToken::for_shortcode(&key, &business.shortcode);
        let request = StkRequest {
            shortcode: business.shortcode.clone(),
            kind: business.kind,
            amount: s.price_kes,
            phone,
            reference: BookingReference::of(s.id),
            callback_url: format!(
                "{}/api/hooks/{token}/stk",
                self.config.api_url.trim_end_matches('/')
            ),
        };
        if let Some(word) = refused_url_word(&request.callback_url) {
            // Safaricom would answer "Invalid CallBackURL": the operator's to mend, not the client's
            tracing::error!(
                word,
                "the API's public address has a word Safaricom refuses in callback URLs: set the stack's PublicApiUrl to a custom domain (README, A Till or Paybill)"
            );
            return Err(BookingError::MpesaUnavailable);
        }
        let checkout_id = self.daraja.stk_push(&request).await.map_err(|e| {
            tracing::warn!(error = %e, "payment request refused");
            BookingError::MpesaUnavailable
        })?;
        let checkout = Checkout {
            id: checkout_id,
            session: s.id,
            shortcode: business.shortcode,
            amount: s.price_kes,
            started_at: self.clock.now(),
            state: CheckoutState::Pending,
            queried_at: None,
            said_paid: false,
        };
        self.checkouts.put_checkout(&checkout).await?;
        Ok(checkout)
    }

    /// A payment request of `caller`'s, as it stands. One still pending `STK_QUERY_AFTER` after it
    /// was sent is asked about (at most every `STK_QUERY_EVERY`): Safaricom's callback may never
    /// come, and the client is waiting to hear. A failure it reports is kept as the callback's
    /// would be; a payment it reports names no receipt, so it cannot confirm the booking: the
    /// client is told to send the code from M-Pesa's SMS unless the receipt arrives first.
    pub async fn checkout_status(
        &self,
        caller: &Caller,
        checkout_id: &str,
    ) -> Result<CheckoutStatus, BookingError> {
        let mut c = self
            .checkouts
            .checkout(checkout_id)
            .await?
            .ok_or(BookingError::NotFound)?;
        // someone else's payment request is as absent as a made-up one
        self.session_for(caller, c.session).await?;
        let now = self.clock.now();
        let due = c
            .queried_at
            .map_or(c.started_at + STK_QUERY_AFTER, |at| at + STK_QUERY_EVERY);
        if c.state == CheckoutState::Pending && now >= due {
            let said = self.daraja.stk_query(&c.shortcode, &c.id).await;
            let mut asked = Checkout {
                queried_at: Some(now),
                ..c.clone()
            };
            match said {
                Ok(StkQueryResult::Failed { code }) => asked.state = CheckoutState::Failed { code },
                Ok(StkQueryResult::Paid) => asked.said_paid = true,
                Ok(StkQueryResult::Pending) => {}
                // Safaricom not answering is not the client's news: asked again next time
                Err(e) => tracing::warn!(error = %e, "a late payment request could not be queried"),
            }
            if self.checkouts.update_pending_checkout(&asked).await? {
                c = asked;
            } else if let Some(settled) = self.checkouts.checkout(checkout_id).await? {
                // the callback came meanwhile: what it settled stands
                c = settled;
            }
        }
        let message = match c.state {
            CheckoutState::Failed { code } => Some(stk_failure(code)),
            CheckoutState::Pending if c.said_paid => Some(PAID_WITHOUT_RECEIPT),
            _ => None,
        };
        Ok(CheckoutStatus {
            checkout: c,
            message,
        })
    }

    /// Safaricom's callback for a payment request, down the path `token`. `NotFound` for a path
    /// this deployment did not make or a request of another account; a request Kikao never
    /// sent is ignored (`Ok(None)`).
    pub async fn stk_callback(
        &self,
        token: &str,
        callback: StkCallback,
    ) -> Result<Option<Received>, BookingError> {
        let shortcode = self.callback_account(token).await?;
        let Some(mut checkout) = self.checkouts.checkout(&callback.checkout_id).await? else {
            tracing::warn!("callback for a payment request Kikao did not send");
            return Ok(None);
        };
        if checkout.shortcode != shortcode {
            return Err(BookingError::NotFound);
        }
        if matches!(checkout.state, CheckoutState::Paid { .. }) {
            return Ok(Some(Received::AlreadySettled));
        }
        if callback.result_code != 0 {
            checkout.state = CheckoutState::Failed {
                code: callback.result_code,
            };
            self.checkouts.put_checkout(&checkout).await?;
            return Ok(None);
        }
        // a callback anyone could forge says paid: Safaricom's answer decides
        let said = self
            .daraja
            .stk_query(&shortcode, &checkout.id)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "payment request could not be queried");
                BookingError::MpesaUnavailable
            })?;
        match said {
            StkQueryResult::Paid => {}
            StkQueryResult::Failed { code } => {
                tracing::warn!(code, "a callback said paid; Safaricom says it failed");
                checkout.state = CheckoutState::Failed { code };
                self.checkouts.put_checkout(&checkout).await?;
                return Ok(None);
            }
            StkQueryResult::Pending => {
                tracing::warn!("a callback said paid; Safaricom says it is still pending");
                return Ok(None);
            }
        }
        let (Some(receipt), Some(amount)) = (callback.receipt, callback.amount) else {
            tracing::warn!("a paid callback without its receipt or amount");
            return Ok(None);
        };
        let payment = ReceivedPayment {
            receipt: receipt.clone(),
            amount,
            paid_at: callback.paid_at.unwrap_or_else(|| self.clock.now()),
            shortcode,
            account: Some(BookingReference::of(checkout.session).to_string()),
            payer: None,
        };
        // the amount is the booking's price or the booking waits for the psychologist
        let received = if amount == checkout.amount {
            self.take_payment(payment, Some(checkout.session)).await?
        } else {
            self.take_payment(payment, None).await?
        };
        checkout.state = CheckoutState::Paid { receipt };
        self.checkouts.put_checkout(&checkout).await?;
        Ok(Some(received))
    }
}
