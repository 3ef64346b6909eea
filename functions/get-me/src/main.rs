//! `GET /api/me` as a Lambda function.

kikao_lambda::http_function!(get_me);
