//! The production session and profile store: one DynamoDB table.
//!
//! | item | pk | sk | indexed as |
//! |---|---|---|---|
//! | session | `SESSION#<id>` | `SESSION` | `by_client`, `by_psychologist`, `by_psychologist_status`, `due` (sparse, only while waiting on someone), `upcoming` (sparse, only while confirmed: the reminders read it), `client_views` and `psychologist_views` (each party's dashboard view, by start) |
//! | event | `SESSION#<id>` | `EVENT#<version, 10 digits>` | the stream (the notifier reads these) |
//! | slot cell | `SLOT#<psychologist>` | `<cell start>` | — (an overlap check is one range Query) |
//! | transaction code | `CODE#<code>` | `CODE` | — |
//! | user summary | `USER#<id>` | `SUMMARY` | — (the 304 path: one GetItem) |
//! | profile | `USER#<id>` | `PROFILE` | `by_role` (sparse, psychologists) |
//! | idempotency key | `IDEM#<user>#<key>` | `IDEM` | — (TTL after 24 h) |
//! | booking quota | `QUOTA#<client>` | `<window start>` | — (TTL after the window) |
//! | sent marker | `DELIVERY#<event or reminder>:<recipient>:<channel>` | `DELIVERY` | — (TTL after 90 days) |
//! | message sent, per person | `SENT#<person>` | `<time>#<marker key>` | — (written with the marker; TTL after 90 days) |
//! | audit entry | `AUDIT#<person>` | `<time>#<entry id>` | — (TTL after 400 days) |
//! | account alert | `USER#<id>` | `ALERT#<time>#<alert id>` | the stream (the notifier sends it; TTL after 90 days) |
//!
//! Every change is one `TransactWriteItems`: the session (conditional on its version), its
//! event, slot cells taken (conditional on absence) and freed, the code claim, both parties'
//! summaries, and for a booking its idempotency record and its quota counter. Which condition
//! failed says which 409 (or 429 for the quota).
//! Nothing here scans.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, SecondsFormat, Utc};
use kikao_core::domain::{
    expires_at, view_of, AccountAlert, AuditEntry, Change, Checkout, Event, Profile, Role, Session,
    SessionId, ShortCode, Status, TransactionCode, UserId, UserSummary, View,
};
use kikao_core::ports::{
    AuditLog, CheckoutStore, Claim, DeliveryLog, IdempotencyRecord, LedgerEntry, Page,
    PaymentLedger, ProfileStore, SentMessage, SentMessages, SessionReader, SessionWriter,
    Settlement, StoreError, ViewCursor,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

pub const BY_CLIENT: &str = "by_client";
pub const BY_PSYCHOLOGIST: &str = "by_psychologist";
pub const BY_PSYCHOLOGIST_STATUS: &str = "by_psychologist_status";
pub const DUE: &str = "due";
pub const BY_ROLE: &str = "by_role";
pub const UPCOMING: &str = "upcoming";
pub const CLIENT_VIEWS: &str = "client_views";
pub const PSYCHOLOGIST_VIEWS: &str = "psychologist_views";
/// The GSIs and their (partition, sort) key attributes; the SAM template declares the same.
pub const INDEXES: [(&str, &str, &str); 8] = [
    (BY_CLIENT, "gsi1pk", "gsi1sk"),
    (BY_PSYCHOLOGIST, "gsi2pk", "gsi2sk"),
    (BY_PSYCHOLOGIST_STATUS, "gsi3pk", "gsi3sk"),
    (DUE, "due_pk", "due_sk"),
    (BY_ROLE, "role_pk", "role_sk"),
    (UPCOMING, "upcoming_pk", "upcoming_sk"),
    (CLIENT_VIEWS, "cview_pk", "cview_sk"),
    (PSYCHOLOGIST_VIEWS, "pview_pk", "pview_sk"),
];
use kikao_core::retention::{booking_expires, AUDIT_DAYS, DELIVERY_DAYS, IDEMPOTENCY_HOURS};

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn sdk_error<E: std::error::Error + 'static>(
    e: aws_sdk_dynamodb::error::SdkError<E>,
) -> StoreError {
    StoreError::Backend(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn doc<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    let item: Item = serde_dynamo::to_item(v).map_err(backend)?;
    Ok(AttributeValue::M(item))
}

fn from_doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    match item.get("doc") {
        Some(AttributeValue::M(m)) => serde_dynamo::from_item(m.clone()).map_err(backend),
        _ => Err(backend("item without a doc")),
    }
}

fn session_pk(id: SessionId) -> String {
    format!("SESSION#{id}")
}

fn activity(s: &Session) -> String {
    format!("{}#{}", ts(s.updated_at), s.id)
}

/// A party's dashboard view as an index partition: `CLIENT#<id>#<view>` or `PSY#<id>#<view>`.
fn view_pk(role: Role, user: &UserId, view: View) -> String {
    let party = match role {
        Role::Client => "CLIENT",
        Role::Psychologist => "PSY",
    };
    format!("{party}#{user}#{}", view.as_str())
}

/// A session's place in a view: by start, then id (`ViewCursor`).
fn view_sk(starts_at: DateTime<Utc>, id: SessionId) -> String {
    format!("{}#{}", ts(starts_at), id)
}

/// A session as its table item (with its index keys). Public for bulk loading in benchmarks.
pub fn session_item(sn: &Session) -> Result<Item, StoreError> {
    let mut item = key(session_pk(sn.id), "SESSION");
    let act = activity(sn);
    item.extend([
        ("kind".to_owned(), s("session")),
        ("version".to_owned(), n(sn.version)),
        ("status".to_owned(), s(sn.status.as_str())),
        ("gsi1pk".to_owned(), s(format!("CLIENT#{}", sn.client.id))),
        ("gsi1sk".to_owned(), s(act.clone())),
        (
            "gsi2pk".to_owned(),
            s(format!("PSY#{}", sn.psychologist.id)),
        ),
        ("gsi2sk".to_owned(), s(act.clone())),
        (
            "gsi3pk".to_owned(),
            s(format!("PSY#{}#{}", sn.psychologist.id, sn.status.as_str())),
        ),
        ("gsi3sk".to_owned(), s(act)),
        (
            "cview_pk".to_owned(),
            s(view_pk(
                Role::Client,
                &sn.client.id,
                view_of(sn, Role::Client),
            )),
        ),
        ("cview_sk".to_owned(), s(view_sk(sn.starts_at, sn.id))),
        (
            "pview_pk".to_owned(),
            s(view_pk(
                Role::Psychologist,
                &sn.psychologist.id,
                view_of(sn, Role::Psychologist),
            )),
        ),
        ("pview_sk".to_owned(), s(view_sk(sn.starts_at, sn.id))),
        ("doc".to_owned(), doc(sn)?),
        // the practice's records go when their retention ends (`BOOKING_DAYS`)
        ("ttl".to_owned(), n(booking_expires(sn).timestamp())),
    ]);
    if let Some(at) = expires_at(sn) {
        item.insert("due_pk".to_owned(), s("DUE"));
        item.insert("due_sk".to_owned(), s(format!("{}#{}", ts(at), sn.id)));
    }
    if sn.status == Status::Confirmed {
        item.insert("upcoming_pk".to_owned(), s("UPCOMING"));
        item.insert(
            "upcoming_sk".to_owned(),
            s(format!("{}#{}", ts(sn.starts_at), sn.id)),
        );
    }
    Ok(item)
}

/// Event items are what the stream notifier consumes; `kind` tells them apart.
pub fn event_item(e: &Event) -> Result<Item, StoreError> {
    let mut item = key(
        session_pk(e.session_id),
        &format!("EVENT#{:010}", e.version),
    );
    item.insert("kind".to_owned(), s("event"));
    item.insert("doc".to_owned(), doc(e)?);
    Ok(item)
}

/// A held 15-minute cell: one partition per psychologist, sorted by time, so an overlap check
/// is a range Query that reads only the cells actually held.
fn cell_key(psychologist: &UserId, start: DateTime<Utc>) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(format!("SLOT#{psychologist}"))),
        ("sk".to_owned(), s(ts(start))),
    ])
}

/// Which part of a transaction an item is, to name the 409 when its condition fails.
#[derive(Clone, Copy)]
enum Part {
    Session,
    Event,
    Hold,
    Release,
    Code,
    Summary,
    Idempotency,
    /// Refused once full; free again at the window's end.
    Quota(DateTime<Utc>),
}

fn put(
    item: Item,
    condition: &str,
    values: &[(&str, AttributeValue)],
    table: &str,
) -> Result<TransactWriteItem, StoreError> {
    let mut p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (k, v) in values {
        p = p.expression_attribute_values(*k, v.clone());
    }
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(backend)?)
        .build())
}

/// The LastEvaluatedKey of a GSI query as an opaque, URL-safe cursor.
fn encode_cursor(k: &Item) -> String {
    let plain: HashMap<&str, &str> = k
        .iter()
        .filter_map(|(name, v)| v.as_s().ok().map(|s| (name.as_str(), s.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).expect("strings serialize"))
}

fn decode_cursor(c: &str, allowed: &[&str]) -> Result<Item, StoreError> {
    let raw = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| StoreError::BadCursor)?;
    let plain: HashMap<String, String> =
        serde_json::from_slice(&raw).map_err(|_| StoreError::BadCursor)?;
    if plain.is_empty() || plain.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(StoreError::BadCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}

/// The key of `item` as a query on `index` would report it.
fn position_of(item: &Item, index: &str) -> Item {
    let (_, ipk, isk) = INDEXES
        .iter()
        .find(|(name, _, _)| *name == index)
        .expect("known index");
    ["pk", "sk", ipk, isk]
        .iter()
        .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

/// Every page of `query`, each item's document decoded.
async fn all_docs<T: DeserializeOwned>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<T>, StoreError> {
    let items = query
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    items
        .into_iter()
        .map(|i| from_doc(&i.map_err(sdk_error)?))
        .collect()
}

#[derive(Serialize, Deserialize)]
struct CellOwner {
    session_id: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }

    /// Creates the table (with its indexes, stream and TTL) if it does not exist: for the dev
    /// server against moto and for tests. In AWS the SAM template owns the table. Returns
    /// whether it was created.
    #[cfg(feature = "dev")]
    pub async fn ensure_table(&self) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
            TimeToLiveSpecification,
        };
        if self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            return Ok(false);
        }
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(backend)
        };
        let ks = |name: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
                .map_err(backend)
        };
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(ks("pk", KeyType::Hash)?)
            .key_schema(ks("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .map_err(backend)?,
            );
        for (name, ipk, isk) in INDEXES {
            req = req
                .attribute_definitions(attr(ipk)?)
                .attribute_definitions(attr(isk)?)
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(name)
                        .key_schema(ks(ipk, KeyType::Hash)?)
                        .key_schema(ks(isk, KeyType::Range)?)
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .map_err(backend)?,
                );
        }
        req.send().await.map_err(sdk_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(true)
    }

    fn transaction(
        &self,
        change: &Change,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<(Vec<TransactWriteItem>, Vec<Part>), StoreError> {
        let t = &self.table;
        let sn = &change.session;
        let sid = s(sn.id.to_string());
        let mut items = Vec::new();
        let mut parts = Vec::new();
        let mut push = |item: TransactWriteItem, part: Part| {
            items.push(item);
            parts.push(part);
        };
        push(
            match change.expected_version() {
                Some(v) => put(session_item(sn)?, "version = :v", &[(":v", n(v))], t)?,
                None => put(session_item(sn)?, "attribute_not_exists(pk)", &[], t)?,
            },
            Part::Session,
        );
        // the history and the code claim go with the booking
        let expires = n(booking_expires(sn).timestamp());
        let mut event = event_item(&change.event)?;
        event.insert("ttl".to_owned(), expires.clone());
        push(put(event, "attribute_not_exists(pk)", &[], t)?, Part::Event);
        for c in &change.release {
            let d = Delete::builder()
                .table_name(t)
                .set_key(Some(cell_key(&c.psychologist, c.start)))
                .condition_expression("attribute_not_exists(pk) OR session_id = :sid")
                .expression_attribute_values(":sid", sid.clone())
                .build()
                .map_err(backend)?;
            push(
                TransactWriteItem::builder().delete(d).build(),
                Part::Release,
            );
        }
        for c in &change.hold {
            let mut item = cell_key(&c.psychologist, c.start);
            item.insert("kind".to_owned(), s("slot"));
            item.insert("session_id".to_owned(), sid.clone());
            push(put(item, "attribute_not_exists(pk)", &[], t)?, Part::Hold);
        }
        if let Some(code) = &change.claim_code {
            let mut item = key(format!("CODE#{code}"), "CODE");
            item.insert("kind".to_owned(), s("code"));
            item.insert("session_id".to_owned(), sid.clone());
            item.insert("ttl".to_owned(), expires.clone());
            push(
                put(
                    item,
                    "attribute_not_exists(pk) OR session_id = :sid",
                    &[(":sid", sid.clone())],
                    t,
                )?,
                Part::Code,
            );
        }
        for tally in &change.tallies {
            // every name aliased: `counter` and others are DynamoDB reserved words
            let mut adds = vec!["#counter :one".to_owned(), "#awaiting :aw".to_owned()];
            let mut u = Update::builder()
                .table_name(t)
                .set_key(Some(key(format!("USER#{}", tally.user), "SUMMARY")))
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_names("#counter", "counter")
                .expression_attribute_names("#awaiting", "awaiting")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":aw", n(tally.awaiting_delta))
                .expression_attribute_values(":kind", s("summary"));
            for (i, (status, d)) in tally.status_deltas.iter().enumerate() {
                adds.push(format!("#n{i} :d{i}"));
                u = u
                    .expression_attribute_names(format!("#n{i}"), format!("n_{}", status.as_str()))
                    .expression_attribute_values(format!(":d{i}"), n(d));
            }
            let u = u
                .update_expression(format!("SET #kind = :kind ADD {}", adds.join(", ")))
                .build()
                .map_err(backend)?;
            push(
                TransactWriteItem::builder().update(u).build(),
                Part::Summary,
            );
        }
        if let Some(q) = &change.quota {
            let u = Update::builder()
                .table_name(t)
                .set_key(Some(key(format!("QUOTA#{}", q.user), &ts(q.window_start))))
                .update_expression("SET #kind = :kind, #ttl = :ttl ADD #count :one")
                .condition_expression("attribute_not_exists(#count) OR #count < :max")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":kind", s("quota"))
                .expression_attribute_values(":ttl", n(q.window_end.timestamp() + 3600))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(q.max))
                .build()
                .map_err(backend)?;
            push(
                TransactWriteItem::builder().update(u).build(),
                Part::Quota(q.window_end),
            );
        }
        if let Some(rec) = idem {
            let mut item = key(format!("IDEM#{}#{}", rec.user, rec.key), "IDEM");
            item.insert("kind".to_owned(), s("idempotency"));
            item.insert("doc".to_owned(), doc(rec)?);
            item.insert(
                "ttl".to_owned(),
                n(rec.created_at.timestamp() + IDEMPOTENCY_HOURS * 3600),
            );
            push(
                put(item, "attribute_not_exists(pk)", &[], t)?,
                Part::Idempotency,
            );
        }
        Ok((items, parts))
    }

    async fn query_page(
        &self,
        index: &str,
        key_attr: &str,
        key_value: String,
        filter_status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError> {
        let (_, ipk, isk) = INDEXES
            .iter()
            .find(|(name, _, _)| *name == index)
            .expect("known index");
        let start = cursor
            .map(|c| decode_cursor(c, &["pk", "sk", ipk, isk]))
            .transpose()?;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{key_attr} = :p"))
            .expression_attribute_values(":p", s(key_value))
            .scan_index_forward(false)
            .limit(limit as i32 + 1)
            .set_exclusive_start_key(start);
        if let Some(st) = filter_status {
            q = q
                .filter_expression("#st = :st")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":st", s(st.as_str()));
        }
        let out = q.send().await.map_err(sdk_error)?;
        let mut raw = out.items.unwrap_or_default();
        let next_cursor = if raw.len() > limit {
            raw.truncate(limit);
            raw.last().map(|i| encode_cursor(&position_of(i, index)))
        } else {
            // fewer than asked can still leave more behind when a filter dropped some
            out.last_evaluated_key.as_ref().map(encode_cursor)
        };
        let items = raw.iter().map(from_doc).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Puts `item` if `condition` holds (`None`: always), with the names and values the
    /// condition uses. `false`: it did not hold and nothing was written — the one place a
    /// conditional put's refusal is told from a failure.
    async fn put_if(
        &self,
        item: Item,
        condition: Option<String>,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition);
        for (k, v) in names {
            put = put.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            put = put.expression_attribute_values(*k, v.clone());
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Puts `item` unless its key is taken: `false` when it was.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        self.put_if(item, Some("attribute_not_exists(pk)".to_owned()), &[], &[])
            .await
    }

    async fn get_item(&self, k: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }
}

#[async_trait]
impl SessionReader for DynamoStore {
    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.get_item(key(session_pk(id), "SESSION"))
            .await?
            .map(|i| from_doc(&i))
            .transpose()
    }

    async fn history(&self, id: SessionId) -> Result<Vec<Event>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND begins_with(sk, :e)")
            .expression_attribute_values(":p", s(session_pk(id)))
            .expression_attribute_values(":e", s("EVENT#"))
            .consistent_read(true);
        all_docs(q).await
    }

    async fn list(
        &self,
        user: &UserId,
        role: Role,
        status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError> {
        let limit = limit.clamp(1, 100);
        match (role, status) {
            (Role::Psychologist, Some(st)) => {
                self.query_page(
                    BY_PSYCHOLOGIST_STATUS,
                    "gsi3pk",
                    format!("PSY#{user}#{}", st.as_str()),
                    None,
                    limit,
                    cursor,
                )
                .await
            }
            (Role::Psychologist, None) => {
                self.query_page(
                    BY_PSYCHOLOGIST,
                    "gsi2pk",
                    format!("PSY#{user}"),
                    None,
                    limit,
                    cursor,
                )
                .await
            }
            (Role::Client, st) => {
                self.query_page(
                    BY_CLIENT,
                    "gsi1pk",
                    format!("CLIENT#{user}"),
                    st,
                    limit,
                    cursor,
                )
                .await
            }
        }
    }

    /// One Query of the party's views index: the view's partition, from just past the cursor.
    async fn list_view(
        &self,
        user: &UserId,
        role: Role,
        view: View,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, StoreError> {
        let limit = limit.clamp(1, 100);
        let after = cursor
            .map(|c| ViewCursor::decode(c, user, view))
            .transpose()?;
        let (index, pk, sk) = match role {
            Role::Client => (CLIENT_VIEWS, "cview_pk", "cview_sk"),
            Role::Psychologist => (PSYCHOLOGIST_VIEWS, "pview_pk", "pview_sk"),
        };
        let forward = !view.newest_first();
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_values(":p", s(view_pk(role, user, view)))
            .scan_index_forward(forward)
            .limit(limit as i32 + 1);
        q = match after {
            Some(a) => q
                .key_condition_expression(format!(
                    "{pk} = :p AND {sk} {} :after",
                    if forward { ">" } else { "<" }
                ))
                .expression_attribute_values(":after", s(view_sk(a.starts_at, a.id))),
            None => q.key_condition_expression(format!("{pk} = :p")),
        };
        let out = q.send().await.map_err(sdk_error)?;
        let items: Vec<Session> = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_doc)
            .collect::<Result<_, _>>()?;
        Ok(Page::from_one_more(items, limit, |s| {
            ViewCursor::after(s).encode(user, view)
        }))
    }

    /// One Query of the party's activity index, from `since` on.
    async fn changed_since(
        &self,
        user: &UserId,
        role: Role,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let (index, pk, sk, party) = match role {
            Role::Client => (BY_CLIENT, "gsi1pk", "gsi1sk", "CLIENT"),
            Role::Psychologist => (BY_PSYCHOLOGIST, "gsi2pk", "gsi2sk", "PSY"),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{pk} = :p AND {sk} >= :since"))
            .expression_attribute_values(":p", s(format!("{party}#{user}")))
            .expression_attribute_values(":since", s(ts(since)))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 100) as i32)
            .send()
            .await
            .map_err(sdk_error)?;
        out.items.unwrap_or_default().iter().map(from_doc).collect()
    }

    async fn summary(&self, user: &UserId) -> Result<UserSummary, StoreError> {
        let Some(item) = self
            .get_item(key(format!("USER#{user}"), "SUMMARY"))
            .await?
        else {
            return Ok(UserSummary::default());
        };
        let num = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let mut summary = UserSummary {
            counter: num("counter").max(0) as u64,
            awaiting: num("awaiting").max(0) as u64,
            ..Default::default()
        };
        for st in Status::ALL {
            let c = num(&format!("n_{}", st.as_str()));
            if c > 0 {
                summary.counts.insert(st, c as u64);
            }
        }
        Ok(summary)
    }

    async fn holds(
        &self,
        psychologist: &UserId,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, SessionId)>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":p", s(format!("SLOT#{psychologist}")))
            .expression_attribute_values(":a", s(ts(first)))
            .expression_attribute_values(":b", s(ts(last)))
            // eventually consistent, at half the price: what is read here words a refusal
            // early, offers free times, keeps the break between sessions and warns of an
            // overlap; the cells' conditional writes (`transaction`) are what keep two sessions
            // from holding one time (the break was never proof against two requests at once)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut holds = Vec::new();
        for item in items {
            let item = item.map_err(sdk_error)?;
            let cell = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let owner: CellOwner = serde_dynamo::from_item(item).map_err(backend)?;
            if let (Some(cell), Some(id)) = (cell, SessionId::parse(&owner.session_id)) {
                holds.push((cell.with_timezone(&Utc), id));
            }
        }
        Ok(holds)
    }

    async fn idempotent_booking(
        &self,
        user: &UserId,
        k: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_item(key(format!("IDEM#{user}#{k}"), "IDEM"))
            .await?
            .map(|i| from_doc(&i))
            .transpose()
    }

    async fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        // due_sk is "<deadline>#<id>"; '$' sorts right after '#', so this is "deadline <= now"
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE)
            .key_condition_expression("due_pk = :d AND due_sk < :bound")
            .expression_attribute_values(":d", s("DUE"))
            .expression_attribute_values(":bound", s(format!("{}$", ts(now))))
            .limit(limit as i32)
            .send()
            .await
            .map_err(sdk_error)?;
        out.items.unwrap_or_default().iter().map(from_doc).collect()
    }

    async fn reminder_candidates(&self, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        use kikao_core::notifications::{PAYMENT_REMINDER_HOURS, SESSION_REMINDER_HOURS};
        // both keys are "<time>#<id>": "$" sorts right after "#", so "<= bound" includes the
        // bound's own time and a bare time excludes it; every page is read
        let range = |index: &str, pk: &str, pk_value: &str, sk: &str, hours: i64| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("{pk} = :p AND {sk} BETWEEN :a AND :b"))
                .expression_attribute_values(":p", s(pk_value))
                .expression_attribute_values(":a", s(format!("{}$", ts(now))))
                .expression_attribute_values(
                    ":b",
                    s(format!("{}$", ts(now + chrono::Duration::hours(hours)))),
                )
        };
        let mut out: Vec<Session> = all_docs(range(
            UPCOMING,
            "upcoming_pk",
            "UPCOMING",
            "upcoming_sk",
            SESSION_REMINDER_HOURS,
        ))
        .await?;
        // the due index also holds unanswered requests (due at their start)
        let deadlines: Vec<Session> = all_docs(range(
            DUE,
            "due_pk",
            "DUE",
            "due_sk",
            PAYMENT_REMINDER_HOURS,
        ))
        .await?;
        out.extend(
            deadlines
                .into_iter()
                .filter(|s| s.status == Status::Approved),
        );
        Ok(out)
    }
}

#[async_trait]
impl DeliveryLog for DynamoStore {
    async fn claim(&self, k: &str, at: DateTime<Utc>) -> Result<Claim, StoreError> {
        let mut item = key(format!("DELIVERY#{k}"), "DELIVERY");
        item.insert("state".to_owned(), s("sending"));
        item.insert("at".to_owned(), s(ts(at)));
        item.insert(
            "ttl".to_owned(),
            n((at + chrono::Duration::days(DELIVERY_DAYS)).timestamp() as u64),
        );
        if self.put_new(item).await? {
            return Ok(Claim::Fresh);
        }
        let state = self
            .get_item(key(format!("DELIVERY#{k}"), "DELIVERY"))
            .await?
            .and_then(|i| i.get("state").and_then(|v| v.as_s().ok()).cloned());
        Ok(match state.as_deref() {
            Some("sent") => Claim::Sent,
            _ => Claim::InFlight,
        })
    }

    async fn settle(&self, k: &str, sent: Option<&SentMessage>) -> Result<(), StoreError> {
        let pk = key(format!("DELIVERY#{k}"), "DELIVERY");
        if let Some(m) = sent {
            // the marker and the person's record of it, together
            let marker = Update::builder()
                .table_name(&self.table)
                .set_key(Some(pk))
                .update_expression("SET #s = :sent")
                .expression_attribute_names("#s", "state")
                .expression_attribute_values(":sent", s("sent"))
                .build()
                .map_err(backend)?;
            let record = Put::builder()
                .table_name(&self.table)
                .set_item(Some(sent_item(m)?))
                .build()
                .map_err(backend)?;
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(marker).build())
                .transact_items(TransactWriteItem::builder().put(record).build())
                .send()
                .await
                .map_err(sdk_error)?;
        } else {
            use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
            let released = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(pk))
                .condition_expression("#s = :sending")
                .expression_attribute_names("#s", "state")
                .expression_attribute_values(":sending", s("sending"))
                .send()
                .await;
            match released {
                Ok(_) => {}
                // already settled by another attempt: nothing to release
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(DeleteItemError::ConditionalCheckFailedException(_))
                    ) => {}
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl SessionWriter for DynamoStore {
    async fn write(
        &self,
        change: &Change,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let (items, parts) = self.transaction(change, idempotency)?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(tc)) =
            err.as_service_error()
        {
            let reasons = tc.cancellation_reasons();
            let failed = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"));
            if let Some(i) = failed {
                return Err(match parts.get(i) {
                    Some(Part::Session | Part::Event) => StoreError::VersionConflict,
                    Some(Part::Hold) => StoreError::SlotTaken,
                    Some(Part::Code) => StoreError::DuplicateCode,
                    Some(Part::Idempotency) => StoreError::DuplicateIdempotencyKey,
                    Some(Part::Quota(retry_at)) => StoreError::RateLimited {
                        retry_at: *retry_at,
                    },
                    Some(Part::Release | Part::Summary) | None => {
                        backend("an unexpected condition failed")
                    }
                });
            }
            // another transaction touched the same items at the same moment: one wins
            if reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
                || reasons.is_empty()
            {
                return Err(StoreError::VersionConflict);
            }
        }
        if let Some(TransactWriteItemsError::TransactionInProgressException(_)) =
            err.as_service_error()
        {
            return Err(StoreError::VersionConflict);
        }
        Err(sdk_error(err))
    }

    /// One TransactWriteItems: the session's document (while at its version) and each event's,
    /// replaced in place. The stream sees MODIFY records, which the notifier ignores. A history
    /// longer than a transaction holds (100 items) goes on in further ones, each event a plain
    /// overwrite that an erasure run again would repeat.
    async fn anonymise(&self, session: &Session, events: &[Event]) -> Result<(), StoreError> {
        let set_doc =
            |k: Item, d: AttributeValue, condition: &str, extra: Option<AttributeValue>| {
                let mut u = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(k))
                    .update_expression("SET doc = :d")
                    .condition_expression(condition)
                    .expression_attribute_values(":d", d);
                if let Some(v) = extra {
                    u = u.expression_attribute_values(":v", v);
                }
                Ok::<_, StoreError>(
                    TransactWriteItem::builder()
                        .update(u.build().map_err(backend)?)
                        .build(),
                )
            };
        let mut items = vec![set_doc(
            key(session_pk(session.id), "SESSION"),
            doc(session)?,
            "version = :v",
            Some(n(session.version)),
        )?];
        for e in events {
            items.push(set_doc(
                key(
                    session_pk(e.session_id),
                    &format!("EVENT#{:010}", e.version),
                ),
                doc(e)?,
                "attribute_exists(pk)",
                None,
            )?);
        }
        let mut first = true;
        while !items.is_empty() {
            let rest = items.split_off(items.len().min(100));
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(std::mem::replace(&mut items, rest)))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) if first && cancelled_by_condition(&e) => {
                    return Err(StoreError::VersionConflict)
                }
                Err(e) => return Err(sdk_error(e)),
            }
            first = false;
        }
        Ok(())
    }
}

/// Whether a transaction was cancelled because one of its conditions failed.
fn cancelled_by_condition<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    matches!(
        e.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(tc))
            if tc.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
    )
}

/// An audit entry: one partition per person it concerns, in time order, gone by TTL after
/// `AUDIT_DAYS`.
fn audit_item(e: &AuditEntry) -> Result<Item, StoreError> {
    let mut item = key(
        format!("AUDIT#{}", e.subject),
        &format!("{}#{}", ts(e.at), e.id),
    );
    item.insert("kind".to_owned(), s("audit"));
    item.insert("doc".to_owned(), doc(e)?);
    item.insert(
        "ttl".to_owned(),
        n((e.at + chrono::Duration::days(AUDIT_DAYS)).timestamp() as u64),
    );
    Ok(item)
}

#[async_trait]
impl AuditLog for DynamoStore {
    /// A conditional put: an entry is written once and never over another.
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        match self.put_new(audit_item(entry)?).await? {
            true => Ok(()),
            false => Err(backend("an audit entry is never written over another")),
        }
    }

    async fn about(&self, subject: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(format!("AUDIT#{subject}")));
        all_docs(q).await
    }
}

/// Payments M-Pesa reported into one Till or Paybill share a partition, `MPESA#<shortcode>`:
/// each kept at `PAY#<receipt>` (which makes a retried report find the first), and while
/// unmatched also at `UNMATCHED#<received>#<receipt>`, so the Unmatched list is one query of
/// just those. Both go by TTL as bookings do.
fn ledger_pk(shortcode: &ShortCode) -> String {
    format!("MPESA#{shortcode}")
}

fn ledger_items(e: &LedgerEntry) -> Result<(Item, Item), StoreError> {
    let p = &e.payment;
    let expires = n(
        (e.received_at + chrono::Duration::days(kikao_core::retention::BOOKING_DAYS))
            .timestamp()
            .max(0),
    );
    let mut entry = key(ledger_pk(&p.shortcode), &format!("PAY#{}", p.receipt));
    entry.insert("kind".to_owned(), s("mpesa_payment"));
    entry.insert("doc".to_owned(), doc(e)?);
    entry.insert("ttl".to_owned(), expires);
    let mut marker = entry.clone();
    marker.insert(
        "sk".to_owned(),
        s(format!("UNMATCHED#{}#{}", ts(e.received_at), p.receipt)),
    );
    Ok((entry, marker))
}

#[async_trait]
impl PaymentLedger for DynamoStore {
    async fn record(&self, entry: &LedgerEntry) -> Result<LedgerEntry, StoreError> {
        let (item, _) = ledger_items(entry)?;
        if self.put_new(item).await? {
            return Ok(entry.clone());
        }
        self.payment(&entry.payment.shortcode, &entry.payment.receipt)
            .await?
            .ok_or_else(|| backend("a payment kept before is gone"))
    }

    async fn settle(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
        settlement: &Settlement,
    ) -> Result<(), StoreError> {
        let mut e = self
            .payment(shortcode, receipt)
            .await?
            .ok_or_else(|| backend("settling a payment never kept"))?;
        e.settlement = settlement.clone();
        let (entry, marker) = ledger_items(&e)?;
        let t = &self.table;
        let marker_write = if matches!(settlement, Settlement::Unmatched(_)) {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(t)
                        .set_item(Some(marker))
                        .build()
                        .map_err(backend)?,
                )
                .build()
        } else {
            let k = key(
                ledger_pk(shortcode),
                &format!("UNMATCHED#{}#{}", ts(e.received_at), receipt),
            );
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(t)
                        .set_key(Some(k))
                        .build()
                        .map_err(backend)?,
                )
                .build()
        };
        self.client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(t)
                            .set_item(Some(entry))
                            .build()
                            .map_err(backend)?,
                    )
                    .build(),
            )
            .transact_items(marker_write)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn payment(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        self.get_item(key(ledger_pk(shortcode), &format!("PAY#{receipt}")))
            .await?
            .map(|i| from_doc(&i))
            .transpose()
    }

    async fn unmatched(&self, shortcode: &ShortCode) -> Result<Vec<LedgerEntry>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND begins_with(sk, :u)")
            .expression_attribute_values(":p", s(ledger_pk(shortcode)))
            .expression_attribute_values(":u", s("UNMATCHED#"));
        all_docs(q).await
    }

    async fn forget_payer(
        &self,
        shortcode: &ShortCode,
        receipt: &TransactionCode,
    ) -> Result<(), StoreError> {
        let Some(mut e) = self.payment(shortcode, receipt).await? else {
            return Ok(());
        };
        e.payment.payer = None;
        let (entry, marker) = ledger_items(&e)?;
        for item in std::iter::once(entry)
            .chain(matches!(e.settlement, Settlement::Unmatched(_)).then_some(marker))
        {
            self.put_if(item, None, &[], &[]).await?;
        }
        Ok(())
    }
}

/// A payment request, at `CHECKOUT#<CheckoutRequestID>`, gone by TTL after `DELIVERY_DAYS`
/// (what became of it is on the booking and the payment record by then).
fn checkout_item(checkout: &Checkout) -> Result<Item, StoreError> {
    let mut item = key(format!("CHECKOUT#{}", checkout.id), "CHECKOUT");
    item.insert("kind".to_owned(), s("checkout"));
    item.insert("doc".to_owned(), doc(checkout)?);
    item.insert(
        "ttl".to_owned(),
        n(
            (checkout.started_at + chrono::Duration::days(DELIVERY_DAYS))
                .timestamp()
                .max(0),
        ),
    );
    Ok(item)
}

#[async_trait]
impl CheckoutStore for DynamoStore {
    async fn put_checkout(&self, checkout: &Checkout) -> Result<(), StoreError> {
        self.put_if(checkout_item(checkout)?, None, &[], &[])
            .await
            .map(drop)
    }

    async fn update_pending_checkout(&self, checkout: &Checkout) -> Result<bool, StoreError> {
        self.put_if(
            checkout_item(checkout)?,
            Some("#doc.#state.#state = :pending".to_owned()),
            &[("#doc", "doc"), ("#state", "state")],
            &[(":pending", s("pending"))],
        )
        .await
    }

    async fn checkout(&self, id: &str) -> Result<Option<Checkout>, StoreError> {
        self.get_item(key(format!("CHECKOUT#{id}"), "CHECKOUT"))
            .await?
            .map(|i| from_doc(&i))
            .transpose()
    }
}

/// A message sent to a person: one partition per person, in time order, gone by TTL with the
/// sent markers after `DELIVERY_DAYS`.
fn sent_item(m: &SentMessage) -> Result<Item, StoreError> {
    let mut item = key(
        format!("SENT#{}", m.recipient),
        &format!("{}#{}", ts(m.at), m.key),
    );
    item.insert("kind".to_owned(), s("sent"));
    item.insert("doc".to_owned(), doc(m)?);
    item.insert(
        "ttl".to_owned(),
        n((m.at + chrono::Duration::days(DELIVERY_DAYS)).timestamp() as u64),
    );
    Ok(item)
}

#[async_trait]
impl SentMessages for DynamoStore {
    async fn sent_to(&self, person: &UserId) -> Result<Vec<SentMessage>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(format!("SENT#{person}")));
        all_docs(q).await
    }

    async fn forget_sent_to(&self, person: &UserId) -> Result<(), StoreError> {
        let keys = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(format!("SENT#{person}")))
            .projection_expression("pk, sk")
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        for k in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(k.map_err(sdk_error)?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }
}

/// The condition of a profile write: an active profile never lands on a deactivated one.
fn stays_deactivated(p: &Profile) -> Option<String> {
    p.active()
        .then(|| "attribute_not_exists(deactivated_at)".to_owned())
}

fn profile_item(p: &Profile) -> Result<Item, StoreError> {
    let mut item = key(format!("USER#{}", p.user_id), "PROFILE");
    item.insert("kind".to_owned(), s("profile"));
    item.insert("doc".to_owned(), doc(p)?);
    // outside the document, so a write's condition can see it (`ProfileStore::put_profile`)
    if let Some(at) = p.deactivated_at {
        item.insert("deactivated_at".to_owned(), s(ts(at)));
    }
    if p.role == Role::Psychologist {
        item.insert("role_pk".to_owned(), s("ROLE#psychologist"));
        item.insert("role_sk".to_owned(), s(p.user_id.as_str()));
    }
    Ok(item)
}

#[async_trait]
impl ProfileStore for DynamoStore {
    async fn get_profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        self.get_item(key(format!("USER#{user}"), "PROFILE"))
            .await?
            .map(|i| from_doc(&i))
            .transpose()
    }

    async fn put_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        let item = profile_item(profile)?;
        match self
            .put_if(item, stays_deactivated(profile), &[], &[])
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::Deactivated),
        }
    }

    async fn create_profile_if_absent(&self, profile: &Profile) -> Result<Profile, StoreError> {
        if self.put_new(profile_item(profile)?).await? {
            return Ok(profile.clone());
        }
        self.get_profile(&profile.user_id)
            .await?
            .ok_or_else(|| backend("profile vanished"))
    }

    /// The profile, the alert item and the audit entry in one TransactWriteItems: the stream
    /// hands the alert to the notifier only if the change itself was written.
    async fn put_profile_with_alert(
        &self,
        profile: &Profile,
        alert: &AccountAlert,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut item = key(
            format!("USER#{}", alert.user),
            &format!("ALERT#{}#{}", ts(alert.at), alert.id),
        );
        item.insert("kind".to_owned(), s("alert"));
        item.insert("doc".to_owned(), doc(alert)?);
        item.insert(
            "ttl".to_owned(),
            n((alert.at + chrono::Duration::days(DELIVERY_DAYS)).timestamp() as u64),
        );
        let put = |item, condition| -> Result<TransactWriteItem, StoreError> {
            Ok(TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .set_condition_expression(condition)
                        .build()
                        .map_err(backend)?,
                )
                .build())
        };
        let r = self
            .client
            .transact_write_items()
            .transact_items(put(profile_item(profile)?, stays_deactivated(profile))?)
            .transact_items(put(item, None)?)
            .transact_items(put(
                audit_item(audit)?,
                Some("attribute_not_exists(pk)".to_owned()),
            )?)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if cancelled_by_condition(&e) => Err(StoreError::Deactivated),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn list_psychologists(&self) -> Result<Vec<Profile>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_ROLE)
            .key_condition_expression("role_pk = :r")
            .expression_attribute_values(":r", s("ROLE#psychologist"));
        all_docs(q).await
    }
}
