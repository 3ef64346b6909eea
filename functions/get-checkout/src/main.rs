//! `GET /api/payments/checkouts/{checkout_id}` as a Lambda function.

kikao_lambda::http_function!(get_checkout);
