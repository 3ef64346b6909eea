//! `PUT /api/sessions/{id}/reschedule` as a Lambda function.

kikao_lambda::http_function!(propose_reschedule);
