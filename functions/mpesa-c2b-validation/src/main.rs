//! `POST /api/hooks/{token}/c2b/validation` as a Lambda function.

kikao_lambda::http_function!(mpesa_c2b_validation, callback_key);
