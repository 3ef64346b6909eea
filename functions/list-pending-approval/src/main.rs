//! `GET /api/sessions/pending-approval` as a Lambda function.

kikao_lambda::http_function!(list_pending_approval);
