//! `POST /api/hooks/{token}/c2b/confirmation` as a Lambda function.

kikao_lambda::http_function!(mpesa_c2b_confirmation, callback_key);
