//! M-Pesa payment evidence. Clients prove payment with the transaction code from their
//! confirmation SMS; most find it easier to paste the whole SMS, so the code, amount, recipient
//! and time are read out of it. Nobody else checks these codes, so reading is strict about what
//! counts as a payment (`message`) and honest about what it could not find. A personal number's
//! payments are checked against its statement (`statement`, `reconcile`); a Till's or Paybill's
//! are reported by M-Pesa itself (`business`).

mod business;
mod code;
mod message;
mod reconcile;
mod statement;
mod stk;

pub use business::{
    BookingReference, BusinessAccount, BusinessKind, CallbackToken, ReceivedPayment, ShortCode,
};
pub use code::TransactionCode;
pub use message::{MpesaAmount, MpesaMessageError, MpesaReceipt, OtherKind, PaymentKind};
pub use reconcile::{reconcile, Reconciled, Verdict};
pub use statement::{Completeness, Payer, Statement, StatementError, StatementRow};
pub use stk::{
    daraja_time, refused_url_word, stk_failure, stk_password, stk_timestamp, Checkout,
    CheckoutState, StkQueryResult, StkRequest, STK_QUERY_AFTER, STK_QUERY_EVERY,
};
