//! `PUT /api/me/consent` as a Lambda function.

kikao_lambda::http_function!(record_consent);
