//! `GET /api/sessions` as a Lambda function.

kikao_lambda::http_function!(list_sessions);
