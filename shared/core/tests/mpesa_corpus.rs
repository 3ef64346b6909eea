//! The M-Pesa corpus (`tests/fixtures/mpesa/corpus.json`, sources in SOURCES.md beside it): 180
//! real-format messages of every kind, each with what reading it should give. Payments must be
//! read field by field; everything else must be refused, naming the kind of message it is.

use chrono::Timelike;
use chrono_tz::Africa::Nairobi;
use kikao_core::domain::{MpesaMessageError, MpesaReceipt};
use serde_json::Value;

fn corpus() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/mpesa/corpus.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the corpus")).expect("JSON")
}

/// Whitespace as the parser gives it back: runs collapsed.
fn collapsed(v: &Value) -> Option<String> {
    v.as_str()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

/// The corpus names kinds as its sources did; the parser folds some together.
fn refusal_kind(kind: &str, subkind: Option<&str>) -> &'static str {
    match (kind, subkind) {
        ("received", _) => "received",
        ("withdrawal", _) => "withdrawal",
        ("deposit", _) => "deposit",
        ("airtime", _) => "airtime",
        ("reversal", _) => "reversal",
        ("fuliza", _) => "fuliza",
        ("fuliza_repayment", _) => "fuliza_repayment",
        ("mshwari", _) | ("other", Some("kcb_mpesa")) => "savings_transfer",
        ("pochi_to_mpesa", _) => "business_transfer",
        ("balance", _) => "balance",
        ("failed", _) => "failed",
        other => panic!("a kind the corpus test does not know: {other:?}"),
    }
}

/// Does the parsed time agree with the message's own words ("17/9/13 at 3:16 PM",
/// "9th Jul 2026 at 7:15 PM", "14/1/25 saa 6:34 PM")?
fn same_time(parsed: chrono::DateTime<chrono::Utc>, written: &str) -> bool {
    let local = parsed.with_timezone(&Nairobi);
    let hour12 = match local.hour() % 12 {
        0 => 12,
        h => h,
    };
    let clock = format!("{hour12}:{:02}", local.minute());
    let meridiem = if local.hour() < 12 { "am" } else { "pm" };
    let written = written.to_ascii_lowercase();
    let numeric = format!(
        "{}/{}/{}",
        local.format("%-d"),
        local.format("%-m"),
        local.format("%y")
    );
    let padded = local.format("%d/%m/%y").to_string();
    let long = format!(
        "{}/{}/{}",
        local.format("%-d"),
        local.format("%-m"),
        local.format("%Y")
    );
    let named = format!(
        "{} {}",
        local.format("%b").to_string().to_ascii_lowercase(),
        local.format("%Y")
    );
    let date_ok = written.starts_with(&format!("{numeric} "))
        || written.starts_with(&format!("{padded} "))
        || written.starts_with(&format!("{long} "))
        || (written.starts_with(&local.format("%-d").to_string()) && written.contains(&named));
    date_ok && written.contains(&clock) && written.contains(meridiem)
}

#[test]
fn every_message_in_the_corpus_reads_as_expected() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 80,
        "the issue asks for at least 80 messages"
    );
    let mut failures = Vec::new();
    let (mut payments, mut refusals) = (0, 0);
    for m in &corpus {
        let id = m["id"].as_str().unwrap();
        let message = m["message"].as_str().unwrap();
        let e = &m["expected"];
        let got = MpesaReceipt::parse(message);
        match e["expect"].as_str().unwrap() {
            "payment" => {
                payments += 1;
                let r = match got {
                    Ok(r) => r,
                    Err(err) => {
                        failures.push(format!("{id}: refused a payment: {err}"));
                        continue;
                    }
                };
                let mut wrong = Vec::new();
                if r.kind.as_str() != m["kind"].as_str().unwrap() {
                    wrong.push(format!("kind {}", r.kind.as_str()));
                }
                if r.code.as_str() != e["transaction_code"].as_str().unwrap() {
                    wrong.push(format!("code {}", r.code));
                }
                if (r.amount.kes() - e["amount_kes"].as_f64().unwrap()).abs() > 0.001 {
                    wrong.push(format!("amount {}", r.amount));
                }
                if r.recipient != collapsed(&e["recipient_name"]) {
                    wrong.push(format!("recipient {:?}", r.recipient));
                }
                let phone = e["recipient_phone"].as_str().map(|p| p.replace(' ', ""));
                if r.recipient_phone != phone {
                    wrong.push(format!("phone {:?}", r.recipient_phone));
                }
                if r.account
                    .as_deref()
                    .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
                    != collapsed(&e["account"])
                {
                    wrong.push(format!("account {:?}", r.account));
                }
                match (r.sent_at, e["sent_at"].as_str()) {
                    (Some(at), Some(w)) if same_time(at, w) => {}
                    (None, None) => {}
                    (at, w) => wrong.push(format!("sent_at {at:?} for {w:?}")),
                }
                if !wrong.is_empty() {
                    failures.push(format!("{id}: {}", wrong.join("; ")));
                }
            }
            "refuse" => {
                refusals += 1;
                let kind = m["kind"].as_str().unwrap();
                let expected = match e.get("why") {
                    // a payment pasted with its reversal, or beside another payment
                    Some(_) if e["transaction_code"].is_string() && kind != "reversal" => None,
                    _ => Some(refusal_kind(kind, e["subkind"].as_str())),
                };
                match (&got, expected) {
                    (Err(MpesaMessageError::NotAPayment(k)), Some(want)) if k.as_str() == want => {}
                    (
                        Err(MpesaMessageError::Reversed(_) | MpesaMessageError::SeveralPayments(_)),
                        None,
                    ) => {}
                    (got, want) => failures.push(format!(
                        "{id}: expected a refusal as {}, got {:?}",
                        want.unwrap_or("a reversed or ambiguous paste"),
                        got.as_ref().map(|r| r.kind.as_str()).map_err(|e| e.kind())
                    )),
                }
                // every refusal is a sentence a person can act on
                if let Err(err) = &got {
                    let text = err.to_string();
                    assert!(text.ends_with('.') && text.len() > 40, "{id}: {text}");
                }
            }
            other => panic!("{id}: unknown expectation {other}"),
        }
    }
    assert!(
        payments >= 40 && refusals >= 40,
        "{payments} payments, {refusals} refusals"
    );
    assert!(
        failures.is_empty(),
        "{} of {} messages read wrong:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}
