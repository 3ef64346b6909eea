//! `DELETE /api/sessions/{id}` as a Lambda function.

kikao_lambda::http_function!(cancel_session);
