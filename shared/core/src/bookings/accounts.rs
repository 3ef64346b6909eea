//! Accounts: a person who signs up by themselves becomes a client. The identity provider calls
//! this once they confirm their address (in AWS, Cognito's post-confirmation trigger); it puts
//! them in the `clients` group and creates their profile, and it may run again for the same
//! person (a retried trigger) without failing or changing anything. Psychologists never come
//! this way: they are invited by an administrator, and Cognito does not run the trigger for
//! users an administrator creates.

use super::{BookingError, Bookings};
use crate::domain::{Profile, Role, UserId};
use crate::ports::{Accounts, AccountsError};

/// The groups a role comes from (the `cognito:groups` claim's values).
pub const CLIENTS_GROUP: &str = "clients";
pub const PSYCHOLOGISTS_GROUP: &str = "psychologists";
/// Practice administrators: they invite and deactivate psychologists.
pub const PRACTICE_ADMINS_GROUP: &str = "practice_admins";

/// The ID-token claim that says a person signs in with a second factor, and its value for an
/// authenticator app: Cognito's pre-token-generation trigger adds it from the user's MFA
/// settings, the dev sign-in from its directory, and the API's write gate reads it.
pub const MFA_CLAIM: &str = "kikao_mfa";
pub const MFA_TOTP: &str = "totp";

/// What the identity provider knows of someone who just confirmed their sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    /// The token's `sub`: Kikao's user id.
    pub user_id: UserId,
    /// The identity provider's own name for the user, which its group calls take.
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Cognito confirmed the phone at sign-up (`phone_number_verified`).
    pub phone_verified: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Store(#[from] BookingError),
}

impl Bookings {
    /// Makes the person who signed up a client: the group first (what their next token says),
    /// then the profile, made from what they gave at sign-up unless one exists.
    pub async fn welcome_client(
        &self,
        who: &SignUp,
        accounts: &dyn Accounts,
    ) -> Result<Profile, SignUpError> {
        accounts.add_to_group(&who.username, CLIENTS_GROUP).await?;
        let mut fresh = Profile::from_claims(
            who.user_id.clone(),
            Role::Client,
            &who.name,
            who.email.as_deref(),
            who.phone.as_deref(),
            self.clock.now(),
        );
        if who.phone_verified {
            let phone = fresh.phone.clone();
            fresh.vouch_phone(phone.as_ref());
        }
        let profile = self
            .profiles
            .create_profile_if_absent(&fresh)
            .await
            .map_err(BookingError::from)?;
        tracing::info!(user = %who.user_id, "client signed up");
        Ok(profile)
    }
}
