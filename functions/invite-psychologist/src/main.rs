//! `POST /api/admin/psychologists` as a Lambda function.

kikao_lambda::http_function!(invite_psychologist, accounts);
