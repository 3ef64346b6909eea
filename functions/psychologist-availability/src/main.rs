//! `GET /api/psychologists/{id}/availability` as a Lambda function.

kikao_lambda::http_function!(psychologist_availability);
