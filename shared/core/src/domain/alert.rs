//! Security alerts about a person's own account, sent whatever their notification choices: today,
//! that the M-Pesa number, Till or Paybill their clients pay to was changed. An alert is written in the same
//! store write as the change it reports (an outbox), and it carries the contacts as they were
//! before the change, so someone who took over the account cannot silence it by changing them
//! too.

use super::{BusinessAccount, PhoneNumber, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertKind {
    MpesaNumberChanged {
        from: Option<PhoneNumber>,
        to: Option<PhoneNumber>,
    },
    /// The Till or Paybill clients pay to was set, changed or removed.
    BusinessAccountChanged {
        from: Option<BusinessAccount>,
        to: Option<BusinessAccount>,
    },
}

impl AlertKind {
    /// The purpose a sent message is logged under.
    pub fn name(&self) -> &'static str {
        match self {
            AlertKind::MpesaNumberChanged { .. } => "mpesa_number_changed",
            AlertKind::BusinessAccountChanged { .. } => "business_account_changed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAlert {
    /// Unique: each message of the alert is sent once under it.
    pub id: String,
    pub user: UserId,
    pub at: DateTime<Utc>,
    pub what: AlertKind,
    /// Where to reach them, as it was before the change.
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
    pub time_zone: String,
}

impl AccountAlert {
    pub fn new(before: &super::Profile, what: AlertKind, at: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            user: before.user_id.clone(),
            at,
            what,
            name: before.name.clone(),
            // an alert goes where other SMS do: a number nobody confirmed could be anyone's
            phone: before.sms_phone().cloned(),
            email: before.email.clone(),
            time_zone: before.time_zone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PhoneNumber, Profile, Role, UserId};

    #[test]
    fn an_alert_texts_only_a_confirmed_number() {
        let now = Utc::now();
        let mut before = Profile::from_claims(
            UserId::parse("p").unwrap(),
            Role::Psychologist,
            "Dr A",
            Some("a@example.test"),
            Some("+254700000001"),
            now,
        );
        let what = || AlertKind::MpesaNumberChanged {
            from: None,
            to: PhoneNumber::parse("0711000002"),
        };
        let unconfirmed = AccountAlert::new(&before, what(), now);
        assert_eq!(
            (unconfirmed.phone, unconfirmed.email.as_deref()),
            (None, Some("a@example.test"))
        );
        before.phone_verified = true;
        let confirmed = AccountAlert::new(&before, what(), now);
        assert_eq!(confirmed.phone, PhoneNumber::parse("+254700000001"));
    }
}
