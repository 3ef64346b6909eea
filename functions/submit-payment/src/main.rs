//! `POST /api/sessions/{id}/submit-payment` as a Lambda function.

kikao_lambda::http_function!(submit_payment, proofs);
