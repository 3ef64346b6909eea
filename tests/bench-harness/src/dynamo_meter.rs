//! Counts what the store asks of DynamoDB: calls, the size of the items it reads, and the read
//! capacity those reads cost. moto reports a flat capacity figure, so capacity is also computed
//! from item sizes by DynamoDB's rule: one unit per 4 KB, rounded up per item for
//! GetItem/BatchGetItem and over the whole result for Query, as if every read were strongly
//! consistent (`rcu`), and as DynamoDB prices them, an eventually consistent read (every GSI
//! Query, and any read without `ConsistentRead`) at half (`rcu_priced`).

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub calls: u64,
    pub bytes: u64,
    pub rcu: f64,
    /// `rcu` with eventually consistent reads at half.
    pub rcu_priced: f64,
    pub moto_rcu: f64,
}

#[derive(Debug, Default, Clone)]
pub struct Meter(Arc<Mutex<Usage>>);

impl Meter {
    pub fn reset(&self) {
        *self.0.lock().unwrap() = Usage::default();
    }
    pub fn take(&self) -> Usage {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// DynamoDB's item size: attribute names plus values (numbers roughly one byte per two digits).
fn size(v: &Value) -> u64 {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (t, inner) = m.iter().next().unwrap();
            match (t.as_str(), inner) {
                ("S" | "B", Value::String(s)) => s.len() as u64,
                ("N", Value::String(s)) => (s.len() as u64).div_ceil(2) + 1,
                ("BOOL" | "NULL", _) => 1,
                ("M", Value::Object(m)) => {
                    3 + m
                        .iter()
                        .map(|(k, v)| k.len() as u64 + 1 + size(v))
                        .sum::<u64>()
                }
                ("L", Value::Array(a)) => 3 + a.iter().map(|v| 1 + size(v)).sum::<u64>(),
                _ => inner.to_string().len() as u64,
            }
        }
        _ => 0,
    }
}

fn item_size(item: &Value) -> u64 {
    item.as_object()
        .map_or(0, |m| m.iter().map(|(k, v)| k.len() as u64 + size(v)).sum())
}

fn units(bytes: u64) -> f64 {
    bytes.div_ceil(4096).max(1) as f64
}

#[derive(Debug)]
struct Interceptor(Meter);

/// The operation and the keys it asked for, carried from signing to the end of the call (the
/// request itself is gone by then).
#[derive(Debug, Clone)]
struct Pending {
    target: String,
    asked: usize,
    consistent: bool,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

const READS: [&str; 3] = [
    "DynamoDB_20120810.GetItem",
    "DynamoDB_20120810.Query",
    "DynamoDB_20120810.BatchGetItem",
];

impl Intercept for Interceptor {
    fn name(&self) -> &'static str {
        "kikao-bench-meter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request_mut();
        let target = req
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        if READS.contains(&target.as_str()) {
            if let Some(bytes) = req.body().bytes() {
                let mut json: Value = serde_json::from_slice(bytes)?;
                let asked = json["RequestItems"].as_object().map_or(0, |m| {
                    m.values()
                        .map(|t| t["Keys"].as_array().map_or(0, Vec::len))
                        .sum()
                });
                let consistent = json["ConsistentRead"].as_bool().unwrap_or(false)
                    || json["RequestItems"].as_object().is_some_and(|m| {
                        m.values()
                            .any(|t| t["ConsistentRead"].as_bool().unwrap_or(false))
                    });
                cfg.interceptor_state().store_put(Pending {
                    target: target.clone(),
                    asked,
                    consistent,
                });
                json["ReturnConsumedCapacity"] = Value::String("TOTAL".into());
                let body = serde_json::to_vec(&json)?;
                req.headers_mut()
                    .insert("content-length", body.len().to_string());
                *req.body_mut() = SdkBody::from(body);
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Pending {
            target,
            asked,
            consistent,
        }) = cfg.load::<Pending>().cloned()
        else {
            return Ok(());
        };
        let body: Value = context
            .response()
            .and_then(|r| r.body().bytes())
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let mut u = self.0 .0.lock().unwrap();
        u.calls += 1;
        let (bytes, rcu) = if target.ends_with("GetItem") && !target.ends_with("BatchGetItem") {
            let b = item_size(&body["Item"]);
            (b, units(b))
        } else if target.ends_with("Query") {
            let b: u64 = body["Items"]
                .as_array()
                .map_or(0, |a| a.iter().map(item_size).sum());
            (b, units(b))
        } else {
            // a missing item still costs a unit, so count the keys asked for
            let found: Vec<u64> = body["Responses"].as_object().map_or(vec![], |m| {
                m.values()
                    .flat_map(|v| v.as_array().cloned().unwrap_or_default())
                    .map(|i| item_size(&i))
                    .collect()
            });
            let missing = asked.saturating_sub(found.len()) as f64;
            (
                found.iter().sum(),
                found.iter().map(|b| units(*b)).sum::<f64>() + missing,
            )
        };
        u.bytes += bytes;
        u.rcu += rcu;
        u.rcu_priced += if consistent { rcu } else { rcu / 2.0 };
        let moto = &body["ConsumedCapacity"];
        u.moto_rcu += moto["CapacityUnits"].as_f64().unwrap_or(0.0)
            + moto.as_array().map_or(0.0, |a| {
                a.iter().filter_map(|c| c["CapacityUnits"].as_f64()).sum()
            });
        Ok(())
    }
}

/// A DynamoDB client from the standard environment (moto), metered by `meter`.
pub async fn client(meter: &Meter) -> aws_sdk_dynamodb::Client {
    let config = aws_config_load().await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(Interceptor(meter.clone()))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

async fn aws_config_load() -> aws_config::SdkConfig {
    kikao_aws::clients::sdk_config().await
}
