//! `GET /api/psychologists` as a Lambda function.

kikao_lambda::http_function!(list_psychologists);
