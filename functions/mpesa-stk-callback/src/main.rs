//! `POST /api/hooks/{token}/stk` as a Lambda function.

kikao_lambda::http_function!(mpesa_stk_callback, daraja);
