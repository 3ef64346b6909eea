//! `GET /api/me/export` as a Lambda function.

kikao_lambda::http_function!(export_me);
