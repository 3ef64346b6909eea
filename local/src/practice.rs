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
use kikao_core::domain::{
    PaymentClaim, Profile, Reason, Role, Session, TransactionCode, Unavailable,
};
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
    let mut practice = Practice {
        demo,
        draw: Draw(0x6b69_6b61_6f21),
        codes: 0,
        now,
    };
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
                let draw = &mut practice.draw;
                let slot = (draw.below(6) as i64, HOURS[draw.below(5) as usize]);
                if !taken.insert(slot) {
                    continue;
                }
                let starts = nairobi(now, monday + week * 7 + slot.0, slot.1, 0);
                // the small demo's bookings fill the hours around now
                if (starts - now).abs() < Duration::hours(3) {
                    continue;
                }
                let request = Request {
                    client: clients[draw.below(clients.len() as u64) as usize],
                    psy,
                    kind: draw.below(100),
                    type_index: draw.below(types) as usize,
                    starts,
                };
                let made = if starts < now {
                    practice.past(&request).await
                } else {
                    practice.ahead(&request).await
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
    let demo = practice.demo;
    // what was approved and never paid runs out, as the expiry job would have done
    demo.clock.set(now);
    while demo.bookings.expire_due(100).await?.expired > 0 {}
    for p in &psychologists {
        let real = hours(p.user_id.as_str()).expect("a demo psychologist");
        app.profiles.put_profile(&with_hours(p, real, now)).await?;
    }
    Ok(demo.booked())
}

/// One booking to make: who asks whom, for which type and time, and what becomes of it (`kind`,
/// 0 to 99, read by `Practice::past` and `Practice::ahead`).
struct Request<'a> {
    client: &'a Profile,
    psy: &'a Profile,
    type_index: usize,
    starts: DateTime<Utc>,
    kind: u64,
}

/// The use cases on the demo's clock, the draws, and the transaction codes handed out so far.
struct Practice {
    demo: Demo,
    draw: Draw,
    codes: u32,
    now: DateTime<Utc>,
}

fn reason(r: &str) -> Option<Reason> {
    Some(Reason::parse(r).expect("demo reason"))
}

impl Practice {
    /// A payment of `s` with a new transaction code.
    fn paid(&mut self, s: &Session) -> PaymentClaim {
        self.codes += 1;
        let code = TransactionCode::parse(&format!("TP{:08}", self.codes)).expect("a valid code");
        claim(code, Some(s.price_kes))
    }

    /// A session that has happened (or was meant to): mostly completed; some cancelled,
    /// declined, or approved and never paid.
    async fn past(&mut self, r: &Request<'_>) -> Result<(), BookingError> {
        let (h, kind) = (Duration::hours, r.kind);
        let booked = r.starts - Duration::days(2 + self.draw.below(10) as i64);
        let demo = &self.demo;
        let s = demo
            .book(r.client, r.psy, r.type_index, r.starts, booked, None)
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
        let paid = self.paid(&s);
        let demo = &self.demo;
        let times = [booked + h(5), booked + h(8), booked + h(10)];
        let s = demo.confirm(&s, paid, times).await?;
        if kind >= 93 {
            let cancel = Intent::Cancel {
                reason: reason("I am unwell that day; the session fee will be refunded."),
            };
            demo.step(&s, &p, cancel, booked + h(30)).await?;
            return Ok(());
        }
        let s = demo.step(&s, &p, Intent::Start, r.starts).await?;
        let ends = r.starts + (s.ends_at - s.starts_at);
        demo.step(&s, &p, Intent::Complete, ends).await?;
        Ok(())
    }

    /// A session still to come: mostly confirmed; the rest waiting on someone, declined or
    /// cancelled.
    async fn ahead(&mut self, r: &Request<'_>) -> Result<(), BookingError> {
        let (h, kind, now) = (Duration::hours, r.kind, self.now);
        let booked = now - h(24 + self.draw.below(96) as i64);
        let note = kind
            .is_multiple_of(3)
            .then_some("I would like to talk about stress at work.");
        let s = self
            .demo
            .book(r.client, r.psy, r.type_index, r.starts, booked, note)
            .await?;
        let (p, c) = parties(&s);
        match kind {
            // waiting for the psychologist's answer
            50..65 => {}
            83..90 => {
                let no = Intent::Decline {
                    reason: reason("I am away that week; please book another time."),
                };
                self.demo.step(&s, &p, no, booked + h(4)).await?;
            }
            // approved within the payment window, so it has not run out
            65..75 => {
                let at = now - h(1 + self.draw.below(4) as i64);
                self.demo.step(&s, &p, Intent::Approve, at).await?;
            }
            // paid, waiting for the psychologist to verify
            75..83 => {
                let approved = self
                    .demo
                    .step(&s, &p, Intent::Approve, booked + h(6))
                    .await?;
                let pay = Intent::SubmitPayment(self.paid(&s));
                self.demo.step(&approved, &c, pay, booked + h(9)).await?;
            }
            _ => {
                let paid = self.paid(&s);
                let times = [booked + h(6), booked + h(9), booked + h(11)];
                let s = self.demo.confirm(&s, paid, times).await?;
                let cancel = |r| Intent::Cancel { reason: reason(r) };
                if kind >= 96 {
                    let why = cancel("Travelling for a family matter.");
                    self.demo.step(&s, &c, why, booked + h(20)).await?;
                } else if kind >= 90 {
                    let why =
                        cancel("I have a conference that day; your payment will be refunded.");
                    self.demo.step(&s, &p, why, booked + h(21)).await?;
                }
            }
        }
        Ok(())
    }
}
