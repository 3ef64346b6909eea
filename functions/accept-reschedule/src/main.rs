//! `PUT /api/sessions/{id}/reschedule/accept` as a Lambda function.

kikao_lambda::http_function!(accept_reschedule);
