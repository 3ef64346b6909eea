//! `GET /api/payments/checkouts/{checkout_id}` as a Lambda function: it asks Daraja about a
//! payment request whose callback is late, so it holds the shortcodes' Daraja apps.

kikao_lambda::http_function!(get_checkout, daraja_query);
