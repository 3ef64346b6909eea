//! `GET /api/sessions/{id}/payment-proof` as a Lambda function.

kikao_lambda::http_function!(get_payment_proof, proofs);
