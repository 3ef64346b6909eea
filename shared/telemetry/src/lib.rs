//! Logs: one JSON object per line (CloudWatch Logs Insights and the dev console read the same
//! thing), each carrying the request id and user id of the request it belongs to.
//!
//! Kikao's logs must never hold what would let someone act as a person or identify them: no
//! token, phone number or M-Pesa transaction code. The code avoids logging them; this writer
//! is the second line, masking anything shaped like one before a line leaves the process
//! (an SDK error that quotes a phone number, say).

use regex_lite::{Captures, Regex};
use std::io::Write;
use std::sync::LazyLock;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").expect("valid")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+").expect("valid"));
/// Kenyan mobile numbers as people and M-Pesa write them: +254712345678, 254712345678,
/// 0712345678, 0712 345 678.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^0-9])((?:\+?254|0)[17][0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{3})($|[^0-9])")
        .expect("valid")
});
/// Ten upper-case letters and digits with at least one of each, as M-Pesa codes are.
static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[^A-Za-z0-9])([A-Z0-9]{10})($|[^A-Za-z0-9])").expect("valid"));

/// `text` with tokens, phone numbers and transaction codes masked.
pub fn redact(text: &str) -> String {
    let t = JWT.replace_all(text, "[token]");
    let t = BEARER.replace_all(&t, "Bearer [token]");
    // twice: adjacent matches share the boundary character the first pass consumed
    let mut t = t.into_owned();
    for _ in 0..2 {
        t = PHONE
            .replace_all(&t, |c: &Captures| format!("{}[phone]{}", &c[1], &c[3]))
            .into_owned();
        t = CODE
            .replace_all(&t, |c: &Captures| {
                let code = &c[2];
                let letters = code.bytes().any(|b| b.is_ascii_uppercase());
                let digits = code.bytes().any(|b| b.is_ascii_digit());
                if letters && digits {
                    format!("{}[code]{}", &c[1], &c[3])
                } else {
                    c[0].to_owned()
                }
            })
            .into_owned();
    }
    t
}

/// Writes each log line through `redact`. The fmt layer makes one writer per event and drops
/// it when the event is written, so a whole line is scrubbed at once.
pub struct Redacting<M>(pub M);

pub struct RedactingWriter<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            let clean = redact(&String::from_utf8_lossy(&self.line));
            self.line.clear();
            self.inner.write_all(clean.as_bytes())?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            line: Vec::new(),
        }
    }
}

/// The subscriber every Kikao process logs through: JSON lines, the fields of the current
/// request's span (`request_id`, `user_id`, `route`) on every line, level from `RUST_LOG`
/// (default `info`), written through `Redacting`.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(Redacting(writer))
        .finish()
        .with(level_from_env())
}

/// `RUST_LOG` as `info` or `kikao_http=debug,warn` (a level, or targets with levels), read
/// with `Targets` rather than `EnvFilter`: the same syntax without span-field matching, and
/// without the regex engine that `EnvFilter` links into every function.
fn level_from_env() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Installs `subscriber` on stdout for the whole process.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_tokens_phones_and_codes() {
        let line = r#"{"msg":"auth Bearer abc.def-ghi","t":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl","to":"+254712345678","alt":"0712 345 678","raw":"254112345678","code":"QK71ABC123 Confirmed"}"#;
        let out = redact(line);
        for secret in [
            "abc.def-ghi",
            "eyJhbGciOiJIUzI1NiJ9",
            "712345678",
            "712 345 678",
            "112345678",
            "QK71ABC123",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("[phone]") && out.contains("[code]") && out.contains("[token]"));
    }

    #[test]
    fn leaves_ids_times_and_words_alone() {
        let line = r#"{"request_id":"5cb0da6a-68c5-426b-af7d-370f2438f010","session":"b316c57d-849b-4451-aa14-dad65664f41b","at":"2030-01-07T06:00:00Z","ms":1795500000,"action":"SubmitPayment","status":"PAYMENTSUB"}"#;
        assert_eq!(redact(line), line);
    }

    proptest! {
        #[test]
        fn no_phone_survives_in_any_surrounding(
            prefix in "[a-z :\"{,]{0,12}",
            local in "7[0-9]{8}",
            style in 0..4usize,
            suffix in "[a-z :\"},]{0,12}",
        ) {
            let number = match style {
                0 => format!("+254{local}"),
                1 => format!("254{local}"),
                2 => format!("0{local}"),
                _ => format!("0{} {} {}", &local[..3], &local[3..6], &local[6..]),
            };
            let out = redact(&format!("{prefix}{number}{suffix}"));
            prop_assert!(!out.contains(&local[1..]), "{}", out);
        }

        #[test]
        fn no_code_survives_between_separators(
            prefix in "([a-z :\"{,=]{0,12}[ :\"{,=])?",
            code in "[A-Z]{2}[0-9]{2}[A-Z0-9]{6}",
            suffix in "([ :\"},.][a-z :\"},.]{0,12})?",
        ) {
            let out = redact(&format!("{prefix}{code}{suffix}"));
            prop_assert!(!out.contains(&code), "{}", out);
        }
    }
}
