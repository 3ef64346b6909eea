//! `POST /api/sessions/{id}/pay-by-mpesa` as a Lambda function.

kikao_lambda::http_function!(pay_by_mpesa, daraja);
