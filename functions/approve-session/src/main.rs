//! `PUT /api/sessions/{id}/approve` as a Lambda function.

kikao_lambda::http_function!(approve_session);
