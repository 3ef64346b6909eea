//! `POST /api/sessions` as a Lambda function.

kikao_lambda::http_function!(book_session);
