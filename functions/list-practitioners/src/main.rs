//! `GET /api/admin/psychologists` as a Lambda function.

kikao_lambda::http_function!(list_practitioners);
