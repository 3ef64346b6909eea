//! `GET /api/psychologists` as a Lambda function.

fn main() -> Result<(), kikao_lambda::Error> {
    kikao_lambda::serve(env!("CARGO_PKG_NAME"))
}
