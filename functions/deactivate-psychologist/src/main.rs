//! `POST /api/admin/psychologists/{id}/deactivate` as a Lambda function.

kikao_lambda::http_function!(deactivate_psychologist, accounts);
