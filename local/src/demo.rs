//! Demo people and bookings, so that a fresh `cargo run -p local` shows every status on both
//! dashboards. Names, numbers and addresses are made up (`example.test` is a reserved domain).
//! Bookings are made through the same use cases as real ones (`Bookings`), back-dated on a
//! clock of their own, so their history and tallies are what the app itself would have recorded.
//!
//! The psychologists' hours are set after their bookings, as for a practice that moves to Kikao
//! with sessions already agreed: so every status shows whatever the day and hour the demo
//! starts (a session in progress needs one that began just now, even at 03:00 on a Sunday).

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Africa::Nairobi;
use kikao_core::bookings::{
    BookInput, BookingError, Bookings, Caller, Intent, PRACTICE_ADMINS_GROUP,
};
use kikao_core::clock::ManualClock;
use kikao_core::domain::{
    AvailabilityDraft, Consent, Note, PaymentClaim, Profile, ProfileUpdate, Reason, Role, Session,
    SessionTypeDraft, TransactionCode, UserId, PRIVACY_NOTICE,
};
use kikao_core::ports::{ProfileStore, StoreError};
use kikao_embedded::dev_accounts::{DevAccount, Mfa};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct DemoUser {
    pub id: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub phone: &'static str,
    pub email: &'static str,
}

pub const USERS: &[DemoUser] = &[
    DemoUser {
        id: "psy-amani",
        name: "Dr. Amani Njeri",
        role: Role::Psychologist,
        phone: "+254700000101",
        email: "amani@example.test",
    },
    DemoUser {
        id: "psy-baraka",
        name: "Dr. Baraka Otieno",
        role: Role::Psychologist,
        phone: "+254700000102",
        email: "baraka@example.test",
    },
    DemoUser {
        id: "client-wanjiru",
        name: "Wanjiru Kamau",
        role: Role::Client,
        phone: "+254700000201",
        email: "wanjiru@example.test",
    },
    DemoUser {
        id: "client-kevin",
        name: "Kevin Mwangi",
        role: Role::Client,
        phone: "+254700000202",
        email: "kevin@example.test",
    },
    DemoUser {
        id: "client-fatuma",
        name: "Fatuma Hassan",
        role: Role::Client,
        phone: "+254700000203",
        email: "fatuma@example.test",
    },
];

/// A third psychologist and 37 more clients, for `--demo practice` (see `practice.rs`): with the
/// five above, 3 psychologists and 40 clients. Made up, like everyone here.
pub fn practice_people() -> &'static [DemoUser] {
    static PEOPLE: std::sync::OnceLock<Vec<DemoUser>> = std::sync::OnceLock::new();
    PEOPLE.get_or_init(|| {
        const FIRST: &[&str] = &[
            "Achieng",
            "Brian",
            "Cynthia",
            "Dennis",
            "Esther",
            "Felix",
            "Grace",
            "Hassan",
            "Irene",
            "James",
            "Joy",
            "Kipchumba",
            "Lilian",
            "Moses",
            "Njoki",
            "Otieno",
            "Purity",
            "Rashid",
            "Sharon",
            "Tom",
            "Umi",
            "Victor",
            "Winnie",
            "Yusuf",
            "Zawadi",
            "Amina",
            "Baraza",
            "Caro",
            "Daudi",
            "Eunice",
            "Faith",
            "Gideon",
            "Halima",
            "Ian",
            "Jane",
            "Kamau",
            "Lydia",
        ];
        const LAST: &[&str] = &[
            "Odhiambo",
            "Wanjala",
            "Muthoni",
            "Kiprotich",
            "Akinyi",
            "Mutua",
            "Chege",
            "Ali",
            "Nyambura",
            "Omondi",
            "Wekesa",
            "Cherono",
            "Njoroge",
            "Abdi",
            "Karanja",
            "Atieno",
        ];
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut out = vec![DemoUser {
            id: "psy-chebet",
            name: "Dr. Chebet Kiprono",
            role: Role::Psychologist,
            phone: "+254700000103",
            email: "chebet@example.test",
        }];
        for (i, first) in FIRST.iter().enumerate() {
            let n = i + 1;
            out.push(DemoUser {
                id: leak(format!("client-p{n:02}")),
                name: leak(format!("{first} {}", LAST[(i * 7) % LAST.len()])),
                role: Role::Client,
                phone: leak(format!("+2547000004{n:02}")),
                email: leak(format!("client-p{n:02}@example.test")),
            });
        }
        out
    })
}

pub fn user(id: &str) -> Option<&'static DemoUser> {
    USERS.iter().chain(practice_people()).find(|u| u.id == id)
}

/// The demo people: the five of the small demo, and with `practice` the rest of the practice.
pub fn people(practice: bool) -> impl Iterator<Item = &'static DemoUser> {
    let more: &'static [DemoUser] = if practice { practice_people() } else { &[] };
    USERS.iter().chain(more)
}

/// The practice administrator: invites and deactivates psychologists, books nothing.
pub const ADMIN: (&str, &str, &str, &str) = (
    "admin-nia",
    "Nia Wambui",
    "nia@example.test",
    "+254700000301",
);

/// Everyone the dev sign-in offers at first: the demo people, and the administrator. The
/// psychologists' and the administrator's second factor counts as set up (`Mfa::Vouched`), so
/// the demo needs no authenticator app, and their made-up phone numbers as confirmed; someone
/// invited starts with neither.
pub fn directory(now: DateTime<Utc>, practice: bool) -> Vec<DevAccount> {
    let mut out: Vec<DevAccount> = people(practice)
        .map(|u| DevAccount {
            username: u.id.to_owned(),
            user_id: u.user_id(),
            name: u.name.to_owned(),
            email: u.email.to_owned(),
            phone: u.phone.to_owned(),
            groups: vec![u.group().to_owned()],
            enabled: true,
            mfa: if u.role == Role::Psychologist {
                Mfa::Vouched
            } else {
                Mfa::None
            },
            phone_verified: true,
            created_at: now,
        })
        .collect();
    let (id, name, email, phone) = ADMIN;
    out.push(DevAccount {
        username: id.to_owned(),
        user_id: UserId::parse(id).expect("a valid id"),
        name: name.to_owned(),
        email: email.to_owned(),
        phone: phone.to_owned(),
        groups: vec![PRACTICE_ADMINS_GROUP.to_owned()],
        enabled: true,
        mfa: Mfa::Vouched,
        phone_verified: true,
        created_at: now,
    });
    out
}

impl DemoUser {
    pub fn group(&self) -> &'static str {
        match self.role {
            Role::Client => "clients",
            Role::Psychologist => "psychologists",
        }
    }
    pub fn user_id(&self) -> UserId {
        UserId::parse(self.id).expect("demo ids are valid")
    }
}

/// Working hours with 15 minutes between sessions and the default notice and horizon.
fn week(ranges: &[(&[&str], &str, &str)]) -> AvailabilityDraft {
    AvailabilityDraft::week(
        ranges,
        15,
        kikao_core::domain::DEFAULT_NOTICE_MINUTES,
        kikao_core::domain::DEFAULT_HORIZON_DAYS,
    )
}

/// The demo psychologists' working weeks, in Nairobi.
pub(crate) fn hours(id: &str) -> Option<AvailabilityDraft> {
    const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];
    match id {
        "psy-amani" => Some(week(&[
            (WEEKDAYS, "08:00", "17:00"),
            (&["sat"], "09:00", "13:00"),
        ])),
        "psy-baraka" => Some(week(&[(&["mon", "tue", "wed", "thu"], "10:00", "19:00")])),
        "psy-chebet" => Some(week(&[
            (&["tue", "wed", "thu", "fri"], "09:00", "18:00"),
            (&["sat"], "09:00", "12:00"),
        ])),
        _ => None,
    }
}

/// Every day, all day, no notice: what the demo books under before the real hours are set.
pub(crate) fn open_hours() -> AvailabilityDraft {
    const ALL: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    AvailabilityDraft::week(
        &[(ALL, "00:00", "23:45")],
        0,
        0,
        kikao_core::domain::MAX_HORIZON_DAYS,
    )
}

fn details(u: &DemoUser) -> ProfileUpdate {
    let t = |name: &str, minutes: u32, price: u32| SessionTypeDraft {
        id: None,
        name: name.to_owned(),
        duration_minutes: minutes,
        price_kes: price,
    };
    match u.id {
        "psy-amani" => ProfileUpdate {
            title: Some("Clinical Psychologist".into()),
            mpesa_number: Some("0700 000 111".into()),
            session_types: Some(vec![
                t("Individual Therapy", 60, 2000),
                t("Couples Therapy", 90, 3500),
                t("Initial Consultation", 30, 1000),
            ]),
            availability: hours(u.id),
            ..Default::default()
        },
        "psy-baraka" => ProfileUpdate {
            title: Some("Counselling Psychologist".into()),
            mpesa_number: Some("0700 000 112".into()),
            session_types: Some(vec![
                t("Individual Therapy", 60, 2500),
                t("Family Session", 90, 4000),
            ]),
            availability: hours(u.id),
            ..Default::default()
        },
        "psy-chebet" => ProfileUpdate {
            title: Some("Counselling Psychologist".into()),
            mpesa_number: Some("0700 000 113".into()),
            session_types: Some(vec![
                t("Individual Therapy", 60, 2200),
                t("Adolescent Session", 60, 2200),
            ]),
            availability: hours(u.id),
            ..Default::default()
        },
        _ => ProfileUpdate::default(),
    }
}

/// Creates the demo profiles (idempotent). Returns them by id.
pub async fn seed_users(
    store: &dyn ProfileStore,
    now: DateTime<Utc>,
    practice: bool,
) -> Result<Vec<Profile>, StoreError> {
    let mut out = Vec::new();
    for u in people(practice) {
        let fresh = Profile::from_claims(
            u.user_id(),
            u.role,
            u.name,
            Some(u.email),
            Some(u.phone),
            now,
        );
        let p = match store.get_profile(&fresh.user_id).await? {
            Some(p) => p,
            None => {
                let mut p = fresh
                    .apply(details(u), now)
                    .expect("demo profiles are valid");
                // the demo's made-up numbers count as confirmed, so its SMS show in the log
                p.phone_verified = true;
                // they have read the privacy notice, so the demo books out of the box; a person
                // made with `POST /dev/users` is asked, as a real one is at first sign-in
                p.consents.push(Consent {
                    version: PRIVACY_NOTICE.version.to_owned(),
                    at: now,
                });
                store.put_profile(&p).await?;
                p
            }
        };
        out.push(p);
    }
    Ok(out)
}

/// `days` from today at `hour`:`minute` in Nairobi.
pub(crate) fn nairobi(now: DateTime<Utc>, days: i64, hour: u32, minute: u32) -> DateTime<Utc> {
    let d = now.with_timezone(&Nairobi).date_naive() + Duration::days(days);
    let local = d.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time"));
    Nairobi
        .from_local_datetime(&local)
        .single()
        .expect("Nairobi has no DST")
        .with_timezone(&Utc)
}

/// The use cases, on a clock the demo sets to each back-dated moment.
pub(crate) struct Demo {
    pub(crate) bookings: Bookings,
    pub(crate) clock: Arc<ManualClock>,
    booked: AtomicUsize,
}

/// `p` with `hours` as its availability.
pub(crate) fn with_hours(p: &Profile, hours: AvailabilityDraft, now: DateTime<Utc>) -> Profile {
    let update = ProfileUpdate {
        availability: Some(hours),
        ..Default::default()
    };
    p.apply(update, now).expect("demo hours are valid")
}

impl Demo {
    /// The use cases of `app` on a clock of the demo's own, at `now`.
    pub(crate) fn new(app: &Bookings, now: DateTime<Utc>) -> Self {
        let clock = Arc::new(ManualClock::new(now));
        Demo {
            bookings: Bookings {
                clock: clock.clone(),
                ..app.clone()
            },
            clock,
            booked: AtomicUsize::new(0),
        }
    }

    /// How many bookings it has made.
    pub(crate) fn booked(&self) -> usize {
        self.booked.load(Ordering::Relaxed)
    }

    /// `who` does `intent` to `s` at `at`; returns the session after it.
    pub(crate) async fn step(
        &self,
        s: &Session,
        who: &Caller,
        intent: Intent,
        at: DateTime<Utc>,
    ) -> Result<Session, BookingError> {
        self.clock.set(at);
        self.bookings.act(who, s.id, Some(s.version), intent).await
    }

    /// `client` books `type_index` of `psychologist`'s session types at `starts_at`, asking at
    /// `booked_at`.
    pub(crate) async fn book(
        &self,
        client: &Profile,
        psychologist: &Profile,
        type_index: usize,
        starts_at: DateTime<Utc>,
        booked_at: DateTime<Utc>,
        note: Option<&str>,
    ) -> Result<Session, BookingError> {
        self.clock.set(booked_at);
        let t = &psychologist
            .psychologist
            .as_ref()
            .expect("psychologist")
            .session_types[type_index];
        let input = BookInput {
            psychologist_id: psychologist.user_id.to_string(),
            session_type_id: t.id.as_str().to_owned(),
            starts_at,
            note: note.map(|n| Note::parse(n).expect("demo note")),
            idempotency: None,
        };
        let booked = self.bookings.book(&caller(client), input).await?;
        self.booked.fetch_add(1, Ordering::Relaxed);
        Ok(booked.session)
    }

    /// Approves `s`, pays it with `claim` and verifies the payment, at the three given times.
    pub(crate) async fn confirm(
        &self,
        s: &Session,
        claim: PaymentClaim,
        at: [DateTime<Utc>; 3],
    ) -> Result<Session, BookingError> {
        let (psy, client) = parties(s);
        let s = self.step(s, &psy, Intent::Approve, at[0]).await?;
        let s = self
            .step(&s, &client, Intent::SubmitPayment(claim), at[1])
            .await?;
        self.step(&s, &psy, Intent::VerifyPayment, at[2]).await
    }
}

/// A demo person as the identity provider would vouch for them.
fn caller(p: &Profile) -> Caller {
    Caller {
        id: p.user_id.clone(),
        role: p.role,
        name: p.name.clone(),
        email: p.email.clone(),
        phone: p.phone.as_ref().map(|n| n.e164().to_owned()),
        phone_verified: p.phone_verified,
        admin: false,
        mfa: p.role == Role::Psychologist,
        auth_time: None,
    }
}

/// The session's psychologist and client, as callers.
pub(crate) fn parties(s: &Session) -> (Caller, Caller) {
    let who = |id: &UserId, role| {
        let u = user(id.as_str()).expect("demo bookings are between demo users");
        Caller {
            id: id.clone(),
            role,
            name: u.name.to_owned(),
            email: Some(u.email.to_owned()),
            phone: Some(u.phone.to_owned()),
            phone_verified: true,
            admin: false,
            mfa: role == Role::Psychologist,
            auth_time: None,
        }
    };
    (
        who(&s.psychologist.id, Role::Psychologist),
        who(&s.client.id, Role::Client),
    )
}

pub(crate) fn claim(
    code: TransactionCode,
    amount: Option<kikao_core::domain::Kes>,
) -> PaymentClaim {
    PaymentClaim {
        code,
        amount,
        paid_at: None,
        recipient: None,
        recipient_phone: None,
        proof_key: None,
        proof_version: None,
        proof_file: None,
    }
}

/// One booking per status (and a pending reschedule), spread over the two psychologists, made
/// through the same use cases as real ones at back-dated times.
pub async fn seed_bookings(
    app: &Bookings,
    profiles: &[Profile],
    now: DateTime<Utc>,
) -> Result<usize, BookingError> {
    let demo = Demo::new(app, now);
    let find = |id: &str| {
        profiles
            .iter()
            .find(|p| p.user_id.as_str() == id)
            .expect("seeded")
    };
    let reason = |r: &str| Some(Reason::parse(r).expect("demo reason"));
    let code = |n: u32| {
        TransactionCode::parse(&format!("SK{:02}DEMO{:02}", now.ordinal() % 100, n)).expect("code")
    };
    let (amani, baraka) = (find("psy-amani"), find("psy-baraka"));
    for p in [amani, baraka] {
        app.profiles
            .put_profile(&with_hours(p, open_hours(), now))
            .await?;
    }
    let (wanjiru, kevin, fatuma) = (
        find("client-wanjiru"),
        find("client-kevin"),
        find("client-fatuma"),
    );
    let h = Duration::hours;

    // pending approval: Wanjiru asked Dr. Amani two hours ago
    let note = "First session, evenings are hard for me.";
    let at = nairobi(now, 2, 10, 0);
    demo.book(wanjiru, amani, 0, at, now - h(2), Some(note))
        .await?;
    // approved, awaiting payment
    let s = demo
        .book(kevin, amani, 0, nairobi(now, 3, 14, 0), now - h(5), None)
        .await?;
    let (psy, _) = parties(&s);
    demo.step(&s, &psy, Intent::Approve, now - h(1)).await?;
    // payment submitted, awaiting verification (with a pasted SMS)
    let s = demo
        .book(fatuma, amani, 2, nairobi(now, 4, 9, 0), now - h(26), None)
        .await?;
    let (psy, client) = parties(&s);
    let s = demo.step(&s, &psy, Intent::Approve, now - h(20)).await?;
    let paid = PaymentClaim {
        paid_at: Some(now - h(1)),
        recipient: Some("AMANI NJERI".into()),
        ..claim(code(1), Some(s.price_kes))
    };
    let at = now - Duration::minutes(30);
    demo.step(&s, &client, Intent::SubmitPayment(paid), at)
        .await?;
    // confirmed, with a reschedule proposed by the client
    let s = demo
        .book(
            wanjiru,
            baraka,
            0,
            nairobi(now, 5, 11, 0),
            now - h(50),
            None,
        )
        .await?;
    let s = demo
        .confirm(
            &s,
            claim(code(2), None),
            [now - h(49), now - h(48), now - h(47)],
        )
        .await?;
    let (_, client) = parties(&s);
    demo.clock.set(now - h(3));
    let later = nairobi(now, 6, 11, 0);
    demo.bookings
        .propose_reschedule(&client, s.id, Some(s.version), later)
        .await?;
    // confirmed, upcoming
    let note = "Couples session with my partner.";
    let at = nairobi(now, 1, 16, 0);
    let s = demo
        .book(kevin, amani, 1, at, now - h(72), Some(note))
        .await?;
    let paid = claim(code(3), Some(s.price_kes));
    demo.confirm(&s, paid, [now - h(71), now - h(70), now - h(69)])
        .await?;
    // in progress: Dr. Baraka started a session that began on the quarter hour before now (or,
    // late in the evening, the last hour that ends the same day)
    let start = DateTime::from_timestamp(now.timestamp().div_euclid(900) * 900, 0)
        .expect("valid")
        .min(nairobi(now, 0, 22, 45));
    let s = demo
        .book(fatuma, baraka, 0, start, now - h(96), None)
        .await?;
    let s = demo
        .confirm(
            &s,
            claim(code(4), None),
            [now - h(95), now - h(94), now - h(93)],
        )
        .await?;
    let (psy, _) = parties(&s);
    demo.step(&s, &psy, Intent::Start, start.min(now)).await?;
    // completed last week
    let start = nairobi(now, -7, 10, 0);
    let s = demo
        .book(wanjiru, amani, 0, start, start - h(72), None)
        .await?;
    let s = demo
        .confirm(
            &s,
            claim(code(5), None),
            [start - h(70), start - h(60), start - h(59)],
        )
        .await?;
    let (psy, _) = parties(&s);
    let s = demo.step(&s, &psy, Intent::Start, start).await?;
    demo.step(&s, &psy, Intent::Complete, start + h(1)).await?;
    // declined
    let s = demo
        .book(kevin, baraka, 1, nairobi(now, 2, 15, 0), now - h(20), None)
        .await?;
    let no = Intent::Decline {
        reason: reason("Fully booked on this date; please choose another day."),
    };
    let (psy, _) = parties(&s);
    demo.step(&s, &psy, no, now - h(18)).await?;
    // cancelled by the client
    let s = demo
        .book(fatuma, amani, 0, nairobi(now, 8, 10, 0), now - h(30), None)
        .await?;
    let cancel = Intent::Cancel {
        reason: reason("Travelling that week."),
    };
    let (_, client) = parties(&s);
    demo.step(&s, &client, cancel, now - h(28)).await?;
    for p in [amani, baraka] {
        let real = hours(p.user_id.as_str()).expect("a demo psychologist");
        app.profiles.put_profile(&with_hours(p, real, now)).await?;
    }
    Ok(demo.booked())
}
