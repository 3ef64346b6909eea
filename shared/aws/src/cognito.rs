//! Cognito: the user directory behind the `Accounts` port, and the post-confirmation trigger's
//! event read as a `SignUp`. The event is handled as plain JSON and handed back unchanged, as
//! Cognito requires: a field Cognito adds later, or a trigger source this code does not know,
//! must not fail someone's sign-up.

use async_trait::async_trait;
use kikao_core::bookings::SignUp;
use kikao_core::domain::UserId;
use kikao_core::ports::{Accounts, AccountsError};
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
            .map_err(|e| {
                AccountsError(
                    aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e).to_string(),
                )
            })
    }
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
