//! Demo people and bookings, so that a fresh `cargo run -p local` shows every status on both
//! dashboards. Names, numbers and addresses are made up (`example.test` is a reserved domain).
//! Bookings are made through the same domain rules and store writes as real ones, back-dated,
//! so their history and tallies are what the app itself would have recorded.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Africa::Nairobi;
use shared::domain::{
    book, decide, BookingRequest, Change, Command, Note, Party, PaymentClaim, PhoneNumber, Policy,
    Profile, ProfileUpdate, Reason, Role, Session, SessionTypeDraft, TransactionCode, UserId,
};
use shared::ports::{ProfileStore, SessionWriter, StoreError};

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

pub fn user(id: &str) -> Option<&'static DemoUser> {
    USERS.iter().find(|u| u.id == id)
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
            ..Default::default()
        },
        "psy-baraka" => ProfileUpdate {
            title: Some("Counselling Psychologist".into()),
            mpesa_number: Some("0700 000 112".into()),
            session_types: Some(vec![
                t("Individual Therapy", 60, 2500),
                t("Family Session", 90, 4000),
            ]),
            ..Default::default()
        },
        _ => ProfileUpdate::default(),
    }
}

/// Creates the demo profiles (idempotent). Returns them by id.
pub async fn seed_users(
    store: &dyn ProfileStore,
    now: DateTime<Utc>,
) -> Result<Vec<Profile>, StoreError> {
    let mut out = Vec::new();
    for u in USERS {
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
                let p = fresh
                    .apply(details(u), now)
                    .expect("demo profiles are valid");
                store.put_profile(&p).await?;
                p
            }
        };
        out.push(p);
    }
    Ok(out)
}

/// `days` from today at `hour`:`minute` in Nairobi.
fn nairobi(now: DateTime<Utc>, days: i64, hour: u32, minute: u32) -> DateTime<Utc> {
    let d = now.with_timezone(&Nairobi).date_naive() + Duration::days(days);
    let local = d.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time"));
    Nairobi
        .from_local_datetime(&local)
        .single()
        .expect("Nairobi has no DST")
        .with_timezone(&Utc)
}

/// Writes `cmd` by `who` at `at` and returns the session after it.
async fn step(
    store: &dyn SessionWriter,
    s: &Session,
    who: Option<(&UserId, Role)>,
    cmd: Command,
    at: DateTime<Utc>,
) -> Result<Session, StoreError> {
    let (next, event) = decide(s, who, cmd, at, &Policy::default())
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let change = Change::new(Some(s), next, event);
    store.write(&change, None).await?;
    Ok(change.session)
}

/// The session's psychologist or client, as an actor.
fn as_psychologist(s: &Session) -> (UserId, Role) {
    (s.psychologist.id.clone(), Role::Psychologist)
}

fn as_client(s: &Session) -> (UserId, Role) {
    (s.client.id.clone(), Role::Client)
}

fn claim(code: TransactionCode, amount: Option<shared::domain::Kes>) -> PaymentClaim {
    PaymentClaim {
        code,
        amount,
        paid_at: None,
        recipient: None,
        proof_key: None,
    }
}

/// Approves `s`, pays it with `claim` and verifies the payment, at the three given times.
async fn confirm(
    store: &dyn SessionWriter,
    s: &Session,
    mpesa_number: PhoneNumber,
    claim: PaymentClaim,
    at: [DateTime<Utc>; 3],
) -> Result<Session, StoreError> {
    let s = step(
        store,
        s,
        by(&as_psychologist(s)),
        Command::Approve { mpesa_number },
        at[0],
    )
    .await?;
    let s = step(
        store,
        &s,
        by(&as_client(&s)),
        Command::SubmitPayment(claim),
        at[1],
    )
    .await?;
    let link = Command::VerifyPayment {
        meeting_link: meeting_link(),
    };
    step(store, &s, by(&as_psychologist(&s)), link, at[2]).await
}

/// One booking per status (and a pending reschedule), spread over the two psychologists.
pub async fn seed_bookings(
    store: &dyn SessionWriter,
    profiles: &[Profile],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let find = |id: &str| {
        profiles
            .iter()
            .find(|p| p.user_id.as_str() == id)
            .expect("seeded")
    };
    let party = |p: &Profile| Party {
        id: p.user_id.clone(),
        name: p.name.clone(),
    };
    let mpesa = |p: &Profile| {
        p.psychologist
            .as_ref()
            .and_then(|d| d.mpesa_number.clone())
            .expect("seeded")
    };
    let reason = |r: &str| Reason::parse(r).expect("demo reason");
    let code = |n: u32| {
        TransactionCode::parse(&format!("SK{:02}DEMO{:02}", now.ordinal() % 100, n)).expect("code")
    };
    let (amani, baraka) = (find("psy-amani"), find("psy-baraka"));
    let (wanjiru, kevin, fatuma) = (
        find("client-wanjiru"),
        find("client-kevin"),
        find("client-fatuma"),
    );
    let h = Duration::hours;
    let mut made = 0;
    // books `type_index` of `psychologist` for `client`, at `booked_at`
    let mut create = async |client: &Profile,
                            psychologist: &Profile,
                            type_index: usize,
                            starts_at,
                            booked_at,
                            note: Option<&str>| {
        made += 1;
        let t = psychologist
            .psychologist
            .as_ref()
            .expect("psychologist")
            .session_types[type_index]
            .clone();
        let request = BookingRequest {
            client: party(client),
            psychologist: party(psychologist),
            session_type: t,
            starts_at,
            note: note.map(|n| Note::parse(n).expect("demo note")),
        };
        let (s, e) = book(request, booked_at);
        store
            .write(&Change::new(None, s.clone(), e), None)
            .await
            .map(|_| s)
    };

    // pending approval: Wanjiru asked Dr. Amani two hours ago
    let note = "First session, evenings are hard for me.";
    create(
        wanjiru,
        amani,
        0,
        nairobi(now, 2, 10, 0),
        now - h(2),
        Some(note),
    )
    .await?;
    // approved, awaiting payment
    let s = create(kevin, amani, 0, nairobi(now, 3, 14, 0), now - h(5), None).await?;
    step(
        store,
        &s,
        by(&as_psychologist(&s)),
        Command::Approve {
            mpesa_number: mpesa(amani),
        },
        now - h(1),
    )
    .await?;
    // payment submitted, awaiting verification (with a pasted SMS)
    let s = create(fatuma, amani, 2, nairobi(now, 4, 9, 0), now - h(26), None).await?;
    let s = step(
        store,
        &s,
        by(&as_psychologist(&s)),
        Command::Approve {
            mpesa_number: mpesa(amani),
        },
        now - h(20),
    )
    .await?;
    let paid = PaymentClaim {
        paid_at: Some(now - h(1)),
        recipient: Some("AMANI NJERI".into()),
        ..claim(code(1), Some(s.price_kes))
    };
    step(
        store,
        &s,
        by(&as_client(&s)),
        Command::SubmitPayment(paid),
        now - Duration::minutes(30),
    )
    .await?;
    // confirmed, with a reschedule proposed by the client
    let s = create(
        wanjiru,
        baraka,
        0,
        nairobi(now, 5, 11, 0),
        now - h(50),
        None,
    )
    .await?;
    let s = confirm(
        store,
        &s,
        mpesa(baraka),
        claim(code(2), None),
        [now - h(49), now - h(48), now - h(47)],
    )
    .await?;
    let later = Command::Reschedule {
        starts_at: nairobi(now, 6, 11, 0),
    };
    step(store, &s, by(&as_client(&s)), later, now - h(3)).await?;
    // confirmed, upcoming
    let note = "Couples session with my partner.";
    let s = create(
        kevin,
        amani,
        1,
        nairobi(now, 1, 16, 0),
        now - h(72),
        Some(note),
    )
    .await?;
    confirm(
        store,
        &s,
        mpesa(amani),
        claim(code(3), Some(s.price_kes)),
        [now - h(71), now - h(70), now - h(69)],
    )
    .await?;
    // in progress: Dr. Baraka started a session that began on the quarter hour before now
    let start = DateTime::from_timestamp(now.timestamp().div_euclid(900) * 900, 0).expect("valid");
    let s = create(fatuma, baraka, 0, start, now - h(96), None).await?;
    let s = confirm(
        store,
        &s,
        mpesa(baraka),
        claim(code(4), None),
        [now - h(95), now - h(94), now - h(93)],
    )
    .await?;
    step(
        store,
        &s,
        by(&as_psychologist(&s)),
        Command::Start,
        start.min(now),
    )
    .await?;
    // completed last week
    let start = nairobi(now, -7, 10, 0);
    let s = create(wanjiru, amani, 0, start, start - h(72), None).await?;
    let s = confirm(
        store,
        &s,
        mpesa(amani),
        claim(code(5), None),
        [start - h(70), start - h(60), start - h(59)],
    )
    .await?;
    let s = step(store, &s, by(&as_psychologist(&s)), Command::Start, start).await?;
    step(
        store,
        &s,
        by(&as_psychologist(&s)),
        Command::Complete,
        start + h(1),
    )
    .await?;
    // declined
    let s = create(kevin, baraka, 1, nairobi(now, 2, 15, 0), now - h(20), None).await?;
    let no = Command::Decline {
        reason: reason("Fully booked on this date; please choose another day."),
    };
    step(store, &s, by(&as_psychologist(&s)), no, now - h(18)).await?;
    // cancelled by the client
    let s = create(fatuma, amani, 0, nairobi(now, 8, 10, 0), now - h(30), None).await?;
    let cancel = Command::Cancel {
        reason: Some(reason("Travelling that week.")),
    };
    step(store, &s, by(&as_client(&s)), cancel, now - h(28)).await?;
    Ok(made)
}

fn by(who: &(UserId, Role)) -> Option<(&UserId, Role)> {
    Some((&who.0, who.1))
}

fn meeting_link() -> String {
    format!(
        "https://meet.jit.si/kikao-{}",
        uuid::Uuid::new_v4().simple()
    )
}
