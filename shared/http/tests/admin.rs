//! The practice administrator's endpoints and the second-factor gate, through the handlers with
//! claims as API Gateway passes them, on SQLite and the dev server's user directory.

mod support;

use kikao_embedded::dev_accounts::{DevAccount, Mfa};
use kikao_http::handlers as h;
use lambda_http::http::{Method, StatusCode};
use serde_json::json;
use support::*;

async fn invite(t: &TestApp, who: &User, body: serde_json::Value) -> Reply {
    let req = request(
        Method::POST,
        "/api/admin/psychologists",
        Some(who),
        Some(&body.to_string()),
    );
    reply(h::invite_psychologist(&t.app, req).await).await
}

async fn listed(t: &TestApp, who: &User) -> Reply {
    let req = request(Method::GET, "/api/admin/psychologists", Some(who), None);
    reply(h::list_practitioners(&t.app, req).await).await
}

async fn deactivate(t: &TestApp, who: &User, id: &str) -> Reply {
    let req = request(
        Method::POST,
        &format!("/api/admin/psychologists/{id}/deactivate"),
        Some(who),
        Some("{}"),
    );
    reply(h::deactivate_psychologist(&t.app, req).await).await
}

async fn me(t: &TestApp, who: &User) -> Reply {
    reply(h::get_me(&t.app, request(Method::GET, "/api/me", Some(who), None)).await).await
}

fn zawadi() -> serde_json::Value {
    json!({"name": "Dr. Zawadi Achieng", "email": " Zawadi@Example.test ", "phone": "0700 000 150"})
}

#[tokio::test]
async fn an_administrator_invites_a_psychologist_who_then_must_set_up_two_step_sign_in() {
    let t = spawn_app().await;
    let r = invite(&t, &ADMIN, zawadi()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (
            r.body["email"].as_str(),
            r.body["phone"].as_str(),
            r.body["active"].as_bool()
        ),
        (
            Some("zawadi@example.test"),
            Some("+254700000150"),
            Some(true)
        )
    );
    let id = r.body["id"].as_str().unwrap().to_owned();

    // the account exists, in the psychologists' group, with no second factor yet
    let account = t.accounts.get(&id).unwrap().unwrap();
    assert_eq!(account.groups, ["psychologists"]);
    assert_eq!(account.mfa, Mfa::None);

    // the same address again before she signs in: the invitation again, the same account
    let again = invite(&t, &ADMIN, zawadi()).await;
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (StatusCode::CREATED, Some(id.as_str()))
    );
    // once she has signed in, the address is taken
    t.accounts.signed_in(&id).unwrap();
    let taken = invite(&t, &ADMIN, zawadi()).await;
    assert_eq!(
        (taken.status, taken.code()),
        (StatusCode::CONFLICT, "account_exists")
    );

    let names: Vec<String> = listed(&t, &ADMIN).await.body["psychologists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["Dr. Test One", "Dr. Test Two", "Dr. Zawadi Achieng"]
    );

    // she signs in: reads work, every change waits for her authenticator app
    let leaked: &'static str = Box::leak(id.into_boxed_str());
    let new = User {
        id: leaked,
        name: "Dr. Zawadi Achieng",
        group: "psychologists",
        mfa: false,
    };
    let r = me(&t, &new).await;
    assert_eq!(
        (r.body["mfa"].as_bool(), r.body["mfa_required"].as_bool()),
        (Some(false), Some(true))
    );
    let put = |who: &User| {
        request(
            Method::PUT,
            "/api/me",
            Some(who),
            Some(r#"{"mpesa_number": "0700000150"}"#),
        )
    };
    let r = reply(h::update_me(&t.app, put(&new)).await).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "mfa_required")
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("two-step sign-in"));
    assert_eq!(me(&t, &new).await.body["mpesa_number"], json!(null));
    let with_app = User { mfa: true, ..new };
    let r = reply(h::update_me(&t.app, put(&with_app)).await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn an_invitation_is_checked_before_any_account_is_made() {
    let t = spawn_app().await;
    for (body, field) in [
        (
            json!({"name": " ", "email": "a@example.test", "phone": "0700000150"}),
            "name",
        ),
        (
            json!({"name": "Dr. A", "email": "not-an-address", "phone": "0700000150"}),
            "email",
        ),
        (
            json!({"name": "Dr. A", "email": "a@example", "phone": "0700000150"}),
            "email",
        ),
        (
            json!({"name": "Dr. A", "email": "a@example.test", "phone": "+447700900123"}),
            "phone",
        ),
    ] {
        let r = invite(&t, &ADMIN, body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{}",
            r.body
        );
        // the field for programs; a sentence for the person, which does not lead with it
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.ends_with('.') && !message.starts_with(field),
            "{message}"
        );
    }
    let r = invite(&t, &ADMIN, json!({"name": "Dr. A"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(t.accounts.enabled().unwrap().is_empty());
}

#[tokio::test]
async fn only_an_administrator_with_two_step_sign_in_manages_psychologists() {
    let t = spawn_app().await;
    for who in [&CLIENT, &PSY] {
        let r = invite(&t, who, zawadi()).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
        assert_eq!(listed(&t, who).await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            deactivate(&t, who, PSY2.id).await.status,
            StatusCode::FORBIDDEN
        );
    }
    // before their authenticator app: they may look, not change
    let unready = ADMIN.without_mfa();
    assert_eq!(listed(&t, &unready).await.status, StatusCode::OK);
    for r in [
        invite(&t, &unready, zawadi()).await,
        deactivate(&t, &unready, PSY2.id).await,
    ] {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "mfa_required")
        );
    }
    assert!(listed(&t, &ADMIN).await.body["psychologists"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["active"] == json!(true)));
    // an administrator who books nothing has no party role: told where to go
    let r = me(&t, &ADMIN).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "no_role"));
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Admin page"));
    // a psychologist who also administers sees both
    let both = User {
        id: PSY.id,
        name: PSY.name,
        group: "psychologists practice_admins",
        mfa: true,
    };
    let r = me(&t, &both).await;
    assert_eq!(
        (r.body["role"].as_str(), r.body["admin"].as_bool()),
        (Some("psychologist"), Some(true))
    );
    assert_eq!(listed(&t, &both).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_psychologist_without_a_second_factor_reads_but_changes_nothing() {
    let t = spawn_app().await;
    let id = t.book().await;
    let unready = PSY.without_mfa();
    let list = request(Method::GET, "/api/sessions", Some(&unready), None);
    assert_eq!(
        reply(h::list_sessions(&t.app, list).await).await.status,
        StatusCode::OK
    );
    for action in ["approve", "decline"] {
        let r = t
            .put(
                &id,
                action,
                &unready,
                Some(r#"{"reason": "Not this week."}"#),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "mfa_required")
        );
    }
    let r = t
        .cancel(&id, &unready, Some(r#"{"reason": "Away."}"#))
        .await;
    assert_eq!(r.code(), "mfa_required");
    assert_eq!(t.get(&id, &PSY).await.body["status"], "pending_approval");
    // a client needs none
    assert_eq!(t.cancel(&id, &CLIENT, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deactivation_disables_the_account_closes_the_profile_takes_them_out_of_the_directory_and_withdraws_open_bookings(
) {
    let t = spawn_app().await;
    t.accounts
        .ensure(&DevAccount {
            username: PSY.id.to_owned(),
            user_id: kikao_core::domain::UserId::parse(PSY.id).unwrap(),
            name: PSY.name.to_owned(),
            email: "psy-1@example.test".to_owned(),
            phone: "+254700000101".to_owned(),
            groups: vec!["psychologists".to_owned()],
            enabled: true,
            mfa: Mfa::Vouched,
            phone_verified: true,
            created_at: t0(),
        })
        .unwrap();
    // one booking in each open status, and one finished
    let pending = t.book_at(&CLIENT, t.start_in(2)).await;
    let approved = t.book_at(&CLIENT, t.start_in(3)).await;
    t.put(&approved, "approve", &PSY, None).await;
    let paid = t.book_at(&CLIENT2, t.start_in(4)).await;
    t.put(&paid, "approve", &PSY, None).await;
    t.pay(&paid, &CLIENT2, r#"{"transaction_code":"QK71ABC123"}"#)
        .await;
    let confirmed = t.confirmed("QK71ABC124").await;
    let declined = t.book_at(&CLIENT, t.start_in(6)).await;
    t.put(&declined, "decline", &PSY, Some(r#"{"reason": "Full."}"#))
        .await;

    let r = deactivate(&t, &ADMIN, PSY.id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cancelled_bookings"], 4);
    assert_eq!(r.body["psychologist"]["active"], false);
    assert!(!t.accounts.get(PSY.id).unwrap().unwrap().enabled);

    for (id, who, refund) in [
        (&pending, &CLIENT, false),
        (&approved, &CLIENT, false),
        (&paid, &CLIENT2, true),
        (&confirmed, &CLIENT, true),
    ] {
        let s = t.get(id, who).await.body;
        assert_eq!(s["status"], "cancelled", "{s}");
        assert_eq!(s["cancelled_by"], "system");
        assert_eq!(s["refund_due"], refund, "{s}");
        assert!(s["cancel_reason"]
            .as_str()
            .unwrap()
            .contains("no longer with the practice"));
        assert!(s.get("meeting_link").is_none_or(|l| l.is_null()));
    }
    assert_eq!(t.get(&declined, &CLIENT).await.body["status"], "declined");

    // nobody finds or books them now
    let dir = request(Method::GET, "/api/psychologists", Some(&CLIENT), None);
    let dir = reply(h::list_psychologists(&t.app, dir).await).await.body;
    assert!(dir["psychologists"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != PSY.id));
    let book = request(
        Method::POST,
        "/api/sessions",
        Some(&CLIENT),
        Some(&t.booking_body(t.start_in(8))),
    );
    let r = reply(h::book_session(&t.app, book).await).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let slots = request(
        Method::GET,
        &format!(
            "/api/psychologists/{}/availability?session_type_id={}",
            PSY.id, t.type_id
        ),
        Some(&CLIENT),
        None,
    );
    let r = reply(h::psychologist_availability(&t.app, slots).await).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // their last token still passes the authorizer for up to an hour: the profile is closed
    let r = me(&t, &PSY).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "account_deactivated")
    );

    // again: nothing more to do, the same answer
    let r = deactivate(&t, &ADMIN, PSY.id).await;
    assert_eq!(
        (r.status, r.body["cancelled_bookings"].as_u64()),
        (StatusCode::OK, Some(0))
    );
    // the list still shows them, as deactivated
    let all = listed(&t, &ADMIN).await.body;
    let them = all["psychologists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == PSY.id)
        .unwrap()
        .clone();
    assert_eq!(them["active"], false);
    assert!(them["deactivated_at"].is_string());
}

#[tokio::test]
async fn deactivating_someone_who_is_not_a_psychologist_is_a_404() {
    let t = spawn_app().await;
    t.book().await; // makes the client's profile
    for id in [CLIENT.id, "nobody-here", "not%20an%20id"] {
        let r = deactivate(&t, &ADMIN, id).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {}", r.body);
    }
}

/// Changing the number clients pay to takes a password typed in the last 5 minutes (the
/// token's `auth_time`); a booking approved before keeps the number it was approved with.
#[tokio::test]
async fn a_new_m_pesa_number_needs_a_fresh_sign_in_and_approved_bookings_keep_the_old_one() {
    let t = spawn_app().await;
    let id = t.book().await;
    assert_eq!(
        t.put(&id, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let change = |number: &str| {
        request(
            Method::PUT,
            "/api/me",
            Some(&PSY),
            Some(&json!({"mpesa_number": number, "title": "Counselling psychologist"}).to_string()),
        )
    };
    // the test tokens say she signed in at t0; six minutes later the number is out of reach
    t.clock.set(t0() + chrono::Duration::minutes(6));
    let r = reply(h::update_me(&t.app, change("0700000999")).await).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "recent_sign_in_required")
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sign in again"));
    assert_eq!(
        me(&t, &PSY).await.body["title"],
        json!(null),
        "nothing saved"
    );
    // the same number (written another way) is no change, and the rest saves
    let r = reply(h::update_me(&t.app, change("+254 700 000 111")).await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // within five minutes of signing in, the new number saves
    t.clock.set(t0() + chrono::Duration::minutes(4));
    let r = reply(h::update_me(&t.app, change("0700000999")).await).await;
    assert_eq!(r.body["mpesa_number"], "+254700000999");
    // the client approved before pays the number she was given
    let s = t.get(&id, &CLIENT).await.body;
    assert_eq!(
        s["payment_instructions"]["mpesa_number"], "+254700000111",
        "{s}"
    );
}
