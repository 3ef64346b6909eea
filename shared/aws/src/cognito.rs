//! Cognito: the user directory behind the `Accounts` port (sign-up's group, invitations,
//! deactivation), the post-confirmation trigger's event read as a `SignUp`, and the
//! pre-token-generation trigger's answer. The event is handled as plain JSON and handed back unchanged, as
//! Cognito requires: a field Cognito adds later, or a trigger source this code does not know,
//! must not fail someone's sign-up.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, DeliveryMediumType, MessageActionType, UserStatusType,
};
use kikao_core::bookings::{
    SignUp, MFA_CLAIM, MFA_TOTP, PRACTICE_ADMINS_GROUP, PSYCHOLOGISTS_GROUP,
};
use kikao_core::domain::UserId;
use kikao_core::ports::{Accounts, AccountsError, InvitedAccount, Invitee};
use serde_json::Value;

pub struct CognitoAccounts {
    client: aws_sdk_cognitoidentityprovider::Client,
    pool_id: String,
}

impl CognitoAccounts {
    pub fn new(client: aws_sdk_cognitoidentityprovider::Client, pool_id: &str) -> Self {
        Self {
            client,
            pool_id: pool_id.to_owned(),
        }
    }
}

fn backend<E>(e: aws_sdk_cognitoidentityprovider::error::SdkError<E>) -> AccountsError
where
    E: std::error::Error + 'static,
{
    AccountsError::Backend(
        aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e).to_string(),
    )
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, AccountsError> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| AccountsError::Backend(e.to_string()))
}

#[async_trait]
impl Accounts for CognitoAccounts {
    async fn add_to_group(&self, username: &str, group: &str) -> Result<(), AccountsError> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await
            .map(|_| ())
            .map_err(backend)
    }

    /// AdminCreateUser with the address already verified (the administrator vouches for it, and
    /// the invitation itself proves it reaches them) and Cognito's invitation email, then the
    /// group. An address Cognito already has is invited again if that person never signed in
    /// (a lost or expired invitation, or a retry after the group call failed): a new temporary
    /// password (`MessageAction=RESEND`) and the group made sure of.
    async fn invite(&self, who: &Invitee, group: &str) -> Result<InvitedAccount, AccountsError> {
        let create = || {
            Ok::<_, AccountsError>(
                self.client
                    .admin_create_user()
                    .user_pool_id(&self.pool_id)
                    .username(&who.email)
                    .user_attributes(attribute("email", &who.email)?)
                    .user_attributes(attribute("email_verified", "true")?)
                    .user_attributes(attribute("name", &who.name)?)
                    .user_attributes(attribute("phone_number", &who.phone)?)
                    .desired_delivery_mediums(DeliveryMediumType::Email),
            )
        };
        let user = match create()?.send().await {
            Ok(out) => out
                .user
                .ok_or_else(|| AccountsError::Backend("AdminCreateUser returned no user".into()))?,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_username_exists_exception()) =>
            {
                let existing = self
                    .client
                    .admin_get_user()
                    .user_pool_id(&self.pool_id)
                    .username(&who.email)
                    .send()
                    .await
                    .map_err(backend)?;
                if existing.user_status() != Some(&UserStatusType::ForceChangePassword) {
                    return Err(AccountsError::Exists);
                }
                create()?
                    .message_action(MessageActionType::Resend)
                    .send()
                    .await
                    .map_err(backend)?;
                // the account as Cognito holds it, not as the resend reports it
                let sub = existing
                    .user_attributes()
                    .iter()
                    .find(|a| a.name() == "sub")
                    .and_then(|a| a.value())
                    .and_then(UserId::parse)
                    .ok_or_else(|| AccountsError::Backend("the user has no sub".into()))?;
                let username = existing.username().to_owned();
                self.add_to_group(&username, group).await?;
                return Ok(InvitedAccount {
                    user_id: sub,
                    username,
                });
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_invalid_parameter_exception()) =>
            {
                return Err(AccountsError::Refused(
                    aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e).to_string(),
                ))
            }
            Err(e) => return Err(backend(e)),
        };
        let username = user
            .username
            .clone()
            .ok_or_else(|| AccountsError::Backend("the new user has no username".into()))?;
        let user_id = user
            .attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .and_then(UserId::parse)
            .ok_or_else(|| AccountsError::Backend("the new user has no sub".into()))?;
        self.add_to_group(&username, group).await?;
        Ok(InvitedAccount { user_id, username })
    }

    /// AdminUserGlobalSignOut (every refresh token revoked) then AdminDisableUser (no new
    /// sign-in). A retry after the disable finds the sign-out refused for a disabled user, and a
    /// user Cognito no longer has needs stopping no more: both count as done.
    async fn disable(&self, username: &str) -> Result<(), AccountsError> {
        let out = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await;
        match out {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_user_not_found_exception()) =>
            {
                return Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_authorized_exception()) => {}
            Err(e) => return Err(backend(e)),
        }
        match self
            .client
            .admin_disable_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_user_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete(&self, username: &str) -> Result<(), AccountsError> {
        match self
            .client
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_user_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }
}

impl CognitoAccounts {
    /// Whether the user has an authenticator app (TOTP) among their MFA settings.
    pub async fn has_totp(&self, username: &str) -> Result<bool, AccountsError> {
        let user = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .map_err(backend)?;
        Ok(user
            .user_mfa_setting_list()
            .iter()
            .any(|m| m == SOFTWARE_TOKEN_MFA))
    }
}

/// Cognito's name for an authenticator app in a user's MFA settings.
const SOFTWARE_TOKEN_MFA: &str = "SOFTWARE_TOKEN_MFA";

/// The pool and user a pre-token-generation event is for, when the token needs the MFA
/// question asked: only for someone in a group whose changes need a second factor
/// (psychologists, administrators), so a client's sign-in never waits on, or fails with, a
/// Cognito call. `None` for everyone else and for other trigger sources.
pub fn token_request(event: &Value) -> Result<Option<(String, String)>, NotAnEvent> {
    let source = event
        .get("triggerSource")
        .and_then(Value::as_str)
        .ok_or(NotAnEvent("no triggerSource"))?;
    if !source.starts_with("TokenGeneration_") {
        return Ok(None);
    }
    let elevated = event
        .pointer("/request/groupConfiguration/groupsToOverride")
        .and_then(Value::as_array)
        .is_some_and(|gs| {
            gs.iter().any(|g| {
                [PSYCHOLOGISTS_GROUP, PRACTICE_ADMINS_GROUP].contains(&g.as_str().unwrap_or(""))
            })
        });
    if !elevated {
        return Ok(None);
    }
    let text = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_owned);
    let pool = text("userPoolId").ok_or(NotAnEvent("no userPoolId"))?;
    let user = text("userName").ok_or(NotAnEvent("no userName"))?;
    Ok(Some((pool, user)))
}

/// Writes the answer into the event (version 1: `claimsOverrideDetails`): the MFA claim when
/// the person has an authenticator app, and otherwise the claim suppressed, so no value a user
/// could have put in an attribute of the same name reaches the token.
pub fn add_token_claims(event: &mut Value, mfa: bool) {
    let details = if mfa {
        serde_json::json!({"claimsToAddOrOverride": {MFA_CLAIM: MFA_TOTP}})
    } else {
        serde_json::json!({"claimsToSuppress": [MFA_CLAIM]})
    };
    if !event.get("response").is_some_and(Value::is_object) {
        event["response"] = serde_json::json!({});
    }
    event["response"]["claimsOverrideDetails"] = details;
}

/// Why a post-confirmation event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Cognito post-confirmation event: {0}")]
pub struct NotAnEvent(&'static str);

/// The user pool and the sign-up a post-confirmation event reports, or `None` when it reports
/// something else: the trigger also runs after a forgotten password is reset, which changes
/// nobody's role.
pub fn sign_up(event: &Value) -> Result<Option<(String, SignUp)>, NotAnEvent> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let source = event
        .get("triggerSource")
        .and_then(Value::as_str)
        .ok_or(NotAnEvent("no triggerSource"))?;
    if source != "PostConfirmation_ConfirmSignUp" {
        return Ok(None);
    }
    let pool = event
        .get("userPoolId")
        .and_then(text)
        .ok_or(NotAnEvent("no userPoolId"))?;
    let username = event
        .get("userName")
        .and_then(text)
        .ok_or(NotAnEvent("no userName"))?;
    let attrs = event
        .pointer("/request/userAttributes")
        .ok_or(NotAnEvent("no request.userAttributes"))?;
    let attr = |k: &str| attrs.get(k).and_then(text).filter(|s| !s.trim().is_empty());
    let user_id = attr("sub")
        .as_deref()
        .and_then(UserId::parse)
        .ok_or(NotAnEvent("no usable sub attribute"))?;
    let email = attr("email");
    // the name they gave, else their given and family names, else the start of their address
    let name = attr("name")
        .or_else(|| {
            let parts: Vec<String> = ["given_name", "family_name"]
                .iter()
                .filter_map(|k| attr(k))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .or_else(|| {
            email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Ok(Some((
        pool,
        SignUp {
            user_id,
            username,
            name,
            email,
            phone: attr("phone_number"),
            phone_verified: attr("phone_number_verified").as_deref() == Some("true"),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cognito's post-confirmation event as the developer guide and aws_lambda_events' fixture
    /// show it, with made-up values of the same shape.
    fn event(source: &str) -> Value {
        serde_json::json!({
            "version": "1",
            "region": "af-south-1",
            "userPoolId": "af-south-1_Ab12Cd34E",
            "userName": "5f1a6c2e-8b3d-4e7f-9a10-2b3c4d5e6f70",
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789abcdefghij"},
            "triggerSource": source,
            "request": {
                "userAttributes": {
                    "sub": "5f1a6c2e-8b3d-4e7f-9a10-2b3c4d5e6f70",
                    "email_verified": "true",
                    "cognito:user_status": "CONFIRMED",
                    "cognito:email_alias": "achieng@example.test",
                    "name": "Achieng Otieno",
                    "phone_number_verified": "false",
                    "phone_number": "+254700000456",
                    "email": "achieng@example.test"
                }
            },
            "response": {}
        })
    }

    #[test]
    fn a_confirmed_sign_up_is_read() {
        let (pool, who) = sign_up(&event("PostConfirmation_ConfirmSignUp"))
            .unwrap()
            .unwrap();
        assert_eq!(pool, "af-south-1_Ab12Cd34E");
        assert_eq!(who.user_id.as_str(), "5f1a6c2e-8b3d-4e7f-9a10-2b3c4d5e6f70");
        assert_eq!(who.name, "Achieng Otieno");
        assert_eq!(who.email.as_deref(), Some("achieng@example.test"));
        assert_eq!(who.phone.as_deref(), Some("+254700000456"));
        assert!(
            !who.phone_verified,
            "the event says the phone is unconfirmed"
        );
        let mut confirmed = event("PostConfirmation_ConfirmSignUp");
        confirmed["request"]["userAttributes"]["phone_number_verified"] = "true".into();
        assert!(sign_up(&confirmed).unwrap().unwrap().1.phone_verified);
    }

    /// The version 1 pre-token-generation event as the developer guide shows it, with made-up
    /// values of the same shape.
    fn token_event(source: &str) -> Value {
        serde_json::json!({
            "version": "1",
            "triggerSource": source,
            "region": "af-south-1",
            "userPoolId": "af-south-1_Ab12Cd34E",
            "userName": "5f1a6c2e-8b3d-4e7f-9a10-2b3c4d5e6f70",
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789abcdefghij"},
            "request": {
                "userAttributes": {"sub": "5f1a6c2e-8b3d-4e7f-9a10-2b3c4d5e6f70", "email": "amani@example.test", "email_verified": "true"},
                "groupConfiguration": {"groupsToOverride": ["psychologists"], "iamRolesToOverride": [], "preferredRole": null}
            },
            "response": {"claimsOverrideDetails": null}
        })
    }

    #[test]
    fn a_token_gets_the_mfa_claim_or_has_it_suppressed() {
        for source in [
            "TokenGeneration_HostedAuth",
            "TokenGeneration_Authentication",
            "TokenGeneration_RefreshTokens",
        ] {
            let mut e = token_event(source);
            assert_eq!(
                token_request(&e).unwrap(),
                Some((
                    "af-south-1_Ab12Cd34E".to_owned(),
                    "5f1a6c2e-8b3d-4e7f-9a10-2b3c4d5e6f70".to_owned()
                ))
            );
            add_token_claims(&mut e, true);
            assert_eq!(
                e.pointer("/response/claimsOverrideDetails/claimsToAddOrOverride/kikao_mfa"),
                Some(&Value::from("totp"))
            );
            add_token_claims(&mut e, false);
            assert_eq!(
                e.pointer("/response/claimsOverrideDetails"),
                Some(&serde_json::json!({"claimsToSuppress": ["kikao_mfa"]}))
            );
            // the rest of the event goes back as it came
            assert_eq!(e["request"], token_event(source)["request"]);
        }
        assert_eq!(
            token_request(&token_event("PostConfirmation_ConfirmSignUp")),
            Ok(None)
        );
        let mut client = token_event("TokenGeneration_HostedAuth");
        client["request"]["groupConfiguration"]["groupsToOverride"] =
            serde_json::json!(["clients"]);
        assert_eq!(
            token_request(&client),
            Ok(None),
            "a client's sign-in asks nothing"
        );
        assert!(token_request(&serde_json::json!({})).is_err());
    }

    #[test]
    fn a_reset_password_changes_nobody() {
        assert_eq!(
            sign_up(&event("PostConfirmation_ConfirmForgotPassword")),
            Ok(None)
        );
        assert_eq!(sign_up(&event("Something_New")), Ok(None));
    }

    #[test]
    fn a_missing_name_falls_back_and_a_missing_sub_is_refused() {
        let mut e = event("PostConfirmation_ConfirmSignUp");
        let attrs = e.pointer_mut("/request/userAttributes").unwrap();
        attrs.as_object_mut().unwrap().remove("name");
        attrs["given_name"] = "Achieng".into();
        assert_eq!(sign_up(&e).unwrap().unwrap().1.name, "Achieng");
        attrs_remove(&mut e, "given_name");
        assert_eq!(sign_up(&e).unwrap().unwrap().1.name, "achieng");
        attrs_remove(&mut e, "sub");
        assert!(sign_up(&e).is_err());
        assert!(sign_up(&serde_json::json!({"hello": 1})).is_err());
    }

    fn attrs_remove(e: &mut Value, k: &str) {
        e.pointer_mut("/request/userAttributes")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(k);
    }
}
