//! `PUT /api/sessions/{id}/start` as a Lambda function.

kikao_lambda::http_function!(start_session);
