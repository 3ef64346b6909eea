//! `GET /api/payments/unmatched` as a Lambda function.

kikao_lambda::http_function!(list_unmatched_payments);
