//! `GET /api/sessions/{id}` as a Lambda function.

kikao_lambda::http_function!(get_session);
