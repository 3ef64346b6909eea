//! Data protection through the handlers, with claims as API Gateway passes them, on SQLite: the
//! privacy notice, consent to it, the gate on booking, and the export of a person's data.

mod support;

use chrono::Duration;
use kikao_core::domain::{Consent, UserId, PRIVACY_NOTICE};
use kikao_core::ports::{Clock, ProofStore};
use kikao_http::handlers as h;
use lambda_http::http::{Method, StatusCode};
use serde_json::json;
use support::*;

/// A client who signed up but has not read the notice yet.
const NEW_CLIENT: User = User {
    id: "client-new",
    name: "Client New",
    group: "clients",
    mfa: false,
};

async fn notice(t: &TestApp, who: Option<&User>) -> Reply {
    let req = request(Method::GET, "/api/privacy-notice", who, None);
    reply(h::get_privacy_notice(&t.app, req).await).await
}

async fn me(t: &TestApp, who: &User) -> Reply {
    reply(h::get_me(&t.app, request(Method::GET, "/api/me", Some(who), None)).await).await
}

async fn consent_to(t: &TestApp, who: &User, body: &str) -> Reply {
    let req = request(Method::PUT, "/api/me/consent", Some(who), Some(body));
    reply(h::record_consent(&t.app, req).await).await
}

async fn try_book(t: &TestApp, who: &User) -> Reply {
    let body = t.booking_body(t.start_in(2));
    let req = request(Method::POST, "/api/sessions", Some(who), Some(&body));
    reply(h::book_session(&t.app, req).await).await
}

#[tokio::test]
async fn the_notice_says_what_where_how_long_and_whom_to_write_to() {
    let t = spawn_app().await;
    let r = notice(&t, Some(&NEW_CLIENT)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["version"], json!(PRIVACY_NOTICE.version));
    assert_eq!(r.body["contact"], json!("privacy@kikao.example"));
    let headings: Vec<&str> = r.body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["heading"].as_str().unwrap())
        .collect();
    for needed in [
        "What we keep",
        "Where it is kept",
        "Who sees what",
        "How long we keep it",
        "Your rights",
    ] {
        assert!(headings.contains(&needed), "{needed} in {headings:?}");
    }
    assert!(r.body["summary"]
        .as_str()
        .unwrap()
        .contains("outside Kenya"));
    // the deployment's screenshot retention, filled in
    let how_long = r.body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["heading"] == "How long we keep it")
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        how_long.contains("Payment screenshots: 180 days") && how_long.contains("by 360 days"),
        "{how_long}"
    );
    assert!(
        !r.body.to_string().contains("{proof"),
        "a placeholder left unfilled"
    );
    // signed-in people only, like every other endpoint
    assert_eq!(notice(&t, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_books_only_after_accepting_the_notice_in_force() {
    let t = spawn_app().await;
    let r = me(&t, &NEW_CLIENT).await;
    assert_eq!(
        (&r.body["consent"], &r.body["consent_current"]),
        (&json!(null), &json!(false))
    );

    let r = try_book(&t, &NEW_CLIENT).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "consent_required")
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("privacy notice"));

    // a page opened before a new version sends the old one: asked again, nothing recorded
    let r = consent_to(&t, &NEW_CLIENT, r#"{"version": "2020-01-01"}"#).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "notice_changed")
    );
    assert_eq!(
        me(&t, &NEW_CLIENT).await.body["consent_current"],
        json!(false)
    );
    // no version, or something else: a 4xx in words
    for bad in ["{}", r#"{"version": 7}"#, r#"{"version": "x", "extra": 1}"#] {
        let r = consent_to(&t, &NEW_CLIENT, bad).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }

    let accepted_at = t.clock.now();
    let r = t.consent(&NEW_CLIENT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["consent_current"], json!(true));
    assert_eq!(
        r.body["consent"],
        json!({"version": PRIVACY_NOTICE.version, "at": accepted_at})
    );

    // accepting again later keeps the first time
    t.clock.advance(Duration::hours(3));
    let r = t.consent(&NEW_CLIENT).await;
    assert_eq!(r.body["consent"]["at"], json!(accepted_at));

    assert_eq!(try_book(&t, &NEW_CLIENT).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn consent_to_an_earlier_version_does_not_count() {
    let t = spawn_app().await;
    me(&t, &NEW_CLIENT).await;
    let id = UserId::parse(NEW_CLIENT.id).unwrap();
    let mut p = t.app.profiles.get_profile(&id).await.unwrap().unwrap();
    p.consents.push(Consent {
        version: "2025-01-01".into(),
        at: t0(),
    });
    t.app.profiles.put_profile(&p).await.unwrap();

    let r = me(&t, &NEW_CLIENT).await;
    assert_eq!(r.body["consent"]["version"], json!("2025-01-01"));
    assert_eq!(r.body["consent_current"], json!(false));
    assert_eq!(try_book(&t, &NEW_CLIENT).await.code(), "consent_required");

    // both acceptances stay on record, oldest first
    t.consent(&NEW_CLIENT).await;
    let p = t.app.profiles.get_profile(&id).await.unwrap().unwrap();
    let versions: Vec<&str> = p.consents.iter().map(|c| c.version.as_str()).collect();
    assert_eq!(versions, ["2025-01-01", PRIVACY_NOTICE.version]);
}

#[tokio::test]
async fn psychologists_record_consent_too_and_are_never_gated_from_their_work() {
    let t = spawn_app().await;
    let id = t.book().await;
    // PSY never accepted: approving is their work, not a booking of their own
    assert_eq!(me(&t, &PSY).await.body["consent_current"], json!(false));
    assert_eq!(
        t.put(&id, "approve", &PSY, None).await.status,
        StatusCode::OK
    );
    let r = t.consent(&PSY).await;
    assert_eq!(r.body["consent_current"], json!(true));
}

async fn export(t: &TestApp, who: &User) -> Reply {
    let req = request(Method::GET, "/api/me/export", Some(who), None);
    reply(h::export_me(&t.app, req).await).await
}

#[tokio::test]
async fn an_export_says_what_each_screenshot_is_without_the_image() {
    let t = spawn_app().await;
    let upload = upload_to_disk(t.proofs.clone().unwrap());
    let (id, _) = t
        .paid_with_proof(&CLIENT, 4, "a note", "QK71EXP009", &upload)
        .await;
    let plain = t.confirmed("QK71EXP010").await;
    let d = export(&t, &CLIENT).await.body;
    let booking = |x: &str| {
        d["bookings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == x)
            .unwrap()["payment"]
            .clone()
    };
    let p = booking(&id);
    assert_eq!(p["has_proof"], json!(true));
    assert_eq!(p["proof_file"]["content_type"], json!("image/png"));
    assert!(p["proof_file"]["size_bytes"].as_u64().unwrap() > 0, "{p}");
    assert!(p.get("proof_key").is_none() && !d.to_string().contains("proofs/"));
    let q = booking(&plain);
    assert_eq!(
        (q["has_proof"].clone(), q["proof_file"].clone()),
        (json!(false), json!(null))
    );
}

#[tokio::test]
async fn an_export_holds_everything_about_the_caller_and_nothing_of_anyone_else() {
    let t = spawn_app().await;
    let confirmed = t.confirmed("QK71EXP001").await;
    // later activity comes first in the export: make "later" unambiguous
    t.clock.advance(Duration::minutes(1));
    let pending = t.book_noted(&CLIENT, 3, "client-one-words-4e1c").await;
    // someone else's booking with the same psychologist, with words only they and PSY may see
    let theirs = t.book_noted(&CLIENT2, 4, "client-two-words-9b7d").await;

    let r = export(&t, &CLIENT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let disposition = r.headers["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        "attachment; filename=\"kikao-my-data-2030-01-07.json\""
    );
    let d = &r.body;
    assert_eq!(d["kind"], json!("kikao-personal-data"));
    assert_eq!(d["profile"]["id"], json!(CLIENT.id));
    assert_eq!(d["profile"]["email"], json!("client-1@example.test"));
    assert_eq!(d["consents"][0]["version"], json!(PRIVACY_NOTICE.version));
    let ids: Vec<&str> = d["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [pending.as_str(), confirmed.as_str()]);
    // each booking with its whole history, the payment as the client sent it
    let c = &d["bookings"][1];
    let actions = actions_of(c);
    assert_eq!(
        actions,
        ["book", "approve", "submit_payment", "verify_payment"]
    );
    assert_eq!(c["payment"]["transaction_code"], json!("QK71EXP001"));
    assert_eq!(d["bookings"][0]["note"], json!("client-one-words-4e1c"));
    assert!(!d["not_included"].as_array().unwrap().is_empty());
    // messages are listed once they have gone out
    assert_eq!(d["messages"], json!([]));
    assert!(t.deliver().await > 0);
    let d = &export(&t, &CLIENT).await.body;
    let told: Vec<(&str, &str, &str)> = d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["about"].as_str().unwrap(),
                m["channel"].as_str().unwrap(),
                m["session_id"].as_str().unwrap(),
            )
        })
        .collect();
    // the psychologist's answers went to the client by both channels; the client's own steps
    // went to the psychologist, and are in their export, not this one
    let c1 = confirmed.as_str();
    assert_eq!(
        told,
        [
            ("approve", "email", c1),
            ("approve", "sms", c1),
            ("verify_payment", "email", c1),
            ("verify_payment", "sms", c1)
        ]
    );
    let text = d.to_string();
    for other in [
        theirs.as_str(),
        CLIENT2.id,
        CLIENT2.name,
        "client-two-words-9b7d",
    ] {
        assert!(!text.contains(other), "{other} in the client's export");
    }

    // the psychologist's: their bookings with both clients, as they see them, never a client's
    // email or phone
    let r = export(&t, &PSY).await;
    let text = r.body.to_string();
    assert_eq!(r.body["bookings"].as_array().unwrap().len(), 3);
    let about: Vec<&str> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["about"].as_str().unwrap())
        .collect();
    assert!(
        about.contains(&"book") && about.contains(&"submit_payment"),
        "{about:?}"
    );
    assert!(text.contains("client-two-words-9b7d") && text.contains("client-one-words-4e1c"));
    for never in [
        "client-1@example.test",
        "client-2@example.test",
        "+254700000201",
    ] {
        assert!(
            !text.contains(never),
            "{never} in the psychologist's export"
        );
    }
    // PSY2 has none of them
    let r = export(&t, &PSY2).await;
    assert_eq!(r.body["bookings"], json!([]));
    assert_eq!(r.body["profile"]["id"], json!(PSY2.id));
}

#[tokio::test]
async fn an_export_reads_past_the_first_page() {
    use kikao_core::domain::{book, BookingRequest, Change, Party, SessionType};
    let t = spawn_app().await;
    let psy = t
        .app
        .profiles
        .get_profile(&UserId::parse(PSY.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let kind: SessionType = psy.psychologist.unwrap().session_types[0].clone();
    // more than the export's page of 100, written straight to the store (the booking quota
    // would take days of requests)
    for i in 0..105 {
        let (s, e) = book(
            BookingRequest {
                client: Party {
                    id: UserId::parse(CLIENT.id).unwrap(),
                    name: CLIENT.name.into(),
                },
                psychologist: Party {
                    id: UserId::parse(PSY.id).unwrap(),
                    name: PSY.name.into(),
                },
                session_type: kind.clone(),
                starts_at: t.start_in(2) + Duration::hours(i),
                note: None,
            },
            t0() + Duration::seconds(i),
        );
        t.app
            .sessions
            .write(&Change::new(None, s, e), None)
            .await
            .unwrap();
    }
    let r = export(&t, &CLIENT).await;
    let bookings = r.body["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 105);
    let mut ids: Vec<&str> = bookings.iter().map(|b| b["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 105, "no booking twice");
    assert!(bookings
        .iter()
        .all(|b| b["history"].as_array().unwrap().len() == 1));
}

/// The actions of a booking's `history`, oldest first.
fn actions_of(booking: &serde_json::Value) -> Vec<&str> {
    booking["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// Every value in every table of the SQLite file, as text.
fn every_row(path: &std::path::Path) -> String {
    use r2d2_sqlite::rusqlite::{types::ValueRef, Connection};
    let c = Connection::open(path).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 5, "{tables:?}");
    let mut out = String::new();
    for t in tables {
        let mut q = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = q.column_count();
        let mut rows = q.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                match r.get_ref(i).unwrap() {
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        out.push_str(&String::from_utf8_lossy(b))
                    }
                    v => out.push_str(&format!("{v:?}")),
                }
                out.push('|');
            }
            out.push('\n');
        }
    }
    out
}

/// The erased client's details, in every form a test looks for them.
pub fn traces() -> [&'static str; 6] {
    [
        ERASABLE.name,
        "Erasable",
        ERASABLE_EMAIL,
        ERASABLE_PHONE,
        ERASABLE_NOTE,
        ERASABLE_REASON,
    ]
}

#[tokio::test]
async fn erasure_leaves_no_trace_of_the_client_and_the_psychologists_record_whole() {
    let t = spawn_app().await;
    let proofs = t.proofs.clone().unwrap();
    let e = t.erasable_client(upload_to_disk(proofs.clone())).await;
    let db = t.db_path.clone().unwrap();
    let before = every_row(&db);
    for trace in traces() {
        assert!(before.contains(trace), "the set-up stores {trace}");
    }

    // refused: the wrong words, and a psychologist (who leaves by deactivation)
    let r = t.erase(&ERASABLE, "delete my data").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("DELETE MY DATA"));
    let r = t.erase(&PSY, "DELETE MY DATA").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(every_row(&db), before, "a refused erasure changes nothing");

    // what was sent to them is on record until the erasure
    assert!(t.deliver().await > 0);
    let erasable = UserId::parse(ERASABLE.id).unwrap();
    assert!(!t.app.sent.sent_to(&erasable).await.unwrap().is_empty());

    let r = t.erase(&ERASABLE, "DELETE MY DATA").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(t.app.sent.sent_to(&erasable).await.unwrap(), vec![]);
    // the confirmed and the pending booking were open; the cancelled one was not
    assert_eq!(
        (&r.body["cancelled_bookings"], &r.body["kept_bookings"]),
        (&json!(2), &json!(3))
    );

    // the account stops working at once
    let r = me(&t, &ERASABLE).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "account_erased")
    );
    assert_eq!(try_book(&t, &ERASABLE).await.code(), "account_erased");

    // no trace in any table
    let after = every_row(&db);
    for trace in traces() {
        assert!(!after.contains(trace), "{trace} is still stored");
    }

    // the psychologist keeps each booking, anonymised, with the payment record
    for id in [&e.confirmed, &e.pending, &e.cancelled] {
        let s = t.get(id, &PSY).await;
        assert_eq!(s.status, StatusCode::OK);
        assert_eq!(s.body["client"]["name"], json!("Former client"));
        assert_eq!(s.body["note"], json!(null));
        assert_eq!(s.body["status"], json!("cancelled"));
    }
    let s = t.get(&e.confirmed, &PSY).await.body;
    assert_eq!(
        s["cancel_reason"],
        json!("The client closed their Kikao account.")
    );
    assert_eq!(s["refund_due"], json!(true));
    assert_eq!(s["payment"]["transaction_code"], json!("QK71ERS001"));
    assert_eq!(s["payment"]["has_proof"], json!(false));
    let actions = actions_of(&s);
    assert_eq!(
        actions,
        [
            "book",
            "approve",
            "submit_payment",
            "verify_payment",
            "cancel"
        ]
    );
    // the client's own words on the booking they cancelled are gone too
    assert_eq!(
        t.get(&e.cancelled, &PSY).await.body["cancel_reason"],
        json!(null)
    );

    // the screenshots are gone with every version; the other client's stays
    let link = t.proof_link(&e.confirmed, &PSY).await;
    assert_eq!(link.status, StatusCode::NOT_FOUND);
    let stored = |key: String| {
        let proofs = proofs.clone();
        async move {
            let url = proofs
                .presign_download(&key, None, Duration::minutes(5))
                .await
                .unwrap();
            proofs
                .read_download(&signed_query(&url.url), chrono::Utc::now())
                .is_ok()
        }
    };
    assert!(!stored(e.proof_key.clone()).await);
    assert!(stored(e.others_proof_key.clone()).await);

    // the other client and their booking are untouched
    let o = t.get(&e.others, &CLIENT2).await.body;
    assert_eq!(
        (&o["client"]["name"], &o["note"], &o["status"]),
        (
            &json!(CLIENT2.name),
            &json!(OTHER_NOTE),
            &json!("payment_submitted")
        )
    );

    // asked again (a retry after a failure), it finishes with nothing more to do
    let r = t.erase(&ERASABLE, "DELETE MY DATA").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cancelled_bookings"], json!(0));
}

/// The actions of `entries` (an export's `audit`) with who did them.
fn trail(export: &Reply) -> Vec<(String, String)> {
    export.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["by"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_trail_tells_each_person_what_was_done_with_their_data() {
    let t = spawn_app().await;
    let proofs = t.proofs.clone().unwrap();
    let e = t.erasable_client(upload_to_disk(proofs.clone())).await;
    // the psychologist opens the erasable client's screenshot twice, the client once
    for who in [&PSY, &PSY, &ERASABLE] {
        t.clock.advance(Duration::seconds(1));
        assert_eq!(t.proof_link(&e.confirmed, who).await.status, StatusCode::OK);
    }
    t.clock.advance(Duration::seconds(1));
    let s = |x: &str| x.to_owned();
    let r = export(&t, &ERASABLE).await;
    assert_eq!(
        trail(&r),
        [
            (s("proof_viewed"), s(PSY.id)),
            (s("proof_viewed"), s(PSY.id)),
            (s("proof_viewed"), s(ERASABLE.id)),
            (s("data_exported"), s(ERASABLE.id)),
        ]
    );
    assert_eq!(r.body["audit"][0]["session_id"], json!(e.confirmed));
    // CLIENT2's screenshot was not opened: their trail has only their export
    assert_eq!(
        trail(&export(&t, &CLIENT2).await),
        [(s("data_exported"), s(CLIENT2.id))]
    );

    // a new M-Pesa number is in the psychologist's trail; an invitation and a deactivation in
    // the invited psychologist's, by the administrator
    let put = request(
        Method::PUT,
        "/api/me",
        Some(&PSY),
        Some(r#"{"mpesa_number": "0700 000 177"}"#),
    );
    assert_eq!(
        reply(h::update_me(&t.app, put).await).await.status,
        StatusCode::OK
    );
    t.clock.advance(Duration::seconds(1));
    let r = export(&t, &PSY).await;
    assert_eq!(
        trail(&r),
        [
            (s("mpesa_number_changed"), s(PSY.id)),
            (s("data_exported"), s(PSY.id))
        ]
    );
    let invite = request(
        Method::POST,
        "/api/admin/psychologists",
        Some(&ADMIN),
        Some(
            r#"{"name": "Dr. Zawadi Achieng", "email": "zawadi@example.test", "phone": "0700 000 150"}"#,
        ),
    );
    let invited = reply(h::invite_psychologist(&t.app, invite).await).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.body);
    let id = invited.body["id"].as_str().unwrap().to_owned();
    t.clock.advance(Duration::seconds(1));
    let deactivate = request(
        Method::POST,
        &format!("/api/admin/psychologists/{id}/deactivate"),
        Some(&ADMIN),
        Some("{}"),
    );
    assert_eq!(
        reply(h::deactivate_psychologist(&t.app, deactivate).await)
            .await
            .status,
        StatusCode::OK
    );
    let about: Vec<_> = t
        .app
        .audit
        .about(&UserId::parse(&id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor.to_string()))
        .collect();
    use kikao_core::domain::AuditAction::*;
    assert_eq!(
        about,
        [
            (PsychologistInvited, s(ADMIN.id)),
            (PsychologistDeactivated, s(ADMIN.id))
        ]
    );

    // an erasure is recorded too, and the trail outlives it: it names nobody
    assert_eq!(
        t.erase(&ERASABLE, "DELETE MY DATA").await.status,
        StatusCode::OK
    );
    let erased = t
        .app
        .audit
        .about(&UserId::parse(ERASABLE.id).unwrap())
        .await
        .unwrap();
    assert_eq!(erased.last().unwrap().action, AccountErased);
    assert_eq!(erased.len(), 5);
}
