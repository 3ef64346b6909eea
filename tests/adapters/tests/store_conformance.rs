//! One suite, two stores: every test here runs against SQLite and against DynamoDB (moto), so
//! the embedded default and production behave the same — atomic changes with their events,
//! slot holds, unique transaction codes, version conflicts, idempotency, pagination, tallies,
//! expiry selection and profiles.

mod support;

use chrono::{DateTime, Duration, Utc};
use kikao_aws::dynamodb::DynamoStore;
use kikao_core::bookings::{BookingError, Bookings, Config};
use kikao_core::clock::ManualClock;
use kikao_core::domain::*;
use kikao_core::ports::{
    Claim, DeliveryLog, Envelope, IdempotencyRecord, Message, NoAccounts, NoProofStore, Notifier,
    NotifyError, ProfileStore, SentMessage, SessionStore, StoreError,
};
use kikao_embedded::sqlite::SqliteStore;
use std::sync::Arc;

/// What the suite's M-Pesa callback paths are made with.
const CALLBACK_KEY: &str = "the conformance suite's callback key, 32+ characters";

struct Stores {
    sessions: Arc<dyn SessionStore>,
    profiles: Arc<dyn ProfileStore>,
    audit: Arc<dyn kikao_core::ports::AuditLog>,
    deliveries: Arc<dyn DeliveryLog>,
    sent: Arc<dyn kikao_core::ports::SentMessages>,
    ledger: Arc<dyn kikao_core::ports::PaymentLedger>,
    checkouts: Arc<dyn kikao_core::ports::CheckoutStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open(&dir.path().join("k.sqlite3")).unwrap());
    Stores {
        sessions: s.clone(),
        profiles: s.clone(),
        audit: s.clone(),
        sent: s.clone(),
        ledger: s.clone(),
        checkouts: s.clone(),
        deliveries: s,
        _dir: Some(dir),
    }
}

async fn dynamodb() -> Stores {
    let aws = support::moto().await;
    let s = Arc::new(DynamoStore::new(
        aws.dynamodb,
        &support::unique("conformance"),
    ));
    assert!(s.ensure_table().await.unwrap());
    Stores {
        sessions: s.clone(),
        profiles: s.clone(),
        audit: s.clone(),
        sent: s.clone(),
        ledger: s.clone(),
        checkouts: s.clone(),
        deliveries: s,
        _dir: None,
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::sqlite().await).await })*
        }
        mod on_dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::dynamodb().await).await })*
        }
    };
}

conformance!(
    every_transition_writes_the_session_its_event_and_tallies,
    a_stale_version_is_a_conflict_and_changes_nothing,
    overlapping_holds_are_slot_taken_until_released,
    held_time_is_read_as_cells_in_one_range,
    accepting_a_reschedule_moves_the_hold,
    transaction_codes_are_unique_across_sessions,
    idempotency_keys_are_unique_per_user,
    lists_page_newest_first_and_filter_by_status,
    views_page_by_start_and_never_skip_or_repeat_while_others_change,
    expiry_selects_only_what_is_due,
    profiles_round_trip,
    a_deactivated_profile_is_never_written_back_to_active,
    fifty_concurrent_conflicting_writes_one_winner,
    booking_quota_counts_in_the_same_write_and_refuses_past_its_max,
    a_message_is_claimed_once_and_released_when_it_fails,
    reminders_go_once_each_at_the_time_the_session_has_now,
    anonymising_rewrites_in_place_and_only_the_version_it_read,
    an_mpesa_payment_is_kept_once_and_listed_while_unmatched,
    reading_every_booking_misses_none_that_moves_meanwhile,
    an_mpesa_confirmation_racing_a_cancel_one_wins_and_nothing_is_lost,
    what_kikao_asked_never_overwrites_what_the_callback_settled,
);

fn t0() -> DateTime<Utc> {
    "2030-01-07T06:00:00Z".parse().unwrap()
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn booking(
    client: &str,
    psychologist: &str,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Session, Event) {
    book(
        BookingRequest {
            client: Party {
                id: uid(client),
                name: format!("Client {client}"),
            },
            psychologist: Party {
                id: uid(psychologist),
                name: format!("Dr {psychologist}"),
            },
            session_type: SessionType {
                id: SessionTypeId::parse("individual").unwrap(),
                name: "Individual".into(),
                duration_minutes: 60,
                price_kes: Kes::new(2000).unwrap(),
            },
            starts_at,
            note: None,
        },
        now,
    )
}

async fn create(
    st: &Stores,
    client: &str,
    psy: &str,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Session {
    let (s, e) = booking(client, psy, starts_at, now);
    st.sessions
        .write(&Change::new(None, s.clone(), e), None)
        .await
        .unwrap();
    s
}

fn role_of(s: &Session, cmd: &Command) -> Option<(UserId, Role)> {
    match cmd {
        Command::Expire => None,
        Command::SubmitPayment(_) => Some((s.client.id.clone(), Role::Client)),
        Command::Reschedule { .. } | Command::Cancel { .. } => {
            Some((s.client.id.clone(), Role::Client))
        }
        _ => Some((s.psychologist.id.clone(), Role::Psychologist)),
    }
}

impl Stores {
    /// The use cases over this store, with the clock at `now`.
    fn bookings(&self, now: DateTime<Utc>) -> Bookings {
        Bookings {
            sessions: self.sessions.clone(),
            profiles: self.profiles.clone(),
            proofs: Arc::new(NoProofStore),
            accounts: Arc::new(NoAccounts),
            outbox: Arc::new(kikao_core::ports::NoOutbox),
            audit: self.audit.clone(),
            sent: self.sent.clone(),
            ledger: self.ledger.clone(),
            checkouts: self.checkouts.clone(),
            daraja: Arc::new(kikao_core::ports::NoDaraja),
            callback_key: Arc::new(kikao_embedded::callback_key::FileCallbackKey::fixed(
                CALLBACK_KEY,
            )),
            clock: Arc::new(ManualClock::new(now)),
            config: Config::default(),
        }
    }
}

/// `cmd` by the natural party, through the use cases' one write path; the store's answer (a
/// refusal by the rules is a bug in the test).
async fn apply(
    st: &Stores,
    s: &Session,
    cmd: Command,
    now: DateTime<Utc>,
) -> Result<Session, StoreError> {
    let who = role_of(s, &cmd);
    let actor = who.as_ref().map(|(id, r)| (id, *r));
    st.bookings(now)
        .apply(s, actor, cmd)
        .await
        .map_err(|e| match e {
            BookingError::Store(e) => e,
            other => panic!("the rules refused the test's step: {other}"),
        })
}

/// `s` approved, paid with `code` and verified, all at `now`.
async fn confirm(st: &Stores, s: &Session, code: &str, now: DateTime<Utc>) -> Session {
    let s = apply(st, s, approve(), now).await.unwrap();
    let s = apply(st, &s, pay(code), now).await.unwrap();
    let verify = Command::VerifyPayment {
        meeting_link: format!("https://m/{code}"),
    };
    apply(st, &s, verify, now).await.unwrap()
}

fn approve() -> Command {
    Command::Approve {
        mpesa_number: PhoneNumber::parse("0700000111"),
        business: None,
    }
}

fn pay(code: &str) -> Command {
    Command::SubmitPayment(PaymentClaim {
        code: TransactionCode::parse(code).unwrap(),
        amount: None,
        paid_at: None,
        recipient: None,
        recipient_phone: None,
        proof_key: None,
        proof_version: None,
        proof_file: None,
    })
}

async fn every_transition_writes_the_session_its_event_and_tallies(st: Stores) {
    let now = t0();
    let s = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    let s = apply(&st, &s, approve(), now).await.unwrap();
    let s = apply(&st, &s, pay("QK71ABC001"), now).await.unwrap();
    let s = apply(
        &st,
        &s,
        Command::VerifyPayment {
            meeting_link: "https://m/x".into(),
        },
        now,
    )
    .await
    .unwrap();
    let at = s.starts_at;
    let s = apply(&st, &s, Command::Start, at).await.unwrap();
    let s = apply(&st, &s, Command::Complete, at + Duration::hours(1))
        .await
        .unwrap();
    let stored = st.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(stored, s);
    let history = st.sessions.history(s.id).await.unwrap();
    let trail: Vec<(u64, Status)> = history.iter().map(|e| (e.version, e.to)).collect();
    assert_eq!(
        trail,
        [
            (1, Status::PendingApproval),
            (2, Status::Approved),
            (3, Status::PaymentSubmitted),
            (4, Status::Confirmed),
            (5, Status::InProgress),
            (6, Status::Completed)
        ]
    );
    for who in ["c1", "p1"] {
        let sum = st.sessions.summary(&uid(who)).await.unwrap();
        assert_eq!((sum.counter, sum.awaiting), (6, 0), "{who}");
        assert_eq!(
            sum.counts.into_iter().collect::<Vec<_>>(),
            [(Status::Completed, 1)]
        );
    }
    assert_eq!(
        st.sessions.summary(&uid("nobody")).await.unwrap(),
        UserSummary::default()
    );
    // completed sessions hold nothing
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), s.starts_at, s.ends_at, None)
            .await
            .unwrap(),
        None
    );
}

async fn a_stale_version_is_a_conflict_and_changes_nothing(st: Stores) {
    let now = t0();
    let s = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    apply(&st, &s, approve(), now).await.unwrap();
    // the same "before" again: someone else already moved it
    let again = apply(
        &st,
        &s,
        Command::Decline {
            reason: Some(Reason::parse("no").unwrap()),
        },
        now,
    )
    .await;
    assert_eq!(again.unwrap_err(), StoreError::VersionConflict);
    assert_eq!(
        st.sessions.get(s.id).await.unwrap().unwrap().status,
        Status::Approved
    );
    assert_eq!(st.sessions.history(s.id).await.unwrap().len(), 2);
    assert_eq!(st.sessions.summary(&uid("p1")).await.unwrap().counter, 2);
    // a booking with an id that exists is a conflict too
    let (dup, e) = booking("c1", "p1", now + Duration::days(3), now);
    let dup = Session { id: s.id, ..dup };
    let e = Event {
        session_id: s.id,
        ..e
    };
    assert_eq!(
        st.sessions
            .write(&Change::new(None, dup, e), None)
            .await
            .unwrap_err(),
        StoreError::VersionConflict
    );
}

/// An erasure's rewrite: the session and its events replaced in place (no new version, no new
/// event, the same tallies and lists), refused when the booking moved on since it was read.
async fn anonymising_rewrites_in_place_and_only_the_version_it_read(st: Stores) {
    let now = t0();
    let s = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    let approved = apply(&st, &s, approve(), now).await.unwrap();
    let history = st.sessions.history(s.id).await.unwrap();
    let summary = st.sessions.summary(&uid("p1")).await.unwrap();
    assert!(format!("{approved:?}{history:?}").contains("Client c1"));
    let events: Vec<Event> = history.iter().map(Event::without_client).collect();

    // read at the first version: the approval since wins, nothing is written
    assert_eq!(
        st.sessions.anonymise(&s.without_client(), &events).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(st.sessions.get(s.id).await.unwrap().unwrap(), approved);
    assert_eq!(st.sessions.history(s.id).await.unwrap(), history);

    st.sessions
        .anonymise(&approved.without_client(), &events)
        .await
        .unwrap();
    let stored = st.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(stored, approved.without_client());
    assert_eq!(stored.version, approved.version);
    let after = st.sessions.history(s.id).await.unwrap();
    assert_eq!(after, events);
    assert!(!format!("{stored:?}{after:?}").contains("Client c1"));
    assert_eq!(st.sessions.summary(&uid("p1")).await.unwrap(), summary);
    let listed = st
        .sessions
        .list(&uid("c1"), Role::Client, None, 10, None)
        .await
        .unwrap();
    assert_eq!(listed.items, vec![stored.clone()]);
    // the booking goes on as before: the next change builds on the anonymised one
    let cancelled = apply(
        &st,
        &stored,
        Command::Cancel {
            reason: Some(Reason::parse("no").unwrap()),
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(cancelled.client.name, ERASED_NAME);
}

async fn overlapping_holds_are_slot_taken_until_released(st: Stores) {
    let now = t0();
    let start = now + Duration::days(2);
    let a = create(&st, "c1", "p1", start, now).await;
    let b = create(&st, "c2", "p1", start + Duration::minutes(45), now).await;
    let other_psy = create(&st, "c3", "p2", start, now).await;
    let a = apply(&st, &a, approve(), now).await.unwrap();
    assert_eq!(
        apply(&st, &b, approve(), now).await.unwrap_err(),
        StoreError::SlotTaken
    );
    assert_eq!(
        st.sessions.get(b.id).await.unwrap().unwrap().status,
        Status::PendingApproval
    );
    assert_eq!(
        st.sessions.history(b.id).await.unwrap().len(),
        1,
        "no event for a refused change"
    );
    apply(&st, &other_psy, approve(), now)
        .await
        .expect("another psychologist's calendar is separate");
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), b.starts_at, b.ends_at, None)
            .await
            .unwrap(),
        Some(a.id)
    );
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), a.starts_at, a.ends_at, Some(a.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), a.ends_at, a.ends_at + Duration::hours(1), None)
            .await
            .unwrap(),
        None,
        "back to back is fine"
    );
    // the whole page in one call: b overlaps a's hold, a overlaps nobody else's
    let spans = [
        (a.id, a.starts_at, a.ends_at),
        (b.id, b.starts_at, b.ends_at),
    ];
    assert_eq!(
        st.sessions
            .overlapping_holds(&uid("p1"), &spans)
            .await
            .unwrap(),
        vec![b.id]
    );
    assert!(
        st.sessions
            .overlapping_holds(&uid("p9"), &spans)
            .await
            .unwrap()
            .is_empty(),
        "a psychologist holding nothing"
    );
    apply(&st, &a, Command::Cancel { reason: None }, now)
        .await
        .unwrap();
    assert!(st
        .sessions
        .overlapping_holds(&uid("p1"), &spans)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), b.starts_at, b.ends_at, None)
            .await
            .unwrap(),
        None
    );
    apply(&st, &b, approve(), now).await.unwrap();
}

/// The range read behind free slots: each held cell with its owner, earliest first, both ends
/// of the range included, one psychologist's only.
async fn held_time_is_read_as_cells_in_one_range(st: Stores) {
    let now = t0();
    let start = now + Duration::days(2);
    let a = create(&st, "c1", "p1", start, now).await;
    let (c, e) = booking("c2", "p1", start + Duration::hours(3), now);
    let c = Session {
        ends_at: c.starts_at + Duration::minutes(90),
        ..c
    };
    st.sessions
        .write(&Change::new(None, c.clone(), e), None)
        .await
        .unwrap();
    let pending = create(&st, "c3", "p1", start + Duration::hours(6), now).await;
    let other = create(&st, "c4", "p2", start, now).await;
    for s in [&a, &c, &other] {
        apply(&st, s, approve(), now).await.unwrap();
    }
    let q = Duration::minutes(15);
    let holds = st
        .sessions
        .holds(&uid("p1"), start - q, start + Duration::hours(8))
        .await
        .unwrap();
    let expected: Vec<(DateTime<Utc>, SessionId)> = (0..4)
        .map(|i| (start + q * i, a.id))
        .chain((0..6).map(|i| (start + Duration::hours(3) + q * i, c.id)))
        .collect();
    assert_eq!(holds, expected, "a pending request holds nothing");
    assert!(holds.iter().all(|(_, id)| *id != pending.id));
    assert_eq!(
        st.sessions
            .holds(&uid("p1"), start + q * 3, start + Duration::hours(3))
            .await
            .unwrap(),
        vec![(start + q * 3, a.id), (start + Duration::hours(3), c.id)],
        "both ends included"
    );
    assert!(st
        .sessions
        .holds(
            &uid("p1"),
            start + Duration::hours(1),
            start + Duration::minutes(165)
        )
        .await
        .unwrap()
        .is_empty());
}

async fn accepting_a_reschedule_moves_the_hold(st: Stores) {
    let now = t0();
    let s = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    let s = confirm(&st, &s, "QK71ABC002", now).await;
    let (old_start, old_end) = (s.starts_at, s.ends_at);
    // overlapping the old time by 30 minutes: cells both held and freed must not clash
    let new_start = old_start + Duration::minutes(30);
    let s = apply(
        &st,
        &s,
        Command::Reschedule {
            starts_at: new_start,
        },
        now,
    )
    .await
    .unwrap();
    let (next, event) = decide(
        &s,
        Some((&uid("p1"), Role::Psychologist)),
        Command::AcceptReschedule,
        now,
        &Policy::default(),
    )
    .unwrap();
    st.sessions
        .write(&Change::new(Some(&s), next, event), None)
        .await
        .unwrap();
    let moved = st.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(moved.starts_at, new_start);
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), old_start, new_start, None)
            .await
            .unwrap(),
        None,
        "the old first half hour is free"
    );
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), new_start, old_end + Duration::minutes(30), None)
            .await
            .unwrap(),
        Some(s.id)
    );
}

async fn transaction_codes_are_unique_across_sessions(st: Stores) {
    let now = t0();
    let a = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    let b = create(&st, "c2", "p1", now + Duration::days(3), now).await;
    let a = apply(&st, &a, approve(), now).await.unwrap();
    let b = apply(&st, &b, approve(), now).await.unwrap();
    let a = apply(&st, &a, pay("QK71ABC003"), now).await.unwrap();
    assert_eq!(
        apply(&st, &b, pay("QK71ABC003"), now).await.unwrap_err(),
        StoreError::DuplicateCode
    );
    assert_eq!(
        st.sessions.get(b.id).await.unwrap().unwrap().status,
        Status::Approved
    );
    // the same booking may resubmit its own code after a rejection
    let a = apply(
        &st,
        &a,
        Command::RejectPayment {
            reason: Some(Reason::parse("blurry").unwrap()),
        },
        now,
    )
    .await
    .unwrap();
    apply(&st, &a, pay("QK71ABC003"), now).await.unwrap();
    apply(&st, &b, pay("QK71ABC004"), now).await.unwrap();
}

async fn idempotency_keys_are_unique_per_user(st: Stores) {
    let now = t0();
    let record = |id: SessionId, user: &str| IdempotencyRecord {
        user: uid(user),
        key: "key-1".into(),
        fingerprint: "f".into(),
        session_id: id,
        created_at: now,
    };
    let (s, e) = booking("c1", "p1", now + Duration::days(2), now);
    st.sessions
        .write(&Change::new(None, s.clone(), e), Some(&record(s.id, "c1")))
        .await
        .unwrap();
    assert_eq!(
        st.sessions
            .idempotent_booking(&uid("c1"), "key-1")
            .await
            .unwrap(),
        Some(record(s.id, "c1"))
    );
    let (s2, e2) = booking("c1", "p1", now + Duration::days(3), now);
    let err = st
        .sessions
        .write(
            &Change::new(None, s2.clone(), e2),
            Some(&record(s2.id, "c1")),
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::DuplicateIdempotencyKey);
    assert_eq!(
        st.sessions.get(s2.id).await.unwrap(),
        None,
        "the refused booking was not written"
    );
    // another user's key is their own
    let (s3, e3) = booking("c2", "p1", now + Duration::days(4), now);
    st.sessions
        .write(
            &Change::new(None, s3.clone(), e3),
            Some(&record(s3.id, "c2")),
        )
        .await
        .unwrap();
    assert_eq!(
        st.sessions
            .idempotent_booking(&uid("c9"), "key-1")
            .await
            .unwrap(),
        None
    );
}

async fn lists_page_newest_first_and_filter_by_status(st: Stores) {
    let now = t0();
    let mut made = Vec::new();
    for i in 0..7 {
        let s = create(
            &st,
            "c1",
            "p1",
            now + Duration::days(2 + i),
            now + Duration::minutes(i),
        )
        .await;
        made.push(s);
    }
    // activity moves a session to the top
    apply(&st, &made[0], approve(), now + Duration::minutes(30))
        .await
        .unwrap();
    apply(&st, &made[1], approve(), now + Duration::minutes(31))
        .await
        .unwrap();
    for (user, role) in [("p1", Role::Psychologist), ("c1", Role::Client)] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut sizes = Vec::new();
        loop {
            let page = st
                .sessions
                .list(&uid(user), role, None, 3, cursor.as_deref())
                .await
                .unwrap();
            sizes.push(page.items.len());
            seen.extend(page.items.iter().map(|s| (s.updated_at, s.id)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(sizes, [3, 3, 1], "{user}");
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest activity first");
        assert_eq!(seen[0].1, made[1].id);
    }
    let pending = st
        .sessions
        .list(
            &uid("p1"),
            Role::Psychologist,
            Some(Status::PendingApproval),
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 5);
    assert!(pending
        .items
        .iter()
        .all(|s| s.status == Status::PendingApproval));
    let approved = st
        .sessions
        .list(&uid("c1"), Role::Client, Some(Status::Approved), 10, None)
        .await
        .unwrap();
    assert_eq!(approved.items.len(), 2);
    assert!(st
        .sessions
        .list(&uid("p2"), Role::Psychologist, None, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        st.sessions
            .list(&uid("p1"), Role::Psychologist, None, 3, Some("bogus"))
            .await
            .unwrap_err(),
        StoreError::BadCursor
    );
    let sum = st.sessions.summary(&uid("p1")).await.unwrap();
    assert_eq!(
        (
            sum.counts[&Status::PendingApproval],
            sum.counts[&Status::Approved],
            sum.awaiting
        ),
        (5, 2, 5)
    );
    assert_eq!(
        st.sessions.summary(&uid("c1")).await.unwrap().awaiting,
        2,
        "the client must pay two"
    );
}

/// Every page of `user`'s `view`, `limit` at a time, with `between(page number)` run after each
/// page but the last: what others change while someone pages.
async fn page_view<F, Fut>(
    st: &Stores,
    user: &str,
    role: Role,
    view: View,
    limit: usize,
    mut between: F,
) -> Vec<Session>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for n in 0.. {
        let page = st
            .sessions
            .list_view(&uid(user), role, view, limit, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        between(n).await;
    }
    seen
}

async fn views_page_by_start_and_never_skip_or_repeat_while_others_change(st: Stores) {
    let now = t0();
    let day = |d: i64| now + Duration::days(d) + Duration::hours(3);
    // made in an order unlike their starts
    let mut made = Vec::new();
    for (i, d) in [5, 2, 9, 3, 7, 4, 10, 6, 8].into_iter().enumerate() {
        made.push(create(&st, "c1", "p1", day(d), now + Duration::minutes(i as i64)).await);
    }
    create(&st, "c2", "p1", day(11), now).await;
    create(&st, "c1", "p2", day(12), now).await;
    let by_start = |mut v: Vec<Session>| {
        v.sort_by_key(|s| (s.starts_at, s.id));
        v
    };

    // requests wait on the psychologist and, for the client, on the other party
    let action = page_view(&st, "p1", Role::Psychologist, View::Action, 4, |_| async {}).await;
    assert_eq!(action.len(), 10);
    let ids = |v: &[Session]| v.iter().map(|s| s.id).collect::<Vec<_>>();
    let mut p1_requests = made.clone();
    p1_requests.push(
        action
            .iter()
            .find(|s| s.client.id == uid("c2"))
            .unwrap()
            .clone(),
    );
    assert_eq!(ids(&action), ids(&by_start(p1_requests)), "soonest first");
    let waiting = page_view(&st, "c1", Role::Client, View::Waiting, 100, |_| async {}).await;
    assert_eq!(waiting.len(), 10, "both psychologists' requests");
    for v in [View::Action, View::Upcoming, View::Past] {
        assert!(
            page_view(&st, "c1", Role::Client, v, 5, |_| async {})
                .await
                .is_empty(),
            "{v:?}"
        );
    }

    // while the psychologist pages, others change: one not yet read is approved (it leaves the
    // view), one already read is declined, and two new requests come, one before the page's
    // place and one after. Each request that stays is read once, in order.
    let sorted = by_start(made.clone());
    let (leaves, read_early) = (sorted[7].clone(), sorted[0].clone());
    let later = now + Duration::hours(1);
    let new_ids = std::sync::Mutex::new(Vec::new());
    let seen = page_view(&st, "p1", Role::Psychologist, View::Action, 3, |n| {
        let (st, leaves, read_early) = (&st, leaves.clone(), read_early.clone());
        let new_ids = &new_ids;
        async move {
            if n == 0 {
                apply(st, &leaves, approve(), later).await.unwrap();
                let decline = Command::Decline {
                    reason: Some(Reason::parse("Fully booked that week.").unwrap()),
                };
                apply(st, &read_early, decline, later).await.unwrap();
                let before = create(st, "c3", "p1", day(1), later).await.id;
                let after = create(st, "c3", "p1", day(20), later).await.id;
                new_ids.lock().unwrap().extend([before, after]);
            }
        }
    })
    .await;
    let new_ids = new_ids.into_inner().unwrap();
    let seen_ids = ids(&seen);
    let mut unique = seen_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen_ids.len(), "a session read twice");
    for s in &sorted {
        if s.id != leaves.id {
            assert!(seen_ids.contains(&s.id), "skipped a request that stayed");
        }
    }
    assert!(
        !seen_ids.contains(&new_ids[0]),
        "came in before the page's place"
    );
    assert!(
        seen_ids.contains(&new_ids[1]),
        "came in after the page's place"
    );
    assert_eq!(ids(&by_start(seen.clone())), seen_ids, "in order of start");

    // the past, the latest first: a declined request, whatever its date
    let cancel = Command::Cancel { reason: None };
    apply(&st, &sorted[4], cancel, later).await.unwrap();
    let past = page_view(&st, "p1", Role::Psychologist, View::Past, 1, |_| async {}).await;
    assert_eq!(ids(&past), [sorted[4].id, sorted[0].id]);
    let c1_past = page_view(&st, "c1", Role::Client, View::Past, 5, |_| async {}).await;
    assert_eq!(ids(&c1_past), ids(&past));
    // the approved one waits on the client to pay
    let pay_now = page_view(&st, "c1", Role::Client, View::Action, 5, |_| async {}).await;
    assert_eq!(ids(&pay_now), [leaves.id]);
    let awaiting = page_view(&st, "p1", Role::Psychologist, View::Waiting, 5, |_| async {
    })
    .await;
    assert_eq!(ids(&awaiting), [leaves.id]);

    // a cursor is bound to its user and view; a made-up one is refused, never an error
    let first = st
        .sessions
        .list_view(&uid("p1"), Role::Psychologist, View::Action, 2, None)
        .await
        .unwrap();
    let cursor = first.next_cursor.unwrap();
    let refused = |user: &'static str, role: Role, view: View, cursor: String| {
        let st = &st;
        async move {
            st.sessions
                .list_view(&uid(user), role, view, 2, Some(&cursor))
                .await
                .unwrap_err()
        }
    };
    use base64::Engine;
    let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
    for (user, role, view, c) in [
        ("p1", Role::Psychologist, View::Past, cursor.clone()),
        ("p2", Role::Psychologist, View::Action, cursor.clone()),
        ("c1", Role::Client, View::Action, cursor.clone()),
        ("p1", Role::Psychologist, View::Action, "bogus".to_owned()),
        (
            "p1",
            Role::Psychologist,
            View::Action,
            b64("action|soon|x|p1"),
        ),
        (
            "p1",
            Role::Psychologist,
            View::Action,
            b64("action|99999999999999999999|00000000-0000-0000-0000-000000000000|p1"),
        ),
        ("p1", Role::Psychologist, View::Action, b64("action|p1")),
    ] {
        assert_eq!(refused(user, role, view, c).await, StoreError::BadCursor);
    }

    // catching up: what changed at or after a time, the earliest change first
    let changed = st
        .sessions
        .changed_since(&uid("p1"), Role::Psychologist, later, 10)
        .await
        .unwrap();
    let mut expected = vec![
        leaves.id,
        read_early.id,
        new_ids[0],
        new_ids[1],
        sorted[4].id,
    ];
    let got = ids(&changed);
    assert_eq!(got.len(), expected.len(), "{got:?}");
    expected.sort();
    let mut sorted_got = got.clone();
    sorted_got.sort();
    assert_eq!(sorted_got, expected);
    assert!(changed
        .windows(2)
        .all(|w| w[0].updated_at <= w[1].updated_at));
    let c1_changed = st
        .sessions
        .changed_since(&uid("c1"), Role::Client, later, 10)
        .await
        .unwrap();
    assert_eq!(c1_changed.len(), 3, "the client's own three changed");
    assert!(st
        .sessions
        .changed_since(
            &uid("p1"),
            Role::Psychologist,
            later + Duration::seconds(1),
            10
        )
        .await
        .unwrap()
        .is_empty());
}

async fn expiry_selects_only_what_is_due(st: Stores) {
    let now = t0();
    let soon = create(&st, "c1", "p1", now + Duration::hours(3), now).await;
    let later = create(&st, "c2", "p1", now + Duration::days(5), now).await;
    let paid_late = create(&st, "c3", "p1", now + Duration::days(4), now).await;
    let paid_late = apply(&st, &paid_late, approve(), now).await.unwrap(); // deadline now + 24 h
    let done = create(&st, "c4", "p1", now + Duration::days(2), now).await;
    apply(
        &st,
        &done,
        Command::Decline {
            reason: Some(Reason::parse("x").unwrap()),
        },
        now,
    )
    .await
    .unwrap();

    assert!(st
        .sessions
        .due_for_expiry(now, 10)
        .await
        .unwrap()
        .is_empty());
    let at = now + Duration::hours(25);
    let due: Vec<SessionId> = st
        .sessions
        .due_for_expiry(at, 10)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        due,
        [soon.id, paid_late.id],
        "soonest deadline first, nothing else"
    );
    let report = st.bookings(at).expire_due(10).await.unwrap();
    assert_eq!((report.expired, report.skipped), (2, 0));
    assert!(st.sessions.due_for_expiry(at, 10).await.unwrap().is_empty());
    let expired = st.sessions.get(paid_late.id).await.unwrap().unwrap();
    assert_eq!(
        (expired.status, expired.cancelled_by.as_deref()),
        (Status::Cancelled, Some("system"))
    );
    assert_eq!(
        st.sessions
            .held_overlap(&uid("p1"), expired.starts_at, expired.ends_at, None)
            .await
            .unwrap(),
        None,
        "its slot is free"
    );
    assert_eq!(
        st.sessions.get(later.id).await.unwrap().unwrap().status,
        Status::PendingApproval
    );
}

async fn profiles_round_trip(st: Stores) {
    let now = t0();
    let p = Profile::from_claims(
        uid("p1"),
        Role::Psychologist,
        "Dr One",
        Some("p1@example.test"),
        Some("0700000001"),
        now,
    );
    let p = p
        .apply(
            ProfileUpdate {
                session_types: Some(vec![SessionTypeDraft {
                    id: None,
                    name: "Individual".into(),
                    duration_minutes: 60,
                    price_kes: 2000,
                }]),
                availability: Some(AvailabilityDraft {
                    weekly: vec![WeeklyHoursDraft {
                        weekday: "sat".into(),
                        start: "09:00".into(),
                        end: "13:30".into(),
                    }],
                    time_off: vec![TimeOffDraft {
                        from: "2030-12-24".into(),
                        to: "2031-01-02".into(),
                    }],
                    buffer_minutes: 10,
                    notice_minutes: 1440,
                    horizon_days: 90,
                }),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let c = Profile::from_claims(uid("c1"), Role::Client, "Client One", None, None, now);
    assert_eq!(st.profiles.get_profile(&uid("p1")).await.unwrap(), None);
    st.profiles.put_profile(&p).await.unwrap();
    assert_eq!(st.profiles.create_profile_if_absent(&c).await.unwrap(), c);
    let renamed = Profile {
        name: "Changed".into(),
        ..c.clone()
    };
    assert_eq!(
        st.profiles
            .create_profile_if_absent(&renamed)
            .await
            .unwrap(),
        c,
        "an existing profile is kept"
    );
    assert_eq!(
        st.profiles.get_profile(&uid("p1")).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(st.profiles.list_psychologists().await.unwrap(), vec![p]);
}

/// A profile edit that read the profile before a deactivation must not undo it when it writes
/// (a psychologist saving their hours while the administrator removes them): the write is
/// refused, alone or with an alert, and the profile stays closed. Another deactivated copy may
/// still be written (the deactivation running again).
async fn a_deactivated_profile_is_never_written_back_to_active(st: Stores) {
    let now = t0();
    let read_before = Profile::from_claims(
        uid("p1"),
        Role::Psychologist,
        "Dr One",
        Some("one@example.test"),
        Some("0700000001"),
        now,
    );
    st.profiles.put_profile(&read_before).await.unwrap();
    let closed = Profile {
        deactivated_at: Some(now + Duration::minutes(1)),
        ..read_before.clone()
    };
    st.profiles.put_profile(&closed).await.unwrap();
    let edited = Profile {
        name: "Dr One, edited".into(),
        updated_at: now + Duration::minutes(2),
        ..read_before.clone()
    };
    assert_eq!(
        st.profiles.put_profile(&edited).await,
        Err(StoreError::Deactivated)
    );
    let alert = AccountAlert::new(
        &read_before,
        AlertKind::MpesaNumberChanged {
            from: None,
            to: None,
        },
        now,
    );
    let audit = AuditEntry::new(
        AuditAction::MpesaNumberChanged,
        &edited.user_id,
        &edited.user_id,
        None,
        now,
    );
    assert_eq!(
        st.profiles
            .put_profile_with_alert(&edited, &alert, &audit)
            .await,
        Err(StoreError::Deactivated)
    );
    // all or none: no audit entry for a change that was not made
    assert_eq!(st.audit.about(&edited.user_id).await.unwrap(), vec![]);
    assert_eq!(
        st.profiles.get_profile(&uid("p1")).await.unwrap(),
        Some(closed.clone())
    );
    let again = Profile {
        updated_at: now + Duration::minutes(3),
        ..closed
    };
    st.profiles.put_profile(&again).await.unwrap();
    assert_eq!(
        st.profiles.get_profile(&uid("p1")).await.unwrap(),
        Some(again)
    );
}

async fn fifty_concurrent_conflicting_writes_one_winner(st: Stores) {
    let now = t0();
    let s = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    let st = Arc::new(st);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (st, s) = (st.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            let cmd = match i % 3 {
                0 => approve(),
                1 => Command::Cancel { reason: None },
                _ => Command::Decline {
                    reason: Some(Reason::parse("no").unwrap()),
                },
            };
            apply(&st, &s, cmd, now).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => assert_eq!(e, StoreError::VersionConflict),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(st.sessions.history(s.id).await.unwrap().len(), 2);
    assert_eq!(st.sessions.summary(&uid("p1")).await.unwrap().counter, 2);
}

async fn booking_quota_counts_in_the_same_write_and_refuses_past_its_max(st: Stores) {
    let now = t0();
    let policy = Policy {
        booking_limit: 3,
        ..Policy::default()
    };
    let quota = policy.booking_quota(&uid("c1"), now);
    assert_eq!(quota.window_start, now, "t0 is on the hour");
    let write = |client: &str, day: i64, at: DateTime<Utc>| {
        let (s, e) = booking(client, "p1", t0() + Duration::days(day), at);
        let q = policy.booking_quota(&uid(client), at);
        (s.id, Change::new(None, s, e).counted_against(q))
    };
    for day in 1..=3 {
        let (_, c) = write("c1", day, now + Duration::minutes(day));
        st.sessions.write(&c, None).await.unwrap();
    }
    let (refused, c) = write("c1", 4, now + Duration::minutes(30));
    assert_eq!(
        st.sessions.write(&c, None).await.unwrap_err(),
        StoreError::RateLimited {
            retry_at: now + Duration::hours(1)
        }
    );
    assert_eq!(
        st.sessions.get(refused).await.unwrap(),
        None,
        "nothing half-written"
    );
    assert_eq!(
        st.sessions.summary(&uid("c1")).await.unwrap().counter,
        3,
        "the refused booking moved no tally"
    );
    // another client has their own quota, and the next window starts afresh
    let (_, c) = write("c2", 5, now + Duration::minutes(30));
    st.sessions.write(&c, None).await.unwrap();
    let (_, c) = write("c1", 6, now + Duration::minutes(61));
    st.sessions.write(&c, None).await.unwrap();
}

/// What `settle` records of a message sent to `who`.
fn sent(who: &str, key: &str, at: DateTime<Utc>) -> SentMessage {
    SentMessage {
        recipient: uid(who),
        session_id: None,
        purpose: "approve".into(),
        channel: key.rsplit(':').next().unwrap().into(),
        at,
        key: key.into(),
    }
}

async fn a_message_is_claimed_once_and_released_when_it_fails(st: Stores) {
    let log = st.deliveries.as_ref();
    let at = t0();
    let sms = sent("c1", "event:x:1:client:sms", at);
    assert_eq!(
        log.claim("event:x:1:client:sms", at).await.unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        log.claim("event:x:1:client:sms", at).await.unwrap(),
        Claim::InFlight
    );
    log.settle("event:x:1:client:sms", Some(&sms))
        .await
        .unwrap();
    assert_eq!(
        log.claim("event:x:1:client:sms", at).await.unwrap(),
        Claim::Sent
    );
    // a failed send is released, and not recorded as sent: the next attempt claims it afresh
    assert_eq!(
        log.claim("event:x:1:client:email", at).await.unwrap(),
        Claim::Fresh
    );
    log.settle("event:x:1:client:email", None).await.unwrap();
    assert_eq!(
        st.sent.sent_to(&uid("c1")).await.unwrap(),
        vec![sms.clone()]
    );
    assert_eq!(
        log.claim("event:x:1:client:email", at).await.unwrap(),
        Claim::Fresh
    );
    // releasing what another attempt already settled changes nothing
    let email = sent("c1", "event:x:1:client:email", at + Duration::seconds(1));
    log.settle("event:x:1:client:email", Some(&email))
        .await
        .unwrap();
    log.settle("event:x:1:client:email", None).await.unwrap();
    assert_eq!(
        log.claim("event:x:1:client:email", at).await.unwrap(),
        Claim::Sent
    );

    // each person's record holds what went to them, in time order, until it is forgotten
    let other = sent("c2", "event:x:2:client:sms", at);
    assert_eq!(
        log.claim("event:x:2:client:sms", at).await.unwrap(),
        Claim::Fresh
    );
    log.settle("event:x:2:client:sms", Some(&other))
        .await
        .unwrap();
    assert_eq!(st.sent.sent_to(&uid("c1")).await.unwrap(), vec![sms, email]);
    st.sent.forget_sent_to(&uid("c1")).await.unwrap();
    assert_eq!(st.sent.sent_to(&uid("c1")).await.unwrap(), vec![]);
    assert_eq!(st.sent.sent_to(&uid("c2")).await.unwrap(), vec![other]);
}

/// Every message a use case hands over, in order.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(Envelope, Message)>>);

#[async_trait::async_trait]
impl Notifier for Recorder {
    async fn send(&self, envelope: &Envelope, message: &Message) -> Result<(), NotifyError> {
        self.0
            .lock()
            .unwrap()
            .push((envelope.clone(), message.clone()));
        Ok(())
    }
}

impl Recorder {
    /// (recipient, purpose) of each message since the last call.
    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .map(|(e, _)| (e.recipient.to_string(), e.purpose))
            .collect()
    }
}

async fn reminders_go_once_each_at_the_time_the_session_has_now(st: Stores) {
    let now = t0();
    for (id, role) in [
        ("c1", Role::Client),
        ("p1", Role::Psychologist),
        ("c2", Role::Client),
    ] {
        // SMS only (to a confirmed number), so each reminder is one message
        let mut p = Profile::from_claims(uid(id), role, id, None, Some("0700000001"), now);
        p.notify.email = false;
        p.phone_verified = true;
        st.profiles.put_profile(&p).await.unwrap();
    }
    let out = Recorder::default();
    let remind = |at: DateTime<Utc>| {
        let (app, out, log) = (st.bookings(at), &out, st.deliveries.clone());
        async move { app.remind_due(out, log.as_ref()).await.unwrap() }
    };
    let start = now + Duration::days(2);
    let s = create(&st, "c1", "p1", start, now).await;
    let s = apply(&st, &s, approve(), now).await.unwrap();
    // approved at t0 with the deadline 24 h later: the client hears 3 h before it, once
    let deadline = s.payment_deadline.unwrap();
    assert_eq!(remind(deadline - Duration::hours(4)).await, 0);
    assert_eq!(remind(deadline - Duration::hours(2)).await, 1);
    assert_eq!(out.take(), [("c1".into(), "payment_reminder".into())]);
    assert_eq!(remind(deadline - Duration::minutes(90)).await, 0, "once");

    let s = apply(&st, &s, pay("QK71ABC301"), now).await.unwrap();
    let s = apply(
        &st,
        &s,
        Command::VerifyPayment {
            meeting_link: "https://m/r".into(),
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(remind(start - Duration::hours(25)).await, 0);
    assert_eq!(remind(start - Duration::hours(23)).await, 2);
    let mut got = out.take();
    got.sort();
    assert_eq!(
        got,
        [
            ("c1".into(), "reminder_24h".into()),
            ("p1".into(), "reminder_24h".into())
        ]
    );
    assert_eq!(remind(start - Duration::hours(22)).await, 0, "once");

    // moved three hours later: reminded about the new time, never again about the old
    let new_start = start + Duration::hours(3);
    let s = apply(
        &st,
        &s,
        Command::Reschedule {
            starts_at: new_start,
        },
        now,
    )
    .await
    .unwrap();
    let (moved, accepted) = decide(
        &s,
        Some((&uid("p1"), Role::Psychologist)),
        Command::AcceptReschedule,
        now,
        &Policy::default(),
    )
    .unwrap();
    st.sessions
        .write(&Change::new(Some(&s), moved.clone(), accepted), None)
        .await
        .unwrap();
    // the old start's last hour: no 1-hour reminder for the old time; the new one is 3.5 h
    // away, so its own 24-hour reminder (about the new time) goes out, once
    assert_eq!(remind(start - Duration::minutes(30)).await, 2);
    assert!(out.take().iter().all(|(_, p)| p == "reminder_24h"));
    // the client turns reminders off: only the psychologist hears of the last hour
    let mut c1 = st.profiles.get_profile(&uid("c1")).await.unwrap().unwrap();
    c1.notify.reminders = false;
    st.profiles.put_profile(&c1).await.unwrap();
    assert_eq!(remind(new_start - Duration::minutes(50)).await, 1);
    assert_eq!(out.take(), [("p1".into(), "reminder_1h".into())]);
    assert_eq!(remind(new_start - Duration::minutes(20)).await, 0, "once");

    // a cancelled booking is never reminded
    let other_start = now + Duration::days(3);
    let o = create(&st, "c2", "p1", other_start, now).await;
    let o = confirm(&st, &o, "QK71ABC302", now).await;
    apply(&st, &o, Command::Cancel { reason: None }, now)
        .await
        .unwrap();
    assert_eq!(remind(other_start - Duration::hours(23)).await, 0);
    assert_eq!(remind(other_start - Duration::minutes(30)).await, 0);
    assert!(out.take().is_empty());
    let _ = moved;
}

/// What DynamoDB drops by each item's `ttl`, the SQLite store drops with `prune`, at the same
/// ages (`kikao_core::retention`): an idempotency key after a day (and may then be used again),
/// a sent marker and an account alert after 90 days, an audit entry after 400; nothing younger.
#[tokio::test]
async fn sqlite_prunes_what_dynamodb_expires_by_ttl() {
    use kikao_core::ports::{EventFeed, SessionReader, SessionWriter};
    use kikao_core::retention::{DELIVERY_DAYS, IDEMPOTENCY_HOURS};
    use kikao_embedded::sqlite::Pruned;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("k.sqlite3")).unwrap();
    let now = t0();
    let (s, e) = booking("c1", "p1", now + Duration::days(2), now);
    let booking_id = s.id;
    let booking_expires = kikao_core::retention::booking_expires(&s);
    let record = IdempotencyRecord {
        user: uid("c1"),
        key: "retry-1".into(),
        fingerprint: "f".into(),
        session_id: s.id,
        created_at: now,
    };
    store
        .write(&Change::new(None, s, e), Some(&record))
        .await
        .unwrap();
    assert_eq!(
        store.claim("event:1:c1:sms", now).await.unwrap(),
        Claim::Fresh
    );
    store
        .settle("event:1:c1:sms", Some(&sent("c1", "event:1:c1:sms", now)))
        .await
        .unwrap();
    let before = Profile::from_claims(uid("p1"), Role::Psychologist, "Dr One", None, None, now);
    let alert = AccountAlert::new(
        &before,
        AlertKind::MpesaNumberChanged {
            from: None,
            to: None,
        },
        now,
    );
    let audit = AuditEntry::new(
        AuditAction::MpesaNumberChanged,
        &before.user_id,
        &before.user_id,
        None,
        now,
    );
    store
        .put_profile_with_alert(&before, &alert, &audit)
        .await
        .unwrap();

    let day = Duration::hours(IDEMPOTENCY_HOURS);
    assert_eq!(
        store.prune(now + day - Duration::minutes(1)).await.unwrap(),
        Pruned::default()
    );
    assert_eq!(
        store.prune(now + day + Duration::minutes(1)).await.unwrap(),
        Pruned {
            idempotency: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(
        store
            .idempotent_booking(&uid("c1"), "retry-1")
            .await
            .unwrap(),
        None
    );
    let kept = now + Duration::days(DELIVERY_DAYS) - Duration::minutes(1);
    assert_eq!(store.prune(kept).await.unwrap(), Pruned::default());
    assert_eq!(
        store.claim("event:1:c1:sms", kept).await.unwrap(),
        Claim::Sent,
        "still sent once"
    );
    assert_eq!(
        store
            .prune(now + Duration::days(DELIVERY_DAYS) + Duration::minutes(1))
            .await
            .unwrap(),
        Pruned {
            deliveries: 1,
            sent: 1,
            alerts: 1,
            ..Pruned::default()
        }
    );
    assert!(store.alerts_after(0, 10).await.unwrap().is_empty());
    assert_eq!(
        kikao_core::ports::SentMessages::sent_to(&store, &uid("c1"))
            .await
            .unwrap(),
        vec![]
    );

    // the audit entry written with the alert outlives it: a year and more
    use kikao_core::ports::AuditLog;
    use kikao_core::retention::AUDIT_DAYS;
    let kept = now + Duration::days(AUDIT_DAYS) - Duration::minutes(1);
    assert_eq!(store.prune(kept).await.unwrap(), Pruned::default());
    assert_eq!(store.about(&before.user_id).await.unwrap(), vec![audit]);
    assert_eq!(
        store
            .prune(now + Duration::days(AUDIT_DAYS) + Duration::minutes(1))
            .await
            .unwrap(),
        Pruned {
            audit: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(store.about(&before.user_id).await.unwrap(), vec![]);

    // the booking itself, with its history, six years after its session
    assert!(store.get(booking_id).await.unwrap().is_some());
    let kept = booking_expires - Duration::minutes(1);
    assert_eq!(store.prune(kept).await.unwrap(), Pruned::default());
    assert_eq!(
        store
            .prune(booking_expires + Duration::minutes(1))
            .await
            .unwrap(),
        Pruned {
            bookings: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(store.get(booking_id).await.unwrap(), None);
    assert_eq!(store.history(booking_id).await.unwrap(), vec![]);
    assert!(store
        .list(&uid("c1"), Role::Client, None, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

/// DynamoDB drops a booking by TTL at the same age: the session, each event and the code claim
/// carry `ttl` = `retention::booking_expires`, recomputed with each change.
#[tokio::test]
async fn a_bookings_items_expire_together_on_dynamodb() {
    let aws = support::moto().await;
    let table = support::unique("ttl");
    let s = Arc::new(DynamoStore::new(aws.dynamodb.clone(), &table));
    s.ensure_table().await.unwrap();
    let st = Stores {
        sessions: s.clone(),
        profiles: s.clone(),
        audit: s.clone(),
        sent: s.clone(),
        ledger: s.clone(),
        checkouts: s.clone(),
        deliveries: s,
        _dir: None,
    };
    let now = t0();
    let created = create(&st, "c1", "p1", now + Duration::days(2), now).await;
    let paid = confirm(&st, &created, "QK71TTL001", now + Duration::hours(1)).await;
    let expires = kikao_core::retention::booking_expires(&paid).timestamp();
    let ttl_of = |pk: String| ttls(&aws.dynamodb, &table, pk);
    let session_and_events = ttl_of(format!("SESSION#{}", paid.id)).await;
    assert_eq!(
        session_and_events.len(),
        5,
        "the session and its four events"
    );
    // the last write's items carry the booking's expiry as it stands now
    assert!(session_and_events.contains(&Some(expires)));
    assert!(session_and_events
        .iter()
        .all(|t| t.is_some_and(|t| t >= expires - 86_400 * 3)));
    assert_eq!(
        ttl_of("CODE#QK71TTL001".to_owned()).await,
        vec![Some(expires)]
    );
}

/// The `ttl` of each item in partition `pk` (none: `None`).
async fn ttls(client: &aws_sdk_dynamodb::Client, table: &str, pk: String) -> Vec<Option<i64>> {
    let items = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .send()
        .await
        .unwrap();
    items
        .items()
        .iter()
        .map(|i| {
            i.get("ttl")
                .and_then(|t| t.as_n().ok())
                .map(|t| t.parse::<i64>().unwrap())
        })
        .collect()
}

/// What SQLite's `prune` deletes by age, DynamoDB drops by TTL at the same age: an idempotency
/// record a day after it was made, a sent marker and the record of the message 90 days after
/// sending, an account alert 90 days after it, a booking-quota count an hour after its window,
/// an M-Pesa payment record as long as a booking. Each item's `ttl`, read back from the table.
#[tokio::test]
async fn every_other_item_expires_at_its_retention_on_dynamodb() {
    use kikao_core::retention::{BOOKING_DAYS, DELIVERY_DAYS, IDEMPOTENCY_HOURS};
    let aws = support::moto().await;
    let table = support::unique("ttl-all");
    let s = Arc::new(DynamoStore::new(aws.dynamodb.clone(), &table));
    s.ensure_table().await.unwrap();
    let now = t0();
    let ttl_of = |pk: String| ttls(&aws.dynamodb, &table, pk);
    let day = 86_400;

    // a booking made with an Idempotency-Key, counted against the client's quota
    let (session, event) = booking("c-ttl", "p-ttl", now + Duration::days(2), now);
    let record = IdempotencyRecord {
        user: uid("c-ttl"),
        key: "ttl-key".into(),
        fingerprint: "f".into(),
        session_id: session.id,
        created_at: now,
    };
    let quota = Policy::default().booking_quota(&uid("c-ttl"), now);
    let change = Change::new(None, session, event).counted_against(quota.clone());
    kikao_core::ports::SessionWriter::write(s.as_ref(), &change, Some(&record))
        .await
        .unwrap();
    assert_eq!(
        ttl_of("IDEM#c-ttl#ttl-key".into()).await,
        vec![Some(now.timestamp() + IDEMPOTENCY_HOURS * 3600)]
    );
    assert_eq!(
        ttl_of("QUOTA#c-ttl".into()).await,
        vec![Some(quota.window_end.timestamp() + 3600)]
    );

    // a message sent: its marker and the person's record of it
    let sent = SentMessage {
        recipient: uid("c-ttl"),
        session_id: None,
        purpose: "approve".into(),
        channel: "sms".into(),
        at: now,
        key: "ttl-event:client:sms".into(),
    };
    assert_eq!(
        DeliveryLog::claim(s.as_ref(), &sent.key, now)
            .await
            .unwrap(),
        Claim::Fresh
    );
    DeliveryLog::settle(s.as_ref(), &sent.key, Some(&sent))
        .await
        .unwrap();
    let delivery = now.timestamp() + DELIVERY_DAYS * day;
    assert_eq!(
        ttl_of(format!("DELIVERY#{}", sent.key)).await,
        vec![Some(delivery)]
    );
    assert_eq!(ttl_of("SENT#c-ttl".into()).await, vec![Some(delivery)]);

    // an account alert, in the profile's partition beside the profile (which never expires)
    let before = Profile::from_claims(uid("p-ttl"), Role::Psychologist, "Dr T", None, None, now);
    s.put_profile(&before).await.unwrap();
    let mut after = before.clone();
    after.psychologist.as_mut().unwrap().mpesa_number = PhoneNumber::parse("0711222999");
    let alert = AccountAlert::new(
        &before,
        AlertKind::MpesaNumberChanged {
            from: None,
            to: PhoneNumber::parse("0711222999"),
        },
        now,
    );
    let audit = AuditEntry::new(
        AuditAction::MpesaNumberChanged,
        &uid("p-ttl"),
        &uid("p-ttl"),
        None,
        now,
    );
    s.put_profile_with_alert(&after, &alert, &audit)
        .await
        .unwrap();
    let mut user = ttl_of("USER#p-ttl".into()).await;
    user.sort();
    assert_eq!(
        user,
        vec![None, None, Some(delivery)],
        "the tallies and the profile, which never expire, and the alert"
    );

    // an M-Pesa payment record, unmatched (the entry and its list marker)
    use kikao_core::ports::{LedgerEntry, PaymentLedger, Settlement, Unmatched};
    let entry = LedgerEntry {
        payment: received("RKT83MWTTL", None, now),
        received_at: now,
        settlement: Settlement::Received,
    };
    PaymentLedger::record(s.as_ref(), &entry).await.unwrap();
    let why = Settlement::Unmatched(Unmatched::NoReference);
    PaymentLedger::settle(
        s.as_ref(),
        &paybill().shortcode,
        &entry.payment.receipt,
        &why,
    )
    .await
    .unwrap();
    assert_eq!(
        ttl_of("MPESA#600000".into()).await,
        vec![Some(now.timestamp() + BOOKING_DAYS * day); 2]
    );
}

fn paybill() -> BusinessAccount {
    BusinessAccount {
        kind: BusinessKind::Paybill,
        shortcode: ShortCode::parse("600000").unwrap(),
    }
}

fn received(receipt: &str, account: Option<String>, at: DateTime<Utc>) -> ReceivedPayment {
    ReceivedPayment {
        receipt: TransactionCode::parse(receipt).unwrap(),
        amount: Kes::new(2000).unwrap(),
        paid_at: at,
        shortcode: paybill().shortcode,
        account,
        payer: Some("CLIENT".into()),
    }
}

/// The ledger on its own: a retried report finds the first, an unmatched payment is listed in
/// its account's list (oldest first) until it is settled otherwise, and another account's list
/// never shows it.
async fn an_mpesa_payment_is_kept_once_and_listed_while_unmatched(st: Stores) {
    use kikao_core::ports::{LedgerEntry, Settlement, Unmatched};
    let now = t0();
    let entry = |receipt: &str, at| LedgerEntry {
        payment: received(receipt, Some("KK123456".into()), at),
        received_at: at,
        settlement: Settlement::Received,
    };
    let first = entry("RKT83MWP6C", now);
    assert_eq!(st.ledger.record(&first).await.unwrap(), first);
    // a retry an hour later is the first report, as kept
    let retry = entry("RKT83MWP6C", now + Duration::hours(1));
    assert_eq!(st.ledger.record(&retry).await.unwrap(), first);
    let code = paybill().shortcode;
    let receipt = first.payment.receipt.clone();
    assert_eq!(st.ledger.unmatched(&code).await.unwrap(), vec![]);
    let later = entry("RKT83MWP7D", now + Duration::minutes(5));
    st.ledger.record(&later).await.unwrap();
    let why = Settlement::Unmatched(Unmatched::UnknownReference);
    st.ledger
        .settle(&code, &later.payment.receipt, &why)
        .await
        .unwrap();
    st.ledger.settle(&code, &receipt, &why).await.unwrap();
    let listed: Vec<_> = st
        .ledger
        .unmatched(&code)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.payment.receipt.to_string(), e.settlement))
        .collect();
    assert_eq!(
        listed,
        [
            ("RKT83MWP6C".to_owned(), why.clone()),
            ("RKT83MWP7D".to_owned(), why.clone())
        ]
    );
    let other = ShortCode::parse("600001").unwrap();
    assert_eq!(st.ledger.unmatched(&other).await.unwrap(), vec![]);
    // settled as paid: gone from the list, kept with its booking
    let paid = Settlement::Paid {
        session: SessionId::new(),
    };
    st.ledger.settle(&code, &receipt, &paid).await.unwrap();
    assert_eq!(st.ledger.unmatched(&code).await.unwrap().len(), 1);
    assert_eq!(
        st.ledger
            .payment(&code, &receipt)
            .await
            .unwrap()
            .unwrap()
            .settlement,
        paid
    );
    assert_eq!(
        st.ledger.record(&retry).await.unwrap().settlement,
        paid,
        "a report after the settlement finds it settled"
    );
    // an erasure drops the payer's name, in the entry and in the unmatched list alike
    for r in [&receipt, &later.payment.receipt] {
        st.ledger.forget_payer(&code, r).await.unwrap();
        let e = st.ledger.payment(&code, r).await.unwrap().unwrap();
        assert_eq!((e.payment.payer, e.payment.amount.amount()), (None, 2000));
    }
    assert_eq!(
        st.ledger.unmatched(&code).await.unwrap()[0].payment.payer,
        None
    );
}

/// M-Pesa's report of a booking's payment and the client's cancel of that booking, at the same
/// time, ten times over at different offsets: each booking ends confirmed by the payment or cancelled with the payment
/// in the Unmatched list as the client's money to give back; never both, never neither, and no
/// payment is left half-settled.
async fn an_mpesa_confirmation_racing_a_cancel_one_wins_and_nothing_is_lost(st: Stores) {
    use kikao_core::ports::{Settlement, Unmatched};
    let now = t0();
    let psy = Profile::from_claims(uid("p1"), Role::Psychologist, "Dr One", None, None, now)
        .apply(
            ProfileUpdate {
                payment_method: Some("paybill".into()),
                business_number: Some("600000".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    st.profiles.put_profile(&psy).await.unwrap();
    let app = st.bookings(now);
    let token = CallbackToken::for_shortcode(CALLBACK_KEY.as_bytes(), &paybill().shortcode);
    let (mut confirmed, mut cancelled) = (0, 0);
    for i in 0..10 {
        let s = create(
            &st,
            &format!("c{i}"),
            "p1",
            now + Duration::days(2 + i),
            now,
        )
        .await;
        let approve = Command::Approve {
            mpesa_number: None,
            business: Some(paybill()),
        };
        let s = apply(&st, &s, approve, now).await.unwrap();
        let receipt = format!("RKT83MW{i:03}");
        let payment = received(&receipt, Some(s.reference().to_string()), now);
        let cancel = Command::Cancel { reason: None };
        // the cancel set off later each round, so the two meet at different points: before
        // the report reads the bookings, between its read and its write, after its write
        let head_start = std::time::Duration::from_millis((1u64 << i) / 2);
        let (reported, cancel) =
            tokio::join!(app.receive_mpesa_payment(&token, payment.clone()), async {
                tokio::time::sleep(head_start).await;
                apply(&st, &s, cancel, now).await
            });
        let reported = reported.unwrap();
        let after = st.sessions.get(s.id).await.unwrap().unwrap();
        let kept = st
            .ledger
            .payment(&payment.shortcode, &payment.receipt)
            .await
            .unwrap()
            .unwrap();
        match after.status {
            Status::Confirmed => {
                confirmed += 1;
                assert!(cancel.is_err(), "the cancel lost");
                assert_eq!(after.payment.unwrap().transaction_code, payment.receipt);
                assert_eq!(reported, kikao_core::bookings::Received::Confirmed(s.id));
                assert_eq!(kept.settlement, Settlement::Paid { session: s.id });
            }
            Status::Cancelled => {
                cancelled += 1;
                assert!(cancel.is_ok());
                let why = Unmatched::NoLongerPayable { session: s.id };
                assert_eq!(
                    reported,
                    kikao_core::bookings::Received::Unmatched(why.clone())
                );
                assert_eq!(kept.settlement, Settlement::Unmatched(why));
            }
            other => panic!("{other:?}: neither won"),
        }
    }
    assert_eq!(confirmed + cancelled, 10);
    eprintln!("{confirmed} confirmed by M-Pesa, {cancelled} cancelled first");
    let listed = st.ledger.unmatched(&paybill().shortcode).await.unwrap();
    assert_eq!(
        listed.len(),
        cancelled,
        "every payment for a cancelled booking is listed"
    );
}

/// The sessions of a store, with one booking changed (approved by its psychologist) just before
/// the second page of a list is read: what a psychologist acting while an export or erasure
/// pages through a client's bookings does.
struct MovesOneMidway {
    inner: Arc<dyn SessionStore>,
    target: Session,
    at: DateTime<Utc>,
    moved: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl kikao_core::ports::SessionReader for MovesOneMidway {
    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.get(id).await
    }
    async fn history(&self, id: SessionId) -> Result<Vec<Event>, StoreError> {
        self.inner.history(id).await
    }
    async fn list(
        &self,
        user: &UserId,
        role: Role,
        status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<kikao_core::ports::Page<Session>, StoreError> {
        use std::sync::atomic::Ordering;
        if cursor.is_some() && !self.moved.swap(true, Ordering::SeqCst) {
            let (next, event) = decide(
                &self.target,
                Some((&self.target.psychologist.id, Role::Psychologist)),
                approve(),
                self.at,
                &Policy::default(),
            )
            .unwrap();
            let change = Change::new(Some(&self.target), next, event);
            self.inner.write(&change, None).await?;
        }
        self.inner.list(user, role, status, limit, cursor).await
    }
    async fn list_view(
        &self,
        user: &UserId,
        role: Role,
        view: View,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<kikao_core::ports::Page<Session>, StoreError> {
        self.inner.list_view(user, role, view, limit, cursor).await
    }
    async fn changed_since(
        &self,
        user: &UserId,
        role: Role,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        self.inner.changed_since(user, role, since, limit).await
    }
    async fn summary(&self, user: &UserId) -> Result<UserSummary, StoreError> {
        self.inner.summary(user).await
    }
    async fn holds(
        &self,
        psychologist: &UserId,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, SessionId)>, StoreError> {
        self.inner.holds(psychologist, first, last).await
    }
    async fn idempotent_booking(
        &self,
        user: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.idempotent_booking(user, key).await
    }
    async fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        self.inner.due_for_expiry(now, limit).await
    }
    async fn reminder_candidates(&self, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        self.inner.reminder_candidates(now).await
    }
}

#[async_trait::async_trait]
impl kikao_core::ports::SessionWriter for MovesOneMidway {
    async fn write(
        &self,
        change: &Change,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        self.inner.write(change, idempotency).await
    }
    async fn anonymise(&self, session: &Session, events: &[Event]) -> Result<(), StoreError> {
        self.inner.anonymise(session, events).await
    }
}

/// An export reads a client's bookings page by page, most recent activity first; the oldest,
/// alone on the second page, is approved just before that page is read and jumps to the front,
/// past the reader. The export still holds all 101, each once.
async fn reading_every_booking_misses_none_that_moves_meanwhile(st: Stores) {
    let now = t0();
    let mut made = Vec::new();
    for i in 0..101 {
        let at = now + Duration::seconds(i);
        let starts = now + Duration::days(2) + Duration::hours(i);
        made.push(create(&st, "c-many", "p1", starts, at).await);
    }
    let moving = Arc::new(MovesOneMidway {
        inner: st.sessions.clone(),
        target: made[0].clone(),
        at: now + Duration::minutes(5),
        moved: Default::default(),
    });
    let mut app = st.bookings(now + Duration::minutes(5));
    app.sessions = moving.clone();
    let caller = kikao_core::bookings::Caller {
        id: uid("c-many"),
        role: Role::Client,
        name: "Client c-many".into(),
        email: None,
        phone: None,
        phone_verified: false,
        admin: false,
        mfa: false,
        auth_time: None,
    };
    let data = app.export(&caller).await.unwrap();
    assert!(
        moving.moved.load(std::sync::atomic::Ordering::SeqCst),
        "the move happened"
    );
    let mut ids: Vec<SessionId> = data.bookings.iter().map(|(s, _)| s.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((data.bookings.len(), ids.len()), (101, 101));
    let moved = data
        .bookings
        .iter()
        .find(|(s, _)| s.id == made[0].id)
        .unwrap();
    assert_eq!(moved.0.status, Status::Approved, "as it is now");
}

/// A payment request is written over by what Kikao learnt by asking Safaricom only while it is
/// pending: once the callback settled it (paid or failed), a reading taken before stays unwritten.
async fn what_kikao_asked_never_overwrites_what_the_callback_settled(st: Stores) {
    use kikao_core::domain::{Checkout, CheckoutState, TransactionCode};
    let pending = Checkout {
        id: "ws_CO_07012030090000123456".into(),
        session: SessionId::new(),
        shortcode: paybill().shortcode,
        amount: Kes::new(2000).unwrap(),
        started_at: t0(),
        state: CheckoutState::Pending,
        queried_at: None,
        said_paid: false,
    };
    st.checkouts.put_checkout(&pending).await.unwrap();
    let asked = Checkout {
        queried_at: Some(t0() + Duration::seconds(30)),
        ..pending.clone()
    };
    assert!(st.checkouts.update_pending_checkout(&asked).await.unwrap());
    assert_eq!(
        st.checkouts.checkout(&pending.id).await.unwrap(),
        Some(asked.clone())
    );
    // the callback says paid; a query read before it says the PIN is still awaited
    let paid = Checkout {
        state: CheckoutState::Paid {
            receipt: TransactionCode::parse("TK4ABCDE12").unwrap(),
        },
        ..asked.clone()
    };
    st.checkouts.put_checkout(&paid).await.unwrap();
    let stale = Checkout {
        queried_at: Some(t0() + Duration::seconds(45)),
        ..asked.clone()
    };
    assert!(!st.checkouts.update_pending_checkout(&stale).await.unwrap());
    let failed = Checkout {
        state: CheckoutState::Failed { code: 1037 },
        ..stale
    };
    assert!(!st.checkouts.update_pending_checkout(&failed).await.unwrap());
    assert_eq!(
        st.checkouts.checkout(&pending.id).await.unwrap(),
        Some(paid)
    );
    // a request never kept is not made by a reading of it
    let unknown = Checkout {
        id: "ws_CO_07012030090000999999".into(),
        ..pending
    };
    assert!(!st
        .checkouts
        .update_pending_checkout(&unknown)
        .await
        .unwrap());
    assert_eq!(st.checkouts.checkout(&unknown.id).await.unwrap(), None);
}
