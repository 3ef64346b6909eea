//! The psychologist's M-Pesa statement, checked against the payments waiting for them to
//! verify: the file is read in memory (`statement_file`), matched by the use case, and dropped;
//! neither it nor its password is stored or logged.

use crate::auth::caller;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::statement_file::{read_statement, StatementFileError};
use crate::views::StatementCheckView;
use crate::{json, read_json_up_to, respond, MAX_STATEMENT_BODY_BYTES};
use base64::Engine;
use kikao_core::bookings::Bookings;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use utoipa::ToSchema;

/// The largest statement file read: months of a busy number's statement fit well within it.
const MAX_STATEMENT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementBody {
    /// The statement file, base64: the PDF from the M-PESA app or *334#, or a CSV of it. At
    /// most 4 MB.
    file_base64: String,
    /// Only for a PDF locked with a password (statements sent by email are). Used once to open
    /// the file; never stored.
    password: Option<String>,
}

impl From<StatementFileError> for ApiError {
    fn from(e: StatementFileError) -> Self {
        let code = match e {
            StatementFileError::Statement(inner) => return inner.into(),
            StatementFileError::Locked => "statement_locked",
            StatementFileError::WrongPassword => "wrong_password",
            StatementFileError::UnsupportedLock
            | StatementFileError::UnreadablePdf
            | StatementFileError::NotAStatementFile => "unreadable_statement",
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
    }
}

#[utoipa::path(
    post,
    path = "/api/payments/statement",
    tag = "payments",
    summary = "Check the payments waiting for verification against the psychologist's M-Pesa statement (nothing is stored)",
    request_body = StatementBody,
    responses(
        (status = 200, description = "Each payment waiting for verification, matching or not, with the reason.", body = StatementCheckView),
        (status = 403, description = "Only a psychologist verifies payments.", body = ErrorBody),
        (status = 413, description = "The file is over 4 MB.", body = ErrorBody),
        (status = 422, description = "`statement_locked`: the PDF needs its password. `wrong_password`. `unreadable_statement`: not a statement Kikao can read. `other_number`: the statement is for another number than the profile's.", body = ErrorBody),
    )
)]
pub async fn check_statement(app: &Bookings, req: Request) -> Response<Body> {
    respond(
        async {
            let c = caller(&req)?;
            let body: StatementBody = read_json_up_to(&req, MAX_STATEMENT_BODY_BYTES)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.file_base64.trim())
                .map_err(|_| {
                    ApiError::invalid(
                        "file_base64",
                        "is not a file Kikao can read; choose the statement file again",
                    )
                })?;
            if bytes.is_empty() {
                return Err(ApiError::invalid("file_base64", "is empty; choose the statement file again"));
            }
            if bytes.len() > MAX_STATEMENT_BYTES {
                return Err(ApiError::too_large(
                    "The statement file is larger than 4 MB; ask for a shorter period, a month or two.",
                ));
            }
            let statement = read_statement(&bytes, body.password.as_deref())?;
            let check = app.check_statement(&c, &statement).await?;
            Ok(json(
                StatusCode::OK,
                &StatementCheckView::new(&check, c.role, app.clock.now(), app.policy()),
            ))
        }
        .await,
    )
}
