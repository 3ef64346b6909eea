//! `PUT /api/sessions/{id}/verify-payment` as a Lambda function.

kikao_lambda::http_function!(verify_payment);
