//! `POST /api/sessions/{id}/payment-proof` as a Lambda function.

kikao_lambda::http_function!(request_proof_upload, proofs);
