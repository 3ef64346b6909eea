//! Cognito's pre-token-generation trigger: every ID token says whether its holder signs in with
//! an authenticator app.

fn main() -> Result<(), kikao_lambda::Error> {
    kikao_lambda::serve_token_claims()
}
