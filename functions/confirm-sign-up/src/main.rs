//! Cognito's post-confirmation trigger: a person who signed up becomes a client.

fn main() -> Result<(), kikao_lambda::Error> {
    kikao_lambda::serve_sign_up()
}
