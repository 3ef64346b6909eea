//! The dev server's user directory: the embedded stand-in for the Cognito user pool behind the
//! `Accounts` port. It holds who may sign in through the dev sign-in, their groups, whether
//! their account is enabled, and their second factor: a real TOTP secret checked with
//! `totp-rs` (RFC 6238, SHA-1, 30-second steps, 6 digits, one step of skew), as an
//! authenticator app and Cognito use it. Demo psychologists and the demo administrator count as
//! having set theirs up (`Mfa::Vouched`), so the demo needs no phone; anyone invited starts with
//! none, exactly as on AWS. It also confirms phone numbers as Cognito's attribute verification
//! does: a six-digit code for the number (sent by SMS to the dev server's notification log),
//! good for 24 hours and five wrong tries, after which the number is the account's, verified.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kikao_core::domain::UserId;
use kikao_core::ports::{Accounts, AccountsError, InvitedAccount, Invitee};
use r2d2_sqlite::rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use totp_rs::{Algorithm, Secret, Totp};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    groups TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    mfa TEXT NOT NULL DEFAULT 'none',
    totp_secret TEXT,
    totp_pending TEXT,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    signed_in INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);";

/// Columns added since the directory first shipped, for data folders made before them.
const LATER_COLUMNS: &[(&str, &str)] = &[
    ("phone_verified", "INTEGER NOT NULL DEFAULT 0"),
    ("phone_pending", "TEXT"),
    ("phone_code", "TEXT"),
    ("phone_code_expires", "TEXT"),
    ("phone_tries", "INTEGER NOT NULL DEFAULT 0"),
];

/// How long a phone code is good for, as Cognito's are.
const PHONE_CODE_LIFE: chrono::Duration = chrono::Duration::hours(24);
/// Wrong codes allowed before the code is spent and a new one must be asked for.
const PHONE_CODE_TRIES: i64 = 5;

/// What checking a phone code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneCheck {
    /// The number is now the account's, verified.
    Confirmed,
    Wrong,
    /// Too old, or too many wrong tries: ask for a new one.
    Expired,
    /// No code was asked for.
    NoCode,
}

/// A person's second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mfa {
    None,
    /// Set up: sign-in asks for a code from their authenticator app.
    Totp,
    /// A demo account: treated as set up, never asked for a code.
    Vouched,
}

impl Mfa {
    fn as_str(self) -> &'static str {
        match self {
            Mfa::None => "none",
            Mfa::Totp => "totp",
            Mfa::Vouched => "vouched",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "totp" => Mfa::Totp,
            "vouched" => Mfa::Vouched,
            _ => Mfa::None,
        }
    }
    /// Whether tokens say the person has a second factor.
    pub fn on(self) -> bool {
        self != Mfa::None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevAccount {
    pub username: String,
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub groups: Vec<String>,
    pub enabled: bool,
    pub mfa: Mfa,
    /// The person entered the code sent to `phone` (the `phone_number_verified` claim).
    pub phone_verified: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("the dev user directory failed: {0}")]
pub struct DirectoryError(String);

fn fail(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError(e.to_string())
}

/// A person's confirmed secret, the one being set up, and the last step a code was accepted for.
type Secrets = (Option<String>, Option<String>, i64);

pub struct DevAccounts {
    conn: Mutex<Connection>,
}

/// The TOTP an authenticator app computes from `secret` (base32).
fn totp(secret: &str) -> Option<Totp> {
    let bytes = Secret::try_from_base32(secret).ok()?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(bytes)
        .build()
        .ok()
}

impl DevAccounts {
    /// Opens (creating if needed) the directory at `path`; `:memory:` for one that lives as long
    /// as the value.
    pub fn open(path: &Path) -> Result<Self, DirectoryError> {
        let conn = if path.as_os_str() == ":memory:" {
            Connection::open_in_memory()
        } else {
            Connection::open(path)
        }
        .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        let has: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('accounts')")
            .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())
            .map_err(fail)?;
        for (name, kind) in LATER_COLUMNS {
            if !has.iter().any(|h| h == name) {
                conn.execute_batch(&format!("ALTER TABLE accounts ADD COLUMN {name} {kind}"))
                    .map_err(fail)?;
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> r2d2_sqlite::rusqlite::Result<T>,
    ) -> Result<T, DirectoryError> {
        let conn = self.conn.lock().map_err(fail)?;
        f(&conn).map_err(fail)
    }

    /// Adds `account`, as someone who has signed in before, unless someone with its username
    /// is there (the demo people, each start).
    pub fn ensure(&self, a: &DevAccount) -> Result<(), DirectoryError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO accounts (username, user_id, name, email, phone, groups, enabled, mfa, created_at, phone_verified, signed_in)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1) ON CONFLICT (username) DO NOTHING",
                params![
                    a.username,
                    a.user_id.as_str(),
                    a.name,
                    a.email,
                    a.phone,
                    a.groups.join(" "),
                    a.enabled,
                    a.mfa.as_str(),
                    a.created_at.to_rfc3339(),
                    a.phone_verified,
                ],
            )
            .map(|_| ())
        })
    }

    /// Everyone who may sign in, in the order they were added.
    pub fn enabled(&self) -> Result<Vec<DevAccount>, DirectoryError> {
        self.with(|c| {
            let mut q = c.prepare(
                "SELECT username, user_id, name, email, phone, groups, enabled, mfa, created_at, phone_verified
                 FROM accounts WHERE enabled = 1 ORDER BY created_at, rowid",
            )?;
            let rows = q.query_map([], row)?;
            rows.collect()
        })
    }

    pub fn get(&self, user_id: &str) -> Result<Option<DevAccount>, DirectoryError> {
        self.with(|c| {
            c.query_row(
                "SELECT username, user_id, name, email, phone, groups, enabled, mfa, created_at, phone_verified
                 FROM accounts WHERE user_id = ?1",
                [user_id],
                row,
            )
            .optional()
        })
    }

    /// Records that the person signed in: from now on their address cannot be invited again.
    pub fn signed_in(&self, user_id: &str) -> Result<(), DirectoryError> {
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET signed_in = 1 WHERE user_id = ?1",
                [user_id],
            )
        })?;
        Ok(())
    }

    /// Starts setting up a second factor: a fresh secret (160 random bits, base32), kept aside
    /// until the first code confirms it; a factor already set up stays in force meanwhile (as
    /// Cognito keeps the old device until the new one is verified). Calling it again replaces
    /// an unconfirmed one.
    pub fn begin_totp(&self, user_id: &str) -> Result<Option<String>, DirectoryError> {
        let bytes: [u8; 20] = rand::random();
        let secret = Secret::from(bytes).to_base32();
        let changed = self.with(|c| {
            c.execute(
                "UPDATE accounts SET totp_pending = ?2 WHERE user_id = ?1 AND enabled = 1",
                params![user_id, secret],
            )
        })?;
        Ok((changed == 1).then_some(secret))
    }

    /// The step `code` is the code of under `secret` at `now` (one step either side), if it is
    /// later than `last`: a code is good once.
    fn step_of(secret: Option<&str>, code: &str, now: DateTime<Utc>, last: i64) -> Option<i64> {
        let when = u64::try_from(now.timestamp()).unwrap_or(0);
        let step = totp(secret?)?.check(code.trim(), when)?;
        let step = i64::try_from(step).ok()?;
        (step > last).then_some(step)
    }

    fn secrets(&self, user_id: &str) -> Result<Option<Secrets>, DirectoryError> {
        self.with(|c| {
            c.query_row(
                "SELECT totp_secret, totp_pending, totp_last_step FROM accounts WHERE user_id = ?1 AND enabled = 1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
    }

    /// Whether `code` is the person's current code, not used before; a good one is spent.
    pub fn accept_code(
        &self,
        user_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DirectoryError> {
        let Some((secret, _, last)) = self.secrets(user_id)? else {
            return Ok(false);
        };
        let Some(step) = Self::step_of(secret.as_deref(), code, now, last) else {
            return Ok(false);
        };
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET totp_last_step = ?2 WHERE user_id = ?1",
                params![user_id, step],
            )
        })?;
        Ok(true)
    }

    /// Confirms the secret `begin_totp` made with its first code; from now on sign-in asks for
    /// one. `false`: the code was wrong and nothing changed.
    pub fn confirm_totp(
        &self,
        user_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DirectoryError> {
        let Some((_, pending, _)) = self.secrets(user_id)? else {
            return Ok(false);
        };
        let Some(step) = Self::step_of(pending.as_deref(), code, now, 0) else {
            return Ok(false);
        };
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL, mfa = 'totp',
                 totp_last_step = ?2 WHERE user_id = ?1",
                params![user_id, step],
            )
        })?;
        Ok(true)
    }

    /// A new code that confirms `phone` (E.164) as the person's, replacing any earlier one; the
    /// caller sends it. As Cognito's verification-before-update does, the number the account
    /// holds now stays until the code is entered. `None`: no such enabled account.
    pub fn begin_phone(
        &self,
        user_id: &str,
        phone: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, DirectoryError> {
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let changed = self.with(|c| {
            c.execute(
                "UPDATE accounts SET phone_pending = ?2, phone_code = ?3, phone_code_expires = ?4,
                 phone_tries = 0 WHERE user_id = ?1 AND enabled = 1",
                params![user_id, phone, code, (now + PHONE_CODE_LIFE).to_rfc3339()],
            )
        })?;
        Ok((changed == 1).then_some(code))
    }

    /// Checks `code` against the one `begin_phone` made; the right one makes its number the
    /// account's, verified.
    pub fn confirm_phone(
        &self,
        user_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<PhoneCheck, DirectoryError> {
        let found: Option<(Option<String>, Option<String>, i64)> = self.with(|c| {
            c.query_row(
                "SELECT phone_code, phone_code_expires, phone_tries FROM accounts
                 WHERE user_id = ?1 AND enabled = 1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })?;
        let Some((Some(want), Some(expires), tries)) = found else {
            return Ok(PhoneCheck::NoCode);
        };
        let expired = DateTime::parse_from_rfc3339(&expires).map_or(true, |e| now > e);
        if expired || tries >= PHONE_CODE_TRIES {
            return Ok(PhoneCheck::Expired);
        }
        if code.trim() != want {
            self.with(|c| {
                c.execute(
                    "UPDATE accounts SET phone_tries = phone_tries + 1 WHERE user_id = ?1",
                    [user_id],
                )
            })?;
            return Ok(PhoneCheck::Wrong);
        }
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET phone = phone_pending, phone_verified = 1, phone_pending = NULL,
                 phone_code = NULL, phone_code_expires = NULL, phone_tries = 0 WHERE user_id = ?1",
                [user_id],
            )
        })?;
        Ok(PhoneCheck::Confirmed)
    }
}

fn row(r: &r2d2_sqlite::rusqlite::Row<'_>) -> r2d2_sqlite::rusqlite::Result<DevAccount> {
    let id: String = r.get(1)?;
    let groups: String = r.get(5)?;
    let mfa: String = r.get(7)?;
    let created: String = r.get(8)?;
    Ok(DevAccount {
        username: r.get(0)?,
        user_id: UserId::parse(&id).unwrap_or_else(|| UserId::parse("invalid").expect("valid")),
        name: r.get(2)?,
        email: r.get(3)?,
        phone: r.get(4)?,
        groups: groups.split_whitespace().map(str::to_owned).collect(),
        enabled: r.get(6)?,
        mfa: Mfa::parse(&mfa),
        phone_verified: r.get(9)?,
        created_at: DateTime::parse_from_rfc3339(&created)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default(),
    })
}

fn backend(e: DirectoryError) -> AccountsError {
    AccountsError::Backend(e.0)
}

#[async_trait]
impl Accounts for DevAccounts {
    async fn add_to_group(&self, username: &str, group: &str) -> Result<(), AccountsError> {
        let found: Option<String> = self
            .with(|c| {
                c.query_row(
                    "SELECT groups FROM accounts WHERE username = ?1",
                    [username],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(backend)?;
        let Some(groups) = found else {
            return Err(AccountsError::Backend(format!("no user {username}")));
        };
        if groups.split_whitespace().any(|g| g == group) {
            return Ok(());
        }
        let joined = format!("{groups} {group}").trim().to_owned();
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET groups = ?2 WHERE username = ?1",
                params![username, joined],
            )
        })
        .map_err(backend)?;
        Ok(())
    }

    /// One account per address, as Cognito's email sign-in has it; someone invited who never
    /// signed in is invited again (Cognito's resend).
    async fn invite(&self, who: &Invitee, group: &str) -> Result<InvitedAccount, AccountsError> {
        let existing: Option<(String, String, i64)> = self
            .with(|c| {
                c.query_row(
                    "SELECT username, user_id, signed_in FROM accounts WHERE lower(email) = lower(?1) OR username = ?1",
                    [&who.email],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
            })
            .map_err(backend)?;
        if let Some((username, id, signed_in)) = existing {
            if signed_in != 0 {
                return Err(AccountsError::Exists);
            }
            self.add_to_group(&username, group).await?;
            return Ok(InvitedAccount {
                user_id: UserId::parse(&id)
                    .ok_or_else(|| AccountsError::Backend("bad id".into()))?,
                username,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let user_id = UserId::parse(&id).ok_or_else(|| AccountsError::Backend("bad id".into()))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO accounts (username, user_id, name, email, phone, groups, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    who.email,
                    id,
                    who.name,
                    who.email,
                    who.phone,
                    group,
                    Utc::now().to_rfc3339()
                ],
            )
        })
        .map_err(backend)?;
        tracing::info!(user = %id, "dev directory: invited; they can sign in at the dev sign-in page");
        Ok(InvitedAccount {
            user_id,
            username: who.email.clone(),
        })
    }

    async fn disable(&self, username: &str) -> Result<(), AccountsError> {
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET enabled = 0 WHERE username = ?1 OR user_id = ?1",
                [username],
            )
        })
        .map_err(backend)?;
        Ok(())
    }

    async fn delete(&self, username: &str) -> Result<(), AccountsError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM accounts WHERE username = ?1 OR user_id = ?1",
                [username],
            )
        })
        .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 secret ("12345678901234567890") and its published codes, cut to the
    /// six digits authenticator apps show.
    #[test]
    fn codes_are_rfc_6238s() {
        let secret = Secret::from(*b"12345678901234567890").to_base32();
        let t = totp(&secret).unwrap();
        assert_eq!(t.generate(59).to_string(), "287082");
        assert_eq!(t.generate(1_111_111_109).to_string(), "081804");
        assert_eq!(t.generate(2_000_000_000).to_string(), "279037");
    }

    #[test]
    fn a_directory_from_before_phone_codes_gains_their_columns() {
        let dir = std::env::temp_dir().join(format!("kikao-dir-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("accounts.sqlite3");
        Connection::open(&path)
            .unwrap()
            .execute_batch(SCHEMA)
            .unwrap();
        for _ in 0..2 {
            let d = DevAccounts::open(&path).unwrap();
            assert!(d.enabled().unwrap().is_empty());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_invitation_sets_up_a_second_factor_and_is_disabled() {
        let d = DevAccounts::open(Path::new(":memory:")).unwrap();
        let who = Invitee {
            name: "Dr. Zawadi Achieng".into(),
            email: "zawadi@example.test".into(),
            phone: "+254700000150".into(),
        };
        let a = d.invite(&who, "psychologists").await.unwrap();
        // invited again before signing in: the same account
        assert_eq!(d.invite(&who, "psychologists").await.unwrap(), a);
        d.signed_in(a.user_id.as_str()).unwrap();
        assert!(matches!(
            d.invite(&who, "psychologists").await,
            Err(AccountsError::Exists)
        ));
        let me = d.get(a.user_id.as_str()).unwrap().unwrap();
        assert_eq!(
            (me.groups.clone(), me.mfa),
            (vec!["psychologists".to_owned()], Mfa::None)
        );

        let secret = d.begin_totp(a.user_id.as_str()).unwrap().unwrap();
        let now = Utc::now();
        let t = totp(&secret).unwrap();
        let good = t.generate(now.timestamp() as u64).to_string();
        let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(!d.confirm_totp(a.user_id.as_str(), &wrong, now).unwrap());
        assert_eq!(d.get(a.user_id.as_str()).unwrap().unwrap().mfa, Mfa::None);
        assert!(d.confirm_totp(a.user_id.as_str(), &good, now).unwrap());
        assert_eq!(d.get(a.user_id.as_str()).unwrap().unwrap().mfa, Mfa::Totp);
        // the code that confirmed it is spent; the next step's code signs in, once
        assert!(!d.accept_code(a.user_id.as_str(), &good, now).unwrap());
        let later = now + chrono::Duration::seconds(30);
        let next = t.generate(later.timestamp() as u64).to_string();
        assert!(d.accept_code(a.user_id.as_str(), &next, later).unwrap());
        assert!(
            !d.accept_code(a.user_id.as_str(), &next, later).unwrap(),
            "no replay"
        );
        // a code from ten minutes ago is no good
        let much_later = now + chrono::Duration::minutes(10);
        let stale = t.generate(now.timestamp() as u64 - 600).to_string();
        assert!(!d
            .accept_code(a.user_id.as_str(), &stale, much_later)
            .unwrap());
        // starting over keeps the factor in force until the new one is confirmed
        let fresh = d.begin_totp(a.user_id.as_str()).unwrap().unwrap();
        assert_ne!(fresh, secret);
        let at = much_later + chrono::Duration::seconds(30);
        let with_old = t.generate(at.timestamp() as u64).to_string();
        assert!(d.accept_code(a.user_id.as_str(), &with_old, at).unwrap());
        assert_eq!(d.get(a.user_id.as_str()).unwrap().unwrap().mfa, Mfa::Totp);

        // the invited number is unconfirmed until its code is entered, and only that code counts
        assert!(!d.get(a.user_id.as_str()).unwrap().unwrap().phone_verified);
        let id = a.user_id.as_str();
        assert_eq!(
            d.confirm_phone(id, "000000", now).unwrap(),
            PhoneCheck::NoCode
        );
        let code = d.begin_phone(id, "+254711000151", now).unwrap().unwrap();
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(d.confirm_phone(id, &wrong, now).unwrap(), PhoneCheck::Wrong);
        let me = d.get(id).unwrap().unwrap();
        assert_eq!(
            (me.phone.as_str(), me.phone_verified),
            ("+254700000150", false)
        );
        assert_eq!(
            d.confirm_phone(id, &code, now + chrono::Duration::hours(25))
                .unwrap(),
            PhoneCheck::Expired
        );
        assert_eq!(
            d.confirm_phone(id, &code, now).unwrap(),
            PhoneCheck::Confirmed
        );
        let me = d.get(id).unwrap().unwrap();
        assert_eq!(
            (me.phone.as_str(), me.phone_verified),
            ("+254711000151", true)
        );
        assert_eq!(
            d.confirm_phone(id, &code, now).unwrap(),
            PhoneCheck::NoCode,
            "spent"
        );
        // five wrong tries spend a code
        let code = d.begin_phone(id, "+254711000152", now).unwrap().unwrap();
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        for _ in 0..5 {
            assert_eq!(d.confirm_phone(id, &wrong, now).unwrap(), PhoneCheck::Wrong);
        }
        assert_eq!(
            d.confirm_phone(id, &code, now).unwrap(),
            PhoneCheck::Expired
        );

        d.add_to_group("zawadi@example.test", "practice_admins")
            .await
            .unwrap();
        assert_eq!(d.get(a.user_id.as_str()).unwrap().unwrap().groups.len(), 2);
        d.disable("zawadi@example.test").await.unwrap();
        assert!(d.enabled().unwrap().is_empty());
        assert!(d.begin_totp(a.user_id.as_str()).unwrap().is_none());
    }
}
