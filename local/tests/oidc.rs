//! The dev server's token check in `--oidc-issuer` mode (`local::oidc`), against a stand-in
//! provider with real RSA keys: what API Gateway's JWT authorizer accepts passes, everything
//! else is refused with its reason, and the key set is fetched again for a new key id but not
//! for every forged one.

mod support;

use local::oidc::{OidcCheck, ProviderError, Refused, REFETCHES_PER_MINUTE};
use serde_json::{json, Value};
use support::issuer::{Issuer, SigningKey, AUDIENCE};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(issuer: &Issuer) -> Value {
    json!({"sub": "client-wanjiru", "iss": issuer.url, "aud": AUDIENCE, "token_use": "id",
           "cognito:groups": ["clients"], "iat": now(), "exp": now() + 3600})
}

#[tokio::test]
async fn what_the_authorizer_accepts_passes_and_nothing_else() {
    let issuer = Issuer::start().await;
    let check = OidcCheck::discover(&format!("{}/", issuer.url), AUDIENCE)
        .await
        .unwrap();
    assert_eq!(issuer.fetches(), 1, "the key set is read at start");
    assert_eq!(
        check.issuer(),
        issuer.url,
        "a trailing slash is not part of the issuer"
    );

    let good = check.verify(&issuer.sign(&claims(&issuer))).await.unwrap();
    assert_eq!(good["sub"], "client-wanjiru");
    assert_eq!(good["cognito:groups"], json!(["clients"]));

    // an access token names the client in client_id; an aud list may name it among others
    let mut access = claims(&issuer);
    access.as_object_mut().unwrap().remove("aud");
    access["client_id"] = json!(AUDIENCE);
    assert!(check.verify(&issuer.sign(&access)).await.is_ok());
    let mut several = claims(&issuer);
    several["aud"] = json!(["another-client", AUDIENCE]);
    assert!(check.verify(&issuer.sign(&several)).await.is_ok());

    let refused = |changes: Value| {
        let mut c = claims(&issuer);
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        issuer.sign(&c)
    };
    for (why, token) in [
        (
            "another audience",
            refused(json!({"aud": "another-client"})),
        ),
        (
            "another issuer",
            refused(
                json!({"iss": "https://cognito-idp.af-south-1.amazonaws.com/af-south-1_Other"}),
            ),
        ),
        ("expired a second ago", refused(json!({"exp": now() - 1}))),
        ("not valid yet", refused(json!({"nbf": now() + 600}))),
    ] {
        let e = check.verify(&token).await.unwrap_err();
        assert!(
            matches!(e, Refused::Invalid(_) | Refused::Audience),
            "{why}: {e:?}"
        );
    }
    let mut no_aud = claims(&issuer);
    no_aud.as_object_mut().unwrap().remove("aud");
    assert!(matches!(
        check.verify(&issuer.sign(&no_aud)).await,
        Err(Refused::Audience)
    ));

    // the payload changed after signing
    let token = issuer.sign(&claims(&issuer));
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = base64_url(
        &json!({"sub": "psy-amani", "iss": issuer.url, "aud": AUDIENCE,
                                    "cognito:groups": ["psychologists"], "exp": now() + 3600}),
    );
    parts[1] = &forged;
    assert!(matches!(
        check.verify(&parts.join(".")).await,
        Err(Refused::Invalid(_))
    ));
    // signed with a key of the same id that the provider never published
    let impostor = SigningKey::new("key-1");
    assert!(matches!(
        check
            .verify(&issuer.sign_with(&impostor, &claims(&issuer)))
            .await,
        Err(Refused::Invalid(_))
    ));
    // HS256 with a guessable secret, or no key id: refused before any key is looked at
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(&issuer),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert!(matches!(
        check.verify(&hs).await,
        Err(Refused::Algorithm(_))
    ));
    assert!(matches!(
        check
            .verify(&issuer.sign_without_kid(&claims(&issuer)))
            .await,
        Err(Refused::NoKeyId)
    ));
    assert!(matches!(
        check.verify("not.a.jwt").await,
        Err(Refused::Malformed(_))
    ));
    assert_eq!(
        issuer.fetches(),
        1,
        "none of that fetched the key set again"
    );
}

#[tokio::test]
async fn a_new_key_id_fetches_the_key_set_again_a_forged_one_does_not_each_time() {
    let issuer = Issuer::start().await;
    let check = OidcCheck::discover(&issuer.url, AUDIENCE).await.unwrap();
    // the provider rotates: a token under a key published after the server started
    let next = SigningKey::new("key-2");
    issuer.publish(&next);
    let rotated = issuer.sign_with(&next, &claims(&issuer));
    assert!(check.verify(&rotated).await.is_ok());
    assert_eq!(issuer.fetches(), 2);
    assert!(check.verify(&rotated).await.is_ok());
    assert_eq!(issuer.fetches(), 2, "held now");
    // a key id nobody published: refused each time, and the fetches it may cause run out
    let stranger = SigningKey::new("key-9");
    for _ in 0..20 {
        assert!(matches!(
            check
                .verify(&issuer.sign_with(&stranger, &claims(&issuer)))
                .await,
            Err(Refused::UnknownKey(k)) if k == "key-9"
        ));
    }
    assert_eq!(issuer.fetches(), 1 + REFETCHES_PER_MINUTE);
    // a real rotation that minute waits for the next one; the keys held still work
    assert!(check.verify(&rotated).await.is_ok());
}

#[tokio::test]
async fn a_provider_that_is_not_there_stops_the_server_at_start() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    assert!(matches!(
        OidcCheck::discover(&url, AUDIENCE).await,
        Err(ProviderError::Unreachable { .. })
    ));
}

fn base64_url(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}
