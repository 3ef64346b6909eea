//! `PUT /api/sessions/{id}/reject-payment` as a Lambda function.

kikao_lambda::http_function!(reject_payment);
