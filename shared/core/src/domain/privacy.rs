//! The privacy notice people accept before they book, and their record of accepting it.
//!
//! Who sees which therapist, and when, is sensitive personal data under Kenya's Data
//! Protection Act 2019, which asks for informed consent. The notice is versioned: any change to
//! its words is a new version (a test keeps the two together), and a client must accept the
//! current version before they book (`Bookings::book`). What it says must stay true of the
//! code and the template; `docs/privacy/data-map.md` holds the detail behind every period.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One heading and its plain-language text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeSection {
    pub heading: &'static str,
    pub body: &'static str,
}

/// The privacy notice as published. Where it is served (`Bookings::privacy_notice`) the
/// practice's contact is added, since each practice is its own data controller, and
/// `{proof_days}` and `{proof_days_max}` become the deployment's screenshot retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacyNotice {
    /// The date it was published, which is also its version.
    pub version: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    pub sections: &'static [NoticeSection],
}

/// The notice in force. Change a word and the version must change too (see the tests), so
/// everyone is asked again.
pub const PRIVACY_NOTICE: PrivacyNotice = PrivacyNotice {
    version: "2026-11-29",
    title: "How Kikao looks after your information",
    summary: "Kikao keeps what it needs to arrange your therapy sessions, take payment and remind \
              you, and nothing more. That you see a therapist is health information, so we ask \
              before you book. Your information is kept in Cape Town, South Africa, outside \
              Kenya.",
    sections: &[
        NoticeSection {
            heading: "What we keep",
            body: "Your name, email address and phone number from your account, your time zone \
                   and how you want to hear from us. For each session you book: who it is with, \
                   when, the kind of session and its price, its status and a history of every \
                   change, the note you write when you book, and any reason given for declining, \
                   cancelling or rejecting a payment. When you pay: the M-Pesa transaction code, \
                   the amount and time, and a screenshot if you upload one. Psychologists also \
                   give their title, M-Pesa number, session types, prices and working hours.",
        },
        NoticeSection {
            heading: "Why we keep it",
            body: "To arrange sessions between you and your psychologist, to let you pay and \
                   your psychologist check the payment, to send reminders and tell you of \
                   changes by SMS and email, and to keep the practice's record of sessions and \
                   payments. We do not sell your information or use it for advertising.",
        },
        NoticeSection {
            heading: "Health information",
            body: "That you see a therapist, and when, is sensitive personal data under Kenya's \
                   Data Protection Act, 2019. We keep it only with your consent, which you give \
                   by accepting this notice, and you cannot book a session until you have.",
        },
        NoticeSection {
            heading: "Where it is kept",
            body: "On Amazon Web Services in Cape Town, South Africa, which is outside Kenya, \
                   encrypted and reachable only over secure connections. Text messages pass \
                   through Kenyan mobile networks and emails through your mail provider. Video \
                   sessions take place on Jitsi Meet, an outside service: Kikao only makes the \
                   private link.",
        },
        NoticeSection {
            heading: "Who sees what",
            body: "You see your own profile and bookings. Your psychologist sees your name, the \
                   sessions you book with them, your note and your payment details, but never \
                   your phone number or email address. The practice administrator manages \
                   psychologists' accounts and sees no bookings. The people who run the \
                   practice's systems can reach stored information in order to keep the service \
                   working.",
        },
        NoticeSection {
            heading: "How long we keep it",
            body: "Your account and profile: while you have an account. Sessions, their \
                   history and payment details: six years after the session, because they are the \
                   practice's record of sessions and payments, which Kenyan tax law asks it to \
                   keep (without your name if you delete your account). Payment screenshots: {proof_days} days after upload, \
                   long enough to settle a disputed payment; the storage's last copy is gone by \
                   {proof_days_max} days. A record of who viewed your screenshots or \
                   downloaded your data: 400 days. Records that a message was sent: 90 days. \
                   System logs: 30 days. Backups: 35 days.",
        },
        NoticeSection {
            heading: "Your rights",
            body: "You may see the information we hold about you (Download my data, on your \
                   profile) and correct it (your profile). A client may delete their account \
                   with their information (Delete my account, on your profile): past sessions \
                   stay in the psychologist's records as the practice's record of payments, \
                   without your name, contact details or notes. You may also object to how your \
                   information is used, or withdraw your consent, by writing to the contact \
                   below, and complain to the Office of the Data Protection Commissioner \
                   (odpc.go.ke).",
        },
    ],
};

/// That a person accepted a version of the notice, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub version: String,
    pub at: DateTime<Utc>,
}

impl PrivacyNotice {
    /// Whether `consents` (oldest first) include this version.
    pub fn accepted_in(&self, consents: &[Consent]) -> bool {
        consents.iter().any(|c| c.version == self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a over every word of the notice: enough to notice an edit, with no dependency.
    fn digest(n: &PrivacyNotice) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let parts = [n.title, n.summary]
            .into_iter()
            .chain(n.sections.iter().flat_map(|s| [s.heading, s.body]));
        for part in parts {
            for b in part.bytes().chain([0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    /// Every version ever published, with the digest of its words. Editing the notice without
    /// a new version fails here: people accepted the old words, so they must be asked again.
    const PUBLISHED: &[(&str, u64)] = &[("2026-11-29", 12_609_821_348_869_568_179)];

    #[test]
    fn the_words_belong_to_their_version() {
        let (version, expected) = PUBLISHED.last().copied().unwrap();
        assert_eq!(
            PRIVACY_NOTICE.version, version,
            "a new version: add it to PUBLISHED with the digest the next assertion prints (left)"
        );
        assert_eq!(
            digest(&PRIVACY_NOTICE),
            expected,
            "the notice's words changed: publish them as a new version (today's date) and add \
             it to PUBLISHED"
        );
    }

    #[test]
    fn consent_counts_only_for_the_version_accepted() {
        let at = "2030-01-07T06:00:00Z".parse().unwrap();
        let old = Consent {
            version: "2020-01-01".into(),
            at,
        };
        assert!(!PRIVACY_NOTICE.accepted_in(&[]));
        assert!(!PRIVACY_NOTICE.accepted_in(std::slice::from_ref(&old)));
        let now = Consent {
            version: PRIVACY_NOTICE.version.into(),
            at,
        };
        assert!(PRIVACY_NOTICE.accepted_in(&[old, now]));
    }

    #[test]
    fn the_notice_says_where_and_how_long() {
        let all: String = PRIVACY_NOTICE.sections.iter().map(|s| s.body).collect();
        for needed in [
            "outside Kenya",
            "Cape Town",
            "{proof_days}",
            "Data Protection",
        ] {
            assert!(
                all.contains(needed) || PRIVACY_NOTICE.summary.contains(needed),
                "{needed}"
            );
        }
    }
}
