//! The embedded store: one SQLite file. Sessions, profiles and idempotency records are JSON
//! documents beside the columns that index them; slot cells and transaction codes are rows
//! whose primary keys make double-holding and code reuse impossible; every change is one
//! `BEGIN IMMEDIATE` transaction, so it is written whole or not at all.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, SecondsFormat, Utc};
use kikao_core::domain::{
    expires_at, view_of, AccountAlert, AuditEntry, Change, Checkout, Event, Profile, Role, Session,
    SessionId, ShortCode, Status, TransactionCode, UserId, UserSummary, View,
};
use kikao_core::ports::{
    AuditLog, CheckoutStore, Claim, DeliveryLog, EventFeed, IdempotencyRecord, LedgerEntry, Page,
    PaymentLedger, ProfileStore, SentMessage, SentMessages, SessionReader, SessionWriter,
    Settlement, StoreError, ViewCursor,
};
use r2d2_sqlite::rusqlite::{
    self, params, Connection, ErrorCode, OptionalExtension, TransactionBehavior,
};
use r2d2_sqlite::SqliteConnectionManager;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    psychologist_id TEXT NOT NULL,
    status TEXT NOT NULL,
    activity_at TEXT NOT NULL,
    expires_at TEXT,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    starts_at TEXT NOT NULL DEFAULT '',
    client_view TEXT NOT NULL DEFAULT '',
    psy_view TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions (client_id, activity_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_by_psychologist ON sessions (psychologist_id, activity_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_by_psychologist_status ON sessions (psychologist_id, status, activity_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_by_client_status ON sessions (client_id, status, activity_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_by_client_view ON sessions (client_id, client_view, starts_at, id);
CREATE INDEX IF NOT EXISTS sessions_by_psychologist_view ON sessions (psychologist_id, psy_view, starts_at, id);
CREATE INDEX IF NOT EXISTS sessions_due ON sessions (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_upcoming ON sessions (json_extract(doc, '$.starts_at')) WHERE status = 'confirmed';
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (session_id, version)
);
CREATE TABLE IF NOT EXISTS slot_holds (
    psychologist_id TEXT NOT NULL,
    cell TEXT NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (psychologist_id, cell)
);
CREATE TABLE IF NOT EXISTS transaction_codes (
    code TEXT PRIMARY KEY,
    session_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_summaries (
    user_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS booking_quota (
    user_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (user_id, window_start)
);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sent_messages (
    key TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_messages_by_recipient ON sent_messages (recipient, at);
CREATE TABLE IF NOT EXISTS feed_positions (
    reader TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_subject ON audit (subject, at);
CREATE TABLE IF NOT EXISTS alerts (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mpesa_payments (
    shortcode TEXT NOT NULL,
    receipt TEXT NOT NULL,
    received_at TEXT NOT NULL,
    unmatched INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (shortcode, receipt)
);
CREATE INDEX IF NOT EXISTS mpesa_unmatched ON mpesa_payments (shortcode, unmatched, received_at);
CREATE TABLE IF NOT EXISTS checkouts (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
";

/// What `SqliteStore::prune` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency: usize,
    pub deliveries: usize,
    /// Records of messages sent, per person (`SentMessages`).
    pub sent: usize,
    pub alerts: usize,
    pub audit: usize,
    /// Bookings past `BOOKING_DAYS`, each with its history, code claim and holds.
    pub bookings: usize,
    /// Payments M-Pesa reported, kept as long as bookings (`BOOKING_DAYS`).
    pub mpesa_payments: usize,
}

#[derive(Clone)]
pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

/// Fixed-width UTC text, so that text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(backend)
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(backend)
}

fn encode_cursor(s: &Session) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", ts(s.updated_at), s.id))
}

fn decode_cursor(c: &str) -> Result<(String, String), StoreError> {
    let raw = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| StoreError::BadCursor)?;
    let text = String::from_utf8(raw).map_err(|_| StoreError::BadCursor)?;
    let (at, id) = text.split_once('|').ok_or(StoreError::BadCursor)?;
    if DateTime::parse_from_rfc3339(at).is_err() || SessionId::parse(id).is_none() {
        return Err(StoreError::BadCursor);
    }
    Ok((at.to_owned(), id.to_owned()))
}

impl SqliteStore {
    /// Deletes what has outlived `kikao_core::retention` at `now`, as DynamoDB's TTL does for
    /// the same items: idempotency records, sent markers and records, account alerts, audit entries, and
    /// bookings past their retention with their history, code claims and holds. The dev server
    /// runs it from its background loop.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<Pruned, StoreError> {
        use kikao_core::retention::{AUDIT_DAYS, BOOKING_DAYS, DELIVERY_DAYS, IDEMPOTENCY_HOURS};
        let booking_before = ts(now - chrono::Duration::days(BOOKING_DAYS));
        let idem_before = ts(now - chrono::Duration::hours(IDEMPOTENCY_HOURS));
        let delivery_before = ts(now - chrono::Duration::days(DELIVERY_DAYS));
        let audit_before = ts(now - chrono::Duration::days(AUDIT_DAYS));
        self.run(move |c| {
            let gone = |sql: &str, before: &str| c.execute(sql, [before]).map_err(backend);
            Ok(Pruned {
                idempotency: gone(
                    "DELETE FROM idempotency WHERE julianday(json_extract(doc, '$.created_at')) < julianday(?1)",
                    &idem_before,
                )?,
                deliveries: gone(
                    "DELETE FROM deliveries WHERE julianday(at) < julianday(?1)",
                    &delivery_before,
                )?,
                sent: gone(
                    "DELETE FROM sent_messages WHERE julianday(at) < julianday(?1)",
                    &delivery_before,
                )?,
                alerts: gone(
                    "DELETE FROM alerts WHERE julianday(json_extract(doc, '$.at')) < julianday(?1)",
                    &delivery_before,
                )?,
                audit: gone(
                    "DELETE FROM audit WHERE julianday(at) < julianday(?1)",
                    &audit_before,
                )?,
                mpesa_payments: gone(
                    "DELETE FROM mpesa_payments WHERE julianday(received_at) < julianday(?1)",
                    &booking_before,
                )? + gone(
                    "DELETE FROM checkouts WHERE julianday(started_at) < julianday(?1)",
                    &delivery_before,
                )?,
                bookings: {
                    // as `retention::booking_expires`: the later of the session's end and its
                    // last change; everything of the booking in one transaction
                    let tx = c.unchecked_transaction().map_err(backend)?;
                    tx.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS expired (id TEXT PRIMARY KEY)",
                        [],
                    )
                    .map_err(backend)?;
                    tx.execute("DELETE FROM expired", []).map_err(backend)?;
                    tx.execute(
                        "INSERT INTO expired SELECT id FROM sessions
                         WHERE max(julianday(json_extract(doc, '$.ends_at')), julianday(activity_at)) < julianday(?1)",
                        [&booking_before],
                    )
                    .map_err(backend)?;
                    for sql in [
                        "DELETE FROM events WHERE session_id IN (SELECT id FROM expired)",
                        "DELETE FROM transaction_codes WHERE session_id IN (SELECT id FROM expired)",
                        "DELETE FROM slot_holds WHERE session_id IN (SELECT id FROM expired)",
                    ] {
                        tx.execute(sql, []).map_err(backend)?;
                    }
                    let n = tx
                        .execute(
                            "DELETE FROM sessions WHERE id IN (SELECT id FROM expired)",
                            [],
                        )
                        .map_err(backend)?;
                    tx.commit().map_err(backend)?;
                    n
                },
            })
        })
        .await
    }

    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend)?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            // secure_delete: what an erasure or the retention job removes is overwritten in the
            // file, not left in its free pages
            c.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;",
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .build(manager)
            .map_err(backend)?;
        let mut conn = pool.get().map_err(backend)?;
        add_view_columns(&mut conn)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(Self { pool })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(backend)?;
            f(&mut conn)
        })
        .await
        .map_err(backend)?
    }
}

/// A data folder made before sessions carried their dashboard views gets the columns, filled in
/// from each session, before the indexes on them are made.
fn add_view_columns(c: &mut Connection) -> Result<(), StoreError> {
    let has_sessions: bool = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(backend)?
        > 0;
    let has_views: bool = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'client_view'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(backend)?
        > 0;
    if !has_sessions || has_views {
        return Ok(());
    }
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    for column in ["starts_at", "client_view", "psy_view"] {
        tx.execute(
            &format!("ALTER TABLE sessions ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"),
            [],
        )
        .map_err(backend)?;
    }
    let all: Vec<Session> = docs(&tx, "SELECT doc FROM sessions", &[])?;
    for s in all {
        tx.execute(
            "UPDATE sessions SET starts_at = ?2, client_view = ?3, psy_view = ?4 WHERE id = ?1",
            params![
                s.id.to_string(),
                ts(s.starts_at),
                view_of(&s, Role::Client).as_str(),
                view_of(&s, Role::Psychologist).as_str()
            ],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn write_change(
    conn: &mut Connection,
    change: &Change,
    idempotency: Option<&IdempotencyRecord>,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let s = &change.session;
    let doc = to_json(s)?;
    let expires = expires_at(s).map(ts);
    match change.expected_version() {
        Some(v) => {
            let n = tx
                .execute(
                    "UPDATE sessions SET status=?1, activity_at=?2, expires_at=?3, version=?4, doc=?5,
                        starts_at=?8, client_view=?9, psy_view=?10
                     WHERE id=?6 AND version=?7",
                    params![s.status.as_str(), ts(s.updated_at), expires, s.version as i64, doc, s.id.to_string(), v as i64,
                        ts(s.starts_at), view_of(s, Role::Client).as_str(), view_of(s, Role::Psychologist).as_str()],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
        None => {
            tx.execute(
                "INSERT INTO sessions (id, client_id, psychologist_id, status, activity_at, expires_at, version, doc,
                    starts_at, client_view, psy_view)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    s.id.to_string(), s.client.id.as_str(), s.psychologist.id.as_str(), s.status.as_str(),
                    ts(s.updated_at), expires, s.version as i64, doc,
                    ts(s.starts_at), view_of(s, Role::Client).as_str(), view_of(s, Role::Psychologist).as_str()
                ],
            )
            .map_err(|e| if is_constraint(&e) { StoreError::VersionConflict } else { backend(e) })?;
        }
    }
    tx.execute(
        "INSERT INTO events (session_id, version, doc) VALUES (?1, ?2, ?3)",
        params![
            s.id.to_string(),
            change.event.version as i64,
            to_json(&change.event)?
        ],
    )
    .map_err(|e| {
        if is_constraint(&e) {
            StoreError::VersionConflict
        } else {
            backend(e)
        }
    })?;
    if let Some(q) = &change.quota {
        // past windows are done with: a client keeps at most one row
        tx.execute(
            "DELETE FROM booking_quota WHERE user_id=?1 AND window_start<?2",
            params![q.user.as_str(), ts(q.window_start)],
        )
        .map_err(backend)?;
        let counted = tx
            .execute(
                "INSERT INTO booking_quota (user_id, window_start, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (user_id, window_start) DO UPDATE SET count = count + 1 WHERE count < ?3",
                params![q.user.as_str(), ts(q.window_start), q.max],
            )
            .map_err(backend)?;
        if counted == 0 {
            return Err(StoreError::RateLimited {
                retry_at: q.window_end,
            });
        }
    }
    for cell in &change.release {
        tx.execute(
            "DELETE FROM slot_holds WHERE psychologist_id=?1 AND cell=?2 AND session_id=?3",
            params![cell.psychologist.as_str(), ts(cell.start), s.id.to_string()],
        )
        .map_err(backend)?;
    }
    for cell in &change.hold {
        tx.execute(
            "INSERT INTO slot_holds (psychologist_id, cell, session_id) VALUES (?1, ?2, ?3)",
            params![cell.psychologist.as_str(), ts(cell.start), s.id.to_string()],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::SlotTaken
            } else {
                backend(e)
            }
        })?;
    }
    if let Some(code) = &change.claim_code {
        let owner: Option<String> = tx
            .query_row(
                "SELECT session_id FROM transaction_codes WHERE code=?1",
                [code.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        match owner {
            // the same session may resubmit its own code after a rejected proof
            Some(id) if id == s.id.to_string() => {}
            Some(_) => return Err(StoreError::DuplicateCode),
            None => {
                tx.execute(
                    "INSERT INTO transaction_codes (code, session_id) VALUES (?1, ?2)",
                    params![code.as_str(), s.id.to_string()],
                )
                .map_err(backend)?;
            }
        }
    }
    for t in &change.tallies {
        let mut summary = read_summary(&tx, &t.user)?;
        summary.apply(t);
        tx.execute(
            "INSERT INTO user_summaries (user_id, doc) VALUES (?1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc",
            params![t.user.as_str(), to_json(&summary)?],
        )
        .map_err(backend)?;
    }
    if let Some(rec) = idempotency {
        tx.execute(
            "INSERT INTO idempotency (user_id, key, doc) VALUES (?1, ?2, ?3)",
            params![rec.user.as_str(), rec.key, to_json(rec)?],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::DuplicateIdempotencyKey
            } else {
                backend(e)
            }
        })?;
    }
    tx.commit().map_err(backend)
}

fn read_summary(conn: &Connection, user: &UserId) -> Result<UserSummary, StoreError> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT doc FROM user_summaries WHERE user_id=?1",
            [user.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    doc.map_or(Ok(UserSummary::default()), |d| from_json(&d))
}

fn docs<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|r| from_json(&r.map_err(backend)?)).collect()
}

#[async_trait]
impl SessionReader for SqliteStore {
    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM sessions WHERE id=?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn history(&self, id: SessionId) -> Result<Vec<Event>, StoreError> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM events WHERE session_id=?1 ORDER BY version",
                &[&id.to_string()],
            )
        })
        .await
    }

    async fn list(
        &self,
        user: &UserId,
        role: Role,
        status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError> {
        let after = cursor.map(decode_cursor).transpose()?;
        let user = user.as_str().to_owned();
        let limit = limit.clamp(1, 100);
        self.run(move |c| {
            let party = match role {
                Role::Client => "client_id",
                Role::Psychologist => "psychologist_id",
            };
            let mut sql = format!("SELECT doc FROM sessions WHERE {party} = ?1");
            let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(user)];
            if let Some(st) = status {
                args.push(Box::new(st.as_str()));
                sql.push_str(&format!(" AND status = ?{}", args.len()));
            }
            if let Some((at, id)) = after {
                args.push(Box::new(at));
                args.push(Box::new(id));
                sql.push_str(&format!(
                    " AND (activity_at, id) < (?{}, ?{})",
                    args.len() - 1,
                    args.len()
                ));
            }
            args.push(Box::new((limit + 1) as i64));
            sql.push_str(&format!(
                " ORDER BY activity_at DESC, id DESC LIMIT ?{}",
                args.len()
            ));
            let refs: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
            let items: Vec<Session> = docs(c, &sql, &refs)?;
            Ok(Page::from_one_more(items, limit, encode_cursor))
        })
        .await
    }

    async fn list_view(
        &self,
        user: &UserId,
        role: Role,
        view: View,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError> {
        let after = cursor
            .map(|c| ViewCursor::decode(c, user, view))
            .transpose()?;
        let owner = user.clone();
        let limit = limit.clamp(1, 100);
        self.run(move |c| {
            let (party, column) = match role {
                Role::Client => ("client_id", "client_view"),
                Role::Psychologist => ("psychologist_id", "psy_view"),
            };
            let (order, past) = if view.newest_first() {
                ("DESC", "<")
            } else {
                ("ASC", ">")
            };
            let mut sql = format!("SELECT doc FROM sessions WHERE {party} = ?1 AND {column} = ?2");
            let mut args: Vec<Box<dyn rusqlite::ToSql>> =
                vec![Box::new(owner.as_str().to_owned()), Box::new(view.as_str())];
            if let Some(a) = after {
                args.push(Box::new(ts(a.starts_at)));
                args.push(Box::new(a.id.to_string()));
                sql.push_str(&format!(" AND (starts_at, id) {past} (?3, ?4)"));
            }
            args.push(Box::new((limit + 1) as i64));
            sql.push_str(&format!(
                " ORDER BY starts_at {order}, id {order} LIMIT ?{}",
                args.len()
            ));
            let refs: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
            let items: Vec<Session> = docs(c, &sql, &refs)?;
            Ok(Page::from_one_more(items, limit, |s| {
                ViewCursor::after(s).encode(&owner, view)
            }))
        })
        .await
    }

    async fn changed_since(
        &self,
        user: &UserId,
        role: Role,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let user = user.as_str().to_owned();
        self.run(move |c| {
            let party = match role {
                Role::Client => "client_id",
                Role::Psychologist => "psychologist_id",
            };
            docs(
                c,
                &format!(
                    "SELECT doc FROM sessions WHERE {party} = ?1 AND activity_at >= ?2
                     ORDER BY activity_at, id LIMIT ?3"
                ),
                &[&user, &ts(since), &(limit as i64)],
            )
        })
        .await
    }

    async fn summary(&self, user: &UserId) -> Result<UserSummary, StoreError> {
        let user = user.clone();
        self.run(move |c| read_summary(c, &user)).await
    }

    async fn holds(
        &self,
        psychologist: &UserId,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, SessionId)>, StoreError> {
        let p = psychologist.as_str().to_owned();
        self.run(move |c| {
            let mut q = c
                .prepare_cached(
                    "SELECT cell, session_id FROM slot_holds
                     WHERE psychologist_id=?1 AND cell >= ?2 AND cell <= ?3 ORDER BY cell",
                )
                .map_err(backend)?;
            let rows = q
                .query_map(params![p, ts(first), ts(last)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (cell, id) = row.map_err(backend)?;
                if let (Ok(cell), Some(id)) =
                    (DateTime::parse_from_rfc3339(&cell), SessionId::parse(&id))
                {
                    out.push((cell.with_timezone(&Utc), id));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn idempotent_booking(
        &self,
        user: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (user, key) = (user.as_str().to_owned(), key.to_owned());
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM idempotency WHERE user_id=?1 AND key=?2",
                    params![user, key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
                &[&ts(now), &(limit as i64)],
            )
        })
        .await
    }

    async fn reminder_candidates(&self, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        // a session document writes its start as serde does, to the second on the grid
        let secs = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let (start_to, deadline_to) = (
            now + chrono::Duration::hours(kikao_core::notifications::SESSION_REMINDER_HOURS),
            now + chrono::Duration::hours(kikao_core::notifications::PAYMENT_REMINDER_HOURS),
        );
        self.run(move |c| {
            let mut out: Vec<Session> = docs(
                c,
                "SELECT doc FROM sessions WHERE status = 'confirmed'
                   AND json_extract(doc, '$.starts_at') > ?1 AND json_extract(doc, '$.starts_at') <= ?2
                 ORDER BY json_extract(doc, '$.starts_at')",
                &[&secs(now), &secs(start_to)],
            )?;
            out.extend(docs::<Session>(
                c,
                "SELECT doc FROM sessions WHERE status = 'approved'
                   AND expires_at > ?1 AND expires_at <= ?2 ORDER BY expires_at",
                &[&ts(now), &ts(deadline_to)],
            )?);
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl DeliveryLog for SqliteStore {
    async fn claim(&self, key: &str, at: DateTime<Utc>) -> Result<Claim, StoreError> {
        let key = key.to_owned();
        self.run(move |c| {
            let fresh = c
                .execute(
                    "INSERT OR IGNORE INTO deliveries (key, state, at) VALUES (?1, 'sending', ?2)",
                    params![key, ts(at)],
                )
                .map_err(backend)?;
            if fresh == 1 {
                return Ok(Claim::Fresh);
            }
            let state: String = c
                .query_row("SELECT state FROM deliveries WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .map_err(backend)?;
            Ok(if state == "sent" {
                Claim::Sent
            } else {
                Claim::InFlight
            })
        })
        .await
    }

    async fn settle(&self, key: &str, sent: Option<&SentMessage>) -> Result<(), StoreError> {
        let (key, sent) = (key.to_owned(), sent.cloned());
        self.run(move |c| {
            let Some(m) = sent else {
                c.execute(
                    "DELETE FROM deliveries WHERE key = ?1 AND state = 'sending'",
                    [&key],
                )
                .map_err(backend)?;
                return Ok(());
            };
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            tx.execute("UPDATE deliveries SET state = 'sent' WHERE key = ?1", [&key])
                .map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO sent_messages (key, recipient, at, doc) VALUES (?1, ?2, ?3, ?4)",
                params![m.key, m.recipient.as_str(), ts(m.at), to_json(&m)?],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl SentMessages for SqliteStore {
    async fn sent_to(&self, person: &UserId) -> Result<Vec<SentMessage>, StoreError> {
        let person = person.as_str().to_owned();
        self.run(move |c| {
            let mut q = c
                .prepare("SELECT doc FROM sent_messages WHERE recipient = ?1 ORDER BY at, key")
                .map_err(backend)?;
            let docs = q
                .query_map([person], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            docs.iter().map(|d| from_json(d)).collect()
        })
        .await
    }

    async fn forget_sent_to(&self, person: &UserId) -> Result<(), StoreError> {
        let person = person.as_str().to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM sent_messages WHERE recipient = ?1", [person])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl SessionWriter for SqliteStore {
    async fn write(
        &self,
        change: &Change,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let (change, idem) = (change.clone(), idempotency.cloned());
        self.run(move |c| write_change(c, &change, idem.as_ref()))
            .await
    }

    async fn anonymise(&self, session: &Session, events: &[Event]) -> Result<(), StoreError> {
        let (s, events) = (session.clone(), events.to_vec());
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let n = tx
                .execute(
                    "UPDATE sessions SET doc = ?2 WHERE id = ?1 AND version = ?3",
                    params![s.id.to_string(), to_json(&s)?, s.version as i64],
                )
                .map_err(backend)?;
            if n != 1 {
                return Err(StoreError::VersionConflict);
            }
            for e in &events {
                tx.execute(
                    "UPDATE events SET doc = ?3 WHERE session_id = ?1 AND version = ?2",
                    params![e.session_id.to_string(), e.version as i64, to_json(e)?],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn get_profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        let user = user.as_str().to_owned();
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM profiles WHERE user_id=?1", [user], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn put_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        let p = profile.clone();
        self.run(move |c| upsert_profile(c, &p)).await
    }

    async fn put_profile_with_alert(
        &self,
        profile: &Profile,
        alert: &AccountAlert,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (p, a, e) = (profile.clone(), alert.clone(), audit.clone());
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            upsert_profile(&tx, &p)?;
            tx.execute(
                "INSERT INTO alerts (user_id, doc) VALUES (?1, ?2)",
                params![a.user.as_str(), to_json(&a)?],
            )
            .map_err(backend)?;
            append_audit(&tx, &e)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn create_profile_if_absent(&self, profile: &Profile) -> Result<Profile, StoreError> {
        let p = profile.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO profiles (user_id, role, doc) VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO NOTHING",
                params![p.user_id.as_str(), p.role.as_str(), to_json(&p)?],
            )
            .map_err(backend)?;
            let doc: String = c
                .query_row("SELECT doc FROM profiles WHERE user_id=?1", [p.user_id.as_str()], |r| r.get(0))
                .map_err(backend)?;
            from_json(&doc)
        })
        .await
    }

    async fn list_psychologists(&self) -> Result<Vec<Profile>, StoreError> {
        self.run(|c| {
            docs(
                c,
                "SELECT doc FROM profiles WHERE role = 'psychologist' ORDER BY user_id",
                &[],
            )
        })
        .await
    }
}

impl SqliteStore {
    /// The documents of an outbox table (`query` selects position and doc after ?1, at most ?2),
    /// in the order they were written.
    async fn feed_after<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        query: &'static str,
        position: i64,
        limit: usize,
    ) -> Result<Vec<(i64, T)>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(query).map_err(backend)?;
            let rows = stmt
                .query_map(params![position, limit as i64], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (p, d) = r.map_err(backend)?;
                Ok((p, from_json(&d)?))
            })
            .collect()
        })
        .await
    }
}

/// Appends an audit entry; its id is new, so a second insert of it is refused, never merged.
fn append_audit(c: &Connection, e: &AuditEntry) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit (id, subject, at, doc) VALUES (?1, ?2, ?3, ?4)",
        params![e.id, e.subject.as_str(), ts(e.at), to_json(e)?],
    )
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.run(move |c| append_audit(c, &e)).await
    }

    async fn about(&self, subject: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let subject = subject.as_str().to_owned();
        self.run(move |c| {
            let mut q = c
                .prepare("SELECT doc FROM audit WHERE subject = ?1 ORDER BY at, id")
                .map_err(backend)?;
            let docs = q
                .query_map([subject], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            docs.iter().map(|d| from_json(d)).collect()
        })
        .await
    }
}

#[async_trait]
impl PaymentLedger for SqliteStore {
    async fn record(&self, entry: &LedgerEntry) -> Result<LedgerEntry, StoreError> {
        let e = entry.clone();
        self.run(move |c| {
            let p = &e.payment;
            c.execute(
                "INSERT INTO mpesa_payments (shortcode, receipt, received_at, unmatched, doc)
                 VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT DO NOTHING",
                params![
                    p.shortcode.as_str(),
                    p.receipt.as_str(),
                    ts(e.received_at),
                    to_json(&e)?
                ],
            )
            .map_err(backend)?;
            ledger_entry(c, p.shortcode.as_str(), p.receipt.as_str())?
                .ok_or_else(|| StoreError::Backend("a payment just kept is gone".into()))
        })
        .await
    }

    async fn settle(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
        settlement: &Settlement,
    ) -> Result<(), StoreError> {
        let (code, receipt, settlement) = (
            shortcode.as_str().to_owned(),
            receipt.as_str().to_owned(),
            settlement.clone(),
        );
        self.run(move |c| {
            let mut e = ledger_entry(c, &code, &receipt)?
                .ok_or_else(|| StoreError::Backend("settling a payment never kept".into()))?;
            let unmatched = matches!(settlement, Settlement::Unmatched(_));
            e.settlement = settlement;
            c.execute(
                "UPDATE mpesa_payments SET unmatched = ?3, doc = ?4 WHERE shortcode = ?1 AND receipt = ?2",
                params![code, receipt, unmatched, to_json(&e)?],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn payment(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        let (code, receipt) = (shortcode.as_str().to_owned(), receipt.as_str().to_owned());
        self.run(move |c| ledger_entry(c, &code, &receipt)).await
    }

    async fn unmatched(&self, shortcode: &ShortCode) -> Result<Vec<LedgerEntry>, StoreError> {
        let code = shortcode.as_str().to_owned();
        self.run(move |c| {
            let mut q = c
                .prepare(
                    "SELECT doc FROM mpesa_payments WHERE shortcode = ?1 AND unmatched = 1
                     ORDER BY received_at, receipt",
                )
                .map_err(backend)?;
            let docs = q
                .query_map([code], |r| r.get::<_, String>(0))
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            docs.iter().map(|d| from_json(d)).collect()
        })
        .await
    }

    async fn forget_payer(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
    ) -> Result<(), StoreError> {
        let (code, receipt) = (shortcode.as_str().to_owned(), receipt.as_str().to_owned());
        self.run(move |c| forget_payer_in(c, &code, &receipt)).await
    }
}

#[async_trait]
impl CheckoutStore for SqliteStore {
    async fn put_checkout(&self, checkout: &Checkout) -> Result<(), StoreError> {
        let c = checkout.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO checkouts (id, started_at, doc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                params![c.id, ts(c.started_at), to_json(&c)?],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn update_pending_checkout(&self, checkout: &Checkout) -> Result<bool, StoreError> {
        let c = checkout.clone();
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE checkouts SET doc = ?2
                     WHERE id = ?1 AND json_extract(doc, '$.state.state') = 'pending'",
                    params![c.id, to_json(&c)?],
                )
                .map_err(backend)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn checkout(&self, id: &str) -> Result<Option<Checkout>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let doc: Option<String> = conn
                .query_row("SELECT doc FROM checkouts WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }
}

fn forget_payer_in(c: &Connection, shortcode: &str, receipt: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE mpesa_payments SET doc = json_remove(doc, '$.payment.payer')
         WHERE shortcode = ?1 AND receipt = ?2",
        [shortcode, receipt],
    )
    .map_err(backend)?;
    Ok(())
}

fn ledger_entry(
    c: &Connection,
    shortcode: &str,
    receipt: &str,
) -> Result<Option<LedgerEntry>, StoreError> {
    let doc: Option<String> = c
        .query_row(
            "SELECT doc FROM mpesa_payments WHERE shortcode = ?1 AND receipt = ?2",
            [shortcode, receipt],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    doc.map(|d| from_json(&d)).transpose()
}

/// Writes `p` unless it would bring a deactivated profile back (see `ProfileStore::put_profile`).
fn upsert_profile(c: &Connection, p: &Profile) -> Result<(), StoreError> {
    let written = c
        .execute(
            "INSERT INTO profiles (user_id, role, doc) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, doc = excluded.doc
             WHERE json_extract(profiles.doc, '$.deactivated_at') IS NULL
                OR json_extract(excluded.doc, '$.deactivated_at') IS NOT NULL",
            params![p.user_id.as_str(), p.role.as_str(), to_json(p)?],
        )
        .map_err(backend)?;
    if written == 0 {
        return Err(StoreError::Deactivated);
    }
    Ok(())
}

#[async_trait]
impl EventFeed for SqliteStore {
    async fn events_after(
        &self,
        position: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        self.feed_after(
            "SELECT position, doc FROM events WHERE position > ?1 ORDER BY position LIMIT ?2",
            position,
            limit,
        )
        .await
    }

    async fn alerts_after(
        &self,
        position: i64,
        limit: usize,
    ) -> Result<Vec<(i64, AccountAlert)>, StoreError> {
        self.feed_after(
            "SELECT position, doc FROM alerts WHERE position > ?1 ORDER BY position LIMIT ?2",
            position,
            limit,
        )
        .await
    }

    async fn load_position(&self, reader: &str) -> Result<i64, StoreError> {
        let reader = reader.to_owned();
        self.run(move |c| {
            let p: Option<i64> = c
                .query_row(
                    "SELECT position FROM feed_positions WHERE reader=?1",
                    [reader],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            Ok(p.unwrap_or(0))
        })
        .await
    }

    async fn save_position(&self, reader: &str, position: i64) -> Result<(), StoreError> {
        let reader = reader.to_owned();
        self.run(move |c| {
            c.execute(
                "INSERT INTO feed_positions (reader, position) VALUES (?1, ?2)
                 ON CONFLICT (reader) DO UPDATE SET position = excluded.position",
                params![reader, position],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kikao_core::domain::{book, BookingRequest, Kes, Party, SessionType, SessionTypeId};

    /// A data folder from before sessions carried their views opens with every session in its
    /// views, and keeps working.
    #[tokio::test]
    async fn an_older_data_folder_gets_its_views_filled_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        let now: DateTime<Utc> = "2030-01-07T06:00:00Z".parse().unwrap();
        let (s, _) = book(
            BookingRequest {
                client: Party {
                    id: UserId::parse("c1").unwrap(),
                    name: "Client One".into(),
                },
                psychologist: Party {
                    id: UserId::parse("p1").unwrap(),
                    name: "Dr One".into(),
                },
                session_type: SessionType {
                    id: SessionTypeId::parse("individual").unwrap(),
                    name: "Individual".into(),
                    duration_minutes: 60,
                    price_kes: Kes::new(2000).unwrap(),
                },
                starts_at: now + chrono::Duration::days(2),
                note: None,
            },
            now,
        );
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE sessions (id TEXT PRIMARY KEY, client_id TEXT NOT NULL,
                    psychologist_id TEXT NOT NULL, status TEXT NOT NULL, activity_at TEXT NOT NULL,
                    expires_at TEXT, version INTEGER NOT NULL, doc TEXT NOT NULL);",
            )
            .unwrap();
            c.execute(
                "INSERT INTO sessions VALUES (?1, 'c1', 'p1', 'pending_approval', ?2, NULL, 1, ?3)",
                params![s.id.to_string(), ts(s.updated_at), to_json(&s).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        for (user, role, view) in [
            ("p1", Role::Psychologist, View::Action),
            ("c1", Role::Client, View::Waiting),
        ] {
            let page = store
                .list_view(&UserId::parse(user).unwrap(), role, view, 10, None)
                .await
                .unwrap();
            assert_eq!(page.items, vec![s.clone()], "{user}");
        }
        // opened again, nothing is redone
        drop(store);
        assert!(SqliteStore::open(&path).is_ok());
    }
}
