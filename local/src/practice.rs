//! `cargo run -p local -- --demo practice`: a practice to look at. Three psychologists and forty
//! clients (`demo::practice_people` and the small demo's five) with about 600 sessions over the
//! past six months and the next eight weeks, in every status, made like the small demo's through
//! the use cases at back-dated times. A busy practice's dashboards, for a person to judge and for
//! the browser test to time.
//!
//! The choices are drawn from a fixed seed, so every start of it makes the same practice around
//! its own "now".

use crate::demo::{claim, hours, nairobi, open_hours, parties, with_hours, Demo};
use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Africa::Nairobi;
use kikao_core::bookings::{BookingError, Bookings, Intent};
use kikao_core::domain::{Profile, Reason, Role, TransactionCode, Unavailable};
use kikao_core::ports::StoreError;
use std::collections::HashSet;

/// The psychologists of the practice.
const PSYCHOLOGISTS: [&str; 3] = ["psy-amani", "psy-baraka", "psy-chebet"];
/// Weeks of history, and weeks ahead.
const WEEKS_BACK: i64 = 26;
const WEEKS_AHEAD: i64 = 8;
/// Sessions each psychologist has in a week.
const PER_WEEK: usize = 6;
/// When sessions start (Nairobi), two hours apart so no two of a day overlap.
const HOURS: [u32; 5] = [8, 10, 12, 14, 16];

/// A small deterministic generator (a 64-bit LCG): the same practice on every start.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Seeds the practice's bookings; returns how many were made.
pub async fn seed_practice(
    app: &Bookings,
    profiles: &[Profile],
    now: DateTime<Utc>,
) -> Result<usize, BookingError> {
    let demo = Demo::new(app, now);
    let psychologists: Vec<&Profile> = PSYCHOLOGISTS
        .iter()
        .map(|id| {
            profiles
                .iter()
                .find(|p| p.user_id.as_str() == *id)
                .expect("seeded")
        })
        .collect();
    // booked under open hours, as a practice moving to Kikao with sessions already agreed
    for p in &psychologists {
        app.profiles
            .put_profile(&with_hours(p, open_hours(), now))
            .await?;
    }
    let clients: Vec<&Profile> = profiles.iter().filter(|p| p.role == Role::Client).collect();
    let mut draw = Draw(0x6b69_6b61_6f21);
    let mut codes = 0u32;
    let mut code = || {
        codes += 1;
        TransactionCode::parse(&format!("TP{codes:08}")).expect("a valid code")
    };
    let reason = |r: &str| Some(Reason::parse(r).expect("demo reason"));
    let h = Duration::hours;
    // Monday of this week, as days from today
    let monday = -(now.with_timezone(&Nairobi).weekday().num_days_from_monday() as i64);

    for week in -WEEKS_BACK..WEEKS_AHEAD {
        for psy in &psychologists {
            let types = psy
                .psychologist
                .as_ref()
                .map_or(1, |d| d.session_types.len().min(2)) as u64;
            let mut taken = HashSet::new();
            while taken.len() < PER_WEEK {
                let slot = (draw.below(6) as i64, HOURS[draw.below(5) as usize]);
                if !taken.insert(slot) {
                    continue;
                }
                let starts = nairobi(now, monday + week * 7 + slot.0, slot.1, 0);
                // the small demo's bookings fill the hours around now
                if (starts - now).abs() < h(3) {
                    continue;
                }
                let client = clients[draw.below(clients.len() as u64) as usize];
                let kind = draw.below(100);
                let type_index = draw.below(types) as usize;
                let made = if starts < now {
                    past(
                        &demo, client, psy, type_index, starts, kind, &mut draw, &mut code, &reason,
                    )
                    .await
                } else {
                    ahead(
                        &demo, client, psy, type_index, starts, now, kind, &mut draw, &mut code,
                        &reason,
                    )
                    .await
                };
                match made {
                    Ok(()) => {}
                    // a time the small demo's bookings hold, or a 90-minute session's break
                    // reaching into the next slot: that one is left out
                    Err(BookingError::Store(StoreError::SlotTaken))
                    | Err(BookingError::Unavailable(Unavailable::Taken)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    // what was approved and never paid runs out, as the expiry job would have done
    demo.clock.set(now);
    while demo.bookings.expire_due(100).await?.expired > 0 {}
    for p in &psychologists {
        let real = hours(p.user_id.as_str()).expect("a demo psychologist");
        app.profiles.put_profile(&with_hours(p, real, now)).await?;
    }
    Ok(demo.booked())
}

/// A session that has happened (or was meant to): mostly completed; some cancelled, declined,
/// or approved and never paid.
#[allow(clippy::too_many_arguments)]
async fn past(
    demo: &Demo,
    client: &Profile,
    psy: &Profile,
    type_index: usize,
    starts: DateTime<Utc>,
    kind: u64,
    draw: &mut Draw,
    code: &mut impl FnMut() -> TransactionCode,
    reason: &impl Fn(&str) -> Option<Reason>,
) -> Result<(), BookingError> {
    let h = Duration::hours;
    let booked = starts - Duration::days(2 + draw.below(10) as i64);
    let s = demo
        .book(client, psy, type_index, starts, booked, None)
        .await?;
    let (p, c) = parties(&s);
    if (88..93).contains(&kind) {
        let no = Intent::Decline {
            reason: reason("Fully booked that week; please choose another day."),
        };
        demo.step(&s, &p, no, booked + h(3)).await?;
        return Ok(());
    }
    if kind >= 97 || (80..88).contains(&kind) {
        let approved = demo.step(&s, &p, Intent::Approve, booked + h(5)).await?;
        if kind < 97 {
            let cancel = Intent::Cancel {
                reason: reason("Something came up at work."),
            };
            demo.step(&approved, &c, cancel, booked + h(29)).await?;
        }
        // never paid: the expiry at the end cancels it
        return Ok(());
    }
    let paid = claim(code(), Some(s.price_kes));
    let times = [booked + h(5), booked + h(8), booked + h(10)];
    let s = demo.confirm(&s, paid, times).await?;
    if kind >= 93 {
        let cancel = Intent::Cancel {
            reason: reason("I am unwell that day; the session fee will be refunded."),
        };
        demo.step(&s, &p, cancel, booked + h(30)).await?;
        return Ok(());
    }
    let s = demo.step(&s, &p, Intent::Start, starts).await?;
    let ends = starts + (s.ends_at - s.starts_at);
    demo.step(&s, &p, Intent::Complete, ends).await?;
    Ok(())
}

/// A session still to come: mostly confirmed; the rest waiting on someone, declined or
/// cancelled.
#[allow(clippy::too_many_arguments)]
async fn ahead(
    demo: &Demo,
    client: &Profile,
    psy: &Profile,
    type_index: usize,
    starts: DateTime<Utc>,
    now: DateTime<Utc>,
    kind: u64,
    draw: &mut Draw,
    code: &mut impl FnMut() -> TransactionCode,
    reason: &impl Fn(&str) -> Option<Reason>,
) -> Result<(), BookingError> {
    let h = Duration::hours;
    let booked = now - h(24 + draw.below(96) as i64);
    let note = kind
        .is_multiple_of(3)
        .then_some("I would like to talk about stress at work.");
    let s = demo
        .book(client, psy, type_index, starts, booked, note)
        .await?;
    let (p, c) = parties(&s);
    let mut paid = || claim(code(), Some(s.price_kes));
    match kind {
        // waiting for the psychologist's answer
        50..65 => {}
        83..90 => {
            let no = Intent::Decline {
                reason: reason("I am away that week; please book another time."),
            };
            demo.step(&s, &p, no, booked + h(4)).await?;
        }
        // approved within the payment window, so it has not run out
        65..75 => {
            let at = now - h(1 + draw.below(4) as i64);
            demo.step(&s, &p, Intent::Approve, at).await?;
        }
        // paid, waiting for the psychologist to verify
        75..83 => {
            let s = demo.step(&s, &p, Intent::Approve, booked + h(6)).await?;
            let pay = Intent::SubmitPayment(paid());
            demo.step(&s, &c, pay, booked + h(9)).await?;
        }
        _ => {
            let times = [booked + h(6), booked + h(9), booked + h(11)];
            let s = demo.confirm(&s, paid(), times).await?;
            let cancel = |r| Intent::Cancel { reason: reason(r) };
            if kind >= 96 {
                let why = cancel("Travelling for a family matter.");
                demo.step(&s, &c, why, booked + h(20)).await?;
            } else if kind >= 90 {
                let why = cancel("I have a conference that day; your payment will be refunded.");
                demo.step(&s, &p, why, booked + h(21)).await?;
            }
        }
    }
    Ok(())
}
