//! `PUT /api/sessions/{id}/reschedule/decline` as a Lambda function.

kikao_lambda::http_function!(decline_reschedule);
