//! `GET /api/me/changes` as a Lambda function.

kikao_lambda::http_function!(list_changes);
