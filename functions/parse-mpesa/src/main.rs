//! `POST /api/payments/parse-mpesa` as a Lambda function.

kikao_lambda::http_function!(parse_mpesa);
