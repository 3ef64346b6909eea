//! `POST /api/payments/unmatched/{receipt}/attach` as a Lambda function.

kikao_lambda::http_function!(attach_payment);
