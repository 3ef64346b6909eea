//! `DELETE /api/me` as a Lambda function.

kikao_lambda::http_function!(erase_me, proofs_and_accounts);
