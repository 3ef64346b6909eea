//! People's profiles: created from the token's claims on first sight, then edited by their
//! owner. A psychologist's profile carries what clients book and pay against: session types
//! with prices (the only source of a booking's price) and the M-Pesa number.

use super::availability::{Availability, AvailabilityDraft};
use super::{BusinessAccount, BusinessKind, Kes, PhoneNumber, Role, ShortCode, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const DEFAULT_TIME_ZONE: &str = "Africa/Nairobi";
const MAX_SESSION_TYPES: usize = 20;
const MAX_NAME: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionTypeId(String);

impl SessionTypeId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string()[..12].to_owned())
    }
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SessionTypeId {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionType {
    pub id: SessionTypeId,
    pub name: String,
    pub duration_minutes: u32,
    pub price_kes: Kes,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsychologistDetails {
    pub title: Option<String>,
    pub mpesa_number: Option<PhoneNumber>,
    /// A Till or Paybill clients pay instead of the personal number; M-Pesa then reports each
    /// payment and Kikao confirms the booking itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessAccount>,
    pub session_types: Vec<SessionType>,
    /// Profiles stored before hours existed read as the default week.
    #[serde(default)]
    pub availability: Availability,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationChoices {
    pub sms: bool,
    pub email: bool,
    /// Reminders before sessions and payment deadlines, by the channels above (on for profiles
    /// stored before it was a choice).
    #[serde(default = "yes")]
    pub reminders: bool,
}

fn yes() -> bool {
    true
}

impl Default for NotificationChoices {
    fn default() -> Self {
        Self {
            sms: true,
            email: true,
            reminders: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: UserId,
    pub role: Role,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<PhoneNumber>,
    /// The identity provider has confirmed, with a code sent to it, that `phone` is the
    /// person's: SMS go to no other number (profiles stored before this read as unconfirmed).
    #[serde(default)]
    pub phone_verified: bool,
    pub time_zone: String,
    pub notify: NotificationChoices,
    pub psychologist: Option<PsychologistDetails>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The identity provider's name for the account, where Kikao made it (an invitation):
    /// what its admin calls take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// When a practice administrator ended this psychologist's access: out of the directory,
    /// bookable by nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Each version of the privacy notice the person accepted, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<super::Consent>,
    /// When the person erased their account: the profile is then a closed shell
    /// (`Profile::erased`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

/// A session type as sent in `PUT /api/me`: an existing `id` keeps it, none makes a new one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionTypeDraft {
    pub id: Option<String>,
    pub name: String,
    pub duration_minutes: u32,
    pub price_kes: u32,
}

/// The fields of `PUT /api/me`; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
    pub notify_sms: Option<bool>,
    pub notify_email: Option<bool>,
    pub notify_reminders: Option<bool>,
    pub title: Option<String>,
    pub mpesa_number: Option<String>,
    /// Where clients pay: `personal` (the M-Pesa number), `till` or `paybill`.
    pub payment_method: Option<String>,
    /// The Till or Paybill number, with `payment_method` `till` or `paybill`.
    pub business_number: Option<String>,
    pub session_types: Option<Vec<SessionTypeDraft>>,
    pub availability: Option<AvailabilityDraft>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> ProfileError {
    ProfileError::Invalid {
        field,
        message: message.into(),
    }
}

fn name_field(field: &'static str, s: &str) -> Result<String, ProfileError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_NAME {
        Err(invalid(
            field,
            format!("must be 1 to {MAX_NAME} characters"),
        ))
    } else {
        Ok(t.to_owned())
    }
}

pub fn valid_time_zone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

impl Profile {
    /// A first-time profile from the token's claims. Claims we cannot use (a non-Kenyan phone
    /// number) are left out rather than refused: the person can fix them in their profile.
    pub fn from_claims(
        user_id: UserId,
        role: Role,
        name: &str,
        email: Option<&str>,
        phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        let name = name_field("name", name).unwrap_or_else(|_| "Kikao user".to_owned());
        Self {
            user_id,
            role,
            name,
            email: email.map(str::to_owned),
            phone: phone.and_then(PhoneNumber::parse),
            phone_verified: false,
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            notify: NotificationChoices::default(),
            psychologist: (role == Role::Psychologist).then(PsychologistDetails::default),
            created_at: now,
            updated_at: now,
            account: None,
            deactivated_at: None,
            consents: Vec::new(),
            erased_at: None,
        }
    }

    pub fn active(&self) -> bool {
        self.deactivated_at.is_none()
    }

    /// Takes the identity provider's word that `verified` is the person's phone: the profile's
    /// number becomes verified when it is that one. Never the other way: a number the person
    /// typed later stays unverified until they confirm it, and one they removed stays removed.
    /// Whether anything changed.
    pub fn vouch_phone(&mut self, verified: Option<&PhoneNumber>) -> bool {
        let vouched =
            !self.phone_verified && self.phone.is_some() && self.phone.as_ref() == verified;
        self.phone_verified |= vouched;
        vouched
    }

    /// The number SMS go to: the profile's, once verified.
    pub fn sms_phone(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref().filter(|_| self.phone_verified)
    }

    /// The zone the person's times are shown and judged in. A stored zone is checked when it is
    /// written, so Nairobi stands in only for one that can no longer be read.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Africa::Nairobi)
    }

    pub fn session_type(&self, id: &str) -> Option<&SessionType> {
        self.psychologist
            .as_ref()?
            .session_types
            .iter()
            .find(|t| t.id.as_str() == id)
    }

    /// The profile after `u`, or the first field that is wrong. Fields of the other role are
    /// refused rather than ignored so that a client never thinks they set a price.
    pub fn apply(&self, u: ProfileUpdate, now: DateTime<Utc>) -> Result<Profile, ProfileError> {
        let mut p = self.clone();
        if let Some(n) = &u.name {
            p.name = name_field("name", n)?;
        }
        if let Some(ph) = &u.phone {
            p.phone = if ph.trim().is_empty() {
                None
            } else {
                Some(PhoneNumber::parse(ph).ok_or_else(|| {
                    invalid(
                        "phone",
                        "must be a Kenyan mobile number such as 0712 345 678 or +254712345678",
                    )
                })?)
            };
            // a new number gets no SMS until its owner confirms it
            p.phone_verified &= p.phone == self.phone;
        }
        if let Some(tz) = &u.time_zone {
            if !valid_time_zone(tz) {
                return Err(invalid(
                    "time_zone",
                    "must be an IANA time zone such as Africa/Nairobi",
                ));
            }
            p.time_zone = tz.clone();
        }
        if let Some(v) = u.notify_sms {
            p.notify.sms = v;
        }
        if let Some(v) = u.notify_email {
            p.notify.email = v;
        }
        if let Some(v) = u.notify_reminders {
            p.notify.reminders = v;
        }
        let psych_fields = u.title.is_some()
            || u.mpesa_number.is_some()
            || u.payment_method.is_some()
            || u.business_number.is_some()
            || u.session_types.is_some()
            || u.availability.is_some();
        match p.psychologist.as_mut() {
            None if psych_fields => {
                return Err(invalid(
                    "title",
                    "title, M-Pesa number, session types and working hours are for psychologists only",
                ));
            }
            None => {}
            Some(d) => {
                if let Some(t) = &u.title {
                    d.title = if t.trim().is_empty() {
                        None
                    } else {
                        Some(name_field("title", t)?)
                    };
                }
                if let Some(m) = &u.mpesa_number {
                    d.mpesa_number = Some(PhoneNumber::parse(m).ok_or_else(|| {
                        invalid(
                            "mpesa_number",
                            "must be a Kenyan M-Pesa number such as 0712 345 678",
                        )
                    })?);
                }
                if u.payment_method.is_some() || u.business_number.is_some() {
                    d.business = business_account(
                        d.business.as_ref(),
                        u.payment_method.as_deref(),
                        u.business_number.as_deref(),
                    )?;
                }
                if let Some(types) = u.session_types {
                    d.session_types = session_types(&d.session_types, types)?;
                }
                if let Some(a) = u.availability {
                    d.availability = a.parse()?;
                }
            }
        }
        p.updated_at = now;
        Ok(p)
    }
}

/// The business account after a profile update that names a payment method or number.
fn business_account(
    now: Option<&BusinessAccount>,
    method: Option<&str>,
    number: Option<&str>,
) -> Result<Option<BusinessAccount>, ProfileError> {
    let kind = match method.map(str::trim) {
        Some("personal") => return Ok(None),
        Some("till") => BusinessKind::Till,
        Some("paybill") => BusinessKind::Paybill,
        Some(_) => {
            return Err(invalid(
                "payment_method",
                "must be personal (your M-Pesa number), till or paybill",
            ))
        }
        None => match now {
            Some(b) => b.kind,
            None => {
                return Err(invalid(
                    "payment_method",
                    "must say whether the number is a Till or a Paybill",
                ))
            }
        },
    };
    let shortcode = match number {
        Some(n) => ShortCode::parse(n).ok_or_else(|| {
            invalid(
                "business_number",
                "must be a Till or Paybill number of 5 to 7 digits",
            )
        })?,
        None => now.map(|b| b.shortcode.clone()).ok_or_else(|| {
            invalid(
                "business_number",
                "is needed with a Till or Paybill: the number clients pay to",
            )
        })?,
    };
    Ok(Some(BusinessAccount { kind, shortcode }))
}

fn session_types(
    existing: &[SessionType],
    drafts: Vec<SessionTypeDraft>,
) -> Result<Vec<SessionType>, ProfileError> {
    if drafts.len() > MAX_SESSION_TYPES {
        return Err(invalid(
            "session_types",
            format!("at most {MAX_SESSION_TYPES} session types"),
        ));
    }
    let mut out: Vec<SessionType> = Vec::with_capacity(drafts.len());
    for d in drafts {
        let id = match d.id.as_deref() {
            None => SessionTypeId::new(),
            Some(id) => existing
                .iter()
                .find(|t| t.id.as_str() == id)
                .map(|t| t.id.clone())
                .ok_or_else(|| {
                    invalid(
                        "session_types",
                        format!("there is no session type with id {id:?}; leave id out to add one"),
                    )
                })?,
        };
        if out.iter().any(|t| t.id == id) {
            return Err(invalid(
                "session_types",
                "each session type may appear once",
            ));
        }
        let name = name_field("session_types", &d.name)?;
        let m = d.duration_minutes;
        if m == 0 || m > 240 || i64::from(m) % super::SLOT_MINUTES != 0 {
            return Err(invalid(
                "session_types",
                "durations are 15 to 240 minutes, in steps of 15",
            ));
        }
        let price_kes = Kes::new(d.price_kes).ok_or_else(|| {
            invalid(
                "session_types",
                "prices are whole shillings from 1 to 1,000,000",
            )
        })?;
        out.push(SessionType {
            id,
            name,
            duration_minutes: m,
            price_kes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2030-01-01T00:00:00Z".parse().unwrap()
    }

    fn psychologist() -> Profile {
        Profile::from_claims(
            UserId::parse("p").unwrap(),
            Role::Psychologist,
            "Dr A",
            None,
            Some("+254700000001"),
            now(),
        )
    }

    #[test]
    fn session_type_ids() {
        let id = SessionTypeId::new();
        assert_eq!(SessionTypeId::parse(id.as_str()), Some(id));
        assert!(SessionTypeId::parse("individual-60_min").is_some());
        for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
            assert!(SessionTypeId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn claims_make_a_profile() {
        let p = psychologist();
        assert_eq!(p.phone.unwrap().e164(), "+254700000001");
        assert_eq!(p.time_zone, "Africa/Nairobi");
        let c = Profile::from_claims(
            UserId::parse("c").unwrap(),
            Role::Client,
            "  ",
            None,
            Some("+1555"),
            now(),
        );
        assert_eq!(
            (c.name.as_str(), c.phone, c.psychologist),
            ("Kikao user", None, None)
        );
    }

    #[test]
    fn a_phone_is_verified_only_as_the_identity_provider_vouches() {
        let number = |s: &str| PhoneNumber::parse(s).unwrap();
        let mut p = psychologist();
        assert!(
            !p.phone_verified,
            "a number from the claims alone is not verified"
        );
        assert_eq!(p.sms_phone(), None);
        // another number vouched for does not verify this one
        assert!(!p.vouch_phone(Some(&number("+254700000002"))));
        assert!(!p.vouch_phone(None));
        assert!(!p.phone_verified);
        assert!(p.vouch_phone(Some(&number("0700 000 001"))));
        assert_eq!(p.sms_phone(), Some(&number("+254700000001")));
        assert!(
            !p.vouch_phone(Some(&number("+254700000001"))),
            "no change the second time"
        );
        // saving the same number keeps it verified; any other makes it unverified
        let same = p.apply(
            ProfileUpdate {
                phone: Some("0700000001".into()),
                ..Default::default()
            },
            now(),
        );
        assert!(same.unwrap().phone_verified);
        let mut other = p
            .apply(
                ProfileUpdate {
                    phone: Some("0711 000 003".into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!((other.phone_verified, other.sms_phone()), (false, None));
        // the old number still vouched for does not carry over to the new one
        assert!(!other.vouch_phone(Some(&number("+254700000001"))));
        let mut removed = p
            .apply(
                ProfileUpdate {
                    phone: Some(" ".into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            (removed.phone.as_ref(), removed.phone_verified),
            (None, false)
        );
        assert!(
            !removed.vouch_phone(Some(&number("+254700000001"))),
            "a removed number stays removed"
        );
        assert_eq!(removed.phone, None);
    }

    #[test]
    fn psychologist_sets_types_and_number() {
        let p = psychologist();
        let u = ProfileUpdate {
            mpesa_number: Some("0712 345 678".into()),
            session_types: Some(vec![SessionTypeDraft {
                id: None,
                name: "Individual".into(),
                duration_minutes: 60,
                price_kes: 2000,
            }]),
            ..Default::default()
        };
        let p2 = p.apply(u, now()).unwrap();
        let d = p2.psychologist.as_ref().unwrap();
        assert_eq!(d.mpesa_number.as_ref().unwrap().e164(), "+254712345678");
        let id = d.session_types[0].id.as_str().to_owned();
        assert!(p2.session_type(&id).is_some());
        // keeping an id keeps the type; an unknown id is refused
        let keep = ProfileUpdate {
            session_types: Some(vec![SessionTypeDraft {
                id: Some(id.clone()),
                name: "Individual".into(),
                duration_minutes: 45,
                price_kes: 2500,
            }]),
            ..Default::default()
        };
        assert_eq!(
            p2.apply(keep, now())
                .unwrap()
                .session_type(&id)
                .unwrap()
                .price_kes
                .amount(),
            2500
        );
        let unknown = ProfileUpdate {
            session_types: Some(vec![SessionTypeDraft {
                id: Some("nope".into()),
                name: "X".into(),
                duration_minutes: 60,
                price_kes: 1,
            }]),
            ..Default::default()
        };
        assert!(p2.apply(unknown, now()).is_err());
    }

    #[test]
    fn bad_values_name_their_field() {
        let p = psychologist();
        let cases = [
            (
                ProfileUpdate {
                    mpesa_number: Some("12".into()),
                    ..Default::default()
                },
                "mpesa_number",
            ),
            (
                ProfileUpdate {
                    time_zone: Some("Mars/Base".into()),
                    ..Default::default()
                },
                "time_zone",
            ),
            (
                ProfileUpdate {
                    name: Some("".into()),
                    ..Default::default()
                },
                "name",
            ),
            (
                ProfileUpdate {
                    session_types: Some(vec![SessionTypeDraft {
                        id: None,
                        name: "X".into(),
                        duration_minutes: 50,
                        price_kes: 1,
                    }]),
                    ..Default::default()
                },
                "session_types",
            ),
            (
                ProfileUpdate {
                    session_types: Some(vec![SessionTypeDraft {
                        id: None,
                        name: "X".into(),
                        duration_minutes: 60,
                        price_kes: 0,
                    }]),
                    ..Default::default()
                },
                "session_types",
            ),
        ];
        for (u, field) in cases {
            let ProfileError::Invalid { field: f, .. } = p.apply(u, now()).unwrap_err();
            assert_eq!(f, field);
        }
    }

    #[test]
    fn clients_cannot_set_psychologist_fields() {
        let c = Profile::from_claims(
            UserId::parse("c").unwrap(),
            Role::Client,
            "C",
            None,
            None,
            now(),
        );
        assert!(c
            .apply(
                ProfileUpdate {
                    title: Some("Dr".into()),
                    ..Default::default()
                },
                now()
            )
            .is_err());
        let c2 = c
            .apply(
                ProfileUpdate {
                    phone: Some("0711000000".into()),
                    notify_sms: Some(false),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            (c2.phone.unwrap().e164(), c2.notify.sms),
            ("+254711000000", false)
        );
    }
}
