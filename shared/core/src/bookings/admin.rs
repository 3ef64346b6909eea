//! Practice administration: an administrator invites psychologists (the identity provider makes
//! the account and sends the invitation), lists them, and ends one's access. Ending access is
//! more than switching off a login: the psychologist leaves the directory, nobody can book them,
//! and every booking of theirs still open is withdrawn through `Bookings::apply`, so each client
//! is told in words and a paid one is marked for a refund.

use super::{BookingError, Bookings, PSYCHOLOGISTS_GROUP};
use crate::domain::{Command, PhoneNumber, Profile, Role, Session, Status, UserId};
use crate::ports::{Invitee, StoreError};

/// A practice administrator, as the identity provider vouches for them (the `practice_admins`
/// group). Only the HTTP boundary makes one, from the token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Administrator {
    pub id: UserId,
}

/// An invitation's details, checked: a name, an email address the invitation goes to, and a
/// Kenyan phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation(Invitee);

const MAX_NAME: usize = 80;
const MAX_EMAIL: usize = 254;

impl Invitation {
    pub fn parse(name: &str, email: &str, phone: &str) -> Result<Self, BookingError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(BookingError::invalid(
                "name",
                format!("give the psychologist's name, 1 to {MAX_NAME} characters"),
            ));
        }
        let email = email.trim().to_lowercase();
        let plausible = email.len() <= MAX_EMAIL
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if !plausible {
            return Err(BookingError::invalid(
                "email",
                "give the address the invitation should go to, such as name@example.com",
            ));
        }
        let phone = PhoneNumber::parse(phone).ok_or_else(|| {
            BookingError::invalid(
                "phone",
                "give a Kenyan mobile number, such as 0712 345 678 or +254712345678",
            )
        })?;
        Ok(Self(Invitee {
            name: name.to_owned(),
            email,
            phone: phone.e164().to_owned(),
        }))
    }
}

/// What ending a psychologist's access did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivation {
    pub psychologist: Profile,
    /// Open bookings withdrawn by this call (none when it repeats one that finished).
    pub cancelled_bookings: usize,
}

/// How many times deactivation reads the open bookings before it leaves the rest to a repeat.
const MAX_PASSES: usize = 3;

/// The statuses a withdrawal ends: everything not yet started.
const OPEN: [Status; 4] = [
    Status::PendingApproval,
    Status::Approved,
    Status::PaymentSubmitted,
    Status::Confirmed,
];

impl Bookings {
    /// Makes the psychologist's account (the identity provider emails them a temporary
    /// password) and their profile; they appear in the directory once they add a session type.
    pub async fn invite_psychologist(
        &self,
        by: &Administrator,
        invitation: Invitation,
    ) -> Result<Profile, BookingError> {
        let who = invitation.0;
        let account = self.accounts.invite(&who, PSYCHOLOGISTS_GROUP).await?;
        self.audit(
            crate::domain::AuditAction::PsychologistInvited,
            &by.id,
            &account.user_id,
            None,
        )
        .await?;
        let mut profile = Profile::from_claims(
            account.user_id.clone(),
            Role::Psychologist,
            &who.name,
            Some(&who.email),
            Some(&who.phone),
            self.clock.now(),
        );
        profile.account = Some(account.username);
        let stored = self.profiles.create_profile_if_absent(&profile).await?;
        tracing::info!(admin = %by.id, psychologist = %stored.user_id, "psychologist invited");
        Ok(stored)
    }

    /// Every psychologist of the practice, deactivated ones too, by name.
    pub async fn practice_psychologists(
        &self,
        _by: &Administrator,
    ) -> Result<Vec<Profile>, BookingError> {
        let mut all = self.profiles.list_psychologists().await?;
        all.sort_by_key(|p| p.name.to_lowercase());
        Ok(all)
    }

    /// Ends a psychologist's access: the account disabled and signed out everywhere first (so
    /// a failure there changes nothing here), then the profile marked, then each open booking
    /// withdrawn. Running it again finishes what an interrupted run left.
    pub async fn deactivate_psychologist(
        &self,
        by: &Administrator,
        id: &str,
    ) -> Result<Deactivation, BookingError> {
        let user = UserId::parse(id).ok_or(BookingError::NoSuchPsychologist)?;
        let mut profile = self
            .profiles
            .get_profile(&user)
            .await?
            .filter(|p| p.role == Role::Psychologist)
            .ok_or(BookingError::NoSuchPsychologist)?;
        if profile.active() {
            self.audit(
                crate::domain::AuditAction::PsychologistDeactivated,
                &by.id,
                &user,
                None,
            )
            .await?;
            let username = profile.account.clone().unwrap_or_else(|| id.to_owned());
            self.accounts.disable(&username).await?;
            let now = self.clock.now();
            profile.deactivated_at = Some(now);
            profile.updated_at = now;
            self.profiles.put_profile(&profile).await?;
            tracing::info!(admin = %by.id, psychologist = %user, "psychologist deactivated");
        }
        // a booking can move between the status lists while they are read (a rejected payment
        // goes back to approved), or be made by a client who read the profile just before it
        // closed: read again until a whole pass finds nothing open
        let mut cancelled = 0;
        for _ in 0..MAX_PASSES {
            let mut this_pass = 0;
            for status in OPEN {
                for s in self
                    .every_session(&user, Role::Psychologist, Some(status))
                    .await?
                {
                    if self.withdraw(s).await? {
                        this_pass += 1;
                    }
                }
            }
            cancelled += this_pass;
            if this_pass == 0 {
                break;
            }
        }
        Ok(Deactivation {
            psychologist: profile,
            cancelled_bookings: cancelled,
        })
    }

    /// Withdraws one booking; a party acting on it at the same moment wins, and the booking is
    /// judged again as it now stands. `false`: nothing left to withdraw.
    async fn withdraw(&self, mut s: Session) -> Result<bool, BookingError> {
        for _ in 0..3 {
            if !OPEN.contains(&s.status) {
                return Ok(false);
            }
            match self.apply(&s, None, Command::Withdraw).await {
                Ok(_) => return Ok(true),
                Err(BookingError::Store(StoreError::VersionConflict)) => {
                    match self.sessions.get(s.id).await? {
                        Some(now) => s = now,
                        None => return Ok(false),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(BookingError::Store(StoreError::VersionConflict))
    }
}
