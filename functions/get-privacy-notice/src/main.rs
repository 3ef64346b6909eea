//! `GET /api/privacy-notice` as a Lambda function.

kikao_lambda::http_function!(get_privacy_notice);
