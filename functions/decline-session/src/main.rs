//! `PUT /api/sessions/{id}/decline` as a Lambda function.

kikao_lambda::http_function!(decline_session);
