//! An M-Pesa statement, read: a psychologist paid on a personal number has no Daraja callback,
//! but their statement lists every payment received, under the same receipt number the client
//! submitted. This reads the rows out of a statement's text (as a PDF's text comes out, in
//! either of the two layouts Safaricom prints, and after a re-save has moved cells about) or
//! out of a CSV (the business portal's export, or a converter's), and tells money received from
//! a person apart from everything else. Research and fixtures: docs/research/mpesa-statements.md.
//!
//! Nothing here keeps the statement: the use case reads it, matches, and drops it.

use super::message::from_east_africa_time;
use super::{MpesaAmount, TransactionCode};
use crate::domain::money::strip_prefix_ci;
use crate::domain::PhoneNumber;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// One transaction line of a statement. A receipt number is not a unique key: a transfer's
/// charge, or a Fuliza draw, prints on its own row under the same receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub receipt: TransactionCode,
    pub completed_at: DateTime<Utc>,
    /// The Details cell with wrapped lines joined and whitespace collapsed.
    pub details: String,
    /// `Completed` unless the statement says otherwise.
    pub completed: bool,
    /// Amounts carry cents in statements (interest, some charges); an empty cell is `None`.
    pub paid_in: Option<MpesaAmount>,
    pub withdrawn: Option<MpesaAmount>,
}

/// Who a payment came from, as the statement shows them: the number masked (`07******482`),
/// the name as registered with M-Pesa, and for a Paybill the account typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payer {
    pub phone: Option<String>,
    pub name: Option<String>,
    pub account: Option<String>,
}

/// A statement's rows and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The number the statement is for, where it prints one (the PDF's header).
    pub mobile_number: Option<PhoneNumber>,
    pub rows: Vec<StatementRow>,
    /// Rows that looked like transactions but lacked a receipt, a time or an amount.
    pub unreadable_rows: usize,
    /// The summary's `TOTAL:` paid in and paid out, in cents, where the statement prints one
    /// (the PDF): what the rows read must add up to.
    pub declared_totals: Option<(u64, u64)>,
}

/// Whether the rows read add up to the statement's own totals. A row the reader missed would
/// make a paid booking look unpaid; the totals are how that shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// The statement prints no totals (a CSV).
    Unknown,
    Agrees,
    /// Cents: what the summary declares, and what the rows read add up to.
    Differs {
        declared: (u64, u64),
        read: (u64, u64),
    },
}

impl Completeness {
    /// For the psychologist, when the rows do not add up.
    pub fn warning(&self) -> Option<String> {
        let Completeness::Differs { declared, read } = self else {
            return None;
        };
        let kes = |cents: u64| {
            MpesaAmount::from_cents(cents).map_or("KSh 0".to_owned(), |a| a.to_string())
        };
        Some(format!(
            "The statement's summary says {} came in and {} went out, but the rows Kikao read add up to {} and {}: some rows may not have been read. Check by hand any payment this says is not on the statement.",
            kes(declared.0),
            kes(declared.1),
            kes(read.0),
            kes(read.1)
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("No M-Pesa transactions were found in this file. Upload the statement PDF from the M-PESA app or *334#, or a CSV of it with Receipt No, Completion Time, Details and Paid In columns.")]
    NoRows,
    #[error("This CSV has no Receipt No, Completion Time and Paid In columns; export the statement again, or upload its PDF.")]
    CsvColumns,
    /// The statement is another number's, not the one the psychologist's clients pay.
    #[error("This statement is for {statement}, but the M-Pesa number in your profile is {profile}. Upload the statement of the number your clients pay.")]
    OtherNumber { statement: String, profile: String },
}

fn local_time(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    from_east_africa_time(NaiveDateTime::new(date, time))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    ["%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
}

/// `2,500.00`, `-1,000.00`, `2500`, `3740.5` as cents; `None` for anything else.
fn parse_cents(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let groups: Vec<&str> = whole.split(',').collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
        || (groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)))
    {
        return None;
    }
    let digits = groups.concat();
    if digits.len() > 12 {
        return None;
    }
    let whole: i64 = digits.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    let cents = whole * 100 + frac;
    Some(if negative { -cents } else { cents })
}

/// An amount as a PDF prints it: always with two decimals, so a date or a till number is never
/// taken for one.
fn printed_amount(token: &str) -> Option<i64> {
    let decimals = token.rsplit_once('.').map(|(_, f)| f.len());
    (decimals == Some(2)).then(|| parse_cents(token)).flatten()
}

/// A receipt number as statements print it: ten capitals and digits, with both in it (a phone
/// number is all digits, a name all letters).
fn receipt_token(token: &str) -> Option<TransactionCode> {
    let ok = token.len() == 10
        && token
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_uppercase());
    ok.then(|| TransactionCode::parse(token)).flatten()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lines that start a page's footer or header: from one of these to the next transaction,
/// nothing belongs to a row.
fn starts_footer(line: &str) -> bool {
    let t = line.trim_start().to_ascii_lowercase();
    ["disclaimer", "statement verification code", "for self-help"]
        .iter()
        .any(|p| t.starts_with(p))
        || is_page_number(&t)
}

/// `Page 2 of 3`, or a bare `Page` where a re-save lost the numbers.
fn is_page_number(lowered: &str) -> bool {
    let mut words = lowered.split_whitespace();
    words.next() == Some("page")
        && words.all(|w| w == "of" || w.bytes().all(|b| b.is_ascii_digit()))
}

/// The date and time tokens of a line, if it holds a transaction's completion time.
fn timestamp_in(tokens: &[&str]) -> Option<(usize, DateTime<Utc>)> {
    tokens.windows(2).enumerate().find_map(|(i, w)| {
        let date = NaiveDate::parse_from_str(w[0], "%Y-%m-%d").ok()?;
        let time = parse_time(w[1])?;
        Some((i, local_time(date, time)?))
    })
}

impl StatementRow {
    /// The money in this row came from a person (sent to the number, paid to a Paybill or
    /// Till), and who they were; `None` for deposits, Fuliza, M-Shwari, bank payments, charges,
    /// and every payment out.
    pub fn received_from(&self) -> Option<Payer> {
        if !self.completed || self.paid_in.is_none() {
            return None;
        }
        let rest = [
            "Funds received from",
            "Pay Bill from",
            "Merchant Payment from",
        ]
        .iter()
        .find_map(|p| strip_prefix_ci(&self.details, p))?;
        Some(payer(rest))
    }

    /// Money sent back to the person it came from (`Send Money Reversal via API to …`).
    fn reversal_to(&self) -> Option<Payer> {
        self.withdrawn?;
        let rest = strip_prefix_ci(&self.details, "Send Money Reversal")?;
        let (_, to) = rest.split_once(" to ")?;
        Some(payer(to))
    }
}

/// `- 07******482 BRIAN OTIENO`, `0712***482 - BRIAN OTIENO`, `254712***482 - NAME Acc. GWM0412`.
fn payer(rest: &str) -> Payer {
    let separators: &[char] = &[' ', '-', '–'];
    let rest = rest.trim_start_matches(separators);
    let (phone, rest) = match rest.split_once(' ') {
        Some((first, tail))
            if first.bytes().any(|b| b.is_ascii_digit())
                && first.bytes().all(|b| b.is_ascii_digit() || b == b'*') =>
        {
            (Some(first.to_owned()), tail)
        }
        None if rest.bytes().all(|b| b.is_ascii_digit() || b == b'*') && !rest.is_empty() => {
            (Some(rest.to_owned()), "")
        }
        _ => (None, rest),
    };
    let rest = rest.trim_start_matches(separators);
    let (name, account) = match rest.split_once(" Acc.") {
        Some((name, acc)) => (name, Some(acc.trim())),
        None => (rest, None),
    };
    let name = name.trim();
    Payer {
        phone,
        name: (!name.is_empty()).then(|| name.to_owned()),
        account: account.filter(|a| !a.is_empty()).map(str::to_owned),
    }
}

impl Payer {
    /// The last three digits, the part every masking style leaves visible.
    fn phone_tail(&self) -> Option<&str> {
        let p = self.phone.as_deref()?;
        p.get(p.len().checked_sub(3)?..)
    }

    fn same_person(&self, other: &Payer) -> bool {
        let name = |p: &Payer| p.name.as_deref().map(|n| collapse(n).to_lowercase());
        self.phone_tail().is_some()
            && self.phone_tail() == other.phone_tail()
            && name(self) == name(other)
    }
}

impl Statement {
    /// A statement from a PDF's text. A row starts at its completion time; everything up to the
    /// next one, apart from page footers and headers, is that row's, wherever a re-save put the
    /// receipt number, the status or the wrapped Details.
    pub fn from_text(text: &str) -> Result<Statement, StatementError> {
        let lines: Vec<&str> = text.split(['\n', '\r', '\u{c}']).collect();
        let mut blocks: Vec<Vec<&str>> = Vec::new();
        let mut open = false;
        for line in &lines {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if timestamp_in(&tokens).is_some() {
                blocks.push(vec![line]);
                open = true;
            } else if starts_footer(line) {
                open = false;
            } else if open && !tokens.is_empty() {
                blocks
                    .last_mut()
                    .expect("open only after a push")
                    .push(line);
            }
        }
        let mut rows = Vec::new();
        let mut unreadable_rows = 0;
        for block in &blocks {
            match row_from_block(block) {
                Some(row) => rows.push(row),
                None => unreadable_rows += 1,
            }
        }
        if rows.is_empty() {
            return Err(StatementError::NoRows);
        }
        Ok(Statement {
            mobile_number: mobile_number(&lines),
            rows,
            unreadable_rows,
            declared_totals: declared_totals(&lines),
        })
    }

    /// A statement from a CSV: the header row is found by its column names (the business
    /// portal's export has six lines above it), and columns are taken by name.
    pub fn from_csv(text: &str) -> Result<Statement, StatementError> {
        let text = text.trim_start_matches('\u{feff}');
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut columns: Option<Columns> = None;
        let mut rows = Vec::new();
        let mut unreadable_rows = 0;
        for record in reader.records() {
            let Ok(record) = record else {
                unreadable_rows += 1;
                continue;
            };
            let cells: Vec<&str> = record.iter().map(str::trim).collect();
            match &columns {
                None => columns = Columns::find(&cells),
                Some(c) => {
                    if cells.iter().all(|c| c.is_empty()) {
                        continue;
                    }
                    match c.row(&cells) {
                        Some(row) => rows.push(row),
                        None => unreadable_rows += 1,
                    }
                }
            }
        }
        if columns.is_none() {
            return Err(StatementError::CsvColumns);
        }
        if rows.is_empty() {
            return Err(StatementError::NoRows);
        }
        Ok(Statement {
            mobile_number: None,
            rows,
            unreadable_rows,
            declared_totals: None,
        })
    }

    /// Whether the rows add up to the totals the statement declares.
    pub fn completeness(&self) -> Completeness {
        let Some(declared) = self.declared_totals else {
            return Completeness::Unknown;
        };
        let sum = |f: fn(&StatementRow) -> Option<MpesaAmount>| -> u64 {
            self.rows.iter().filter_map(f).map(MpesaAmount::cents).sum()
        };
        let read = (sum(|r| r.paid_in), sum(|r| r.withdrawn));
        if read == declared {
            Completeness::Agrees
        } else {
            Completeness::Differs { declared, read }
        }
    }

    /// The earliest and latest transaction in the statement.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let first = self.rows.iter().map(|r| r.completed_at).min()?;
        let last = self.rows.iter().map(|r| r.completed_at).max()?;
        Some((first, last))
    }

    /// Indexes of the rows of money received that a later reversal sent back: the same amount
    /// to the same person (last three digits and name), each reversal undoing one payment.
    pub fn reversed(&self) -> Vec<usize> {
        let mut undone = Vec::new();
        for reversal in &self.rows {
            let Some(to) = reversal.reversal_to() else {
                continue;
            };
            let undid = self.rows.iter().enumerate().find(|(i, r)| {
                !undone.contains(i)
                    && r.paid_in == reversal.withdrawn
                    && r.completed_at <= reversal.completed_at
                    && r.received_from().is_some_and(|p| p.same_person(&to))
            });
            if let Some((i, _)) = undid {
                undone.push(i);
            }
        }
        undone
    }
}

/// Where each field sits in a CSV, by its header.
struct Columns {
    receipt: usize,
    completed: usize,
    details: Option<usize>,
    status: Option<usize>,
    paid_in: usize,
    withdrawn: Option<usize>,
}

impl Columns {
    fn find(cells: &[&str]) -> Option<Columns> {
        let key = |c: &str| -> String {
            c.chars()
                .filter(|ch| ch.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let keys: Vec<String> = cells.iter().map(|c| key(c)).collect();
        let at = |names: &[&str]| keys.iter().position(|k| names.contains(&k.as_str()));
        Some(Columns {
            receipt: at(&["receiptno", "receipt", "receiptnumber"])?,
            completed: at(&["completiontime", "date", "completedtime"])?,
            details: at(&["details"]),
            status: at(&["transactionstatus", "status"]),
            paid_in: at(&["paidin"])?,
            withdrawn: at(&["withdrawn", "paidout"]),
        })
    }

    fn row(&self, cells: &[&str]) -> Option<StatementRow> {
        let cell = |i: usize| cells.get(i).copied().unwrap_or("");
        let receipt = TransactionCode::parse(cell(self.receipt))?;
        let (date, time) = cell(self.completed).split_once(' ')?;
        let completed_at = local_time(parse_date(date)?, parse_time(time.trim())?)?;
        // `None` when the cell is not an amount; `Some(None)` when it is empty or zero
        let amount = |i: Option<usize>| -> Option<Option<MpesaAmount>> {
            match i.map(cell).unwrap_or("") {
                "" => Some(None),
                a => parse_cents(a).map(amount),
            }
        };
        Some(StatementRow {
            receipt,
            completed_at,
            details: collapse(self.details.map(cell).unwrap_or("")),
            completed: self
                .status
                .map(cell)
                .is_none_or(|s| s.eq_ignore_ascii_case("completed")),
            paid_in: amount(Some(self.paid_in))?,
            withdrawn: amount(self.withdrawn)?,
        })
    }
}

/// A transaction from the lines between its completion time and the next. The amounts are
/// told apart by the two layouts' conventions: the newer prints withdrawals negative and leaves
/// the other column empty (then a balance, unless a re-save dropped it); the older prints both
/// columns, paid in first, then the balance.
fn row_from_block(block: &[&str]) -> Option<StatementRow> {
    let joined = block.join(" ");
    let tokens: Vec<&str> = joined.split_whitespace().collect();
    let (at, completed_at) = timestamp_in(&tokens)?;
    let mut receipt = None;
    let mut completed = None;
    let mut amounts = Vec::new();
    let mut details = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if i == at || i == at + 1 {
            continue;
        }
        if receipt.is_none() {
            if let Some(r) = receipt_token(t) {
                receipt = Some(r);
                continue;
            }
        }
        if completed.is_none()
            && ["completed", "failed", "reversed"].contains(&t.to_ascii_lowercase().as_str())
        {
            completed = Some(t.eq_ignore_ascii_case("completed"));
            continue;
        }
        if let Some(a) = printed_amount(t) {
            amounts.push(a);
            continue;
        }
        details.push(*t);
    }
    let (paid_in, withdrawn) = match amounts.as_slice() {
        [first, ..] if amounts.iter().any(|a| *a < 0) => {
            if *first < 0 {
                (0, -first)
            } else {
                (*first, 0)
            }
        }
        [paid_in, withdrawn, _balance] => (*paid_in, *withdrawn),
        [paid_in, ..] => (*paid_in, 0),
        [] => return None,
    };
    Some(StatementRow {
        receipt: receipt?,
        completed_at,
        details: details.join(" "),
        completed: completed.unwrap_or(true),
        paid_in: amount(paid_in),
        withdrawn: amount(withdrawn),
    })
}

/// A column's amount, whatever sign its layout prints it with; nothing for an empty or zero one.
fn amount(cents: i64) -> Option<MpesaAmount> {
    MpesaAmount::from_cents(cents.unsigned_abs())
}

/// The summary's `TOTAL:` line, before the transactions: paid in, then paid out.
fn declared_totals(lines: &[&str]) -> Option<(u64, u64)> {
    lines.iter().find_map(|l| {
        let mut words = l.split_whitespace();
        if words.next() != Some("TOTAL:") {
            return None;
        }
        let amounts: Vec<i64> = words.filter_map(printed_amount).collect();
        match amounts.as_slice() {
            [paid_in, paid_out] => Some((paid_in.unsigned_abs(), paid_out.unsigned_abs())),
            _ => None,
        }
    })
}

/// The `Mobile Number:` in the header: on its line, or (after a re-save) the nearest line
/// above or below it with any text.
fn mobile_number(lines: &[&str]) -> Option<PhoneNumber> {
    let at = lines.iter().position(|l| {
        l.trim_start()
            .to_ascii_lowercase()
            .starts_with("mobile number")
    })?;
    let own = lines[at]
        .split_once(':')
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    let filled = |l: &&&str| !l.trim().is_empty();
    let above = lines[..at].iter().rev().find(filled);
    let below = lines[at + 1..].iter().find(filled);
    PhoneNumber::parse(own)
        .or_else(|| above.and_then(|l| PhoneNumber::parse(l.trim())))
        .or_else(|| below.and_then(|l| PhoneNumber::parse(l.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../../tests/fixtures/statements/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn cents(c: u64) -> Option<MpesaAmount> {
        MpesaAmount::from_cents(c)
    }

    fn received(s: &Statement) -> Vec<(String, u64, Option<String>)> {
        s.rows
            .iter()
            .filter_map(|r| {
                let p = r.received_from()?;
                Some((
                    r.receipt.as_str().to_owned(),
                    r.paid_in?.cents() / 100,
                    p.name,
                ))
            })
            .collect()
    }

    #[test]
    fn reads_the_newer_layout() {
        let s = Statement::from_text(&fixture("mpesa_full_statement_extracted.txt")).unwrap();
        assert_eq!(s.mobile_number, PhoneNumber::parse("0700123456"));
        assert_eq!(s.unreadable_rows, 0);
        let first = &s.rows[0];
        assert_eq!(first.receipt.as_str(), "TIU4CTXM41");
        assert_eq!(first.details, "M-Shwari Deposit");
        assert_eq!((first.paid_in, first.withdrawn), (None, cents(100_000)));
        // 2025-09-30 13:05:36 in Nairobi
        assert_eq!(first.completed_at.to_rfc3339(), "2025-09-30T10:05:36+00:00");
        let r = received(&s);
        assert!(r.contains(&(
            "TIT47H260Y".to_owned(),
            2500,
            Some("BRIAN OTIENO ODHIAMBO".to_owned())
        )));
        assert!(r.contains(&(
            "TIO4271MJN".to_owned(),
            2000,
            Some("SAMUEL KIPCHOGE KIPRUTO".to_owned())
        )));
        // an agent deposit is money in, but from nobody's payment
        assert!(!r.iter().any(|(code, ..)| code == "TIM995N0HX"));
        // the charge and the transfer share a receipt; both are rows
        assert_eq!(
            s.rows
                .iter()
                .filter(|r| r.receipt.as_str() == "TIJ9SMEN52")
                .count(),
            2
        );
    }

    #[test]
    fn the_rows_read_add_up_to_the_statements_own_totals() {
        for name in [
            "mpesa_full_statement_extracted.txt",
            "mpesa_full_statement_2023_extracted.txt",
        ] {
            let s = Statement::from_text(&fixture(name)).unwrap();
            assert!(s.declared_totals.is_some(), "{name}");
            assert_eq!(s.completeness(), Completeness::Agrees, "{name}");
        }
        // the re-saved copy holds page 1 of 3, under the whole statement's summary
        let page =
            Statement::from_text(&fixture("mpesa_full_statement_reprinted_extracted.txt")).unwrap();
        let Completeness::Differs { declared, read } = page.completeness() else {
            panic!("{:?}", page.completeness());
        };
        assert_eq!(declared, (2_600_000, 1_191_300));
        assert!(read.0 < declared.0 && read.1 < declared.1, "{read:?}");
        let said = page.completeness().warning().unwrap();
        assert!(
            said.starts_with(
                "The statement's summary says KSh 26,000 came in and KSh 11,913 went out"
            ),
            "{said}"
        );
        // a CSV declares nothing
        let csv = Statement::from_csv(&fixture("mpesa2csv_converted_statement.csv")).unwrap();
        assert_eq!(csv.completeness(), Completeness::Unknown);
        assert_eq!(csv.completeness().warning(), None);
    }

    #[test]
    fn reads_a_re_saved_statement_whose_cells_moved() {
        let whole = Statement::from_text(&fixture("mpesa_full_statement_extracted.txt")).unwrap();
        let s =
            Statement::from_text(&fixture("mpesa_full_statement_reprinted_extracted.txt")).unwrap();
        assert_eq!(s.mobile_number, PhoneNumber::parse("0700123456"));
        assert_eq!(s.unreadable_rows, 0);
        // the re-saved page 1 holds the same rows as the original's page 1, read the same
        for row in &s.rows {
            assert!(whole.rows.contains(row), "{row:?}");
        }
        assert!(received(&s).contains(&(
            "TIT47H260Y".to_owned(),
            2500,
            Some("BRIAN OTIENO ODHIAMBO".to_owned())
        )));
    }

    #[test]
    fn reads_the_older_layout_and_its_reversal() {
        let s = Statement::from_text(&fixture("mpesa_full_statement_2023_extracted.txt")).unwrap();
        assert_eq!(s.mobile_number, PhoneNumber::parse("254700123456"));
        assert_eq!(s.unreadable_rows, 0);
        let r = received(&s);
        assert!(r.contains(&(
            "RIT0VXRUG8".to_owned(),
            2500,
            Some("BRIAN OTIENO ODHIAMBO".to_owned())
        )));
        assert!(r.contains(&(
            "RI48W68GZV".to_owned(),
            3000,
            Some("Faith Njeri Kamau".to_owned())
        )));
        let bank = s
            .rows
            .iter()
            .find(|r| r.receipt.as_str() == "RIF2RQSO99")
            .unwrap();
        assert_eq!(bank.paid_in, cents(1_000_000));
        assert_eq!(bank.received_from(), None);
        // Peter's 2,500 came in and went straight back
        let reversed: Vec<&str> = s
            .reversed()
            .into_iter()
            .map(|i| s.rows[i].receipt.as_str())
            .collect();
        assert_eq!(reversed, ["RI60DQ3QIQ"]);
    }

    #[test]
    fn reads_a_converters_csv() {
        let s = Statement::from_csv(&fixture("mpesa2csv_converted_statement.csv")).unwrap();
        assert_eq!(s.unreadable_rows, 0);
        assert_eq!(s.mobile_number, None);
        let r = received(&s);
        assert!(r.contains(&(
            "TI11RIQ3M0".to_owned(),
            2500,
            Some("BRIAN OTIENO ODHIAMBO".to_owned())
        )));
        let transfer = s
            .rows
            .iter()
            .find(|r| r.details.starts_with("Customer Transfer to"))
            .unwrap();
        assert_eq!(
            (transfer.paid_in, transfer.withdrawn),
            (None, cents(30_000))
        );
    }

    #[test]
    fn reads_the_business_portals_csv_with_its_preamble() {
        let s = Statement::from_csv(&fixture("mpesa_business_org_statement.csv")).unwrap();
        assert_eq!(s.unreadable_rows, 0);
        let brian = s
            .rows
            .iter()
            .find(|r| r.receipt.as_str() == "TIT73FMWZ5")
            .unwrap();
        // day first: 29-09-2025 15:41:52 in Nairobi
        assert_eq!(brian.completed_at.to_rfc3339(), "2025-09-29T12:41:52+00:00");
        assert_eq!(
            brian.received_from(),
            Some(Payer {
                phone: Some("254712***482".to_owned()),
                name: Some("BRIAN OTIENO ODHIAMBO".to_owned()),
                account: Some("GWM0412".to_owned()),
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_statement() {
        assert_eq!(
            Statement::from_text("Dear customer, your bill is attached."),
            Err(StatementError::NoRows)
        );
        assert_eq!(
            Statement::from_csv("name,amount\nAmani,2000\n"),
            Err(StatementError::CsvColumns)
        );
        assert_eq!(
            Statement::from_csv("Receipt No,Completion Time,Details,Paid In\n"),
            Err(StatementError::NoRows)
        );
    }

    #[test]
    fn a_row_without_a_receipt_is_counted_not_guessed() {
        let text = "Receipt No. Completion Time Details\n\
                    TIT47H260Y 2025-09-29 15:45:00 Funds received from - 07******482 A B Completed 2,500.00 16,327.50\n\
                    2025-09-28 15:45:00 Funds received from - 07******111 C D Completed 1,000.00 13,827.50\n";
        let s = Statement::from_text(text).unwrap();
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.unreadable_rows, 1);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_cents("2,500.00"), Some(250_000));
        assert_eq!(parse_cents("-1,000.00"), Some(-100_000));
        assert_eq!(parse_cents("3740.5"), Some(374_050));
        assert_eq!(parse_cents("2500"), Some(250_000));
        for bad in ["", "2,50.00", "1.234", "abc", ",100", "1e3"] {
            assert_eq!(parse_cents(bad), None, "{bad}");
        }
        assert_eq!(printed_amount("2500"), None);
        assert_eq!(printed_amount("2025-09-30"), None);
    }

    proptest::proptest! {
        #[test]
        fn reading_never_panics(s in "\\PC{0,400}") {
            let _ = Statement::from_text(&s);
            let _ = Statement::from_csv(&s);
        }
    }
}
