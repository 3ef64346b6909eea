//! `POST /api/payments/statement` as a Lambda function: the one function that reads PDFs, built
//! with unwinding so a malformed file is refused, not a crash (Cargo.toml, `release-unwind`).

kikao_lambda::http_function!(check_statement);
