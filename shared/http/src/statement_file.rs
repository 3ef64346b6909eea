//! The statement file a psychologist uploads, read in memory and dropped: a PDF (from the
//! M-PESA app, or sent by *334# and locked with a password) through pdf-extract, or a CSV. What
//! the rows mean is the domain's (`Statement`); this only turns bytes into its text.
//!
//! pdf-extract can panic on a malformed file; the read runs under `catch_unwind`, and the one
//! function that serves it is built with unwinding (the `release-unwind` profile), so a bad file
//! gets a sentence, not a crashed Lambda.

use kikao_core::domain::{Statement, StatementError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementFileError {
    #[error("This statement is locked with a password. Type the password Safaricom sent you with it (often your ID number) and read it again; Kikao does not keep it.")]
    Locked,
    #[error("That password does not open this statement. Check it and try again, or upload the statement from the M-PESA app, which has no password.")]
    WrongPassword,
    #[error("This PDF is locked in a way Kikao cannot open. Open it on your phone, save or print it as a new PDF without a password, and upload that.")]
    UnsupportedLock,
    #[error(
        "Kikao could not read this PDF. Upload the statement as Safaricom sent it, or a CSV of it."
    )]
    UnreadablePdf,
    #[error(
        "This file is neither a PDF nor a CSV. Upload the M-Pesa statement PDF, or a CSV of it."
    )]
    NotAStatementFile,
    #[error(transparent)]
    Statement(#[from] StatementError),
}

/// The rows of an uploaded statement. `password` opens a locked PDF; it is used once, here.
pub fn read_statement(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Statement, StatementFileError> {
    if bytes.starts_with(b"%PDF") {
        return Ok(Statement::from_text(&pdf_text(bytes, password)?)?);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| StatementFileError::NotAStatementFile)?;
    let text = text.trim_start_matches('\u{feff}');
    let csv_header = text
        .lines()
        .take(20)
        .any(|l| l.contains(',') && l.to_ascii_lowercase().contains("receipt"));
    Ok(if csv_header {
        Statement::from_csv(text)?
    } else {
        Statement::from_text(text)?
    })
}

fn pdf_text(bytes: &[u8], password: Option<&str>) -> Result<String, StatementFileError> {
    let password = password.filter(|p| !p.is_empty());
    std::panic::catch_unwind(|| {
        // lopdf decrypts while it loads; a locked file loaded without its password has no
        // objects at all, so the password goes in here (the empty one opens unlocked files)
        let options = pdf_extract::LoadOptions::with_password(password.unwrap_or(""));
        let doc = match pdf_extract::Document::load_mem_with_options(bytes, options) {
            Ok(doc) => doc,
            Err(pdf_extract::Error::InvalidPassword) => {
                return Err(match password {
                    None => StatementFileError::Locked,
                    Some(_) => StatementFileError::WrongPassword,
                })
            }
            Err(pdf_extract::Error::Decryption(e)) => {
                tracing::info!(error = %e, "a statement PDF could not be decrypted");
                return Err(StatementFileError::UnsupportedLock);
            }
            Err(_) => return Err(StatementFileError::UnreadablePdf),
        };
        let mut text = String::new();
        pdf_extract::output_doc(&doc, &mut pdf_extract::PlainTextOutput::new(&mut text))
            .map_err(|_| StatementFileError::UnreadablePdf)?;
        Ok(text)
    })
    .unwrap_or(Err(StatementFileError::UnreadablePdf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../tests/fixtures/statements/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The receipts of money received from people, as the text fixture the PDF was drawn from
    /// gives them: the PDF must read the same.
    fn received(s: &Statement) -> Vec<String> {
        s.rows
            .iter()
            .filter(|r| r.received_from().is_some())
            .map(|r| {
                format!(
                    "{} {:?} {:?}",
                    r.receipt.as_str(),
                    r.paid_in,
                    r.received_from()
                )
            })
            .collect()
    }

    fn from_text_fixture(name: &str) -> Statement {
        Statement::from_text(&String::from_utf8(fixture(name)).unwrap()).unwrap()
    }

    #[test]
    fn a_pdf_reads_as_its_text_does_in_both_layouts() {
        for (pdf, txt) in [
            (
                "mpesa_full_statement.pdf",
                "mpesa_full_statement_extracted.txt",
            ),
            (
                "mpesa_full_statement_2023.pdf",
                "mpesa_full_statement_2023_extracted.txt",
            ),
            (
                "mpesa_full_statement_reprinted.pdf",
                "mpesa_full_statement_reprinted_extracted.txt",
            ),
        ] {
            let from_pdf = read_statement(&fixture(pdf), None).unwrap();
            let from_text = from_text_fixture(txt);
            assert_eq!(from_pdf.unreadable_rows, 0, "{pdf}");
            assert_eq!(from_pdf.rows.len(), from_text.rows.len(), "{pdf}");
            assert_eq!(received(&from_pdf), received(&from_text), "{pdf}");
            assert!(!received(&from_pdf).is_empty());
            assert_eq!(from_pdf.mobile_number, from_text.mobile_number, "{pdf}");
            assert_eq!(from_pdf.completeness(), from_text.completeness(), "{pdf}");
        }
    }

    #[test]
    fn a_locked_pdf_asks_for_its_password_and_opens_with_it() {
        let want = received(&read_statement(&fixture("mpesa_full_statement.pdf"), None).unwrap());
        for cipher in ["aes256", "aes128", "rc4"] {
            let bytes = fixture(&format!("mpesa_full_statement_locked_{cipher}.pdf"));
            assert_eq!(
                read_statement(&bytes, None).unwrap_err(),
                StatementFileError::Locked,
                "{cipher}"
            );
            assert_eq!(
                read_statement(&bytes, Some("")).unwrap_err(),
                StatementFileError::Locked,
                "{cipher}"
            );
            assert_eq!(
                read_statement(&bytes, Some("27182818")).unwrap_err(),
                StatementFileError::WrongPassword,
                "{cipher}"
            );
            let opened = read_statement(&bytes, Some("31415926"))
                .unwrap_or_else(|e| panic!("{cipher}: {e}"));
            assert_eq!(received(&opened), want, "{cipher}");
        }
    }

    #[test]
    fn csv_and_text_are_told_apart_from_pdfs_and_from_anything_else() {
        let csv = read_statement(&fixture("mpesa2csv_converted_statement.csv"), None).unwrap();
        assert!(!received(&csv).is_empty());
        let org = read_statement(&fixture("mpesa_business_org_statement.csv"), None).unwrap();
        assert!(!received(&org).is_empty());
        assert_eq!(
            read_statement(&[0xff, 0xd8, 0xff, 0xe0, 0, 16], None).unwrap_err(),
            StatementFileError::NotAStatementFile
        );
        assert_eq!(
            read_statement(b"%PDF-1.4\nnot really", None).unwrap_err(),
            StatementFileError::UnreadablePdf
        );
        assert_eq!(
            read_statement(b"hello", None).unwrap_err(),
            StatementFileError::Statement(StatementError::NoRows)
        );
    }

    #[test]
    fn a_damaged_pdf_is_refused_with_a_sentence_never_a_panic() {
        let good = fixture("mpesa_full_statement.pdf");
        // every cut and a spread of byte flips through the file
        for cut in (8..good.len()).step_by(97) {
            let _ = read_statement(&good[..cut], None);
        }
        for at in (0..good.len()).step_by(41) {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            let _ = read_statement(&bad, None);
        }
    }
}
