//! The S3 proof store and the stream notifier against moto: a real presigned upload, uploads S3
//! must refuse, and a stream batch turned into SMS (read back from moto's record of sent
//! messages) with a poisoned record reported as a batch item failure.

/// The handler tests' `spawn_app`, here over DynamoDB and S3.
#[path = "../../../shared/http/tests/support/mod.rs"]
mod http_support;
mod support;

use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::{Duration, Utc};
use kikao_aws::dynamodb::{event_item, DynamoStore};
use kikao_aws::notifier::AwsNotifier;
use kikao_aws::s3_proofs::S3ProofStore;
use kikao_core::bookings::{Bookings, Config};
use kikao_core::clock::SystemClock;
use kikao_core::domain::*;
use kikao_core::ports::{
    NoAccounts, NoProofStore, ProfileStore, ProofStore, SessionReader, SessionWriter,
};
use std::sync::Arc;

async fn store() -> S3ProofStore {
    let aws = support::moto().await;
    let s = S3ProofStore::new(&aws.config, &support::unique("proofs")).unwrap();
    s.ensure_bucket(&aws.s3).await.unwrap();
    s
}

#[tokio::test]
async fn presigned_upload_then_head_and_download() {
    let s = store().await;
    let key = "proofs/5a0e0c4e-0000-4000-8000-000000000001/shot.png";
    let body = b"\x89PNG\r\n\x1a\nfake-image-bytes".to_vec();
    let up = s
        .presign_upload(key, "image/png", body.len() as u64, Duration::minutes(5))
        .await
        .unwrap();
    assert!(up.expires_at > Utc::now());
    let http = reqwest::Client::new();
    let r = http
        .put(&up.url)
        .header("content-type", "image/png")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{} {}",
        r.status(),
        r.text().await.unwrap()
    );
    let head = s.head(key).await.unwrap().unwrap();
    assert_eq!(
        (head.content_type.as_str(), head.size_bytes),
        ("image/png", body.len() as u64)
    );
    let down = s
        .presign_download(key, None, Duration::minutes(5))
        .await
        .unwrap();
    let got = http
        .get(&down.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), body.as_slice());
    assert_eq!(s.head("proofs/none/missing.png").await.unwrap(), None);
}

/// The bucket is versioned (as the stack makes it): the version a payment pinned at submission
/// still gives the bytes submitted after another upload under the same key.
#[tokio::test]
async fn a_pinned_version_outlives_a_later_upload() {
    let s = store().await;
    let key = "proofs/5a0e0c4e-0000-4000-8000-000000000002/shot.png";
    let http = reqwest::Client::new();
    let put = |body: &'static [u8]| {
        let (s, http) = (&s, &http);
        async move {
            let up = s
                .presign_upload(key, "image/png", body.len() as u64, Duration::minutes(5))
                .await
                .unwrap();
            let r = http
                .put(&up.url)
                .header("content-type", "image/png")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
    };
    put(b"\x89PNG first").await;
    let pinned = s.head(key).await.unwrap().unwrap().version;
    assert!(pinned.is_some(), "a versioned bucket names the version");
    put(b"\x89PNG second, later").await;
    let latest = s.head(key).await.unwrap().unwrap().version;
    assert_ne!(latest, pinned);
    let get = |version: Option<String>| {
        let (s, http) = (&s, &http);
        async move {
            let down = s
                .presign_download(key, version.as_deref(), Duration::minutes(5))
                .await
                .unwrap();
            http.get(&down.url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        }
    };
    assert_eq!(get(pinned).await.as_ref(), b"\x89PNG first");
    assert_eq!(get(None).await.as_ref(), b"\x89PNG second, later");
}

/// S3 enforces what a presigned URL signs; moto does not check signatures, so this shows the
/// signature covers type and size, and that submit-payment itself (HeadObject) refuses a
/// non-image or oversized object whatever reached the bucket.
#[tokio::test]
async fn non_image_or_oversized_uploads_are_refused_at_submit() {
    use http_support::*;
    use kikao_http::handlers as h;
    use lambda_http::http::{Method, StatusCode};
    use support::{moto, unique};

    let aws = moto().await;
    let store = Arc::new(DynamoStore::new(aws.dynamodb.clone(), &unique("submit")));
    store.ensure_table().await.unwrap();
    let proofs = Arc::new(S3ProofStore::new(&aws.config, &unique("proofs")).unwrap());
    proofs.ensure_bucket(&aws.s3).await.unwrap();
    let t = TestApp::with_stores(
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        proofs,
        store.clone(),
        store,
    )
    .await;
    let id = t.book().await;
    assert_eq!(
        t.put(&id, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let http = reqwest::Client::new();
    let ask = |ct: &'static str, size: u64| {
        let (app, path) = (t.app.clone(), format!("/api/sessions/{id}/payment-proof"));
        async move {
            let body = serde_json::json!({"content_type": ct, "size_bytes": size}).to_string();
            reply(
                h::request_proof_upload(
                    &app,
                    request(Method::POST, &path, Some(&CLIENT), Some(&body)),
                )
                .await,
            )
            .await
        }
    };
    let up = ask("image/png", 16).await;
    let url = up.body["upload_url"].as_str().unwrap().to_owned();
    let signed = url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        signed.contains("content-length") && signed.contains("content-type"),
        "{signed}"
    );

    // a PDF stored under the key (S3 would refuse it; moto does not check)
    let r = http
        .put(&url)
        .header("content-type", "application/pdf")
        .body(vec![0u8; 16])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let pay = |key: String| {
        serde_json::json!({"transaction_code": "QK71ABC150", "proof_key": key}).to_string()
    };
    let r = t
        .pay(
            &id,
            &CLIENT,
            &pay(up.body["key"].as_str().unwrap().to_owned()),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not an image"));

    // an image larger than 5 MB
    let big = ask("image/jpeg", 1000).await;
    let r = http
        .put(big.body["upload_url"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(vec![0u8; 5 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = t
        .pay(
            &id,
            &CLIENT,
            &pay(big.body["key"].as_str().unwrap().to_owned()),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    // a proper screenshot goes through
    let ok = ask("image/png", 8).await;
    let r = http
        .put(ok.body["upload_url"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(b"\x89PNG\r\n\x1a\n".to_vec())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = t
        .pay(
            &id,
            &CLIENT,
            &pay(ok.body["key"].as_str().unwrap().to_owned()),
        )
        .await;
    assert_eq!(
        (r.status, r.body["payment"]["has_proof"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let link = reply(
        h::get_payment_proof(
            &t.app,
            request(
                Method::GET,
                &format!("/api/sessions/{id}/payment-proof"),
                Some(&PSY),
                None,
            ),
        )
        .await,
    )
    .await;
    let got = http
        .get(link.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"\x89PNG\r\n\x1a\n");
}

fn record(item: serde_json::Value, seq: &str) -> EventRecord {
    serde_json::from_value(serde_json::json!({
        "awsRegion": "us-east-1",
        "eventID": format!("ev-{seq}"),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"NewImage": item, "Keys": {}, "SequenceNumber": seq, "SizeBytes": 100, "StreamViewType": "NEW_IMAGE"},
    }))
    .unwrap()
}

/// The SMS moto recorded as sent to `number` (under `sns.SMS` in its state dump).
async fn sms_sent_to(number: &str) -> Vec<String> {
    let url = format!(
        "{}/moto-api/data.json",
        std::env::var("AWS_ENDPOINT_URL").unwrap()
    );
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    let data: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sent = data["sns"]["SMS"].as_array().cloned().unwrap_or_default();
    sent.iter()
        .filter(|m| m["phone_number"] == number)
        .filter_map(|m| m["message"].as_str().map(str::to_owned))
        .collect()
}

/// The bodies of the emails moto's SES accepted for `address`, oldest first.
async fn emails_to(address: &str) -> Vec<String> {
    let url = format!(
        "{}/moto-api/data.json",
        std::env::var("AWS_ENDPOINT_URL").unwrap()
    );
    let data: serde_json::Value =
        serde_json::from_str(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == address)
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

/// The use cases on `store` (sessions and profiles), with `accounts` for the user directory and
/// no screenshots.
fn on_dynamo(store: &Arc<DynamoStore>, accounts: Arc<dyn kikao_core::ports::Accounts>) -> Bookings {
    Bookings {
        sessions: store.clone(),
        profiles: store.clone(),
        proofs: Arc::new(NoProofStore),
        accounts,
        outbox: Arc::new(kikao_core::ports::NoOutbox),
        audit: store.clone(),
        sent: store.clone(),
        ledger: store.clone(),
        checkouts: store.clone(),
        daraja: Arc::new(kikao_core::ports::NoDaraja),
        callback_key: Arc::new(kikao_core::ports::NoCallbackKey),
        clock: Arc::new(SystemClock),
        config: Config::default(),
    }
}

/// A Kenyan number no other test uses.
fn fresh_phone() -> String {
    format!("+2547{}", &uuid::Uuid::new_v4().as_u128().to_string()[..8])
}

#[tokio::test]
async fn a_stream_batch_becomes_sms_and_a_poisoned_record_is_reported() {
    let aws = support::moto().await;
    let store = DynamoStore::new(aws.dynamodb.clone(), &support::unique("notify"));
    store.ensure_table().await.unwrap();
    AwsNotifier::ensure_identity(&aws.ses, "kikao.example")
        .await
        .unwrap();
    let from = "Kikao <no-reply@kikao.example>";
    let notifier = AwsNotifier::new(aws.sns.clone(), aws.ses.clone(), from, Some("Kikao".into()));
    let now = Utc::now();
    let (client_phone, psy_phone) = (fresh_phone(), fresh_phone());
    let psy_phone = psy_phone.as_str();
    let (client_id, psy_id) = (
        UserId::parse("c-notify").unwrap(),
        UserId::parse("p-notify").unwrap(),
    );
    let mut client = Profile::from_claims(
        client_id.clone(),
        Role::Client,
        "Achieng Otieno",
        None,
        Some(&client_phone),
        now,
    );
    client.notify.email = false;
    client.phone_verified = true;
    store.put_profile(&client).await.unwrap();
    let mut psy = Profile::from_claims(
        psy_id.clone(),
        Role::Psychologist,
        "Dr Notify",
        None,
        Some(psy_phone),
        now,
    );
    psy.phone_verified = true;
    store.put_profile(&psy).await.unwrap();

    let start = now + Duration::days(2);
    let (s, booked) = book(
        BookingRequest {
            client: Party {
                id: client_id.clone(),
                name: "Achieng Otieno".into(),
            },
            psychologist: Party {
                id: psy_id.clone(),
                name: "Dr Notify".into(),
            },
            session_type: SessionType {
                id: SessionTypeId::parse("t").unwrap(),
                name: "Individual".into(),
                duration_minutes: 60,
                price_kes: Kes::new(2000).unwrap(),
            },
            starts_at: start,
            note: None,
        },
        now,
    );
    store
        .write(&Change::new(None, s.clone(), booked.clone()), None)
        .await
        .unwrap();
    let (approved, approval) = decide(
        &s,
        Some((&psy_id, Role::Psychologist)),
        Command::Approve {
            mpesa_number: PhoneNumber::parse("0700000111"),
            business: None,
        },
        now,
        &Policy::default(),
    )
    .unwrap();
    store
        .write(&Change::new(Some(&s), approved, approval.clone()), None)
        .await
        .unwrap();

    let as_json = |e: &Event| {
        let item = event_item(e).unwrap();
        let plain: serde_dynamo::Item = serde_dynamo::Item::from(item);
        serde_json::to_value(plain).unwrap()
    };
    let session_item = serde_json::json!({"pk": {"S": "SESSION#x"}, "sk": {"S": "SESSION"}, "kind": {"S": "session"}});
    let poisoned = serde_json::json!({"pk": {"S": "SESSION#y"}, "sk": {"S": "EVENT#0000000001"}, "kind": {"S": "event"}, "doc": {"M": {"nonsense": {"S": "x"}}}});
    let batch = vec![
        record(as_json(&booked), "100"),
        record(session_item, "101"),
        record(poisoned, "102"),
        record(as_json(&approval), "103"),
    ];
    let store = Arc::new(store);
    let bookings = on_dynamo(&store, Arc::new(NoAccounts));
    let failed =
        kikao_aws::stream::notify_batch(&batch, &bookings, &notifier, store.as_ref()).await;
    assert_eq!(
        failed,
        vec!["102".to_owned()],
        "only the poisoned record is reported"
    );

    let to_psy = sms_sent_to(psy_phone).await;
    assert_eq!(to_psy.len(), 1, "{to_psy:?}");
    assert!(
        to_psy[0].starts_with("Kikao: New booking request for "),
        "{to_psy:?}"
    );
    let to_client = sms_sent_to(&client_phone).await;
    assert_eq!(to_client.len(), 1, "{to_client:?}");
    assert!(
        to_client[0].contains("approved. Pay KSh 2,000 to M-Pesa 0700 000 111"),
        "{to_client:?}"
    );
    assert!(!to_client[0].contains("Dr Notify"), "no names in an SMS");
    assert!(to_client[0].chars().count() <= 160);

    // the stream delivers the batch again (as after a timeout): nothing goes out twice
    let again = kikao_aws::stream::notify_batch(&batch, &bookings, &notifier, store.as_ref()).await;
    assert_eq!(again, vec!["102".to_owned()]);
    assert_eq!(sms_sent_to(psy_phone).await.len(), 1);
    assert_eq!(sms_sent_to(&client_phone).await.len(), 1);

    // the SMS goes out and the email fails (SES refuses it): the record is reported, and
    // the retry sends the email without sending the SMS again
    let mut with_email = client.clone();
    with_email.notify.email = true;
    with_email.email = Some("achieng@example.test".into());
    store.put_profile(&with_email).await.unwrap();
    let current = store.get(s.id).await.unwrap().unwrap();
    let (cancelled, cancel) = decide(
        &current,
        Some((&psy_id, Role::Psychologist)),
        Command::Cancel {
            reason: Some(Reason::parse("Unwell this week.").unwrap()),
        },
        now,
        &Policy::default(),
    )
    .unwrap();
    store
        .write(
            &Change::new(Some(&current), cancelled, cancel.clone()),
            None,
        )
        .await
        .unwrap();
    // SES refuses a From at a domain it has not verified
    let gone = AwsNotifier::new(
        aws.sns.clone(),
        aws.ses.clone(),
        "Kikao <no-reply@unverified.example>",
        None,
    );
    let batch = vec![record(as_json(&cancel), "104")];
    let failed = kikao_aws::stream::notify_batch(&batch, &bookings, &gone, store.as_ref()).await;
    assert_eq!(
        failed,
        vec!["104".to_owned()],
        "the failed email is reported"
    );
    let to_client = sms_sent_to(&client_phone).await;
    assert_eq!(to_client.len(), 2, "{to_client:?}");
    assert!(to_client[1].contains("was cancelled."), "{to_client:?}");
    assert!(
        !to_client[1].contains("Unwell"),
        "the reason stays out of the SMS"
    );
    assert!(emails_to("achieng@example.test").await.is_empty());
    let retried =
        kikao_aws::stream::notify_batch(&batch, &bookings, &notifier, store.as_ref()).await;
    assert!(
        retried.is_empty(),
        "the email goes on the retry: {retried:?}"
    );
    assert_eq!(
        sms_sent_to(&client_phone).await.len(),
        2,
        "the SMS is not sent again"
    );
    let mail = emails_to("achieng@example.test").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        mail[0].contains("Unwell this week."),
        "the reason is in the email: {mail:?}"
    );
}

/// A user pool in moto as the template makes it (people sign in with their email address), with
/// `groups`; its id.
async fn user_pool(cognito: &aws_sdk_cognitoidentityprovider::Client, groups: &[&str]) -> String {
    let pool = cognito
        .create_user_pool()
        .pool_name(support::unique("users"))
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    for group in groups {
        cognito
            .create_group()
            .user_pool_id(&pool)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
    pool
}

/// Cognito's post-confirmation event for someone who just signed up, as moto's user pool knows
/// them: the trigger makes them a client (the group their next token carries, and a profile),
/// and running it again — Cognito retries a trigger that timed out — changes nothing.
#[tokio::test]
async fn a_confirmed_sign_up_becomes_a_client_once() {
    use kikao_aws::cognito::{sign_up, CognitoAccounts};
    let aws = support::moto().await;
    let pool = user_pool(&aws.cognito, &["clients", "psychologists"]).await;
    let email = format!("{}@example.test", support::unique("achieng"));
    let user = aws
        .cognito
        .admin_create_user()
        .user_pool_id(&pool)
        .username(&email)
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    let username = user.username.clone().unwrap();
    let sub = user
        .attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .unwrap()
        .to_owned();
    // the event Cognito sends (developer guide, "Post confirmation Lambda trigger"), made-up values
    let event = serde_json::json!({
        "version": "1",
        "region": "us-east-1",
        "userPoolId": pool,
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789abcdefghij"},
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "request": {"userAttributes": {
            "sub": sub,
            "email_verified": "true",
            "cognito:user_status": "CONFIRMED",
            "name": "Achieng Otieno",
            "phone_number": "+254700000456",
            "email": email,
        }},
        "response": {}
    });
    let store = Arc::new(DynamoStore::new(
        aws.dynamodb.clone(),
        &support::unique("signup"),
    ));
    store.ensure_table().await.unwrap();
    let bookings = on_dynamo(&store, Arc::new(NoAccounts));
    let groups = || async {
        aws.cognito
            .admin_list_groups_for_user()
            .user_pool_id(&pool)
            .username(&username)
            .send()
            .await
            .unwrap()
            .groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(groups().await.is_empty(), "nobody is in a group before");
    for _ in 0..2 {
        let (pool_id, who) = sign_up(&event).unwrap().unwrap();
        let accounts = CognitoAccounts::new(aws.cognito.clone(), &pool_id);
        let profile = bookings.welcome_client(&who, &accounts).await.unwrap();
        assert_eq!(
            (profile.role, profile.name.as_str()),
            (Role::Client, "Achieng Otieno")
        );
        assert_eq!(groups().await, ["clients"]);
    }
    let stored = store
        .get_profile(&UserId::parse(&sub).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.phone.unwrap().e164(), "+254700000456");
    assert_eq!(stored.email.as_deref(), Some(email.as_str()));
}

/// The administrator's use cases on moto's user pool (set up as the template sets it: email as
/// the username) and DynamoDB: an invitation makes the account (AdminCreateUser) in
/// `psychologists` (AdminAddUserToGroup) and a profile; the same address again re-sends the
/// invitation until she signs in, and is refused after; the pre-token trigger's question
/// (AdminGetUser's MFA settings) says no until an authenticator is set; deactivation disables the
/// account (AdminDisableUser, after AdminUserGlobalSignOut) and takes her out of the directory.
#[tokio::test]
async fn an_invited_psychologist_is_made_in_the_pool_and_disabled_there() {
    use kikao_aws::cognito::CognitoAccounts;
    use kikao_core::bookings::{Administrator, Invitation};
    let aws = support::moto().await;
    let pool = user_pool(&aws.cognito, &["psychologists"]).await;
    let store = Arc::new(DynamoStore::new(
        aws.dynamodb.clone(),
        &support::unique("admin"),
    ));
    store.ensure_table().await.unwrap();
    let accounts = Arc::new(CognitoAccounts::new(aws.cognito.clone(), &pool));
    let bookings = on_dynamo(&store, accounts.clone());
    let admin = Administrator {
        id: UserId::parse("admin-1").unwrap(),
    };
    let email = format!("{}@example.test", support::unique("zawadi"));
    let invitation = || Invitation::parse("Dr. Zawadi Achieng", &email, "0700 000 150").unwrap();
    let profile = bookings
        .invite_psychologist(&admin, invitation())
        .await
        .unwrap();
    let username = profile.account.clone().unwrap();
    let user = aws
        .cognito
        .admin_get_user()
        .user_pool_id(&pool)
        .username(&username)
        .send()
        .await
        .unwrap();
    let attr = |k: &str| {
        user.user_attributes()
            .iter()
            .find(|a| a.name() == k)
            .and_then(|a| a.value())
            .map(str::to_owned)
    };
    assert_eq!(attr("sub").as_deref(), Some(profile.user_id.as_str()));
    assert_eq!(attr("email"), Some(email.clone()));
    assert_eq!(attr("phone_number").as_deref(), Some("+254700000150"));
    assert_eq!(attr("name").as_deref(), Some("Dr. Zawadi Achieng"));
    assert!(user.enabled);
    let groups = aws
        .cognito
        .admin_list_groups_for_user()
        .user_pool_id(&pool)
        .username(&username)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = groups
        .groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    assert_eq!(names, ["psychologists"]);
    assert_eq!(
        store
            .get_profile(&profile.user_id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Psychologist
    );

    // invited again before she ever signed in (a lost invitation): the same account, a new
    // temporary password
    let again = bookings
        .invite_psychologist(&admin, invitation())
        .await
        .unwrap();
    assert_eq!(again.user_id, profile.user_id);
    assert!(!accounts.has_totp(&username).await.unwrap());

    // she sets up her authenticator with the calls the dashboard makes (AssociateSoftwareToken,
    // VerifySoftwareToken, SetUserMFAPreference, with her access token); from then on the
    // pre-token trigger puts the claim in her tokens
    use aws_sdk_cognitoidentityprovider::types::{
        AuthFlowType, ExplicitAuthFlowsType, SoftwareTokenMfaSettingsType,
    };
    let client_id = aws
        .cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("dashboards")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    aws.cognito
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(&username)
        .password("Made-up-passw0rd")
        .permanent(true)
        .send()
        .await
        .unwrap();
    // once she has her own password, the address is taken
    let taken = bookings.invite_psychologist(&admin, invitation()).await;
    assert!(
        matches!(
            taken,
            Err(kikao_core::bookings::BookingError::Accounts(
                kikao_core::ports::AccountsError::Exists
            ))
        ),
        "{taken:?}"
    );
    let signed_in = aws
        .cognito
        .admin_initiate_auth()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", &email)
        .auth_parameters("PASSWORD", "Made-up-passw0rd")
        .send()
        .await
        .unwrap();
    let access = signed_in
        .authentication_result
        .unwrap()
        .access_token
        .unwrap();
    aws.cognito
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    aws.cognito
        .verify_software_token()
        .access_token(&access)
        .user_code("123456")
        .send()
        .await
        .unwrap();
    aws.cognito
        .set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(accounts.has_totp(&username).await.unwrap());
    let mut event = serde_json::json!({
        "version": "1", "triggerSource": "TokenGeneration_RefreshTokens", "region": "us-east-1",
        "userPoolId": pool, "userName": username,
        "request": {"userAttributes": {"email": email}, "groupConfiguration": {"groupsToOverride": ["psychologists"]}},
        "response": {"claimsOverrideDetails": null}
    });
    let (p, u) = kikao_aws::cognito::token_request(&event).unwrap().unwrap();
    let mfa = CognitoAccounts::new(aws.cognito.clone(), &p)
        .has_totp(&u)
        .await
        .unwrap();
    kikao_aws::cognito::add_token_claims(&mut event, mfa);
    assert_eq!(
        event.pointer("/response/claimsOverrideDetails/claimsToAddOrOverride/kikao_mfa"),
        Some(&serde_json::json!("totp"))
    );

    // with a session type she is in the directory, so its absence below means something
    let mut bookable = store.get_profile(&profile.user_id).await.unwrap().unwrap();
    bookable = bookable
        .apply(
            ProfileUpdate {
                session_types: Some(vec![SessionTypeDraft {
                    id: None,
                    name: "Individual".into(),
                    duration_minutes: 60,
                    price_kes: 2000,
                }]),
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    store.put_profile(&bookable).await.unwrap();
    assert!(bookings
        .directory()
        .await
        .unwrap()
        .iter()
        .any(|p| p.user_id == profile.user_id));

    let done = bookings
        .deactivate_psychologist(&admin, profile.user_id.as_str())
        .await
        .unwrap();
    assert!(!done.psychologist.active());
    let user = aws
        .cognito
        .admin_get_user()
        .user_pool_id(&pool)
        .username(&username)
        .send()
        .await
        .unwrap();
    assert!(!user.enabled, "disabled in the pool");
    // and not listed for clients any more
    assert!(bookings
        .directory()
        .await
        .unwrap()
        .iter()
        .all(|p| p.user_id != profile.user_id));
}

/// A new M-Pesa number, its alert and its audit entry are one TransactWriteItems; the alert
/// item, as the stream
/// hands it over, becomes an SMS and an email to the contacts as they were, once however often
/// the stream delivers it.
#[tokio::test]
async fn an_account_alert_is_written_with_the_profile_and_sent_once_from_the_stream() {
    let aws = support::moto().await;
    let table = support::unique("alert");
    let store = Arc::new(DynamoStore::new(aws.dynamodb.clone(), &table));
    store.ensure_table().await.unwrap();
    AwsNotifier::ensure_identity(&aws.ses, "kikao.example")
        .await
        .unwrap();
    let notifier = AwsNotifier::new(
        aws.sns.clone(),
        aws.ses.clone(),
        "Kikao <no-reply@kikao.example>",
        None,
    );
    let now = Utc::now();
    let phone = fresh_phone();
    let email = format!("{}@example.test", support::unique("amani"));
    let id = UserId::parse(&support::unique("p-alert")).unwrap();
    let mut before = Profile::from_claims(
        id.clone(),
        Role::Psychologist,
        "Dr Alert",
        Some(&email),
        Some(&phone),
        now,
    );
    before.notify.sms = false; // an alert goes whatever the choices
    before.phone_verified = true;
    store.put_profile(&before).await.unwrap();
    let mut after = before.clone();
    after.psychologist.as_mut().unwrap().mpesa_number = PhoneNumber::parse("0711222999");
    after.phone = PhoneNumber::parse("0711222000"); // changed too: the alert still goes to the old one
    let alert = AccountAlert::new(
        &before,
        AlertKind::MpesaNumberChanged {
            from: None,
            to: PhoneNumber::parse("0711222999"),
        },
        now,
    );
    let audit = AuditEntry::new(AuditAction::MpesaNumberChanged, &id, &id, None, now);
    store
        .put_profile_with_alert(&after, &alert, &audit)
        .await
        .unwrap();
    assert_eq!(store.get_profile(&id).await.unwrap().unwrap(), after);
    // the audit trail has the change, in the same write, kept 400 days by DynamoDB's TTL
    use kikao_core::ports::AuditLog;
    assert_eq!(store.about(&id).await.unwrap(), vec![audit.clone()]);
    let raw = aws
        .dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("AUDIT#{id}")),
        )
        .send()
        .await
        .unwrap();
    let ttl = raw.items()[0]["ttl"]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(
        ttl,
        (audit.at + Duration::days(kikao_core::retention::AUDIT_DAYS)).timestamp()
    );

    let items = aws
        .dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :a)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{id}")),
        )
        .expression_attribute_values(
            ":a",
            aws_sdk_dynamodb::types::AttributeValue::S("ALERT#".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 1);
    let plain: serde_dynamo::Item = serde_dynamo::Item::from(items[0].clone());
    let batch = vec![record(serde_json::to_value(plain).unwrap(), "200")];
    let bookings = on_dynamo(&store, Arc::new(NoAccounts));
    for _ in 0..2 {
        let failed =
            kikao_aws::stream::notify_batch(&batch, &bookings, &notifier, store.as_ref()).await;
        assert!(failed.is_empty(), "{failed:?}");
    }
    let sms = sms_sent_to(&phone).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].contains("M-Pesa number was changed") && sms[0].contains("ending 999"));
    assert!(sms_sent_to("+254711222000").await.is_empty());
    let mail = emails_to(&email).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("0711 222 999"), "{mail:?}");
}

/// Erasure on DynamoDB, S3 and the user pool (moto): afterwards no item of the table (read
/// whole here, as no request path may), no object version and no user account holds the
/// client's name, email, phone, note or words; the psychologist's bookings stay, anonymised.
#[tokio::test]
async fn erasure_forgets_the_client_on_dynamodb_s3_and_the_user_pool() {
    use http_support::*;
    use kikao_aws::cognito::CognitoAccounts;
    use lambda_http::http::StatusCode;
    use support::{moto, unique};

    let aws = moto().await;
    let table = unique("erase");
    let store = Arc::new(DynamoStore::new(aws.dynamodb.clone(), &table));
    store.ensure_table().await.unwrap();
    let bucket = unique("proofs");
    let proofs = Arc::new(S3ProofStore::new(&aws.config, &bucket).unwrap());
    proofs.ensure_bucket(&aws.s3).await.unwrap();
    let mut t = TestApp::with_stores(
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        proofs,
        store.clone(),
        store.clone(),
    )
    .await;

    // the client's account in the pool, as sign-up made it: its username is its sub
    let pool = user_pool(&aws.cognito, &["clients"]).await;
    let made = aws
        .cognito
        .admin_create_user()
        .user_pool_id(&pool)
        .username(ERASABLE_EMAIL)
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value(ERASABLE_EMAIL)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let username = made.user.unwrap().username.unwrap();
    t.app.accounts = Arc::new(CognitoAccounts::new(aws.cognito.clone(), &pool));
    let who = User {
        id: Box::leak(username.clone().into_boxed_str()),
        ..ERASABLE
    };
    let http = reqwest::Client::new();
    let e = t
        .erasable_client_as(&who, |url, bytes| {
            let http = http.clone();
            async move {
                let r = http
                    .put(&url)
                    .header("content-type", "image/png")
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        })
        .await;

    let everything = || async {
        let mut out = String::new();
        let mut start = None;
        loop {
            // a test reads the whole table; nothing on a request path does
            let page = aws
                .dynamodb
                .scan()
                .table_name(&table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            out.push_str(&format!("{:?}", page.items()));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return out;
            }
        }
    };
    let versions = |prefix: String| {
        let (s3, bucket) = (aws.s3.clone(), bucket.clone());
        async move {
            let v = s3
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .send()
                .await
                .unwrap();
            v.versions().len() + v.delete_markers().len()
        }
    };
    // a message that went to them, on record as the notifier records it
    {
        use kikao_core::ports::{DeliveryLog, SentMessage};
        let key = format!("event:{}:2:client:sms", e.confirmed);
        store.claim(&key, t0()).await.unwrap();
        let m = SentMessage {
            recipient: UserId::parse(&username).unwrap(),
            session_id: SessionId::parse(&e.confirmed),
            purpose: "approve".into(),
            channel: "sms".into(),
            at: t0(),
            key: key.clone(),
        };
        store.settle(&key, Some(&m)).await.unwrap();
    }
    let sent_partition = format!("SENT#{username}");
    let before = everything().await;
    assert!(before.contains(&sent_partition));
    for trace in [
        ERASABLE.name,
        ERASABLE_PHONE,
        ERASABLE_NOTE,
        ERASABLE_REASON,
        &format!("{username}@example.test"),
    ] {
        assert!(before.contains(trace), "the set-up stores {trace}");
    }
    assert_eq!(versions(format!("proofs/{}/", e.confirmed)).await, 1);

    let r = t.erase(&who, "DELETE MY DATA").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cancelled_bookings"], serde_json::json!(2));

    let after = everything().await;
    // (the token's email is made from the id: `claims`)
    let email = format!("{username}@example.test");
    for trace in [
        ERASABLE.name,
        "Erasable",
        &email,
        ERASABLE_PHONE,
        ERASABLE_NOTE,
        ERASABLE_REASON,
    ] {
        assert!(!after.contains(trace), "{trace} is still in the table");
    }
    assert!(
        !after.contains(&sent_partition),
        "the record of messages sent to them is still in the table"
    );
    assert!(after.contains(OTHER_NOTE) && after.contains(CLIENT2.name));
    assert!(after.contains("Former client"));
    assert_eq!(versions(format!("proofs/{}/", e.confirmed)).await, 0);
    assert_eq!(versions(format!("proofs/{}/", e.others)).await, 1);
    let gone = aws
        .cognito
        .admin_get_user()
        .user_pool_id(&pool)
        .username(&username)
        .send()
        .await;
    assert!(gone.is_err(), "the user is still in the pool");
    let s = t.get(&e.confirmed, &PSY).await.body;
    assert_eq!(
        (
            &s["client"]["name"],
            &s["status"],
            &s["payment"]["transaction_code"]
        ),
        (
            &serde_json::json!("Former client"),
            &serde_json::json!("cancelled"),
            &serde_json::json!("QK71ERS001")
        )
    );
}
