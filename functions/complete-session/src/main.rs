//! `PUT /api/sessions/{id}/complete` as a Lambda function.

kikao_lambda::http_function!(complete_session);
