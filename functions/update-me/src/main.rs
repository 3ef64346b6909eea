//! `PUT /api/me` as a Lambda function.

kikao_lambda::http_function!(update_me);
